import { SamplerInputError } from '../errors.js';
import type { DeviceInput } from '../input.js';
import type { DistributionResult, HostValues, ResolvedRequest, VerifyResult } from '../request.js';
import { checkDistributionRequest } from '../resolved-request.js';
import { RowStatus, rowStatusError } from '../row-status.js';
import type { ResolvedVerifyRequest } from '../verify-request.js';
import type { ChainMethod, ChunkContext } from './chunk-launch.js';
import { enqueueCall, finishCall } from './sample-call.js';
import type { Staging } from './staging.js';

// The GPU calls that only the filter chain (kernels/methods.hip) serves: filtered distributions
// and speculative verification. Each enqueues its work on the context's stream and returns the
// function that, once the stream is done, gives the result.

/**
 * Queues the filtered distribution of every row of `request` (`probs` for `filteredProbs`,
 * `logits` for `maskedLogits`; docs/GPU_SAMPLER.md "Semantics", step 9): nothing is drawn.
 */
export function enqueueDistribution(
  context: ChunkContext,
  staging: Staging,
  request: ResolvedRequest<HostValues | DeviceInput>,
  as: 'probs' | 'logits',
): () => DistributionResult {
  checkDistributionRequest(request);
  const { batch, vocab } = request;
  const values = context.workspace.get('values', batch * vocab * 4);
  const pending = enqueueCall(context, staging, { ...request, samples: 0 }, { output: as, values });
  const out = new Float32Array(batch * vocab);
  values.readAsync(out, context.stream);
  return () => {
    // Statuses decoded (and raised under 'throw') as for a sample call; the kernel wrote NaN rows.
    const { valid, status } = finishCall(context, pending);
    return { values: out, valid, status, batch, vocab };
  };
}

/**
 * Queues a speculative verification: every target position's kept set, and per draft position
 * the acceptance and the residual draw, in one launch; the host then walks each row's positions
 * in order (docs/GPU_SAMPLER.md "Speculative verification"). Rows are named from `rowOffset` in
 * errors (a shard's place in the whole batch).
 */
export function enqueueVerify(
  context: ChunkContext,
  staging: Staging,
  request: ResolvedVerifyRequest,
  rowOffset = 0,
): () => VerifyResult {
  const { batch, draft, vocab, target } = request;
  const { workspace, stream } = context;
  let method: ChainMethod | undefined;
  const verdicts = new Uint8Array(target.batch);
  if (draft > 0) {
    const draftTokens = workspace.get('draftTokens', batch * draft * 4);
    const draftProbs = workspace.get('draftProbs', batch * draft * vocab * 4);
    draftTokens.writeAsync(request.draftTokens, stream);
    draftProbs.writeAsync(request.draftProbs, stream);
    method = {
      output: 'none',
      verify: { draft, draftTokens, draftProbs, verdicts: workspace.get('verdicts', target.batch) },
    };
  }
  // Positions past a row's first rejection do not count: their statuses are read below, in order.
  const pending = enqueueCall(context, staging, { ...target, onInvalidRow: 'flag' }, method);
  method?.verify?.verdicts.readAsync(verdicts, stream);
  return () => {
    const positions = finishCall(context, pending);
    const bits = {
      accepted: context.modules.VERDICT.accepted,
      draftInvalid: context.modules.VERDICT.draftInvalid,
    };
    return combineVerdicts(request, positions.tokens, positions.status, verdicts, bits, rowOffset);
  };
}

/**
 * A verification's result from its target positions' statuses, tokens (the residual draw at a
 * draft position, the bonus token at the last) and verdicts (`bits`: the contract's VERDICT): per row, the drafts accepted in
 * order up to the first rejection (its residual token ends the row), or all n and the bonus token.
 */
function combineVerdicts(
  request: ResolvedVerifyRequest,
  drawn: Int32Array,
  statuses: Uint8Array,
  verdicts: Uint8Array,
  bits: { accepted: number; draftInvalid: number },
  rowOffset: number,
): VerifyResult {
  const { batch, draft, vocab, target } = request;
  const positions = draft + 1;
  const result: VerifyResult = {
    accepted: new Int32Array(batch),
    tokens: new Int32Array(batch * positions).fill(-1),
    valid: new Uint8Array(batch),
    status: new Uint8Array(batch),
    batch,
    draft,
    vocab,
  };
  const throwing = target.onInvalidRow === 'throw';
  for (let b = 0; b < batch; b++) {
    let status: number = RowStatus.sampled;
    let done = false;
    for (let j = 0; j < draft && !done; j++) {
      const r = b * positions + j;
      if (statuses[r] !== RowStatus.sampled) {
        status = statuses[r]!;
        done = true;
      } else if (verdicts[r]! & bits.draftInvalid) {
        if (throwing) {
          const q = request.draftProbs.subarray((b * draft + j) * vocab, (b * draft + j + 1) * vocab);
          throw new SamplerInputError(
            'draftProbs',
            'finite values ≥ 0 with a positive sum',
            invalidDraftValue(q),
            b + rowOffset,
          );
        }
        status = RowStatus.invalidValues;
        done = true;
      } else if (verdicts[r]! & bits.accepted) {
        result.tokens[r] = request.draftTokens[b * draft + j]!;
      } else {
        result.accepted[b] = j;
        result.tokens[r] = drawn[r]!;
        done = true;
      }
    }
    if (!done) {
      const r = b * positions + draft;
      status = statuses[r]!;
      if (status === RowStatus.sampled) {
        result.accepted[b] = draft;
        result.tokens[r] = drawn[r]!;
      }
    }
    result.status[b] = status;
    result.valid[b] = status === RowStatus.sampled ? 1 : 0;
    if (status === RowStatus.sampled) continue;
    result.accepted[b] = -1;
    result.tokens.fill(-1, b * positions, (b + 1) * positions);
    if (status === RowStatus.invalidValues && throwing) {
      const only = new Uint8Array(b + rowOffset + 1);
      only[b + rowOffset] = status;
      throw rowStatusError(only, target.kind)!;
    }
  }
  return result;
}

/** What the CPU names for invalid draft probabilities: the first value that is not finite and ≥ 0, else the sum. */
function invalidDraftValue(q: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < q.length; i++) {
    const v = q[i]!;
    if (!(v >= 0 && v < Number.POSITIVE_INFINITY)) return v;
    sum += v;
  }
  return sum;
}
