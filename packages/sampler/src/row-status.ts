import { KernelFailureError, SamplerInputError } from './errors.js';
import type { SampleResult } from './request.js';

/**
 * What happened to each row of a `sample` call: `SampleResult.status[row]`. The codes are the
 * status byte the GPU kernel writes per row, so the GPU result carries them as they are.
 *
 * @example
 * ```ts
 * import { createSampler, RowStatus } from '@rocmforge/sampler';
 * const sampler = createSampler({ backend: 'cpu' });
 * const logits = new Float32Array([1, 2, Number.NaN, 4, -Infinity, -Infinity]);
 * const { tokens, status } = sampler.sample({ logits, shape: [3, 2], seed: [1, 2, 3] });
 * console.log(status[0] === RowStatus.sampled, tokens[1]); // true -1
 * console.log(status[1] === RowStatus.invalidValues, status[2] === RowStatus.nothingToSample); // true true
 * ```
 */
export const RowStatus = {
  /** Nothing to sample: every logit -Infinity (after bias and penalties), or every probability 0. */
  nothingToSample: 0,
  /** Sampled: the row's tokens are in [0, vocab). */
  sampled: 1,
  /** Invalid values: a NaN logit, or a negative, NaN or infinite probability. */
  invalidValues: 2,
  /**
   * GPU only: the blocks sharing the row could not all run at once (a device over-subscribed by
   * other work), so the row was not sampled. Nothing is wrong with the row: sample it again.
   */
  blocksDidNotMeet: 3,
} as const;

/** One of the {@link RowStatus} codes. */
export type RowStatusCode = (typeof RowStatus)[keyof typeof RowStatus];

/**
 * What a row that cannot be sampled (NaN logits, invalid probabilities, a GPU row whose blocks
 * did not meet) does to the call: `'flag'` reports it in `status` (token -1) and samples every
 * other row as if it were alone; `'throw'` fails the whole call (`SamplerInputError` naming the
 * row, or `KernelFailureError`). Rows with nothing to sample are reported under both.
 */
export type InvalidRowPolicy = 'flag' | 'throw';

/**
 * The error `'throw'` raises for a result's statuses: for the first row (in row order) whose
 * values were invalid or whose GPU blocks did not meet; undefined when there is none.
 */
export function rowStatusError(
  status: Uint8Array,
  kind: 'logits' | 'probs',
): SamplerInputError | KernelFailureError | undefined {
  for (let row = 0; row < status.length; row++) {
    if (status[row] === RowStatus.blocksDidNotMeet) {
      return new KernelFailureError(
        `the GPU blocks sampling row ${row} could not meet (device over-subscribed); the row was not sampled`,
        row,
      );
    }
    if (status[row] === RowStatus.invalidValues) {
      return new SamplerInputError(kind, kind === 'logits' ? 'no NaN' : 'finite values ≥ 0', Number.NaN, row);
    }
  }
  return undefined;
}

/**
 * Writes what a row that was not sampled reports, whatever a backend left there: tokens -1,
 * log-probabilities NaN, top-n tokens -1 with NaN log-probabilities.
 */
export function clearUnsampledRow(result: SampleResult, row: number): void {
  const { samples } = result;
  result.tokens.fill(-1, row * samples, (row + 1) * samples);
  result.logprobs?.fill(Number.NaN, row * samples, (row + 1) * samples);
  const top = result.topLogprobs;
  if (top) {
    top.tokens.fill(-1, row * top.n, (row + 1) * top.n);
    top.logprobs.fill(Number.NaN, row * top.n, (row + 1) * top.n);
  }
}
