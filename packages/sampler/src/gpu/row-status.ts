import type { ResolvedRequest, SampleResult } from '../request.js';
import { clearUnsampledRow, RowStatus, rowStatusError } from '../row-status.js';

/**
 * Copies the kernel's status byte per row (a {@link RowStatus} code: the contract's ROW_STATUS)
 * into the result and decodes it: after blocks that could not meet, `onBlocksCouldNotMeet`
 * re-initialises what the kernel left behind; under `onInvalidRow: 'throw'` the first row that
 * was not sampled for a bad reason raises its error; otherwise `valid` is set and the rows that
 * were not sampled are cleared (tokens -1, log-probabilities NaN).
 */
export function decodeRowStatus(
  statuses: Uint8Array,
  request: Pick<ResolvedRequest<unknown>, 'batch' | 'kind' | 'onInvalidRow'>,
  result: SampleResult,
  onBlocksCouldNotMeet: () => void,
): void {
  const { status, valid } = result;
  status.set(statuses.subarray(0, request.batch));
  if (status.includes(RowStatus.blocksDidNotMeet)) onBlocksCouldNotMeet();
  if (request.onInvalidRow === 'throw') {
    const error = rowStatusError(status, request.kind);
    if (error) throw error;
  }
  for (let row = 0; row < request.batch; row++) {
    valid[row] = status[row] === RowStatus.sampled ? 1 : 0;
    if (valid[row] === 0) clearUnsampledRow(result, row);
  }
}
