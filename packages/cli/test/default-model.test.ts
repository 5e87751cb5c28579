import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { modelPath, referenceLogits } from '@rocmforge/model-kjv';
import { getLlama, LlamaLogLevel, type Token } from 'node-llama-cpp';
import { describe, expect, it } from 'vitest';
import { convertLlama2c } from '../src/llama2c.js';

const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
const env = { ...process.env, ROCMFORGE_DRIVER_PATH: '/nonexistent/libnothing.so', NO_COLOR: '1' };
const dir = mkdtempSync(join(tmpdir(), 'rocmforge-default-model-'));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function generateJson(...args: string[]) {
  const r = cli('generate', '--backend', 'cpu', '--json', ...args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { text: string; tokens: number[]; stoppedAt: string };
}

async function loadEngine() {
  return getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: 1 });
}

describe('the bundled model (@rocmforge/model-kjv) through the engine', () => {
  // The export check: the engine, reading the GGUF, computes what PyTorch computed from the same
  // float16 weights. Measured at export: max |Δ| 0.0034 on logits of magnitude up to 10.2.
  it('tokenizes as the training tokenizer did, and its logits match PyTorch’s', async () => {
    const llama = await loadEngine();
    const model = await llama.loadModel({ modelPath });
    try {
      expect(model.tokens.bos).toBe(0);
      expect(model.tokens.eos).toBe(0);
      for (const reference of referenceLogits()) {
        expect(model.tokenize(reference.prompt)).toEqual(reference.ids.slice(1));
        const context = await model.createContext({ contextSize: 512 });
        try {
          const sequence = context.getSequence();
          const ids = reference.ids as Token[];
          const results = await sequence.controlledEvaluate(
            ids.map((t, i) => (i === ids.length - 1 ? [t, { generateNext: { logits: true } }] : t)),
          );
          const logits = results.at(-1)?.next?.logits as Map<number, number>;
          let worst = 0;
          reference.lastLogits.forEach((expected, token) => {
            worst = Math.max(worst, Math.abs((logits.get(token) ?? Number.NaN) - expected));
          });
          expect(worst).toBeLessThan(0.02);
          // Greedy decoding in the engine follows PyTorch's 24 greedy tokens.
          const greedy: number[] = [];
          let next = argmax(logits);
          for (let i = 0; i < reference.greedy.length; i++) {
            greedy.push(next);
            const step = await sequence.controlledEvaluate([
              [next as Token, { generateNext: { logits: true } }],
            ]);
            next = argmax(step.at(-1)?.next?.logits as Map<number, number>);
          }
          expect(greedy).toEqual(reference.greedy);
          expect(model.detokenize(greedy as Token[])).toBe(reference.greedyText);
        } finally {
          await context.dispose();
        }
      }
    } finally {
      await model.dispose();
    }
  });
});

describe('rocmforge generate with the bundled model (no --model)', () => {
  const args = ['--prompt', 'And God said', '--max-tokens', '50', '--temperature', '0.8', '--top-k', '40'];

  it('50 seeded tokens: English from the model’s vocabulary, the same twice, different for another seed', () => {
    const a = generateJson(...args, '--seed', '7');
    const b = generateJson(...args, '--seed', '7');
    const c = generateJson(...args, '--seed', '8');
    expect(a.tokens.length).toBeGreaterThan(5);
    for (const t of a.tokens) expect(Number.isInteger(t) && t > 0 && t < 4096).toBe(true);
    expect(a.text.trim().length).toBeGreaterThan(20);
    expect(a.text).toMatch(/\b(the|and|of|unto|LORD|God)\b/);
    expect(b.tokens).toEqual(a.tokens);
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  it('generates past the model’s context (512) by shifting it, and refuses a prompt that does not fit', () => {
    const prompt = 'and the LORD '.repeat(160); // 481 tokens
    const past = generateJson(
      '--prompt',
      prompt,
      '--max-tokens',
      '100',
      '--temperature',
      '0',
      '--top-k',
      '0',
    );
    expect(past.tokens).toHaveLength(100);
    expect(past.stoppedAt).toBe('max-tokens');
    const long = cli('generate', '--prompt', prompt.repeat(2), '--backend', 'cpu');
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/the prompt is \d+ tokens; the model's context holds 512/);
  });
});

describe('tooling/model/random-model.mjs (large-vocabulary timing model)', () => {
  it('writes a checkpoint and tokenizer that convert (--json) and generate', () => {
    const out = join(dir, 'random');
    const script = join(import.meta.dirname, '..', '..', '..', 'tooling', 'model', 'random-model.mjs');
    const made = spawnSync(
      process.execPath,
      [script, out, '--vocab', '1000', '--dim', '16', '--layers', '1'],
      {
        encoding: 'utf8',
      },
    );
    expect(made.status, made.stderr).toBe(0);
    const gguf = join(out, 'model.gguf');
    const converted = cli(
      'convert-llama2c',
      join(out, 'model.bin'),
      join(out, 'tokenizer.bin'),
      gguf,
      '--type',
      'f16',
      '--json',
    );
    expect(converted.code, converted.stderr).toBe(0);
    expect(JSON.parse(converted.stdout)).toEqual({ file: gguf, bytes: statSync(gguf).size, type: 'f16' });
    const result = generateJson('--model', gguf, '--prompt', 'w300 w400', '--max-tokens', '8', '--seed', '1');
    for (const t of result.tokens) expect(t >= 0 && t < 1000).toBe(true);
    expect(result.text).toMatch(/w\d+/);
  });
});

describe('convert-llama2c with a byte-level BPE tokenizer.json and float16 matrices', () => {
  // A tiny random llama2.c checkpoint and a GPT-2-style tokenizer with three merges.
  const [dim, hidden, layers, heads, context] = [8, 16, 1, 2, 16];
  const bytes = gpt2ByteAlphabet();
  const vocab: Record<string, number> = { '<|endoftext|>': 0 };
  bytes.forEach((ch, i) => {
    vocab[ch] = i + 1;
  });
  Object.assign(vocab, { th: 257, the: 258, Ġthe: 259 });
  const size = 260;

  function checkpoint(): string {
    const counts = [size * dim, dim, dim * dim * 4, dim, dim * hidden * 3, dim, context * (dim / heads)];
    const floats = new Float32Array(counts.reduce((a, b) => a + b, 0)).map((_, i) => Math.sin(i) * 0.1);
    const header = Buffer.alloc(28);
    [dim, hidden, layers, heads, heads, size, context].forEach((v, i) => {
      header.writeInt32LE(v, i * 4);
    });
    const path = join(dir, 'tiny.bin');
    writeFileSync(path, Buffer.concat([header, Buffer.from(floats.buffer)]));
    return path;
  }

  function tokenizer(overrides: object = {}): string {
    const path = join(dir, `tokenizer-${Object.keys(overrides).length}.json`);
    const json = {
      added_tokens: [{ id: 0, content: '<|endoftext|>', special: true }],
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false },
      model: {
        type: 'BPE',
        vocab,
        merges: [
          ['t', 'h'],
          ['th', 'e'],
          ['Ġ', 'the'],
        ],
      },
      ...overrides,
    };
    writeFileSync(path, JSON.stringify(json));
    return path;
  }

  it('writes a GPT-2 BPE vocabulary that the engine tokenizes with the merges', async () => {
    const gguf = join(dir, 'tiny.gguf');
    const data = convertLlama2c(checkpoint(), tokenizer(), { type: 'f16', name: 'tiny' });
    writeFileSync(gguf, data);
    const llama = await loadEngine();
    const model = await llama.loadModel({ modelPath: gguf });
    try {
      const ids = model.tokenize('the cat the');
      expect(ids).toEqual([258, vocab.Ġ, vocab.c, vocab.a, vocab.t, 259]);
      expect(model.detokenize(ids)).toBe('the cat the');
      expect(model.tokens.eos).toBe(0);
      expect(model.fileInfo.metadata.general.file_type).toBe(1); // mostly float16
    } finally {
      await model.dispose();
    }
  });

  it('rejects a tokenizer.json that is not byte-level BPE, or that does not cover the vocabulary', () => {
    expect(() => convertLlama2c(checkpoint(), tokenizer({ pre_tokenizer: { type: 'Whitespace' } }))).toThrow(
      /not a byte-level BPE tokenizer\.json/,
    );
    const short = Object.fromEntries(Object.entries(vocab).filter(([, id]) => id !== 200));
    expect(() =>
      convertLlama2c(checkpoint(), tokenizer({ model: { type: 'BPE', vocab: short, merges: [] } })),
    ).toThrow(/has no token for id 200/);
  });
});

function argmax(logits: Map<number, number>): number {
  let best = -1;
  let value = Number.NEGATIVE_INFINITY;
  for (const [token, v] of logits) {
    if (v > value) [best, value] = [token, v];
  }
  return best;
}

/** GPT-2's byte-to-character table: printable bytes stand for themselves, the rest from U+0100. */
function gpt2ByteAlphabet(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
  let extra = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : 256 + extra++));
}
