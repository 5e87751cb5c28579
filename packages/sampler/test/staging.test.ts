import * as runtime from '@rocmforge/hip-runtime';
import { Device } from '@rocmforge/hip-runtime';
import * as kernels from '@rocmforge/sampling-kernels';
import { afterEach, describe, expect, it } from 'vitest';
import { GpuSampler } from '../src/gpu/gpu-sampler.js';
import { MultiGpuSampler } from '../src/gpu/multi-gpu-sampler.js';
import { MAPPED_LIMITS } from '../src/gpu/staging.js';
import type { SampleRequest } from '../src/index.js';
// @ts-expect-error: plain JavaScript, shared with bench/host-path.mjs
import { addonDouble } from './addon-double.mjs';

// The staging block over a test double of the addon (test/addon-double.mjs): small batches
// without log-probabilities get their outputs written in the mapped block (one copy in, none
// back), the others copy back, and either way each call's tokens are its own. The double's
// kernel gives each row the token (seedLo + stepLo + draw) mod vocab, read from wherever the
// parameters lie.
type Double = {
  native: unknown;
  counts: Map<string, number>;
  mapped: unknown[];
  launches: Array<{ name: string; grid: number; block: number }>;
};

const opened: GpuSampler[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.dispose();
});

function samplerOver(double: Double, index = 0): GpuSampler {
  const device = new Device(double.native as never, index, { backend: 'cuda', version: 13000, attempts: [] });
  // The constructor is private in TypeScript only: the double stands in for openDevice.
  const sampler = new (GpuSampler as unknown as new (modules: unknown, device: Device) => GpuSampler)(
    { runtime, kernels },
    device,
  );
  opened.push(sampler);
  return sampler;
}

/** The double's expected tokens: (seed + step + draw) mod vocab per row (one seed, one step). */
function expected(batch: number, vocab: number, seed: number, step: number, samples = 1): number[] {
  return Array.from({ length: batch * samples }, (_, i) => (seed + step + (i % samples)) % vocab);
}

/** Calls by name during `fn`. */
function crossings(double: Double, fn: () => void): Record<string, number> {
  double.counts.clear();
  fn();
  return Object.fromEntries(double.counts);
}

describe('the staging block', () => {
  it('starts with the documented limits', () => {
    expect(MAPPED_LIMITS).toEqual({ rows: 64 });
  });

  it.each([
    // One row from the device: its parameters by value in the launch, nothing copied at all.
    ['device logits, 1 row', 1, 151_936, true, { launch: 1, streamSynchronizeSpin: 1 }],
    ['device logits, 64 rows', 64, 4096, true, { copyHostToDevice: 1, launch: 1, streamSynchronizeSpin: 1 }],
    [
      'host logits, 1 × 4096 (generate)',
      1,
      4096,
      false,
      { copyHostToDevice: 1, launch: 1, streamSynchronizeSpin: 1 },
    ],
  ])('%s: the parameters (and host rows) in at most one copy, one launch, a poll, no copy back', (_what, batch, vocab, onDevice, crossed) => {
    const double = addonDouble() as Double;
    const sampler = samplerOver(double);
    const logits = new Float32Array(batch * vocab);
    const input = onDevice ? sampler.device.upload(logits) : logits;
    const request: SampleRequest<never> = { logits: input as never, shape: [batch, vocab], seed: 5, step: 0 };
    sampler.sample(request);
    for (const step of [1, 2, 3]) {
      request.step = step;
      let tokens: Int32Array | undefined;
      const calls = crossings(double, () => {
        tokens = sampler.sample(request).tokens;
      });
      expect([...tokens!]).toEqual(expected(batch, vocab, 5, step));
      expect(calls).toEqual(crossed);
    }
  });

  it.each([
    ['more rows than the limit', 65, 4096, true, {}, { copyHostToDevice: 1, launch: 1, copyDeviceToHost: 1 }],
    // The log-probability kernels read the tokens back: device memory, copied back.
    [
      'log-probabilities asked for',
      1,
      4096,
      false,
      { logprobs: 2 },
      { copyHostToDevice: 1, launch: 3, copyDeviceToHost: 1 },
    ],
    // One row from the device whose log-probabilities are asked for: its kernels read the
    // parameter block, which is copied then.
    [
      'device logits, 1 row, log-probabilities asked for',
      1,
      4096,
      true,
      { logprobs: 2 },
      { copyHostToDevice: 1, launch: 3, copyDeviceToHost: 1 },
    ],
    // One row from the device with a logit bias: adjusted on a copy (the table copied in, the
    // row copied on the device), the parameters copied too.
    [
      'device logits, 1 row, a logit bias',
      1,
      4096,
      true,
      { logitBias: { 3: 1 } },
      { copyHostToDevice: 2, copyDeviceToDevice: 1, launch: 2 },
    ],
    // Over the block's size for host rows (16 MiB): the rows take a copy of their own.
    ['host rows past the block', 2, 2_200_000, false, {}, { copyHostToDevice: 2, launch: 1 }],
  ])('%s: copies', (_what, batch, vocab, onDevice, extra, copies) => {
    const double = addonDouble() as Double;
    const sampler = samplerOver(double);
    const logits = new Float32Array(batch * vocab);
    const input = onDevice ? sampler.device.upload(logits) : logits;
    const request: SampleRequest<never> = {
      logits: input as never,
      shape: [batch, vocab],
      seed: 9,
      step: 0,
      ...extra,
    };
    sampler.sample(request);
    for (const step of [1, 2]) {
      request.step = step;
      let tokens: Int32Array | undefined;
      const calls = crossings(double, () => {
        tokens = sampler.sample(request).tokens;
      });
      expect([...tokens!]).toEqual(expected(batch, vocab, 9, step));
      expect(calls).toEqual({ ...copies, streamSynchronizeSpin: 1 });
    }
  });

  it('gives every call its own results, mapped or copied, back to back and batch after batch', () => {
    const double = addonDouble() as Double;
    const sampler = samplerOver(double);
    const vocab = 1000;
    for (const limits of [MAPPED_LIMITS, { rows: 0 }, { rows: 2 }]) {
      sampler.setMappedLimits(limits);
      for (const batch of [1, 3, 2, 70, 1]) {
        for (const samples of [1, 3]) {
          const step = batch * 10 + samples;
          const logits = new Float32Array(batch * vocab);
          const result = sampler.sample({ logits, shape: [batch, vocab], seed: 7, step, samples });
          expect([...result.tokens]).toEqual(expected(batch, vocab, 7, step, samples));
          expect([...result.status]).toEqual(new Array(batch).fill(1));
        }
      }
    }
  });

  it('asynchronous calls queued at once each read their own parameters', async () => {
    const double = addonDouble() as Double;
    const sampler = samplerOver(double);
    const vocab = 4096;
    const logits = new Float32Array(vocab);
    const results = await Promise.all(
      [0, 1, 2, 3].map((step) => sampler.sampleAsync({ logits, shape: [1, vocab], seed: 3, step })),
    );
    expect(results.map((r) => r.tokens[0])).toEqual([3, 4, 5, 6]);
  });

  it('a device that cannot map host memory gets copies both ways, with the same results', () => {
    const double = addonDouble({ mapping: false }) as Double;
    const sampler = samplerOver(double);
    const vocab = 4096;
    const logits = new Float32Array(vocab);
    sampler.sample({ logits, shape: [1, vocab], seed: 1, step: 0 });
    let tokens: Int32Array | undefined;
    const calls = crossings(double, () => {
      tokens = sampler.sample({ logits, shape: [1, vocab], seed: 1, step: 4 }).tokens;
    });
    expect([...tokens!]).toEqual([5]);
    expect(calls).toEqual({ copyHostToDevice: 1, launch: 1, copyDeviceToHost: 1, streamSynchronizeSpin: 1 });
  });

  it('a sampler sharded over two devices maps a block per device, and each shard reads its own', () => {
    const double = addonDouble() as Double;
    const multi = new MultiGpuSampler([samplerOver(double, 0), samplerOver(double, 1)]);
    const vocab = 512;
    const logits = new Float32Array(4 * vocab);
    const result = multi.sample({ logits, shape: [4, vocab], seed: [10, 20, 30, 40], step: 2 });
    expect([...result.tokens]).toEqual([12, 22, 32, 42]);
    expect(double.mapped.length).toBe(2);
  });

  it('unmaps the block when the sampler is disposed', () => {
    const double = addonDouble() as Double;
    const sampler = samplerOver(double);
    sampler.sample({ logits: new Float32Array(100), shape: [1, 100], seed: 1 });
    expect(double.mapped.length).toBe(1);
    sampler.dispose();
    expect(double.mapped.length).toBe(0);
  });
});

// Which sampling kernel a call launches, with how many blocks of how many threads
// (SamplingKernels.sampleParts / sampleNarrow, docs/GPU_SAMPLER.md "Performance
// characteristics"), on the double's H200 of 132 multiprocessors.
describe('the kernel and blocks of a call', () => {
  const topKTopP = { topK: 50, topP: 0.9 };
  const topP = { topP: 0.9 };
  it.each([
    // Rows of ≤ 8192 elements: never split, the 256-thread kernel at every batch.
    ['1 × 4096', 1, 4096, 'float32', topKTopP, 'rf_sample_narrow', 1, 256],
    ['40 × 8192', 40, 8192, 'float32', topKTopP, 'rf_sample_narrow', 40, 256],
    ['1 × 4096 bfloat16', 1, 4096, 'bfloat16', topKTopP, 'rf_sample_narrow_bf16', 1, 256],
    // Larger rows, batches of ≤ 16: split over ⌊4 · 132 / batch⌋ 256-thread blocks of ≥ 2048
    // elements, whatever the rows' filters.
    ['1 × 151936', 1, 151_936, 'float32', topKTopP, 'rf_sample_split_narrow', 75, 256],
    ['1 × 8193', 1, 8193, 'float32', topKTopP, 'rf_sample_split_narrow', 5, 256],
    ['16 × 151936 float16, top-p', 16, 151_936, 'float16', topP, 'rf_sample_split_narrow_f16', 16 * 33, 256],
    ['16 × 151936', 16, 151_936, 'float32', topKTopP, 'rf_sample_split_narrow', 16 * 33, 256],
    // Larger batches: split over ⌊132 / batch⌋ 1024-thread blocks while that is 2 or more.
    ['17 × 151936, top-p', 17, 151_936, 'float32', topP, 'rf_sample', 17 * 7, 1024],
    ['17 × 151936', 17, 151_936, 'float32', topKTopP, 'rf_sample', 17 * 7, 1024],
    ['32 × 151936', 32, 151_936, 'float32', topKTopP, 'rf_sample', 128, 1024],
    // A row per block from half the multiprocessors on; narrow blocks from two rows per one.
    ['128 × 151936', 128, 151_936, 'float32', topKTopP, 'rf_sample', 128, 1024],
    ['300 × 32000', 300, 32_000, 'float32', topKTopP, 'rf_sample_narrow', 300, 256],
  ] as const)('%s', (_what, batch, vocab, dtype, filters, name, grid, block) => {
    const double = addonDouble() as Double;
    const sampler = samplerOver(double);
    const values = new Float32Array(batch * vocab);
    const input =
      dtype === 'float32'
        ? sampler.device.upload(values)
        : sampler.device.upload(new Uint16Array(batch * vocab));
    const request: SampleRequest<typeof input> = {
      logits: input,
      shape: [batch, vocab],
      ...filters,
      seed: 1,
    };
    if (dtype !== 'float32') request.dtype = dtype;
    double.launches.length = 0;
    sampler.sample(request);
    expect(double.launches.filter((l) => l.name.startsWith('rf_sample'))).toEqual([{ name, grid, block }]);
  });
});

// The development switch `wholeRowsFourPerSm` (off by default): whole rows of narrow batches
// that fit four blocks per multiprocessor take rf_sample_split_narrow.
describe('whole rows on four narrow blocks per multiprocessor (switch)', () => {
  it.each([
    ['264 × 32000', 264, 32_000, 'rf_sample_split_narrow', 264],
    ['528 × 32000', 528, 32_000, 'rf_sample_split_narrow', 528],
    ['529 × 32000', 529, 32_000, 'rf_sample_narrow', 529],
    ['1 × 4096', 1, 4096, 'rf_sample_split_narrow', 1],
    ['128 × 151936 (wide blocks)', 128, 151_936, 'rf_sample', 128],
  ] as const)('%s', (_what, batch, vocab, name, grid) => {
    const double = addonDouble() as Double;
    const sampler = samplerOver(double);
    expect(sampler.kernels.wholeRowsFourPerSm).toBe(false);
    sampler.kernels.wholeRowsFourPerSm = true;
    try {
      const input = sampler.device.upload(new Float32Array(batch * vocab));
      double.launches.length = 0;
      sampler.sample({ logits: input, shape: [batch, vocab], topK: 50, topP: 0.9, seed: 1 });
      const [launch] = double.launches.filter((l) => l.name.startsWith('rf_sample'));
      expect(launch).toEqual({ name, grid, block: name === 'rf_sample' ? 1024 : 256 });
    } finally {
      sampler.kernels.wholeRowsFourPerSm = false;
    }
  });
});

// rf_sample's launcher: one row's parameters by value (`oneRow`) or parameter arrays, not both.
describe('a launch with one row by value', () => {
  it('takes exactly one of params and oneRow, and oneRow for one row only', () => {
    const double = addonDouble() as Double;
    const sampler = samplerOver(double);
    const device = sampler.device;
    const input = device.upload(new Float32Array(2 * 64));
    const out = device.alloc(1024);
    const statuses = device.alloc(64);
    const one = {
      temperature: Float32Array.of(1),
      topK: Int32Array.of(0),
      topP: Float32Array.of(1),
      minP: Float32Array.of(0),
      seedLo: Uint32Array.of(4),
      seedHi: Uint32Array.of(0),
      stepLo: Uint32Array.of(3),
      stepHi: Uint32Array.of(0),
      stream: Uint32Array.of(0),
    };
    const base = {
      input,
      vocab: 64,
      kind: 'logits',
      filterOrder: 'topKFirst',
      samples: 1,
      tokens: out,
      valid: statuses,
    } as const;
    expect(() => sampler.kernels.sample({ ...base, batch: 1 })).toThrow(kernels.KernelArgumentError);
    expect(() => sampler.kernels.sample({ ...base, batch: 2, oneRow: one })).toThrow(
      /oneRow with a batch of 2/,
    );
    const rows = Object.fromEntries(kernels.ROW_PARAMETERS.map((n) => [n, out])) as never;
    expect(() => sampler.kernels.sample({ ...base, batch: 1, oneRow: one, params: rows })).toThrow(
      /exactly one/,
    );
    double.launches.length = 0;
    sampler.kernels.sample({ ...base, batch: 1, oneRow: one });
    expect(double.launches).toEqual([{ name: 'rf_sample_narrow', grid: 1, block: 256 }]);
    // The double's kernel draws (seedLo + stepLo) mod vocab from the values it was given.
    expect(new Int32Array(out.read(new Uint8Array(4)).buffer)[0]).toBe(7);
  });
});
