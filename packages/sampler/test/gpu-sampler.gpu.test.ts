import { openDevice, probe } from '@rocmforge/hip-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementShare, gpuSuite } from '../../../tooling/gpu-test.js';
import { referenceDistribution } from '../../../tooling/sampling-reference.js';
import { chiSquare, gaussianLogits } from '../../../tooling/statistics.js';
import { loadAddon } from '../../hip-runtime/src/native.js';
import {
  createSampler,
  type ElementType,
  GpuSampler,
  RowStatus,
  type SampleRequest,
  type SampleResult,
  type Sampler,
  SamplerInputError,
} from '../src/index.js';
import { HALF_TYPES, halfBitsOf, toHalf } from './half-inputs.js';
import { servingSemantics } from './serving-semantics.js';

gpuSuite(probe)('GPU sampler', () => {
  let gpu: Sampler;
  const cpu = createSampler({ backend: 'cpu' });
  beforeAll(() => {
    gpu = createSampler({ backend: 'gpu' });
  });
  afterAll(() => gpu.dispose());

  describe('serving semantics (the CPU suite on the GPU)', () => {
    servingSemantics(() => gpu, { vocab: 32_000, exactAcrossBatchSizes: false });
  });

  it('is what gpu and auto give on a GPU machine', () => {
    expect(gpu.backend).toBe('gpu');
    const auto = createSampler({ logger: null });
    expect(auto.backend).toBe('gpu');
    expect(auto.fallbackReason).toBeUndefined();
    auto.dispose();
  });

  it('a pinned host array, or a view inside it, gives the tokens of ordinary memory', () => {
    // Small (through the sampler's own pinned block), large (> 16 MiB: staged by the driver) and
    // pinned by the caller (copied straight from the array).
    for (const [batch, vocab] of [
      [1, 4096],
      [40, 151_936],
    ] as const) {
      const logits = gaussianLogits((batch + 1) * vocab, 3, vocab);
      const view = logits.subarray(vocab);
      const request: SampleRequest = { logits: view, shape: [batch, vocab], topK: 50, topP: 0.9, seed: 9 };
      const plain = gpu.sample(request);
      const expected = cpu.sample(request);
      let pinned: SampleResult;
      {
        using _pin = gpu.pinHostMemory(logits);
        pinned = gpu.sample(request);
        expect(gpu.sample({ ...request, logits, shape: [batch + 1, vocab] }).tokens.length).toBe(batch + 1);
      }
      expect([...pinned.tokens]).toEqual([...plain.tokens]);
      let same = 0;
      for (let i = 0; i < batch; i++) if (plain.tokens[i] === expected.tokens[i]) same++;
      expect(same).toBeGreaterThanOrEqual(batch - 1);
      expect([...gpu.sample(request).tokens]).toEqual([...plain.tokens]);
    }
    expect(() => gpu.pinHostMemory(new Float32Array(0))).toThrow(SamplerInputError);
  });

  const modes: Array<[string, Partial<SampleRequest>]> = [
    ['plain', {}],
    ['top-k 50', { topK: 50 }],
    ['top-p 0.9', { topP: 0.9 }],
    // Top-p alone by distance bins, at T ≠ 1 and with min-p: the kept sums folded into the
    // gathering pass drop what min-p drops; σ · 1/T spreads the row over fewer or more bins.
    ['top-p 0.8 + min-p 0.02, T 1.7', { topP: 0.8, minP: 0.02, temperature: 1.7 }],
    ['top-p 0.95, T 0.4', { topP: 0.95, temperature: 0.4 }],
    ['min-p 0.1', { minP: 0.1 }],
    ['top-k 50 + top-p 0.9', { topK: 50, topP: 0.9, temperature: 0.8 }],
    ['top-k 50 + top-p 0.9, joint', { topK: 50, topP: 0.9, filterOrder: 'joint' }],
    // Past the kernel's shared candidate buffer (1024 entries): the draws from the row; with
    // top-p after it, top-p gathers its own candidates.
    ['top-k 2000', { topK: 2000 }],
    ['top-k 2000 + top-p 0.95', { topK: 2000, topP: 0.95 }],
  ];
  const SUB_BATCHES = [1000, 1, 4, 16, 64, 1000, 1000, 2, 32, 1000];
  // The same rows in every element type: float32, and rounded to float16 and bfloat16 (the CPU
  // and the GPU both read the half bits themselves).
  const dtypes: ElementType[] = ['float32', ...HALF_TYPES];
  const vocabs = [32_000, 151_936];
  // Every (vocab, dtype, mode), or this process's share of them (ROCMFORGE_AGREEMENT_SHARD).
  const share = agreementShare(
    vocabs.flatMap((vocab) => dtypes.flatMap((dtype) => modes.map(([name]) => `${vocab} ${dtype} ${name}`))),
  );
  for (const vocab of vocabs) {
    // 10^4 rows per mode: ten batches of 1000 rows, each batch fresh logits (a rotation of
    // one generated pool, to keep the suite quick) and fresh draws (its own step).
    const pools = new Map<ElementType, Float32Array | Uint16Array>();
    const poolOf = (dtype: ElementType) => {
      let pool = pools.get(dtype);
      if (!pool) {
        const values =
          (pools.get('float32') as Float32Array | undefined) ?? gaussianLogits(1500 * vocab, 3, vocab);
        pools.set('float32', values);
        pool = dtype === 'float32' ? values : halfBitsOf(values, dtype);
        pools.set(dtype, pool);
      }
      return pool;
    };
    for (const dtype of dtypes) {
      const mine = modes.filter(([name]) => share.includes(`${vocab} ${dtype} ${name}`));
      if (mine.length === 0) continue;
      it.each(
        mine,
      )(`agrees with the CPU token for token on 10^4 rows at vocab ${vocab}, ${dtype}: %s`, async (name, mode) => {
        const pool = poolOf(dtype);
        const rows = 10_000;
        const chunk = 1000;
        let agree = 0;
        for (let start = 0; start < rows; start += chunk) {
          const offset = (start / chunk) * 50 * vocab;
          const logits = pool.subarray(offset, offset + chunk * vocab);
          const stream = Uint32Array.from({ length: chunk }, (_, r) => start + r);
          const request: SampleRequest = {
            logits,
            ...(dtype === 'float32' ? {} : { dtype }),
            shape: [chunk, vocab],
            seed: 1234,
            step: start,
            stream,
            ...mode,
          };
          const b = cpu.sample(request).tokens;
          // The GPU takes the chunk in sub-batches of several sizes: small ones split each row
          // over many blocks, large ones give each row one block.
          const sub = SUB_BATCHES[start / chunk]!;
          const a = new Int32Array(chunk);
          for (let first = 0; first < chunk; first += sub) {
            const rows = Math.min(sub, chunk - first);
            const part = gpu.sample({
              ...request,
              logits: logits.subarray(first * vocab, (first + rows) * vocab),
              shape: [rows, vocab],
              stream: stream.subarray(first, first + rows),
            });
            a.set(part.tokens, first);
          }
          for (let r = 0; r < chunk; r++) if (a[r] === b[r]) agree++;
          // Let the worker answer the runner between batches (a long synchronous test times its RPC out).
          await new Promise((resolve) => setImmediate(resolve));
        }
        const rate = agree / rows;
        console.log(`agreement ${name} @ ${vocab} ${dtype}: ${(rate * 100).toFixed(3)}% of ${rows} rows`);
        expect(rate).toBeGreaterThanOrEqual(0.999);
      });
    }
  }

  describe.each(HALF_TYPES)('%s input', (dtype) => {
    it('draws follow the softmax of its values (chi-square, 10^5 draws, α = 1e-3)', () => {
      const { bits, widened } = toHalf(gaussianLogits(64, 2, 7), dtype);
      for (const params of [{}, { temperature: 0.7, topK: 20, topP: 0.8 }, { minP: 0.05 }]) {
        const draws = gpu.sample({ logits: bits, dtype, samples: 100_000, seed: 4321, ...params }).tokens;
        const result = chiSquare(draws, referenceDistribution(widened, params), 1e-3);
        expect(result.outside).toBe(0);
        expect(result.statistic).toBeLessThan(result.critical);
      }
    });

    it('from the host and from a DeviceBuffer: the tokens and log-probabilities of the CPU', () => {
      const batch = 16;
      const vocab = 5000;
      const bits = halfBitsOf(gaussianLogits(batch * vocab, 2, 5), dtype);
      const device = openDevice(0);
      using onDevice = device.upload(bits);
      const request = {
        dtype,
        shape: [batch, vocab] as [number, number],
        seed: 9,
        temperature: 0.9,
        topK: 100,
        topP: 0.95,
      };
      // Bias and penalties adjust a float32 copy of the half values.
      const adjusted = {
        logitBias: { 7: 3, 11: Number.NEGATIVE_INFINITY },
        repetitionPenalty: 1.2,
        frequencyPenalty: 0.3,
        outputTokens: Array.from({ length: batch }, (_, r) => [r, r + 1, r + 1, 4000]),
      };
      for (const extra of [{}, adjusted]) {
        for (const mode of ['raw', 'processed'] as const) {
          const asked = { ...request, ...extra, logprobs: 5, logprobsMode: mode };
          const c = cpu.sample({ logits: bits, ...asked });
          const fromHost = gpu.sample({ logits: bits, ...asked });
          const fromDevice = gpu.sample({ logits: onDevice, ...asked });
          expect([...fromDevice.tokens]).toEqual([...fromHost.tokens]);
          for (const g of [fromHost, fromDevice]) {
            expect([...g.tokens]).toEqual([...c.tokens]);
            for (let i = 0; i < batch; i++) expect(g.logprobs![i]).toBeCloseTo(c.logprobs![i]!, 4);
            expect([...g.topLogprobs!.tokens]).toEqual([...c.topLogprobs!.tokens]);
            for (let i = 0; i < batch * 5; i++)
              expect(g.topLogprobs!.logprobs[i]).toBeCloseTo(c.topLogprobs!.logprobs[i]!, 4);
          }
        }
      }
    });
  });

  // Logits in memory another engine allocated, written on its own stream: wrapped by address and
  // ordered after the engine's event on the device.
  it.each([
    'float32',
    'bfloat16',
  ] as const)('%s logits in memory allocated outside hip-runtime, filled on another stream, sampled after its event', (dtype) => {
    const device = openDevice(0);
    const batch = 64;
    const vocab = 151_936;
    const values = gaussianLogits(batch * vocab, 3, 123);
    const data = dtype === 'float32' ? values : halfBitsOf(values, dtype);
    const bytes = data.byteLength;
    // The "engine": raw driver calls, outside hip-runtime's classes.
    device.activate();
    const raw = loadAddon();
    const address = raw.malloc(bytes);
    const engineStream = raw.streamCreate();
    const engineEvent = raw.eventCreate();
    try {
      using source = device.upload(data);
      using busy = device.alloc(256 * 2 ** 20);
      const logits = device.wrapBuffer(address, bytes);
      const stream = device.wrapStream(engineStream);
      const done = device.wrapEvent(engineEvent);
      // NaN until the engine's copy lands, behind a queue of slow work on its stream.
      logits.fill(0xff, bytes);
      device.synchronize();
      for (let i = 0; i < 40; i++) busy.fill(i, busy.byteLength, stream);
      logits.copyFrom(source, bytes, stream);
      done.record(stream);
      const params = {
        shape: [batch, vocab] as [number, number],
        topK: 50,
        topP: 0.9,
        seed: 5,
        ...(dtype === 'float32' ? {} : { dtype }),
      };
      const wrapped = gpu.sample({ logits, after: done, ...params });
      expect([...wrapped.status]).toEqual(new Array(batch).fill(RowStatus.sampled));
      const ordinary = gpu.sample({ logits: source, ...params });
      expect([...wrapped.tokens]).toEqual([...ordinary.tokens]);
      logits.dispose();
      stream.dispose();
      done.dispose();
    } finally {
      device.activate();
      raw.streamSynchronize(engineStream);
      raw.eventDestroy(engineEvent);
      raw.streamDestroy(engineStream);
      raw.free(address);
    }
  });

  it('reports NaN and all -Infinity rows exactly as the CPU does', () => {
    const logits = new Float32Array([1, 2, 3, ...new Array(3).fill(-Infinity), 0, Number.NaN, 1]);
    const errorOf = (s: Sampler) => {
      try {
        s.sample({ logits, shape: [3, 3], onInvalidRow: 'throw' });
      } catch (error) {
        return error as SamplerInputError;
      }
      throw new Error('expected an error');
    };
    const [g, c] = [errorOf(gpu), errorOf(cpu)];
    expect(g).toBeInstanceOf(SamplerInputError);
    expect([g.field, g.row]).toEqual([c.field, c.row]);
    const ok = new Float32Array([1, 2, 3, ...new Array(3).fill(-Infinity)]);
    const gr = gpu.sample({ logits: ok, shape: [2, 3], samples: 2 });
    const cr = cpu.sample({ logits: ok, shape: [2, 3], samples: 2 });
    expect([...gr.valid]).toEqual([...cr.valid]);
    expect([...gr.tokens.subarray(2)]).toEqual([-1, -1]);
    const flagged = (s: Sampler) => s.sample({ logits, shape: [3, 3], samples: 2, seed: [1, 2, 3] });
    const [gf, cf] = [flagged(gpu), flagged(cpu)];
    expect([...gf.status]).toEqual([...cf.status]);
    expect([...gf.tokens]).toEqual([...cf.tokens]);
  });

  it('rejects invalid parameters with the CPU’s typed errors', () => {
    const logits = new Float32Array(10);
    for (const bad of [{ topP: 0 }, { topK: -1 }, { minP: 2 }, { temperature: -1 }, { seed: 0.5 }]) {
      expect(() => gpu.sample({ logits, ...bad })).toThrow(SamplerInputError);
    }
  });

  it('takes logits already on the device and gives the same tokens as from the host', () => {
    const vocab = 151_936;
    const batch = 8;
    const logits = gaussianLogits(batch * vocab, 3, 77);
    const device = openDevice(0);
    using onDevice = device.upload(logits);
    const fromDevice = gpu.sample({
      logits: onDevice,
      shape: [batch, vocab],
      topK: 50,
      topP: 0.9,
      seed: 3,
      samples: 4,
    });
    const fromHost = gpu.sample({ logits, shape: [batch, vocab], topK: 50, topP: 0.9, seed: 3, samples: 4 });
    expect([...fromDevice.tokens]).toEqual([...fromHost.tokens]);
  });

  it('timing on, repeated, and off again: the same tokens, a kernel time only while on', () => {
    const sampler = GpuSampler.create(0);
    try {
      const vocab = 151_936;
      const logits = gaussianLogits(2 * vocab, 3, 78);
      const request = { logits, shape: [2, vocab] as const, topK: 50, topP: 0.9, seed: 4, step: 9 };
      const plain = sampler.sample(request);
      expect(sampler.lastKernelMilliseconds).toBeUndefined();
      sampler.enableTiming({ repeat: 3 });
      const timed = sampler.sample(request);
      expect(sampler.lastKernelMilliseconds).toBeGreaterThan(0);
      sampler.disableTiming();
      const after = sampler.sample(request);
      expect(sampler.lastKernelMilliseconds).toBeUndefined();
      expect([...timed.tokens]).toEqual([...plain.tokens]);
      expect([...after.tokens]).toEqual([...plain.tokens]);
    } finally {
      sampler.dispose();
    }
  });

  describe('mapped staging block (outputs written in place)', () => {
    const uploads: Array<{ dispose(): void }> = [];
    afterAll(() => {
      for (const u of uploads.splice(0)) u.dispose();
    });
    // Requests of every path through the block: device and host logits, small host rows staged
    // in it and larger ones copied, several draws, log-probabilities (both modes, top lists),
    // penalties and bias (adjusted copies), bad rows, half input, batches on both sides of the
    // row limit (64) and the split-row threshold.
    const cases = (): Array<[string, SampleRequest<never>]> => {
      const out: Array<[string, SampleRequest<never>]> = [];
      for (const [batch, vocab] of [
        [1, 4096],
        [1, 151_936],
        [7, 32_000],
        [64, 4096],
        [65, 4096],
      ] as const) {
        const logits = gaussianLogits(batch * vocab, 3, batch + vocab);
        const onDevice = openDevice(0).upload(logits);
        uploads.push(onDevice);
        for (const [where, input] of [
          ['host', logits],
          ['device', onDevice],
        ] as const) {
          const base = { logits: input as never, shape: [batch, vocab] as [number, number], seed: 11 };
          out.push([`${where} ${batch} × ${vocab} top-k+top-p`, { ...base, topK: 50, topP: 0.9, step: 3 }]);
          out.push([`${where} ${batch} × ${vocab} plain, 3 draws`, { ...base, samples: 3, step: 4 }]);
          out.push([
            `${where} ${batch} × ${vocab} top-p, log-probabilities`,
            { ...base, topP: 0.9, logprobs: 4, logprobsMode: 'processed', step: 5 },
          ]);
        }
        out.push([
          `host ${batch} × ${vocab} penalties and bias, raw log-probabilities`,
          {
            logits: logits as never,
            shape: [batch, vocab],
            seed: 12,
            topK: 40,
            logitBias: { 7: 3 },
            repetitionPenalty: 1.3,
            outputTokens: Array.from({ length: batch }, (_, r) => [r, 7, 7]),
            logprobs: 2,
            logprobsMode: 'raw',
          },
        ]);
      }
      const bad = gaussianLogits(3 * 4096, 3, 5);
      bad[4096 + 9] = Number.NaN;
      bad.fill(Number.NEGATIVE_INFINITY, 2 * 4096);
      out.push([
        'host 3 × 4096 with a NaN row and a -Infinity row',
        { logits: bad as never, shape: [3, 4096], seed: 1 },
      ]);
      const half = halfBitsOf(gaussianLogits(2 * 4096, 3, 6), 'float16');
      out.push([
        'host 2 × 4096 float16',
        { logits: half as never, dtype: 'float16', shape: [2, 4096], seed: 2, topP: 0.9 },
      ]);
      return out;
    };
    const same = (a: SampleResult, b: SampleResult, what: string) => {
      expect([...a.tokens], what).toEqual([...b.tokens]);
      expect([...a.status], what).toEqual([...b.status]);
      expect([...a.valid], what).toEqual([...b.valid]);
      expect(a.logprobs && [...a.logprobs], what).toEqual(b.logprobs && [...b.logprobs]);
      expect(a.topLogprobs && [...a.topLogprobs.tokens], what).toEqual(
        b.topLogprobs && [...b.topLogprobs.tokens],
      );
      expect(a.topLogprobs && [...a.topLogprobs.logprobs], what).toEqual(
        b.topLogprobs && [...b.topLogprobs.logprobs],
      );
    };

    it('gives the tokens, statuses and log-probabilities of the copy path, bit for bit, one call after another', async () => {
      const mapped = GpuSampler.create(0);
      const copied = GpuSampler.create(0);
      copied.setMappedLimits({ rows: 0 });
      try {
        const all = cases();
        const expected = all.map(([, r]) => copied.sample(r));
        // Twice through, back to back: a call never reads what the one before it left behind.
        for (const round of [0, 1]) {
          for (const [i, [what, request]] of all.entries())
            same(mapped.sample(request), expected[i]!, `${what} (${round})`);
        }
        // In reverse order, and every call queued at once on one sampler.
        const reversed = [...all].reverse();
        for (const [i, [what, request]] of reversed.entries())
          same(mapped.sample(request), expected[all.length - 1 - i]!, `${what} (reversed)`);
        const queued = await Promise.all(all.map(([, r]) => mapped.sampleAsync(r)));
        for (const [i, result] of queued.entries()) same(result, expected[i]!, `${all[i]![0]} (queued)`);
      } finally {
        mapped.dispose();
        copied.dispose();
      }
    });

    it('two samplers of one device with calls in flight at once each read their own block', () => {
      const first = GpuSampler.create(0);
      const second = GpuSampler.create(0);
      try {
        const vocab = 32_000;
        const logits = gaussianLogits(4 * vocab, 3, 30);
        for (let step = 0; step < 20; step++) {
          const a = { logits, shape: [4, vocab] as [number, number], seed: 1, step, topK: 20 };
          const b = { logits: logits.subarray(0, vocab), seed: 2, step: step + 100, topP: 0.9 };
          const waitA = first.enqueueResolved(first.resolve(a));
          const waitB = second.enqueueResolved(second.resolve(b));
          // Waited for in the other order than enqueued.
          const rb = waitB();
          const ra = waitA();
          expect([...ra.tokens]).toEqual([...cpu.sample(a).tokens]);
          expect([...rb.tokens]).toEqual([...cpu.sample(b).tokens]);
        }
      } finally {
        first.dispose();
        second.dispose();
      }
    });
  });

  it('log-probabilities, penalties and logit bias agree with the CPU', () => {
    const vocab = 5000;
    const batch = 16;
    const logits = gaussianLogits(batch * vocab, 2, 5);
    const outputTokens = Array.from({ length: batch }, (_, r) => [r, r + 1, r + 1, 4000]);
    const request: SampleRequest = {
      logits,
      shape: [batch, vocab],
      seed: 9,
      temperature: 0.9,
      topK: 100,
      topP: 0.95,
      logitBias: { 7: 3, 11: -Infinity },
      repetitionPenalty: 1.2,
      frequencyPenalty: 0.3,
      presencePenalty: 0.2,
      promptTokens: Array.from({ length: batch }, () => [7, 8]),
      outputTokens,
    };
    for (const mode of ['raw', 'processed'] as const) {
      const g = gpu.sample({ ...request, logprobs: 5, logprobsMode: mode });
      const c = cpu.sample({ ...request, logprobs: 5, logprobsMode: mode });
      expect([...g.tokens]).toEqual([...c.tokens]);
      for (let i = 0; i < batch; i++) expect(g.logprobs![i]).toBeCloseTo(c.logprobs![i]!, 4);
      expect([...g.topLogprobs!.tokens]).toEqual([...c.topLogprobs!.tokens]);
      for (let i = 0; i < batch * 5; i++)
        expect(g.topLogprobs!.logprobs[i]).toBeCloseTo(c.topLogprobs!.logprobs[i]!, 4);
    }
  });

  it("a row's tokens do not depend on the batch around it", async () => {
    const vocab = 32_000;
    const logits = gaussianLogits(6 * vocab, 3, 8);
    const full = await gpu.sampleAsync({
      logits,
      shape: [6, vocab],
      seed: [1, 2, 3, 4, 5, 6],
      stream: [10, 11, 12, 13, 14, 15],
      topP: 0.9,
      samples: 3,
    });
    const alone = await gpu.sampleAsync({
      logits: logits.slice(4 * vocab, 5 * vocab),
      seed: 5,
      stream: 14,
      topP: 0.9,
      samples: 3,
    });
    expect([...alone.tokens]).toEqual([...full.tokens.subarray(12, 15)]);
  });

  it('concurrent sampleAsync calls on one sampler each get their own, correct result', async () => {
    const vocab = 32_000;
    const logits = gaussianLogits(4 * vocab, 3, 21);
    const requests = [0, 1, 2, 3].map((step) => ({
      logits,
      shape: [4, vocab] as [number, number],
      topK: 40,
      seed: 8,
      step,
    }));
    const results = await Promise.all(requests.map((r) => gpu.sampleAsync(r)));
    for (const [i, result] of results.entries()) {
      expect([...result.tokens]).toEqual([...cpu.sample(requests[i]!).tokens]);
    }
  });

  it('auto falls back to the CPU when the GPU fails mid-run; gpu throws', () => {
    const warnings: string[] = [];
    const auto = createSampler({ logger: { warn: (m) => warnings.push(m) } });
    expect(auto.backend).toBe('gpu');
    const logits = gaussianLogits(1000, 2, 1);
    const before = auto.sample({ logits, seed: 4, samples: 10 }).tokens;
    (auto as unknown as { injectFailure(): void }).injectFailure();
    const after = auto.sample({ logits, seed: 4, samples: 10 }).tokens;
    expect(auto.backend).toBe('cpu');
    expect(auto.fallbackReason).toMatch(/INJECTED_FAILURE/);
    expect(warnings).toHaveLength(1);
    expect([...after]).toEqual([...before]);
    auto.dispose();
    const forced = createSampler({ backend: 'gpu' });
    (forced as unknown as { injectFailure(): void }).injectFailure();
    expect(() => forced.sample({ logits })).toThrow(/INJECTED_FAILURE/);
    forced.dispose();
  });

  it('a 512 × 151936 batch from the host holds at most 100 MB of device memory and matches the CPU', () => {
    const vocab = 151_936;
    const batch = 512;
    const logits = gaussianLogits(batch * vocab, 3, 12);
    const fresh = createSampler({ backend: 'gpu' });
    const result = fresh.sample({ logits, shape: [batch, vocab], topK: 50, topP: 0.9, seed: 2 });
    expect(fresh.memoryBytes).toBeLessThanOrEqual(100 * 2 ** 20);
    const rows = [0, 1, 255, 511];
    for (const r of rows) {
      const one = cpu.sample({
        logits: logits.subarray(r * vocab, (r + 1) * vocab),
        topK: 50,
        topP: 0.9,
        seed: 2,
        stream: r,
      });
      expect(result.tokens[r]).toBe(one.tokens[0]);
    }
    fresh.dispose();
  });

  it('10^4 consecutive calls keep device and host memory flat', async () => {
    const device = openDevice(0);
    const vocab = 32_000;
    const logits = gaussianLogits(4 * vocab, 3, 2);
    const request: SampleRequest = { logits, shape: [4, vocab], topK: 50, topP: 0.9 };
    for (let i = 0; i < 100; i++) gpu.sample({ ...request, step: i });
    const deviceBefore = device.memoryInfo().free;
    const workspace = gpu.memoryBytes;
    global.gc?.();
    const hostBefore = process.memoryUsage().rss;
    for (let i = 0; i < 10_000; i++) {
      gpu.sample({ ...request, step: i });
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    global.gc?.();
    expect(device.memoryInfo().free).toBe(deviceBefore);
    expect(gpu.memoryBytes).toBe(workspace);
    expect(process.memoryUsage().rss - hostBefore).toBeLessThan(64 * 2 ** 20);
  });
});
