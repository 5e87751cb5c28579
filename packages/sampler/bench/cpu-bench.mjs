// CPU sampler benchmark (not a test): time per row at vocab 151936, logits ~ N(0, 3²).
// Run with `pnpm bench` in this package after `pnpm build`.
import { createSampler, syntheticLogits } from '../dist/index.js';

const vocab = 151_936;
const rows = 64;
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
const results = [];
for (const [name, params] of Object.entries(modes)) {
  const times = [];
  for (let rep = 0; rep < 15; rep++) {
    const start = process.hrtime.bigint();
    sampler.sample({ logits, shape: [rows, vocab], seed: rep, ...params });
    times.push(Number(process.hrtime.bigint() - start) / 1e6 / rows);
  }
  times.sort((a, b) => a - b);
  results.push({ mode: name, 'ms per row (median of 15)': times[7].toFixed(3) });
}
console.table(results);
