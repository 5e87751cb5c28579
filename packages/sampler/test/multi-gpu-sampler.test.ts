import { describe, expect, it } from 'vitest';
import { gaussianLogits } from '../../../tooling/statistics.js';
import { RowSampler } from '../src/cpu/row-sampler.js';
import { SpeculativeVerifier } from '../src/cpu/speculative-verify.js';
import {
  CpuSampler,
  createSampler,
  type GpuSampler,
  MultiGpuSampler,
  type ResolvedRequest,
  type SampleRequest,
  SamplerDisposedError,
  SamplerInputError,
} from '../src/index.js';
import type { ResolvedVerifyRequest } from '../src/verify-request.js';

// The sharding and merging logic, with CPU samplers standing in for devices: the rows each
// "device" gets must carry their own streams, seeds, steps and adjustments, so that the merged
// result is the single-sampler result exactly.
describe('MultiGpuSampler sharding', () => {
  const cpu = new CpuSampler();
  const calls: number[] = [];
  const pins: string[] = [];
  const fakeDevice = (id: number) =>
    ({
      device: {
        pinHostMemory: (view: Float32Array) => {
          pins.push(`pin ${id} ${view.length}`);
          return { dispose: () => pins.push(`unpin ${id}`) };
        },
      },
      markPinned: () => {
        pins.push(`mark ${id}`);
        return () => pins.push(`forget ${id}`);
      },
      enqueueResolved: (request: ResolvedRequest) => {
        calls.push(id);
        const result = cpu.sampleResolved(request);
        return () => result;
      },
      sampleResolvedAsync: async (request: ResolvedRequest) => cpu.sampleResolved(request),
      // The filter chain's calls: a shard's rows, as the CPU computes them.
      enqueueDistribution: (request: ResolvedRequest, as: 'probs' | 'logits') => {
        calls.push(id);
        const { batch: rows, vocab: width } = request;
        const shape: [number, number] = [rows, width];
        const args = {
          logits: request.input as Float32Array,
          shape,
          temperature: request.temperature,
          topK: request.topK,
          topP: request.topP,
          minP: request.minP,
          seed: Array.from(request.seedLo),
          stream: request.stream,
          step: request.stepLo[0]!,
          ...(request.extraFilters ?? {}),
        };
        const result = as === 'probs' ? cpu.filteredProbs(args) : cpu.maskedLogits(args);
        return () => result;
      },
      enqueueVerify: (request: ResolvedVerifyRequest) => {
        calls.push(id);
        const result = new SpeculativeVerifier().verify(new RowSampler(), request);
        return () => result;
      },
      dispose: () => {},
      memoryBytes: 0,
    }) as unknown as GpuSampler;

  const vocab = 500;
  const batch = 7;
  const logits = gaussianLogits(batch * vocab, 2, 3);
  // Rows 1 and 5 NaN (in different shards for every device count below), row 3 all -Infinity.
  const withBadRows = logits.slice();
  withBadRows[1 * vocab + 17] = Number.NaN;
  withBadRows.fill(Number.NEGATIVE_INFINITY, 3 * vocab, 4 * vocab);
  withBadRows.fill(Number.NaN, 5 * vocab, 6 * vocab);
  const requests: Array<[string, SampleRequest]> = [
    ['defaults', { logits, shape: [batch, vocab], seed: 5 }],
    [
      'per-row parameters, several samples, log-probabilities',
      {
        logits,
        shape: [batch, vocab],
        seed: Array.from({ length: batch }, (_, i) => BigInt(i) * 2n ** 40n + 3n),
        step: 9n,
        temperature: [0.5, 1, 0, 1.2, 0.8, 1, 1],
        topK: [0, 5, 10, 0, 50, 1, 3],
        topP: 0.9,
        samples: 3,
        logprobs: 4,
        logprobsMode: 'processed',
      },
    ],
    [
      'penalties, bias and histories',
      {
        logits,
        shape: [batch, vocab],
        seed: 1,
        logitBias: Array.from({ length: batch }, (_, r) => (r % 2 ? { 7: 5, 9: -100 } : undefined)),
        repetitionPenalty: 1.3,
        frequencyPenalty: [0, 0.5, 0, 0.5, 0, 0.5, 0],
        promptTokens: Array.from({ length: batch }, (_, r) => [r, r + 1]),
        outputTokens: Array.from({ length: batch }, (_, r) => [r + 2, r + 2]),
      },
    ],
    [
      'bad rows flagged, per-row seeds (stream 0 on every shard)',
      {
        logits: withBadRows,
        shape: [batch, vocab],
        seed: [1, 2, 3, 4, 5, 6, 7],
        samples: 2,
        logprobs: 2,
      },
    ],
  ];
  it.each(requests)('gives the single-sampler result in row order: %s', async (_name, request) => {
    for (const devices of [2, 3, 7, 9]) {
      const multi = new MultiGpuSampler(Array.from({ length: devices }, (_, i) => fakeDevice(i)));
      calls.length = 0;
      const merged = multi.sample(request);
      expect(calls).toEqual(Array.from({ length: Math.min(devices, batch) }, (_, i) => i));
      const single = cpu.sample(request);
      expect([...merged.tokens]).toEqual([...single.tokens]);
      expect([...merged.valid]).toEqual([...single.valid]);
      expect([...merged.status]).toEqual([...single.status]);
      expect(merged.logprobs && [...merged.logprobs]).toEqual(single.logprobs && [...single.logprobs]);
      expect(merged.topLogprobs?.tokens && [...merged.topLogprobs.tokens]).toEqual(
        single.topLogprobs?.tokens && [...single.topLogprobs.tokens],
      );
      const asynchronous = await multi.sampleAsync(request);
      expect([...asynchronous.tokens]).toEqual([...single.tokens]);
    }
  });

  it('filteredProbs, maskedLogits and verify: the single-sampler result, rows sharded in order', () => {
    const request: SampleRequest = {
      logits: withBadRows,
      shape: [batch, vocab],
      seed: 4,
      typicalP: [0.9, 1, 0.5, 1, 0.8, 1, 0.95],
      topNSigma: 1.5,
      xtcProbability: 1,
      xtcThreshold: 0.05,
    };
    const n = 2;
    const verify = {
      logits: gaussianLogits(batch * (n + 1) * vocab, 2, 9),
      shape: [batch, n, vocab] as [number, number, number],
      draftTokens: Array.from({ length: batch * n }, (_, i) => (i * 37) % vocab),
      draftProbs: new Float32Array(batch * n * vocab).fill(1 / vocab),
      seed: 8,
      topK: 20,
    };
    for (const devices of [2, 3, 9]) {
      const multi = new MultiGpuSampler(Array.from({ length: devices }, (_, i) => fakeDevice(i)));
      calls.length = 0;
      expect(multi.filteredProbs(request)).toEqual(cpu.filteredProbs(request));
      expect(calls).toEqual(Array.from({ length: Math.min(devices, batch) }, (_, i) => i));
      expect(multi.maskedLogits(request)).toEqual(cpu.maskedLogits(request));
      expect(multi.verify(verify)).toEqual(cpu.verify(verify));
      expect(() => multi.filteredProbs({ ...request, onInvalidRow: 'throw' })).toThrow(
        expect.objectContaining({ field: 'logits', row: 1 }),
      );
    }
  });

  it("onInvalidRow 'throw' names the bad row by its place in the whole batch", async () => {
    const request: SampleRequest = { logits: withBadRows, shape: [batch, vocab], onInvalidRow: 'throw' };
    for (const devices of [2, 3, 7]) {
      const multi = new MultiGpuSampler(Array.from({ length: devices }, (_, i) => fakeDevice(i)));
      expect(() => multi.sample(request)).toThrow(expect.objectContaining({ field: 'logits', row: 1 }));
      await expect(multi.sampleAsync(request)).rejects.toThrow(expect.objectContaining({ row: 1 }));
      const flagged = multi.sample({ ...request, onInvalidRow: 'flag' });
      expect([...flagged.status]).toEqual([1, 2, 1, 0, 1, 2, 1]);
    }
  });

  it('rejects bad device lists and device inputs with typed errors', () => {
    expect(() => MultiGpuSampler.create([1, 1])).toThrow(SamplerInputError);
    expect(() => MultiGpuSampler.create([])).toThrow(SamplerInputError);
    expect(() => MultiGpuSampler.create([-1])).toThrow(SamplerInputError);
    expect(() => createSampler({ backend: 'gpu', device: 0, devices: 'all' })).toThrow(SamplerInputError);
    const multi = new MultiGpuSampler([fakeDevice(0), fakeDevice(1)]);
    const fakeBuffer = { address: 1n, byteLength: 4000, device: {} } as never;
    expect(() => multi.sample({ logits: fakeBuffer, shape: [2, 500] })).toThrow(SamplerInputError);
    expect(() => multi.sample({ logits, shape: [batch, vocab], topP: 2 })).toThrow(SamplerInputError);
  });

  it('pins a host array once (portably, through the first device) and marks it on every shard', () => {
    const multi = new MultiGpuSampler([fakeDevice(0), fakeDevice(1), fakeDevice(2)]);
    pins.length = 0;
    const pin = multi.pinHostMemory(logits);
    expect(pins).toEqual([`pin 0 ${logits.length}`, 'mark 0', 'mark 1', 'mark 2']);
    pin.dispose();
    pin.dispose();
    expect(pins.slice(4)).toEqual(['forget 0', 'forget 1', 'forget 2', 'unpin 0']);
    expect(() => multi.pinHostMemory(new Float32Array(0))).toThrow(SamplerInputError);
    expect(() => multi.pinHostMemory([1, 2] as never)).toThrow(/array/);
    multi.dispose();
    expect(() => multi.pinHostMemory(logits)).toThrow(SamplerDisposedError);
  });
  it('waits for every shard it enqueued before a failure surfaces (their staging blocks are then idle)', () => {
    const waited: string[] = [];
    const shard = (id: number, fail?: 'enqueue' | 'wait') =>
      ({
        enqueueResolved: (request: ResolvedRequest) => {
          if (fail === 'enqueue') throw new Error(`enqueue ${id} failed`);
          return () => {
            waited.push(`wait ${id}`);
            if (fail === 'wait') throw new Error(`wait ${id} failed`);
            return cpu.sampleResolved(request);
          };
        },
        dispose: () => {},
      }) as unknown as GpuSampler;
    const request: SampleRequest = { logits, shape: [batch, vocab], seed: 1 };
    expect(() => new MultiGpuSampler([shard(0), shard(1), shard(2, 'enqueue')]).sample(request)).toThrow(
      'enqueue 2 failed',
    );
    expect(waited).toEqual(['wait 0', 'wait 1']);
    waited.length = 0;
    expect(() => new MultiGpuSampler([shard(0, 'wait'), shard(1), shard(2, 'wait')]).sample(request)).toThrow(
      'wait 0 failed',
    );
    expect(waited).toEqual(['wait 0', 'wait 1', 'wait 2']);
  });
});
