// The staging block's two ways of bringing a small call's outputs back (not a test): per cell,
// the wall and kernel µs of GpuSampler.sample with the outputs copied back (`{ rows: 0 }`) and
// written into the mapped block (the default), interleaved; then generate's call (host 1 × 4096,
// top-k 40, top-p 0.95, T 0.8) on both backends after idle gaps of several kinds. On a GPU
// machine with node_modules: `node bench/host-io.mjs` after `pnpm build`. On the GPU machine
// of docs/DEVELOPING.md (no node_modules): tooling/gpu-pack.sh bundles it beside the CLI's
// bundle; run `node .gpu/cli/dist/host-io.mjs` there. Last, the same call's kernel time alone
// after each gap.
import { createSampler, GpuSampler, syntheticLogits } from '../dist/index.js';

const median = (v) => {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1];
};
const pct = (v, p) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
};
const sampler = GpuSampler.create(0);
const device = sampler.device;
console.log(device.info.name, device.info.backend, device.info.driverVersion, process.version);
const variants = {
  copy: { rows: 0 },
  mapped: { rows: 64 },
};
const gen = { temperature: 0.8, topK: 40, topP: 0.95 };
const tkp = { topK: 50, topP: 0.9 };
const cells = [
  ['device 1x151936 tk+tp', 1, 151936, true, tkp],
  ['device 1x151936 plain', 1, 151936, true, {}],
  ['device 32x151936 tk+tp', 32, 151936, true, tkp],
  ['device 32x151936 plain', 32, 151936, true, {}],
  ['device 1x50257 tk+tp', 1, 50257, true, tkp],
  ['device 1x50257 plain', 1, 50257, true, {}],
  ['device 32x50257 tk+tp', 32, 50257, true, tkp],
  ['device 32x50257 plain', 32, 50257, true, {}],
  ['device 64x151936 tk+tp', 64, 151936, true, tkp],
  ['host 1x4096 generate', 1, 4096, false, gen],
  ['host 32x4096 tk+tp', 32, 4096, false, tkp],
];
const rows = [];
for (const [name, batch, vocab, onDevice, mode] of cells) {
  const logits = syntheticLogits(batch * vocab, 1, batch + vocab);
  const buffer = onDevice ? device.upload(logits) : undefined;
  const request = { ...mode, logits: buffer ?? logits, shape: [batch, vocab], seed: 1, step: 0 };
  const reps = batch * vocab > 1e7 ? 60 : 300;
  const wall = {};
  const kernel = {};
  for (const v of Object.keys(variants)) {
    wall[v] = [];
    kernel[v] = [];
  }
  // Interleaved rounds: every variant sees the same machine state.
  for (let round = 0; round < 4; round++) {
    for (const [v, limits] of Object.entries(variants)) {
      sampler.setMappedLimits(limits);
      for (let i = 0; i < 5; i++) sampler.sample(request);
      sampler.enableTiming({ repeat: 10 });
      for (let i = 0; i < 8; i++) {
        request.step++;
        sampler.sample(request);
        kernel[v].push(sampler.lastKernelMilliseconds * 1000);
      }
      sampler.disableTiming();
      for (let i = 0; i < reps / 4; i++) {
        request.step++;
        const t = performance.now();
        sampler.sample(request);
        wall[v].push((performance.now() - t) * 1000);
      }
    }
  }
  const row = { cell: name };
  for (const v of Object.keys(variants)) {
    const k = median(kernel[v]);
    const w = median(wall[v]);
    row[`${v} wall`] = +w.toFixed(1);
    row[`${v} kernel`] = +k.toFixed(1);
    row[`${v} host`] = +(w - k).toFixed(1);
    row[`${v} p90`] = +pct(wall[v], 0.9).toFixed(1);
  }
  rows.push(row);
  console.log(JSON.stringify(row));
  buffer?.dispose();
}
console.table(rows);

// The generate-shaped call after gaps (default limits): back to back, after 1 ms of busy JS,
// after a 1 ms sleep, after a turn of the event loop, after a 2 ms timer.
sampler.setMappedLimits({ rows: 64 });
const cpu = createSampler({ backend: 'cpu' });
const vocab = 4096;
const logits = syntheticLogits(vocab, 3, 5);
const history = [];
const shared = new Int32Array(new SharedArrayBuffer(4));
const gaps = {
  none: () => {},
  'busy 1 ms': () => {
    const end = performance.now() + 1;
    while (performance.now() < end) {}
  },
  'sleep 1 ms': () => {
    Atomics.wait(shared, 0, 0, 1);
  },
  setImmediate: () => new Promise((r) => setImmediate(r)),
  'timer 2 ms': () => new Promise((r) => setTimeout(r, 2)),
};
const gapRows = [];
for (const [gap, wait] of Object.entries(gaps)) {
  const row = { gap };
  for (const [which, s] of [
    ['gpu', sampler],
    ['cpu', cpu],
  ]) {
    const times = [];
    for (let i = 0; i < 200; i++) {
      await wait();
      const request = {
        logits,
        ...gen,
        seed: 0n,
        step: 10 + i,
        promptTokens: [1, 2, 3],
        outputTokens: history,
        onInvalidRow: 'throw',
      };
      const t = performance.now();
      s.sample(request);
      times.push((performance.now() - t) * 1000);
    }
    row[`${which} median µs`] = +median(times.slice(20)).toFixed(1);
    row[`${which} p90 µs`] = +pct(times.slice(20), 0.9).toFixed(1);
  }
  gapRows.push(row);
}
console.table(gapRows);

// The same call's kernel alone after each gap (one launch between two events): an idle GPU
// lowers its clock (an H200 idles at 345 MHz against 1980), and if the kernel's time grows
// after a gap by about that ratio, the gap's cost is the clock, not the host.
const kernelRows = [];
for (const [gap, wait] of Object.entries(gaps)) {
  const times = [];
  sampler.enableTiming({ repeat: 1 });
  for (let i = 0; i < 120; i++) {
    await wait();
    sampler.sample({ logits, ...gen, seed: 0n, step: 10 + i, onInvalidRow: 'throw' });
    times.push(sampler.lastKernelMilliseconds * 1000);
  }
  sampler.disableTiming();
  kernelRows.push({
    gap,
    'gpu kernel median µs': +median(times.slice(20)).toFixed(1),
    'p90 µs': +pct(times.slice(20), 0.9).toFixed(1),
  });
}
console.table(kernelRows);
sampler.dispose();
