import { describe, expect, it } from 'vitest';
import { gaussianLogits } from '../../../tooling/statistics.js';
import { resolveRequest, type SampleRequest, sliceRows } from '../src/index.js';

// A slice of a resolved request is what resolving those rows alone gives (each row keeping its
// own stream), without validating again: views of the same arrays.
describe('sliceRows', () => {
  const batch = 6;
  const vocab = 40;
  const logits = gaussianLogits(batch * vocab, 2, 5);
  const request: SampleRequest<Float32Array> = {
    logits,
    shape: [batch, vocab],
    temperature: [0.5, 1, 0, 1.5, 1, 0.7],
    topK: [0, 5, 50, 3, 0, 1],
    topP: 0.9,
    minP: [0, 0.1, 0, 0, 0.2, 0],
    seed: [1n, 2n ** 40n + 3n, 5n, 7n, 2n ** 63n, 0n],
    // Named streams (per-row seeds alone would give every row stream 0).
    stream: [10, 11, 12, 13, 14, 15],
    step: 11,
    samples: 2,
    logprobs: 3,
    logprobsMode: 'processed',
    // Adjustments that matter only in rows 1 and 4.
    logitBias: [undefined, { 3: 2 }, undefined, undefined, undefined, undefined],
    frequencyPenalty: [0, 0, 0, 0, 0.5, 0],
    outputTokens: [[], [], [], [], [7, 7], []],
    // Extra filters that matter only in rows 2 and 3.
    typicalP: [1, 1, 0.5, 0.8, 1, 1],
  };
  const resolved = resolveRequest(request);

  /** Rows [first, first + rows) of `request` as a request of their own. */
  function alone(first: number, rows: number): SampleRequest<Float32Array> {
    const end = first + rows;
    const pick = <T>(v: T[] | readonly T[]) => v.slice(first, end);
    return {
      logits: logits.subarray(first * vocab, end * vocab),
      shape: [rows, vocab],
      temperature: pick(request.temperature as number[]),
      topK: pick(request.topK as number[]),
      topP: 0.9,
      minP: pick(request.minP as number[]),
      seed: pick(request.seed as bigint[]),
      stream: pick(request.stream as number[]),
      step: 11,
      samples: 2,
      logprobs: 3,
      logprobsMode: 'processed',
      logitBias: pick(request.logitBias as []),
      frequencyPenalty: pick(request.frequencyPenalty as number[]),
      outputTokens: pick(request.outputTokens as number[][]),
      typicalP: pick(request.typicalP as number[]),
    };
  }

  it.each([
    [0, 6],
    [1, 2],
    [2, 2],
    [3, 3],
    [5, 1],
  ])('rows [%i, +%i) are those rows resolved alone', (first, rows) => {
    const slice = sliceRows(resolved, first, rows);
    const expected = resolveRequest(alone(first, rows));
    expect(slice.adjustments === undefined).toBe(expected.adjustments === undefined);
    expect(slice.extraFilters === undefined).toBe(expected.extraFilters === undefined);
    const plain = (r: typeof slice) => ({
      ...r,
      adjustments: r.adjustments && {
        ...r.adjustments,
        bias: r.adjustments.bias,
        outputTokens: r.adjustments.outputTokens.map((t) => (t?.length ? Array.from(t) : undefined)),
        promptTokens: r.adjustments.promptTokens.map((t) => (t?.length ? Array.from(t) : undefined)),
      },
    });
    expect(plain(slice)).toEqual(plain(expected));
  });

  it('shares the memory of the resolved request instead of copying it', () => {
    const slice = sliceRows(resolved, 2, 3);
    expect(slice.input.buffer).toBe(resolved.input.buffer);
    expect(slice.input.byteOffset).toBe(2 * vocab * 4);
    expect(slice.seedLo.buffer).toBe(resolved.seedLo.buffer);
    expect([...slice.stream]).toEqual([12, 13, 14]);
  });
});
