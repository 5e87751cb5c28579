// Soak test (not part of the suite): N consecutive GPU sample calls, reporting host and
// device memory before and after. `node bench/soak.mjs 1000000`.
import { createSampler } from '../dist/index.js';

const calls = Number(process.argv[2] ?? 1_000_000);
const vocab = 32_000;
const logits = new Float32Array(vocab).map((_, i) => Math.sin(i) * 3);
const sampler = createSampler({ backend: 'gpu' });
const device = sampler.device;
const request = { logits, seed: 1 };
for (let i = 0; i < 1000; i++) sampler.sample({ ...request, step: i });
global.gc?.();
const before = {
  rss: process.memoryUsage().rss,
  device: device.memoryInfo().free,
  workspace: sampler.memoryBytes,
};
const start = performance.now();
for (let i = 0; i < calls; i++) {
  sampler.sample({ ...request, step: i });
  if (i % 100_000 === 99_999) {
    const rss = (process.memoryUsage().rss / 2 ** 20).toFixed(1);
    console.log(
      `${i + 1} calls, ${(((performance.now() - start) / (i + 1)) * 1000).toFixed(1)} µs/call, rss ${rss} MB, device free ${device.memoryInfo().free}`,
    );
  }
}
const seconds = (performance.now() - start) / 1000;
global.gc?.();
const after = {
  rss: process.memoryUsage().rss,
  device: device.memoryInfo().free,
  workspace: sampler.memoryBytes,
};
console.log(
  JSON.stringify({
    calls,
    seconds: seconds.toFixed(1),
    microsecondsPerCall: ((seconds * 1e6) / calls).toFixed(1),
    rssBeforeMB: (before.rss / 2 ** 20).toFixed(1),
    rssAfterMB: (after.rss / 2 ** 20).toFixed(1),
    deviceFreeChangeBytes: after.device - before.device,
    workspaceBytes: [before.workspace, after.workspace],
  }),
);
sampler.dispose();
