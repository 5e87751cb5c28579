import { deviceCount, probe } from '@rocmforge/hip-runtime';
import { expect, it } from 'vitest';
import { gpuSuite } from '../../../tooling/gpu-test.js';
import { gaussianLogits } from '../../../tooling/statistics.js';
import { createSampler, type MultiGpuSampler, type SampleRequest } from '../src/index.js';

const devices = (() => {
  try {
    return deviceCount();
  } catch {
    return 0;
  }
})();

gpuSuite(probe)('a batch sharded over every GPU of the host', () => {
  const several = devices >= 2 ? it : it.skip;

  several.each([
    [10_000, 32_000],
    [4096, 151_936],
  ])('%i × %i, top-k 50 + top-p 0.9: the tokens of one device, in row order', (batch, vocab) => {
    const logits = gaussianLogits(batch * vocab, 3, batch);
    const request: SampleRequest = { logits, shape: [batch, vocab], topK: 50, topP: 0.9, seed: 42, step: 3 };
    const one = createSampler({ backend: 'gpu', device: 0 });
    const all = createSampler({ backend: 'gpu', devices: 'all' }) as MultiGpuSampler;
    expect(all.shards.length).toBe(devices);
    const single = one.sample(request);
    const sharded = all.sample(request);
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
