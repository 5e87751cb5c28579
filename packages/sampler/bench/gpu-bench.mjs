// GPU + CPU benchmark grid (not a test): `pnpm bench` in this package after `pnpm build`.
// Prints a table; with an argument, also writes the raw results as JSON to that file.
import { writeFileSync } from 'node:fs';
import { defaultBenchGrid, runBenchmark } from '../dist/index.js';

const quick = process.argv.includes('--quick');
const sigmas = process.argv.includes('--both-sigmas') ? [3, 1] : [3];
const out = process.argv.find((a) => a.endsWith('.json'));
const run = runBenchmark({ cases: defaultBenchGrid({ quick, sigmas }), cpuRows: 8 });
console.log(`device: ${run.device ?? `none (${run.gpuError})`}`);
console.table(
  run.results.map((r) => ({
    shape: `${r.batch}x${r.vocab}`,
    mode: r.mode,
    sigma: r.sigma,
    'kernel µs': r.gpu?.kernelMicroseconds.toFixed(1),
    'GB/s': r.gpu?.gigabytesPerSecond.toFixed(0),
    'host µs': r.gpu?.hostOverheadMicroseconds.toFixed(1),
    'e2e µs': r.gpu?.endToEndMicroseconds.toFixed(0),
    'cpu µs': r.cpu?.microseconds.toFixed(0),
  })),
);
if (out) writeFileSync(out, JSON.stringify(run, null, 2));
