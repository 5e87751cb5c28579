import { SamplerInputError } from '../errors.js';
import { uniform53 } from '../philox.js';
import type { ResolvedRequest, VerifyResult } from '../request.js';
import { RowStatus, rowStatusError } from '../row-status.js';
import type { ResolvedVerifyRequest } from '../verify-request.js';
import type { RowSampler } from './row-sampler.js';

/**
 * Chain speculative sampling on the CPU (docs/GPU_SAMPLER.md "Speculative verification"): at
 * position j of a row, with p the target's processed distribution there and q the draft's, the
 * draft token d is accepted when u · q(d) < p(d) (probability min(1, p(d) / q(d))); at the first
 * rejection the row's last token is drawn from the residual max(0, p − q) normalised; after n
 * acceptances it is the bonus token, drawn from the target at position n exactly as `sample`
 * draws at that step. The output follows the target distribution whatever the draft.
 *
 * Randomness, per position j (Philox at step `step + j`, the row's seed and stream): the
 * acceptance uniform is draw 1's; the residual or bonus token uses draw 0's, the uniform `sample`
 * uses for its first token (whose block also holds XTC's coin).
 */
export class SpeculativeVerifier {
  #target = new Float64Array(0);

  /** Bytes of scratch held. */
  get memoryBytes(): number {
    return this.#target.length * 8;
  }

  /** Verifies every row of `request` with `rows` (whose state it overwrites). */
  verify(rows: RowSampler, request: ResolvedVerifyRequest): VerifyResult {
    const { batch, draft, vocab, target } = request;
    if (this.#target.length < vocab) this.#target = new Float64Array(vocab);
    const result: VerifyResult = {
      accepted: new Int32Array(batch),
      tokens: new Int32Array(batch * (draft + 1)).fill(-1),
      valid: new Uint8Array(batch),
      status: new Uint8Array(batch),
      batch,
      draft,
      vocab,
    };
    for (let b = 0; b < batch; b++) {
      const status = this.#verifyRow(rows, request, b, result);
      result.status[b] = status;
      result.valid[b] = status === RowStatus.sampled ? 1 : 0;
      if (status === RowStatus.sampled) continue;
      result.accepted[b] = -1;
      result.tokens.fill(-1, b * (draft + 1), (b + 1) * (draft + 1));
      if (status === RowStatus.invalidValues && target.onInvalidRow === 'throw') {
        const only = new Uint8Array(b + 1);
        only[b] = status;
        throw rowStatusError(only, target.kind)!;
      }
    }
    return result;
  }

  /** One row; returns its RowStatus. */
  #verifyRow(rows: RowSampler, request: ResolvedVerifyRequest, b: number, result: VerifyResult): number {
    const { draft, vocab, target: t } = request;
    const positions = draft + 1;
    const p = this.#target;
    for (let j = 0; j < draft; j++) {
      const r = b * positions + j;
      const kept = statusOf(t, r, () => rows.keepRow(t, r));
      if (kept !== RowStatus.sampled) return kept;
      rows.writeDistribution('probs', p);
      const q = request.draftProbs.subarray((b * draft + j) * vocab, (b * draft + j + 1) * vocab);
      let sum = 0;
      for (let i = 0; i < vocab; i++) {
        const v = q[i]!;
        if (!(v >= 0 && v < Number.POSITIVE_INFINITY)) return invalidDraft(t, v, b);
        sum += v;
      }
      if (!(sum > 0 && sum < Number.POSITIVE_INFINITY)) return invalidDraft(t, sum, b);
      const d = request.draftTokens[b * draft + j]!;
      const u = uniform53(t.seedLo[r]!, t.seedHi[r]!, t.stepLo[r]!, t.stepHi[r]!, t.stream[r]!, 1);
      if (u * (q[d]! / sum) < p[d]!) {
        result.tokens[b * positions + j] = d;
        continue;
      }
      result.accepted[b] = j;
      result.tokens[b * positions + j] = drawResidual(
        p,
        q,
        sum,
        uniform53(t.seedLo[r]!, t.seedHi[r]!, t.stepLo[r]!, t.stepHi[r]!, t.stream[r]!, 0),
      );
      return RowStatus.sampled;
    }
    // Every draft token accepted: the bonus token, as `sample` draws it at step + n.
    // (Resolved row r is the result's token slot r: one draw per resolved row.)
    const r = b * positions + draft;
    const status = statusOf(t, r, () => rows.sampleRow(t, r, result.tokens));
    if (status === RowStatus.sampled) result.accepted[b] = draft;
    return status;
  }
}

/** The RowStatus of `work` on resolved row `r` (invalid values reported, not thrown). */
function statusOf(target: ResolvedRequest, r: number, work: () => boolean): number {
  try {
    return work() ? RowStatus.sampled : RowStatus.nothingToSample;
  } catch (error) {
    if (error instanceof SamplerInputError && error.row === r && error.field === target.kind) {
      return RowStatus.invalidValues;
    }
    throw error;
  }
}

/** A row whose draft probabilities are not a distribution: flagged, or thrown under 'throw'. */
function invalidDraft(target: ResolvedRequest, value: number, row: number): number {
  if (target.onInvalidRow === 'throw') {
    throw new SamplerInputError('draftProbs', 'finite values ≥ 0 with a positive sum', value, row);
  }
  return RowStatus.invalidValues;
}

/**
 * The token where the running residual max(0, p − q / sum), walked in index order, first exceeds
 * u × its total. A residual that rounds to nothing (p equal to q) draws from p itself.
 */
function drawResidual(p: Float64Array, q: Float32Array, sum: number, u: number): number {
  const vocab = q.length;
  let total = 0;
  for (let i = 0; i < vocab; i++) total += Math.max(0, p[i]! - q[i]! / sum);
  const weight = total > 0 ? (i: number) => Math.max(0, p[i]! - q[i]! / sum) : (i: number) => p[i]!;
  if (total <= 0) for (let i = 0; i < vocab; i++) total += p[i]!;
  const goal = u * total;
  let running = 0;
  let last = -1;
  for (let i = 0; i < vocab; i++) {
    const w = weight(i);
    if (w <= 0) continue;
    running += w;
    last = i;
    if (running > goal) return i;
  }
  return last;
}
