// The JavaScript side of one GPU `sample` call, measured without a GPU (not a test): the
// GpuSampler runs over a test double of the native addon that does no driver work and counts
// what crosses into it. `node bench/host-path.mjs` in this package after `pnpm build`.
// It prints, per case, the CPU microseconds per call (fastest and median of 15 rounds of 10000
// calls), the heap bytes it allocates, and the N-API crossings per call by function: the host path's own cost, which the driver's calls then add to on a GPU.
// `--null-driver`: the real addon instead, over a CUDA driver that does nothing (needs `cc`).
// `--timing`: with timing events, as `rocmforge bench` measures the wall time.
// On a GPU, the real figure is `rocmforge bench --backend gpu` (column "host µs").
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as runtime from '@rocmforge/hip-runtime';
import { Device } from '@rocmforge/hip-runtime';
import * as kernels from '@rocmforge/sampling-kernels';
import { GpuSampler, syntheticLogits } from '../dist/index.js';
import { addonDouble } from '../test/addon-double.mjs';

// Heap bytes allocated per call are counted between two forced collections, with a young
// generation large enough that none runs in between: this process runs again with those flags.
if (typeof globalThis.gc !== 'function') {
  const flags = ['--expose-gc', '--min-semi-space-size=128', '--max-semi-space-size=128'];
  const args = [...flags, ...process.argv.slice(1)];
  process.exit(spawnSync(process.execPath, args, { stdio: 'inherit' }).status ?? 1);
}

// The addon's test double (test/addon-double.mjs): no driver work (its kernel writes the row
// statuses only), every call counted.
const { native, counts } = addonDouble({ kernel: 'statuses' });

// --null-driver: the real addon over a CUDA driver that does nothing (bench/null-cuda-driver.c,
// built here with `cc`): the N-API crossings and the addon's own work are then in the figure.
const nullDriver = process.argv.includes('--null-driver');
let sampler;
let device;
if (nullDriver) {
  const library = join(mkdtempSync(join(tmpdir(), 'rocmforge-null-driver-')), 'libcuda-null.so');
  const source = fileURLToPath(new URL('null-cuda-driver.c', import.meta.url));
  const cc = spawnSync('cc', ['-O2', '-shared', '-fPIC', '-o', library, source], { stdio: 'inherit' });
  if (cc.status !== 0) throw new Error('cc could not build bench/null-cuda-driver.c');
  process.env.ROCMFORGE_BACKEND = 'cuda';
  process.env.ROCMFORGE_DRIVER_PATH = library;
  sampler = GpuSampler.create(0);
  device = sampler.device;
} else {
  device = new Device(native, 0, { backend: 'cuda', version: 13000, attempts: [] });
  // The constructor is private in TypeScript only: the double stands in for openDevice.
  sampler = new GpuSampler({ runtime, kernels }, device);
}
const timing = process.argv.includes('--timing');
if (timing) sampler.enableTiming();

const cases = [
  { name: 'device 1 × 151936 top-k+top-p', batch: 1, vocab: 151_936, onDevice: true },
  { name: 'device 32 × 151936 top-k+top-p', batch: 32, vocab: 151_936, onDevice: true },
  { name: 'device 1 × 151936 plain', batch: 1, vocab: 151_936, onDevice: true, plain: true },
  { name: 'host 1 × 4096 (generate)', batch: 1, vocab: 4096, onDevice: false },
];
const rows = [];
for (const c of cases) {
  const logits = syntheticLogits(c.batch * c.vocab, 3, 7);
  const input = c.onDevice ? device.upload(logits) : logits;
  const request = {
    logits: input,
    shape: [c.batch, c.vocab],
    seed: 1,
    ...(c.plain ? {} : { topK: 50, topP: 0.9 }),
  };
  const calls = 10_000;
  let step = 0;
  // One request, its step changed per call (as rocmforge bench times them): a spread per call
  // would cost more than some of what is measured.
  const timed = { ...request, step: 0 };
  const call = () => {
    timed.step = step++;
    sampler.sample(timed);
  };
  for (let i = 0; i < 5000; i++) call();
  globalThis.gc();
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < 1000; i++) call();
  const bytesPerCall = (process.memoryUsage().heapUsed - heapBefore) / 1000;
  const rounds = [];
  counts.clear();
  const roundCount = 15;
  for (let r = 0; r < roundCount; r++) {
    // CPU time, not wall time: on a shared machine waiting for the processor is not the call's.
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) call();
    const { user, system } = process.cpuUsage(start);
    rounds.push((user + system) / calls);
  }
  rounds.sort((a, b) => a - b);
  const perCall = {};
  for (const [name, n] of counts) perCall[name] = n / (calls * roundCount);
  rows.push({
    case: c.name,
    'µs per call (fastest round)': rounds[0].toFixed(2),
    'µs per call (median round)': rounds[roundCount >> 1].toFixed(2),
    'heap bytes per call': Math.round(bytesPerCall),
    ...(nullDriver
      ? {}
      : {
          crossings: Object.values(perCall).reduce((a, b) => a + b, 0),
          by: Object.entries(perCall)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        }),
  });
}
const over = nullDriver ? 'the real addon over a null CUDA driver' : 'a test double of the addon';
console.log(
  `node ${process.version}, ${over}${timing ? ', timing events on (as rocmforge bench measures)' : ''}`,
);
console.table(rows);
sampler.dispose();
