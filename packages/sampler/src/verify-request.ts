import { SamplerInputError } from './errors.js';
import { CPU_INPUT, checkInput } from './input.js';
import type {
  ExtraFilters,
  ResolvedRequest,
  RowAdjustments,
  SampleRequest,
  VerifyRequest,
} from './request.js';
import { resolveCounted } from './resolve-request.js';

/** A validated verify request: the target as one resolved row per (row, position), and the draft. */
export interface ResolvedVerifyRequest {
  /** Rows. */
  batch: number;
  /** Draft tokens per row (n). */
  draft: number;
  /** Elements per row. */
  vocab: number;
  /**
   * The target, `batch × (n + 1)` resolved rows: row `b · (n + 1) + j` is position j of row b,
   * with row b's parameters and step `step + j`.
   */
  target: ResolvedRequest<Float32Array>;
  /** `batch × n` draft tokens. */
  draftTokens: Int32Array;
  /** `batch × n × vocab` draft probabilities (checked per row when verified). */
  draftProbs: Float32Array;
}

/** SampleRequest fields a verify request does not take, and why. */
const NOT_IN_VERIFY: Record<string, string> = {
  samples: 'no samples (one token per position)',
  logprobs: 'no logprobs (verify returns tokens only)',
  logprobsMode: 'no logprobsMode (verify returns tokens only)',
  repetitionPenalty:
    'no penalties (they depend on the tokens before each position: apply them to the target)',
  frequencyPenalty: 'no penalties (they depend on the tokens before each position: apply them to the target)',
  presencePenalty: 'no penalties (they depend on the tokens before each position: apply them to the target)',
  promptTokens: 'no token histories (verify takes no penalties)',
  outputTokens: 'no token histories (verify takes no penalties)',
};

/** Checks a verify request (host arrays) and resolves it. */
export function resolveVerifyRequest(request: VerifyRequest<unknown>): ResolvedVerifyRequest {
  if (request === null || typeof request !== 'object') {
    throw new SamplerInputError('request', 'an object', request);
  }
  const { shape, draftTokens, draftProbs, ...rest } = request;
  for (const [field, expected] of Object.entries(NOT_IN_VERIFY)) {
    if (Object.hasOwn(rest, field)) {
      throw new SamplerInputError(field, expected, (rest as Record<string, unknown>)[field]);
    }
  }
  if (!Array.isArray(shape) || shape.length !== 3) {
    throw new SamplerInputError('shape', '[batch, n, vocab] (n draft tokens per row)', shape);
  }
  const [batch, draft, vocab] = shape as [number, number, number];
  if (!Number.isInteger(batch) || batch < 1)
    throw new SamplerInputError('shape[0] (batch)', 'an integer ≥ 1', batch);
  if (!Number.isInteger(draft) || draft < 0)
    throw new SamplerInputError('shape[1] (n)', 'an integer ≥ 0', draft);
  if (!Number.isInteger(vocab) || vocab < 1)
    throw new SamplerInputError('shape[2] (vocab)', 'an integer ≥ 1', vocab);
  const kind = rest.logits !== undefined ? 'logits' : 'probs';
  const input = rest.logits ?? rest.probs;
  if (input !== undefined && rest.logits !== undefined && rest.probs !== undefined) {
    throw new SamplerInputError('logits', 'exactly one of logits and probs', 'both');
  }
  if (input === undefined)
    throw new SamplerInputError('logits', 'exactly one of logits and probs', 'neither');
  checkInput(kind, input, CPU_INPUT);
  const positions = draft + 1;
  const target = input as Float32Array;
  if (target.length !== batch * positions * vocab) {
    throw new SamplerInputError(
      kind,
      `${batch * positions * vocab} values (batch ${batch} × (n + 1 = ${positions}) × vocab ${vocab})`,
      target,
    );
  }
  // The row parameters, resolved once per row (errors name the row), then one row per position.
  const perRow = resolveCounted(
    { ...(rest as SampleRequest<Float32Array>), shape: [batch, vocab] },
    (array) => array.length,
    false,
  );
  if (
    draftTokens === null ||
    typeof draftTokens !== 'object' ||
    typeof (draftTokens as ArrayLike<number>).length !== 'number' ||
    draftTokens.length !== batch * draft
  ) {
    throw new SamplerInputError('draftTokens', `${batch * draft} token ids (batch × n)`, draftTokens);
  }
  const tokens = new Int32Array(batch * draft);
  for (let j = 0; j < tokens.length; j++) {
    const t = draftTokens[j];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocab) {
      throw new SamplerInputError(
        `draftTokens[${j % Math.max(draft, 1)}]`,
        `a token id in [0, ${vocab})`,
        t,
        Math.floor(j / draft),
      );
    }
    tokens[j] = t;
  }
  if (!(draftProbs instanceof Float32Array) || draftProbs.length !== batch * draft * vocab) {
    throw new SamplerInputError(
      'draftProbs',
      `a Float32Array of ${batch * draft * vocab} values (batch × n × vocab)`,
      draftProbs,
    );
  }
  return {
    batch,
    draft,
    vocab,
    target: expandPositions({ ...perRow, input: target }, positions),
    draftTokens: tokens,
    draftProbs,
  };
}

/**
 * One resolved row per (row, position): row b's parameters repeated `positions` times, position
 * j at step `step + j` (carried into the high word).
 */
function expandPositions(
  request: ResolvedRequest<Float32Array>,
  positions: number,
): ResolvedRequest<Float32Array> {
  const { batch } = request;
  const rows = batch * positions;
  const repeat = <T extends Float32Array | Int32Array | Uint32Array>(from: T, into: T): T => {
    for (let b = 0; b < batch; b++) into.fill(from[b]!, b * positions, (b + 1) * positions);
    return into;
  };
  const stepLo = new Uint32Array(rows);
  const stepHi = new Uint32Array(rows);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < positions; j++) {
      const lo = request.stepLo[b]! + j;
      stepLo[b * positions + j] = lo >>> 0;
      stepHi[b * positions + j] = (request.stepHi[b]! + (lo >= 0x100000000 ? 1 : 0)) >>> 0;
    }
  }
  const a = request.adjustments;
  const adjustments: RowAdjustments | undefined = a && {
    bias: Array.from({ length: rows }, (_, r) => a.bias[Math.floor(r / positions)]),
    repetitionPenalty: new Float32Array(rows).fill(1),
    frequencyPenalty: new Float32Array(rows),
    presencePenalty: new Float32Array(rows),
    promptTokens: new Array(rows).fill(undefined),
    outputTokens: new Array(rows).fill(undefined),
  };
  const f = request.extraFilters;
  const extraFilters: ExtraFilters | undefined = f && {
    typicalP: repeat(f.typicalP, new Float32Array(rows)),
    topNSigma: repeat(f.topNSigma, new Float32Array(rows)),
    xtcProbability: repeat(f.xtcProbability, new Float32Array(rows)),
    xtcThreshold: repeat(f.xtcThreshold, new Float32Array(rows)),
  };
  return {
    ...request,
    batch: rows,
    samples: 1,
    temperature: repeat(request.temperature, new Float32Array(rows)),
    topK: repeat(request.topK, new Int32Array(rows)),
    topP: repeat(request.topP, new Float32Array(rows)),
    minP: repeat(request.minP, new Float32Array(rows)),
    seedLo: repeat(request.seedLo, new Uint32Array(rows)),
    seedHi: repeat(request.seedHi, new Uint32Array(rows)),
    stream: repeat(request.stream, new Uint32Array(rows)),
    stepLo,
    stepHi,
    adjustments,
    ...(extraFilters ? { extraFilters } : {}),
    logprobs: undefined,
  };
}
