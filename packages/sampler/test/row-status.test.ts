import { ROW_STATUS } from '@rocmforge/sampling-kernels';
import { describe, expect, it } from 'vitest';
import { KernelFailureError, RowStatus, SamplerInputError } from '../src/index.js';
import { allocateResult } from '../src/resolved-request.js';
import { clearUnsampledRow, rowStatusError } from '../src/row-status.js';

describe('row status', () => {
  it('the codes are the status byte the GPU kernel writes per row', () => {
    // kernels/sampling.hip, rf_sample: "valid (per row): 1 sampled; 0 nothing to sample; 2 invalid
    // values; 3 the row's blocks failed to meet".
    expect(RowStatus).toEqual({ nothingToSample: 0, sampled: 1, invalidValues: 2, blocksDidNotMeet: 3 });
    // …as the host↔kernel contract (kernels/abi.h, mirrored by ROW_STATUS) states it.
    expect(RowStatus.nothingToSample).toBe(ROW_STATUS.nothingToSample);
    expect(RowStatus.sampled).toBe(ROW_STATUS.sampled);
    expect(RowStatus.invalidValues).toBe(ROW_STATUS.invalidValues);
    expect(RowStatus.blocksDidNotMeet).toBe(ROW_STATUS.blocksCouldNotMeet);
  });

  it("'throw' raises the first bad row in row order, typed by its status", () => {
    const { sampled, nothingToSample, invalidValues, blocksDidNotMeet } = RowStatus;
    expect(rowStatusError(Uint8Array.of(sampled, nothingToSample, sampled), 'logits')).toBeUndefined();
    const nan = rowStatusError(
      Uint8Array.of(sampled, nothingToSample, invalidValues, blocksDidNotMeet),
      'logits',
    );
    expect(nan).toBeInstanceOf(SamplerInputError);
    expect(nan).toMatchObject({
      field: 'logits',
      row: 2,
      message: expect.stringMatching(/^Expected no NaN for logits \(row 2\)/),
    });
    const probs = rowStatusError(Uint8Array.of(invalidValues), 'probs');
    expect(probs).toMatchObject({
      field: 'probs',
      row: 0,
      message: expect.stringContaining('finite values ≥ 0'),
    });
    const failed = rowStatusError(Uint8Array.of(sampled, blocksDidNotMeet, invalidValues), 'logits');
    expect(failed).toBeInstanceOf(KernelFailureError);
    expect(failed).toMatchObject({ row: 1, code: 'ERR_KERNEL_FAILURE' });
  });

  it('a row that was not sampled reports tokens -1 and NaN log-probabilities, whatever was there', () => {
    const result = allocateResult({ batch: 3, vocab: 10, samples: 2, logprobs: { n: 2, mode: 'raw' } });
    result.tokens.fill(7);
    result.logprobs!.fill(-1.5);
    result.topLogprobs!.tokens.fill(4);
    result.topLogprobs!.logprobs.fill(-0.5);
    clearUnsampledRow(result, 1);
    expect([...result.tokens]).toEqual([7, 7, -1, -1, 7, 7]);
    expect([...result.logprobs!]).toEqual([-1.5, -1.5, Number.NaN, Number.NaN, -1.5, -1.5]);
    expect([...result.topLogprobs!.tokens]).toEqual([4, 4, -1, -1, 4, 4]);
    expect([...result.topLogprobs!.logprobs]).toEqual([-0.5, -0.5, Number.NaN, Number.NaN, -0.5, -0.5]);
    const plain = allocateResult({ batch: 2, vocab: 10, samples: 1, logprobs: undefined });
    clearUnsampledRow(plain, 0);
    expect([...plain.tokens]).toEqual([-1, 0]);
  });
});
