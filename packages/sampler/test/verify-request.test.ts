import { describe, expect, it } from 'vitest';
import { SamplerInputError } from '../src/index.js';
import { resolveVerifyRequest } from '../src/verify-request.js';

const vocab = 4;
const valid = {
  logits: new Float32Array(2 * 3 * vocab),
  shape: [2, 2, vocab] as [number, number, number],
  draftTokens: [0, 1, 2, 3],
  draftProbs: new Float32Array(2 * 2 * vocab).fill(0.25),
};

function fieldOf(call: () => unknown): { field: string; row: number | undefined } {
  try {
    call();
  } catch (error) {
    if (error instanceof SamplerInputError) return { field: error.field, row: error.row };
    throw error;
  }
  throw new Error('no error');
}

describe('resolveVerifyRequest', () => {
  it('expands each row to n + 1 positions with its parameters and steps step + j (carried)', () => {
    const resolved = resolveVerifyRequest({
      ...valid,
      temperature: [0.5, 2],
      step: [7, 2 ** 32 - 2],
      seed: 3,
    });
    const { target } = resolved;
    expect(target.batch).toBe(6);
    expect([...target.temperature]).toEqual([0.5, 0.5, 0.5, 2, 2, 2]);
    expect([...target.stepLo]).toEqual([7, 8, 9, 2 ** 32 - 2, 2 ** 32 - 1, 0]);
    expect([...target.stepHi]).toEqual([0, 0, 0, 0, 0, 1]);
    expect([...target.stream]).toEqual([0, 0, 0, 1, 1, 1]); // one seed for the batch: the row index
    expect([...resolved.draftTokens]).toEqual([0, 1, 2, 3]);
  });

  it.each([
    ['shape', { shape: [2, vocab] }, undefined],
    ['shape[1] (n)', { shape: [2, -1, vocab] }, undefined],
    ['logits', { logits: new Float32Array(5) }, undefined],
    ['draftTokens', { draftTokens: [0, 1, 2] }, undefined],
    ['draftTokens[1]', { draftTokens: [0, 1, 2, 9] }, 1],
    ['draftProbs', { draftProbs: new Float32Array(3) }, undefined],
    ['samples', { samples: 2 }, undefined],
    ['repetitionPenalty', { repetitionPenalty: 1.1 }, undefined],
    ['typicalP', { typicalP: [0.5, 0] }, 1],
    ['topk', { topk: 3 }, undefined],
  ])('rejects %s', (field, change, row) => {
    expect(fieldOf(() => resolveVerifyRequest({ ...valid, ...change } as never))).toEqual({ field, row });
  });
});
