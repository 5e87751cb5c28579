import { deviceCount, probe } from '@rocmforge/hip-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gpuSuite } from '../../../tooling/gpu-test.js';
import { gaussianLogits } from '../../../tooling/statistics.js';
import {
  createSampler,
  type DistributionResult,
  type MultiGpuSampler,
  type SampleRequest,
  type Sampler,
} from '../src/index.js';
import { servingSemantics } from './serving-semantics.js';

// Long synchronous stretches starve vitest's worker connection: yield between them.
const tick = () => new Promise((resolve) => setImmediate(resolve));

// Two distributions equal bit for bit. The values compared as bytes: toEqual on a typed array
// of millions of elements builds an entry per element and runs the worker out of heap.
function expectSameDistribution(a: DistributionResult, b: DistributionResult) {
  expect([...a.status]).toEqual([...b.status]);
  expect([...a.valid]).toEqual([...b.valid]);
  expect(a.values.length).toBe(b.values.length);
  const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  expect(Buffer.compare(bytes(a.values), bytes(b.values))).toBe(0);
}

const devices = (() => {
  try {
    return deviceCount();
  } catch {
    return 0;
  }
})();

gpuSuite(probe)('a batch sharded over every GPU of the host', () => {
  const several = devices >= 2 ? it : it.skip;

  describe.skipIf(devices < 2)('serving semantics (the CPU suite, rows sharded over every GPU)', () => {
    let all: Sampler;
    beforeAll(() => {
      all = createSampler({ backend: 'gpu', devices: 'all' });
    });
    afterAll(() => all.dispose());
    servingSemantics(() => all, { vocab: 32_000, exactAcrossBatchSizes: false });
  });

  several.each([
    [10_000, 32_000],
    [4096, 151_936],
  ])('%i × %i, top-k 50 + top-p 0.9: the tokens of one device, in row order', async (batch, vocab) => {
    const logits = gaussianLogits(batch * vocab, 3, batch);
    await tick();
    const request: SampleRequest = { logits, shape: [batch, vocab], topK: 50, topP: 0.9, seed: 42, step: 3 };
    const one = createSampler({ backend: 'gpu', device: 0 });
    const all = createSampler({ backend: 'gpu', devices: 'all' }) as MultiGpuSampler;
    expect(all.shards.length).toBe(devices);
    const single = await one.sampleAsync(request);
    const sharded = await all.sampleAsync(request);
    expect(sharded.valid.every((v) => v === 1)).toBe(true);
    let same = 0;
    for (let i = 0; i < single.tokens.length; i++) if (sharded.tokens[i] === single.tokens[i]) same++;
    console.log(
      `${batch} × ${vocab} over ${devices} GPUs: ${same} of ${single.tokens.length} tokens identical`,
    );
    expect(same).toBe(single.tokens.length);
    one.dispose();
    all.dispose();
  });

  several(
    'the filter chain sharded: typical-p / top-n-sigma / XTC tokens, filtered rows and verify of one device',
    async () => {
      // 300 rows a device: every shard, and the one device, takes the same (narrow) blocks, so the
      // rows' sums round alike and the results are equal, not merely close.
      const [batch, vocab] = [300 * devices, 32_000];
      const logits = gaussianLogits(batch * vocab, 3, 17);
      await tick();
      const request: SampleRequest = {
        logits,
        shape: [batch, vocab],
        seed: 5,
        typicalP: 0.9,
        topNSigma: 2,
        xtcProbability: 0.5,
        xtcThreshold: 0.05,
      };
      const one = createSampler({ backend: 'gpu', device: 0 });
      const all = createSampler({ backend: 'gpu', devices: 'all' });
      expect([...all.sample(request).tokens]).toEqual([...one.sample(request).tokens]);
      expectSameDistribution(all.filteredProbs(request), one.filteredProbs(request));
      expectSameDistribution(all.maskedLogits(request), one.maskedLogits(request));
      const n = 3;
      const rows = batch / (n + 1);
      const verify = {
        logits,
        shape: [rows, n, vocab] as [number, number, number],
        draftTokens: Array.from({ length: rows * n }, (_, i) => (i * 7919) % vocab),
        draftProbs: new Float32Array(rows * n * vocab).fill(1),
        seed: 3,
        topK: 50,
      };
      expect(all.verify(verify)).toEqual(one.verify(verify));
      one.dispose();
      all.dispose();
    },
  );

  several('from pinned memory, all GPUs at once take clearly less wall time than one', async () => {
    // The concurrency check (a wall-time comparison, with a wide margin): the shards of
    // a pinned batch are copied and sampled on every device at the same time.
    const [batch, vocab] = [10_000, 32_000];
    const logits = gaussianLogits(batch * vocab, 3, 5);
    await tick();
    const request: SampleRequest = { logits, shape: [batch, vocab], topK: 50, topP: 0.9, seed: 42 };
    const one = createSampler({ backend: 'gpu', devices: [0] }) as MultiGpuSampler;
    const all = createSampler({ backend: 'gpu', devices: 'all' }) as MultiGpuSampler;
    const time = (sampler: MultiGpuSampler) => {
      using _pin = sampler.pinHostMemory(logits);
      const first = sampler.sample({ ...request, step: 0 });
      const times: number[] = [];
      for (let i = 1; i <= 5; i++) {
        const start = performance.now();
        sampler.sample({ ...request, step: i });
        times.push(performance.now() - start);
      }
      return { ms: times.sort((a, b) => a - b)[2]!, tokens: first.tokens };
    };
    const single = time(one);
    await tick();
    const sharded = time(all);
    console.log(
      `${batch} × ${vocab} pinned: 1 GPU ${single.ms.toFixed(1)} ms, ${devices} GPUs ${sharded.ms.toFixed(1)} ms`,
    );
    expect([...sharded.tokens]).toEqual([...single.tokens]);
    expect(sharded.ms).toBeLessThan(0.8 * single.ms);
    one.dispose();
    all.dispose();
  });

  several('a forced failure on one device is a typed error, not a hang; the next call works', async () => {
    const all = createSampler({ backend: 'gpu', devices: 'all' }) as MultiGpuSampler;
    const batch = 64;
    const vocab = 32_000;
    const request: SampleRequest = {
      logits: gaussianLogits(batch * vocab, 3, 1),
      shape: [batch, vocab],
      seed: 1,
    };
    const expected = all.sample(request).tokens;
    all.injectFailure(devices - 1);
    expect(() => all.sample(request)).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^ERR_HIP/) }),
    );
    expect([...all.sample(request).tokens]).toEqual([...expected]);
    all.injectFailure(0);
    await expect(all.sampleAsync(request)).rejects.toThrow(/injected/);
    expect([...(await all.sampleAsync(request)).tokens]).toEqual([...expected]);
    // auto on several GPUs falls back to the CPU for good, with the same tokens.
    const auto = createSampler({ devices: 'all', logger: null });
    (auto as unknown as { injectFailure(): void }).injectFailure();
    const after = auto.sample(request);
    expect(auto.backend).toBe('cpu');
    expect(auto.fallbackReason).toMatch(/failed mid-run/);
    expect(after.tokens.length).toBe(batch);
    auto.dispose();
    all.dispose();
  });
});
