import { MAX_TOP_LOGPROBS as KERNEL_MAX_TOP_LOGPROBS } from '@rocmforge/sampling-kernels';
import { describe, expect, it } from 'vitest';
import { createSampler, MAX_TOP_LOGPROBS, resolveRequest, SamplerInputError } from '../src/index.js';
import type { SampleRequest } from '../src/request.js';

const sampler = createSampler({ backend: 'cpu' });
const logits = new Float32Array([1, 2, 3, 4, 5, 6]);

function inputError(request: SampleRequest): SamplerInputError {
  try {
    sampler.sample(request);
  } catch (error) {
    expect(error).toBeInstanceOf(SamplerInputError);
    return error as SamplerInputError;
  }
  throw new Error('expected a SamplerInputError');
}

describe('request validation', () => {
  it.each<[string, SampleRequest, string, number | undefined]>([
    [
      'NaN logits',
      { logits: new Float32Array([1, Number.NaN, 3, 4, 5, 6]), shape: [2, 3], onInvalidRow: 'throw' },
      'logits',
      0,
    ],
    [
      'NaN logits in row 1',
      { logits: new Float32Array([1, 2, 3, 4, Number.NaN, 6]), shape: [2, 3], onInvalidRow: 'throw' },
      'logits',
      1,
    ],
    [
      'NaN logits under a logit bias',
      {
        logits: new Float32Array([1, 2, 3, 4, Number.NaN, 6]),
        shape: [2, 3],
        logitBias: { 0: 1 },
        onInvalidRow: 'throw',
      },
      'logits',
      1,
    ],
    ['length not matching the shape', { logits, shape: [4, 2] }, 'logits', undefined],
    ['batch 0', { logits, shape: [0, 6] }, 'shape[0] (batch)', undefined],
    ['vocab 0', { logits: new Float32Array(0) }, 'logits', undefined],
    ['topP 0', { logits, topP: 0 }, 'topP', undefined],
    ['topP above 1', { logits, topP: 1.01 }, 'topP', undefined],
    ['topP per row', { logits, shape: [2, 3], topP: [0.5, 2] }, 'topP', 1],
    ['topK negative', { logits, topK: -1 }, 'topK', undefined],
    ['topK fractional', { logits, topK: 1.5 }, 'topK', undefined],
    ['minP above 1', { logits, minP: 1.5 }, 'minP', undefined],
    ['negative temperature', { logits, temperature: -0.1 }, 'temperature', undefined],
    ['NaN temperature', { logits, shape: [2, 3], temperature: [1, Number.NaN] }, 'temperature', 1],
    ['fractional seed', { logits, seed: 1.5 }, 'seed', undefined],
    ['negative seed', { logits, seed: -1 }, 'seed', undefined],
    ['seed of 2^64', { logits, seed: 1n << 64n }, 'seed', undefined],
    ['per-row array of the wrong length', { logits, shape: [2, 3], seed: [1, 2, 3] }, 'seed', undefined],
    ['samples 0', { logits, samples: 0 }, 'samples', undefined],
    ['both logits and probs', { logits, probs: logits }, 'logits', undefined],
    [
      'negative probabilities',
      { probs: new Float32Array([0.5, -0.1, 0.6]), onInvalidRow: 'throw' },
      'probs',
      0,
    ],
    ['bias on an unknown token', { logits, logitBias: { 6: 1 } }, 'logitBias', undefined],
    [
      'history with an unknown token',
      { logits, outputTokens: [7], frequencyPenalty: 1 },
      'outputTokens[0]',
      0,
    ],
    ['zero repetition penalty', { logits, repetitionPenalty: 0 }, 'repetitionPenalty', undefined],
    ['a misspelt field', { logits, topk: 2 } as SampleRequest, 'topk', undefined],
    ['a snake_case field', { logits, top_p: 0.5 } as SampleRequest, 'top_p', undefined],
    ['an unknown field left undefined', { logits, topk: undefined } as SampleRequest, 'topk', undefined],
    ['top-n log-probabilities past the limit', { logits, logprobs: 1025 }, 'logprobs', undefined],
    ['an unknown bad-row policy', { logits, onInvalidRow: 'skip' } as never, 'onInvalidRow', undefined],
  ])('rejects %s naming the field and row', (_name, request, field, row) => {
    const error = inputError(request);
    expect(error.field).toBe(field);
    expect(error.row).toBe(row);
    expect(error.message).toMatch(/^Expected .+ but received /);
    expect(error.code).toBe('ERR_SAMPLER_INPUT');
  });

  it.each([
    ['plain', {}],
    ['top-k', { topK: 10 }],
    ['greedy', { temperature: 0 }],
  ])('finds a NaN anywhere in a long row (%s path)', (_name, params) => {
    for (const at of [0, 3, 4, 2501, 4998, 4999]) {
      const x = new Float32Array(2 * 5000).map((_, i) => Math.sin(i));
      x[5000 + at] = Number.NaN;
      const error = inputError({ logits: x, shape: [2, 5000], onInvalidRow: 'throw', ...params });
      expect([error.field, error.row]).toEqual(['logits', 1]);
    }
  });

  it.each([
    ['typicalP', { typicalP: 0 }],
    ['typicalP', { typicalP: 1.5 }],
    ['topNSigma', { topNSigma: -1 }],
    ['topNSigma', { topNSigma: Number.POSITIVE_INFINITY }],
    ['xtcProbability', { xtcProbability: 1.1 }],
    ['xtcThreshold', { xtcThreshold: -0.1 }],
  ])('rejects a bad %s, naming it', (field, change) => {
    expect(() => resolveRequest({ logits: new Float32Array(4), ...change })).toThrow(
      expect.objectContaining({ field, row: undefined }),
    );
  });

  it('checks the new filters per row and resolves them only when a row uses one', () => {
    const logits = new Float32Array(8);
    expect(() => resolveRequest({ logits, shape: [2, 4], topNSigma: [1, -2] })).toThrow(
      expect.objectContaining({ field: 'topNSigma', row: 1 }),
    );
    expect(
      resolveRequest({ logits, shape: [2, 4], typicalP: 1, xtcThreshold: 0.2 }).extraFilters,
    ).toBeUndefined();
    const filters = resolveRequest({ logits, shape: [2, 4], typicalP: [1, 0.5], xtcProbability: 0.3 })
      .extraFilters!;
    expect([...filters.typicalP]).toEqual([1, 0.5]);
    expect([...filters.xtcProbability]).toEqual([Math.fround(0.3), Math.fround(0.3)]);
    expect([...filters.xtcThreshold]).toEqual([Math.fround(0.1), Math.fround(0.1)]);
    expect([...filters.topNSigma]).toEqual([0, 0]);
  });

  it('names the field an unknown one resembles', () => {
    expect(inputError({ logits, topk: 2 } as SampleRequest).message).toBe(
      'Expected a SampleRequest field name (did you mean topK?) for topk but received 2 of type number',
    );
    expect(inputError({ logits, logit_bias: {} } as SampleRequest).message).toContain(
      'did you mean logitBias?',
    );
    expect(inputError({ logits, nucleus: 0.9 } as SampleRequest).message).not.toContain('did you mean');
  });

  it('limits top-n log-probabilities as the GPU kernel does, on every backend', () => {
    expect(MAX_TOP_LOGPROBS).toBe(KERNEL_MAX_TOP_LOGPROBS);
    const wide = new Float32Array(2000);
    expect(sampler.sample({ logits: wide, logprobs: MAX_TOP_LOGPROBS }).topLogprobs!.n).toBe(
      MAX_TOP_LOGPROBS,
    );
    expect(inputError({ logits: wide, logprobs: MAX_TOP_LOGPROBS + 1 }).message).toBe(
      'Expected true, false or an integer in [0, 1024] for logprobs but received 1025 of type number',
    );
  });

  it('streams: 0 for every row with per-row seeds, the row index with one seed, as given otherwise', () => {
    const shape = [3, 2] as const;
    expect([...resolveRequest({ logits, shape, seed: [5, 6, 7] }).stream]).toEqual([0, 0, 0]);
    expect([...resolveRequest({ logits, shape, seed: 5 }).stream]).toEqual([0, 1, 2]);
    expect([...resolveRequest({ logits, shape }).stream]).toEqual([0, 1, 2]);
    expect([...resolveRequest({ logits, shape, seed: [5, 6, 7], stream: [9, 8, 7] }).stream]).toEqual([
      9, 8, 7,
    ]);
    expect([...resolveRequest({ logits, shape, seed: [5, 6, 7], stream: 4 }).stream]).toEqual([4, 4, 4]);
  });

  it('flags bad rows by default and throws for them on request', () => {
    expect(resolveRequest({ logits }).onInvalidRow).toBe('flag');
    expect(resolveRequest({ logits, onInvalidRow: 'throw' }).onInvalidRow).toBe('throw');
  });

  it('accepts 64-bit seeds as bigint and as safe integers alike', () => {
    const a = sampler.sample({ logits, seed: 2n ** 40n + 5n, samples: 8 });
    const b = sampler.sample({ logits, seed: 2 ** 40 + 5, samples: 8 });
    expect([...a.tokens]).toEqual([...b.tokens]);
    expect(() => sampler.sample({ logits, seed: (1n << 64n) - 1n })).not.toThrow();
  });

  it('rejects a GPU backend it does not have and says why for auto', () => {
    expect(() => createSampler({ backend: 'gpu' })).toThrow(/gpu backend is unavailable/);
    const auto = createSampler();
    expect(auto.backend).toBe('cpu');
    expect(auto.fallbackReason).toBeTypeOf('string');
  });

  it('checks dtype and after, and keeps them', () => {
    const logits = new Float32Array(4);
    expect(resolveRequest({ logits }).dtype).toBe('float32');
    expect(resolveRequest({ logits: new Uint16Array(4), dtype: 'bfloat16' }).dtype).toBe('bfloat16');
    expect(() => resolveRequest({ logits, dtype: 'fp16' as never })).toThrow(
      "Expected 'float32', 'float16' or 'bfloat16' for dtype but received 'fp16' of type string",
    );
    // The CPU waits on the host for what `after` names, before it reads the input.
    let waited = 0;
    const after = { synchronize: () => waited++ } as never;
    expect(resolveRequest({ logits, after }).after).toBe(after);
    createSampler({ backend: 'cpu' }).sample({ logits, after });
    expect(waited).toBe(1);
    expect(() => resolveRequest({ logits, after: 5 as never })).toThrow(
      'Expected an Event or a Stream for after but received 5 of type number',
    );
  });
});

// The per-row arrays of 17 rows and more are views of a shared slab (resolve-request.ts,
// RowArrays): each request's arrays must stay its own however many requests come after it.
describe('per-row arrays of a resolved request', () => {
  it.each([1, 16, 17, 32, 300, 5000])('%i rows: own values, kept while later requests resolve', (batch) => {
    const vocab = 4;
    const input = new Float32Array(batch * vocab);
    const request = (i: number) =>
      resolveRequest({
        logits: input,
        shape: [batch, vocab],
        temperature: Array.from({ length: batch }, (_, r) => r + i),
        topK: Array.from({ length: batch }, (_, r) => (r + i) % 3),
        topP: 0.5,
        minP: 0.25,
        seed: Array.from({ length: batch }, (_, r) => 2 ** 40 + r + i),
        step: i,
      });
    const first = request(1);
    const fields = [
      first.temperature,
      first.topK,
      first.topP,
      first.minP,
      first.seedLo,
      first.seedHi,
      first.stepLo,
      first.stepHi,
      first.stream,
    ];
    // No two arrays overlap.
    const spans = fields.map((a) => [a.byteOffset, a.byteOffset + a.byteLength, a.buffer] as const);
    for (const [i, [a0, a1, ab]] of spans.entries())
      for (const [b0, b1, bb] of spans.slice(i + 1)) if (ab === bb) expect(a1 <= b0 || b1 <= a0).toBe(true);
    const copy = fields.map((a) => Array.from(a));
    // Enough later requests to use up several slabs.
    for (let i = 2; i < 2 + Math.ceil((3 * 65536) / (36 * batch)); i++) request(i);
    expect(fields.map((a) => Array.from(a))).toEqual(copy);
    expect(first.temperature[batch - 1]).toBe(batch);
    expect(first.topK[batch - 1]).toBe(batch % 3);
    expect(Array.from(first.seedHi).every((v) => v === 256)).toBe(true);
    expect(first.stepLo.every((v) => v === 1)).toBe(true);
    expect(first.stream[batch - 1]).toBe(0);
  });
});
