// Writes a random-weight llama2.c checkpoint and tokenizer with a large vocabulary, to time
// `rocmforge generate` where the sampler's share matters (Qwen2.5's 151936 by default): the
// text is noise, the logits are real work for the engine and the sampler.
//   node tooling/model/random-model.mjs DIR [--vocab 151936] [--dim 64] [--layers 2]
//   rocmforge convert-llama2c DIR/model.bin DIR/tokenizer.bin DIR/model.gguf --type f16
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    vocab: { type: 'string', default: '151936' },
    dim: { type: 'string', default: '64' },
    layers: { type: 'string', default: '2' },
  },
});
const dir = positionals[0];
if (!dir) throw new Error('usage: random-model.mjs DIR [--vocab V] [--dim D] [--layers L]');
const [vocab, dim, layers] = [values.vocab, values.dim, values.layers].map(Number);
const [heads, hidden, context] = [4, dim * 4, 512];
mkdirSync(dir, { recursive: true });

// Weights: deterministic pseudo-random N(0, 0.02²)-ish values; norms 1.
let state = 12345;
const random = () => {
  state = (state * 1103515245 + 12345) >>> 0;
  return (state / 2 ** 32 - 0.5) * 0.07;
};
const matrix = (n) => Float32Array.from({ length: n }, random);
const ones = (n) => new Float32Array(n).fill(1);
const headDim = dim / heads;
const parts = [
  matrix(vocab * dim),
  ones(layers * dim),
  ...[0, 1, 2, 3].map(() => matrix(layers * dim * dim)),
  ones(layers * dim),
  matrix(layers * dim * hidden),
  matrix(layers * hidden * dim),
  matrix(layers * dim * hidden),
  ones(dim),
  new Float32Array((context * headDim) / 2),
  new Float32Array((context * headDim) / 2),
];
const header = Buffer.alloc(28);
[dim, hidden, layers, heads, heads, vocab, context].forEach((v, i) => {
  header.writeInt32LE(v, i * 4);
});
writeFileSync(join(dir, 'model.bin'), Buffer.concat([header, ...parts.map((p) => Buffer.from(p.buffer))]));

// Tokenizer: <unk> <s> </s>, the 256 byte tokens, then words " w<i>".
const pieces = ['<unk>', '<s>', '</s>'];
for (let b = 0; b < 256; b++) pieces.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
while (pieces.length < vocab) pieces.push(` w${pieces.length}`);
const chunks = [Buffer.alloc(4)];
chunks[0].writeInt32LE(16);
pieces.forEach((piece, i) => {
  const text = Buffer.from(piece, 'utf8');
  const head = Buffer.alloc(8);
  head.writeFloatLE(-i, 0);
  head.writeInt32LE(text.length, 4);
  chunks.push(head, text);
});
writeFileSync(join(dir, 'tokenizer.bin'), Buffer.concat(chunks));
console.log(`${dir}: model.bin (vocab ${vocab}, dim ${dim}, ${layers} layers) and tokenizer.bin`);
