import { describe, expect, it } from 'vitest';
import { createSampler, SamplerInputError } from '../src/index.js';
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
    ['NaN logits', { logits: new Float32Array([1, Number.NaN, 3, 4, 5, 6]), shape: [2, 3] }, 'logits', 0],
    [
      'NaN logits in row 1',
      { logits: new Float32Array([1, 2, 3, 4, Number.NaN, 6]), shape: [2, 3] },
      'logits',
      1,
    ],
    [
      'NaN logits under a logit bias',
      { logits: new Float32Array([1, 2, 3, 4, Number.NaN, 6]), shape: [2, 3], logitBias: { 0: 1 } },
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
    ['negative probabilities', { probs: new Float32Array([0.5, -0.1, 0.6]) }, 'probs', 0],
    ['bias on an unknown token', { logits, logitBias: { 6: 1 } }, 'logitBias', undefined],
    [
      'history with an unknown token',
      { logits, outputTokens: [7], frequencyPenalty: 1 },
      'outputTokens[0]',
      0,
    ],
    ['zero repetition penalty', { logits, repetitionPenalty: 0 }, 'repetitionPenalty', undefined],
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
      const error = inputError({ logits: x, shape: [2, 5000], ...params });
      expect([error.field, error.row]).toEqual(['logits', 1]);
    }
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
});
