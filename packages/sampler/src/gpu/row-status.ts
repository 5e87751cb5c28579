import type { ROW_STATUS } from '@rocmforge/sampling-kernels';
import { KernelFailureError, SamplerInputError } from '../errors.js';
import type { ResolvedRequest } from '../request.js';

/**
 * Turns the kernel's row statuses into the result's `valid` flags (1 sampled, 0 nothing to
 * sample), or the error of the first row that was not sampled: invalid values are the caller's
 * input error; blocks that could not meet are a kernel failure (`onBlocksCouldNotMeet` runs
 * first, to re-initialise what the kernel left behind).
 */
export function decodeRowStatus(
  statuses: Uint8Array,
  request: Pick<ResolvedRequest<unknown>, 'batch' | 'kind'>,
  status: typeof ROW_STATUS,
  valid: Uint8Array,
  onBlocksCouldNotMeet: () => void,
): void {
  for (let row = 0; row < request.batch; row++) {
    const code = statuses[row];
    if (code === status.blocksCouldNotMeet) {
      onBlocksCouldNotMeet();
      throw new KernelFailureError(
        `the GPU blocks sampling row ${row} could not meet (device over-subscribed); the row was not sampled`,
        row,
      );
    }
    if (code === status.invalidValues) {
      throw new SamplerInputError(
        request.kind,
        request.kind === 'logits' ? 'no NaN' : 'finite values ≥ 0',
        Number.NaN,
        row,
      );
    }
    valid[row] = code === status.sampled ? 1 : 0;
  }
}
