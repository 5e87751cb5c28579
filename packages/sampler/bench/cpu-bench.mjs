// CPU sampler benchmark (not a test): time per row at vocab 151936, logits ~ N(0, 3²).
// Run with `pnpm bench` in this package after `pnpm build`.
//
// Two medians per mode: wall time, and the process's CPU time (user + system) over the same
// calls. On a machine shared with other work the wall time includes the time others held the
// cores; the CPU time does not, so when the two differ much, the machine was busy.
import { createSampler, syntheticLogits } from '../dist/index.js';

const vocab = 151_936;
const rows = 64;
const reps = 15;
const logits = syntheticLogits(rows * vocab, 3, 12345);

const sampler = createSampler({ backend: 'cpu' });
const modes = {
  plain: {},
  'top-k 50': { topK: 50 },
  'top-p 0.9': { topP: 0.9 },
  'min-p 0.1': { minP: 0.1 },
  'top-k 50 + top-p 0.9': { topK: 50, topP: 0.9 },
  greedy: { temperature: 0 },
};
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const results = [];
for (const [name, params] of Object.entries(modes)) {
  const wall = [];
  const cpu = [];
  for (let rep = 0; rep < reps; rep++) {
    const start = process.hrtime.bigint();
    const startCpu = process.cpuUsage();
    sampler.sample({ logits, shape: [rows, vocab], seed: rep, ...params });
    const used = process.cpuUsage(startCpu);
    wall.push(Number(process.hrtime.bigint() - start) / 1e6 / rows);
    cpu.push((used.user + used.system) / 1e3 / rows);
  }
  results.push({
    mode: name,
    [`ms per row (median of ${reps})`]: median(wall).toFixed(3),
    'CPU ms per row (median)': median(cpu).toFixed(3),
  });
}
console.table(results);
