import { SamplerInputError } from './errors.js';
import type {
  DistributionResult,
  ExtraFilters,
  HostValues,
  ResolvedRequest,
  RowAdjustments,
  SampleResult,
} from './request.js';

/** The arrays of a result for `request`, to be filled: tokens, flags and the log-probabilities asked for. */
export function allocateResult(
  request: Pick<ResolvedRequest<unknown>, 'batch' | 'vocab' | 'samples' | 'logprobs'>,
): SampleResult {
  const { batch, vocab, samples, logprobs } = request;
  const result: SampleResult = {
    tokens: new Int32Array(batch * samples),
    valid: new Uint8Array(batch),
    status: new Uint8Array(batch),
    batch,
    vocab,
    samples,
  };
  if (logprobs) result.logprobs = new Float32Array(batch * samples);
  if (logprobs && logprobs.n > 0) {
    const n = logprobs.n;
    result.topLogprobs = { n, tokens: new Int32Array(batch * n), logprobs: new Float32Array(batch * n) };
  }
  return result;
}

/**
 * Refuses what a filtered distribution (filteredProbs, maskedLogits) cannot give: it draws
 * nothing, so no more than one draw and no log-probabilities.
 */
export function checkDistributionRequest(
  request: Pick<ResolvedRequest<unknown>, 'samples' | 'logprobs'>,
): void {
  if (request.samples !== 1)
    throw new SamplerInputError('samples', '1 (a distribution draws nothing)', request.samples);
  if (request.logprobs) throw new SamplerInputError('logprobs', 'none (a distribution draws nothing)', true);
}

/** The arrays of a filtered distribution of `batch` rows of `vocab`, to be filled. */
export function allocateDistribution({ batch, vocab }: { batch: number; vocab: number }): DistributionResult {
  return {
    values: new Float32Array(batch * vocab),
    valid: new Uint8Array(batch),
    status: new Uint8Array(batch),
    batch,
    vocab,
  };
}

/** Whether any row of [first, end) has a bias, or a penalty with a history for it to act on. */
export function adjustmentsMatter(adjustments: RowAdjustments, first: number, end: number): boolean {
  const { bias, repetitionPenalty, frequencyPenalty, presencePenalty, promptTokens, outputTokens } =
    adjustments;
  for (let row = first; row < end; row++) {
    if ((bias[row]?.length ?? 0) > 0) return true;
    if (repetitionPenalty[row] !== 1 && (promptTokens[row]?.length || outputTokens[row]?.length)) return true;
    if ((frequencyPenalty[row] !== 0 || presencePenalty[row] !== 0) && outputTokens[row]?.length) return true;
  }
  return false;
}

/** Whether any row of [first, end) uses typical-p, top-n-sigma or XTC. */
export function extraFiltersMatter(filters: ExtraFilters, first: number, end: number): boolean {
  for (let row = first; row < end; row++) if (rowUsesExtraFilters(filters, row)) return true;
  return false;
}

/** Whether row `row` uses typical-p, top-n-sigma or XTC. */
export function rowUsesExtraFilters(filters: ExtraFilters, row: number): boolean {
  return filters.typicalP[row]! < 1 || filters.topNSigma[row]! > 0 || filters.xtcProbability[row]! > 0;
}

/**
 * Rows [first, first + rows) of a resolved request, without validating anything again: views of
 * its arrays (every row keeps its own stream, seed and step). Adjustments stay only when some
 * row of the slice has one that matters, as resolving those rows alone would give.
 */
export function sliceRows(
  request: ResolvedRequest<HostValues>,
  first: number,
  rows: number,
): ResolvedRequest<HostValues> {
  const end = first + rows;
  const { vocab } = request;
  const a = request.adjustments;
  const adjustments: RowAdjustments | undefined =
    a && adjustmentsMatter(a, first, end)
      ? {
          bias: a.bias.slice(first, end),
          repetitionPenalty: a.repetitionPenalty.subarray(first, end),
          frequencyPenalty: a.frequencyPenalty.subarray(first, end),
          presencePenalty: a.presencePenalty.subarray(first, end),
          promptTokens: a.promptTokens.slice(first, end),
          outputTokens: a.outputTokens.slice(first, end),
        }
      : undefined;
  const f = request.extraFilters;
  const extraFilters: ExtraFilters | undefined =
    f && extraFiltersMatter(f, first, end)
      ? {
          typicalP: f.typicalP.subarray(first, end),
          topNSigma: f.topNSigma.subarray(first, end),
          xtcProbability: f.xtcProbability.subarray(first, end),
          xtcThreshold: f.xtcThreshold.subarray(first, end),
        }
      : undefined;
  return {
    input: request.input.subarray(first * vocab, end * vocab),
    dtype: request.dtype,
    after: request.after,
    kind: request.kind,
    batch: rows,
    vocab,
    samples: request.samples,
    filterOrder: request.filterOrder,
    temperature: request.temperature.subarray(first, end),
    topK: request.topK.subarray(first, end),
    topP: request.topP.subarray(first, end),
    minP: request.minP.subarray(first, end),
    seedLo: request.seedLo.subarray(first, end),
    seedHi: request.seedHi.subarray(first, end),
    stream: request.stream.subarray(first, end),
    stepLo: request.stepLo.subarray(first, end),
    stepHi: request.stepHi.subarray(first, end),
    adjustments,
    ...(extraFilters ? { extraFilters } : {}),
    logprobs: request.logprobs,
    onInvalidRow: request.onInvalidRow,
  };
}
