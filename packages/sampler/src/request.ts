import type { Event, Stream } from '@rocmforge/hip-runtime';
import type { InvalidRowPolicy } from './row-status.js';

/** The element type of `logits` / `probs`: float32, IEEE float16 (binary16) or bfloat16. */
export type ElementType = 'float32' | 'float16' | 'bfloat16';

/** A `Float16Array`, where the JavaScript runtime has one (Node 20 has not). */
export interface Float16ArrayLike extends ArrayBufferView {
  /** Elements. */
  readonly length: number;
  /** What tells it apart from other typed arrays. */
  readonly [Symbol.toStringTag]: 'Float16Array';
}

/**
 * Host input: a `Float32Array`, a `Uint16Array` of float16 or bfloat16 bits (with `dtype`), or
 * a `Float16Array`.
 */
export type HostInput = Float32Array | Uint16Array | Float16ArrayLike;

/** Host input as a resolved request holds it: float32 values, or the bits of half values. */
export type HostValues = Float32Array | Uint16Array;

/** A value given once for the whole batch, or one value per row. */
export type PerRow<T> = T | ArrayLike<T>;

/** Token id → value added to that token's logit. */
export type LogitBias = Readonly<Record<number, number>> | ReadonlyMap<number, number>;

/** How top-k and top-p combine. */
export type FilterOrder = 'topKFirst' | 'joint';

/** Which distribution log-probabilities describe. */
export type LogprobsMode = 'raw' | 'processed';

/**
 * One sampling call: a row or a `[batch, vocab]` matrix of logits (or probabilities) and the
 * parameters, each either one value for every row or an array with one value per row.
 * The semantics are written down in docs/GPU_SAMPLER.md, section "Semantics".
 */
export interface SampleRequest<Input = HostInput> {
  /** Logits, row-major `[batch, vocab]`. Exactly one of `logits` and `probs` is given. */
  logits?: Input;
  /** Probabilities (non-negative; need not sum to 1), row-major `[batch, vocab]`. */
  probs?: Input;
  /**
   * Element type of `logits` / `probs`. Default float32 (float16 for a `Float16Array`); a
   * `Uint16Array`, or a `DeviceBuffer` of half values, names its type here.
   */
  dtype?: ElementType;
  /**
   * Work the input waits for (another engine's event or stream, e.g. wrapped by address): on
   * the GPU the sampler's stream waits for it on the device, with no host round trip; the CPU
   * waits for it on the host.
   */
  after?: Event | Stream;
  /** `[batch, vocab]`; defaults to one row of the input's length. */
  shape?: readonly [number, number];
  /** Temperature, ≥ 0; 0 means greedy (argmax, lowest index on ties). Default 1. */
  temperature?: PerRow<number>;
  /** Keep the k most probable tokens (ties at the threshold kept); 0 or ≥ vocab = off. Default 0. */
  topK?: PerRow<number>;
  /** Keep the smallest set of most probable tokens whose mass reaches p; in (0, 1], 1 = off. Default 1. */
  topP?: PerRow<number>;
  /** Keep tokens whose probability is ≥ minP × the largest probability; in [0, 1], 0 = off. Default 0. */
  minP?: PerRow<number>;
  /** `topKFirst` (default): top-p measured on the renormalised top-k distribution; `joint`: both on the full one. */
  filterOrder?: FilterOrder;
  /**
   * Locally typical sampling (HF `typical_p`): keep the tokens whose surprisal is closest to the
   * entropy of the distribution left by the filters before it, until their mass reaches p; in
   * (0, 1], 1 = off. Default 1.
   */
  typicalP?: PerRow<number>;
  /**
   * Top-n-sigma (llama.cpp `top_n_sigma`): keep the tokens whose logit is ≥ max − n·σ, σ the
   * population standard deviation of the row's finite logits; a finite number ≥ 0, 0 = off. Default 0.
   */
  topNSigma?: PerRow<number>;
  /**
   * XTC (exclude top choices): with this probability (a coin from the row's Philox stream), remove
   * every token whose probability is ≥ `xtcThreshold` except the least probable of them; in [0, 1],
   * 0 = off. Default 0.
   */
  xtcProbability?: PerRow<number>;
  /** XTC's threshold, in [0, 1] (above 0.5 XTC never removes anything). Default 0.1. */
  xtcThreshold?: PerRow<number>;
  /**
   * Philox key, an integer in [0, 2⁶⁴). Default 0. One seed per row (an array) makes each row's
   * draws depend on its own seed and step only, wherever it sits in the batch.
   */
  seed?: PerRow<number | bigint>;
  /**
   * Philox stream, an integer in [0, 2³²). Default: 0 for every row when `seed` is an array
   * (one seed per request), else the row index (rows sharing one seed draw differently).
   */
  stream?: PerRow<number>;
  /** Decode position or any counter in [0, 2⁶⁴), so that successive calls draw fresh numbers. Default 0. */
  step?: PerRow<number | bigint>;
  /** Draws per row, with replacement. Default 1. */
  samples?: number;
  /** Values added to chosen tokens' logits before anything else (logits input only). */
  logitBias?: LogitBias | ReadonlyArray<LogitBias | undefined>;
  /** vLLM's repetition penalty (> 0, 1 = off) over tokens in the prompt or the output. */
  repetitionPenalty?: PerRow<number>;
  /** Subtracted once per occurrence of a token in the output. 0 = off. */
  frequencyPenalty?: PerRow<number>;
  /** Subtracted once from every token present in the output. 0 = off. */
  presencePenalty?: PerRow<number>;
  /** Prompt tokens per row (for the repetition penalty); one array for a single row. */
  promptTokens?: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;
  /** Generated tokens per row (for all three penalties); one array for a single row. */
  outputTokens?: ArrayLike<number> | ReadonlyArray<ArrayLike<number>>;
  /**
   * `true`: the log-probability of each sampled token; a number n (at most
   * 1024, `MAX_TOP_LOGPROBS`): that, plus the top-n per row.
   */
  logprobs?: boolean | number;
  /** `raw` (default): the model's log-softmax; `processed`: the distribution actually sampled. */
  logprobsMode?: LogprobsMode;
  /**
   * A row with NaN logits (or invalid probabilities), or a GPU row whose blocks did not meet:
   * `'flag'` (default) reports it in `status` with token -1 and samples every other row exactly
   * as alone; `'throw'` fails the call. See docs/GPU_SAMPLER.md "Semantics".
   */
  onInvalidRow?: InvalidRowPolicy;
}

/** Largest n for top-n log-probabilities (`logprobs: n`), on every backend. */
export const MAX_TOP_LOGPROBS = 1024;

/** What a `sample` call returns. */
export interface SampleResult {
  /** `batch × samples` token ids in [0, vocab); `-1` exactly where `valid[row]` is 0. */
  tokens: Int32Array;
  /** Per row: 1 when the row was sampled (`status[row]` is `RowStatus.sampled`), else 0. */
  valid: Uint8Array;
  /**
   * Per row, a `RowStatus` code: sampled, nothing to sample (all -Infinity logits, all-zero
   * probabilities), invalid values (NaN; reported under `onInvalidRow: 'flag'`), or, on the GPU,
   * blocks that did not meet (sample the row again).
   */
  status: Uint8Array;
  /** Rows sampled. */
  batch: number;
  /** Elements per row. */
  vocab: number;
  /** Draws per row. */
  samples: number;
  /** Log-probability of each sampled token (`batch × samples`), when asked for. */
  logprobs?: Float32Array;
  /** The n most probable tokens per row (`batch × n`, most probable first), when asked for. */
  topLogprobs?: {
    /** Tokens per row. */
    n: number;
    /** `batch × n` token ids. */
    tokens: Int32Array;
    /** Their log-probabilities. */
    logprobs: Float32Array;
  };
}

/**
 * A validated request in struct-of-arrays form: one typed array per parameter, one entry per
 * row. Both backends consume this; the GPU uploads the arrays as they are.
 */
export interface ResolvedRequest<Input = HostValues> {
  /** The logits or probabilities, row-major batch × vocab. */
  input: Input;
  /** The element type of `input` (a Uint16Array holds float16 or bfloat16 bits). */
  dtype: ElementType;
  /** Work the input waits for, if any. */
  after: Event | Stream | undefined;
  /** Whether `input` holds logits or probabilities. */
  kind: 'logits' | 'probs';
  /** Rows. */
  batch: number;
  /** Elements per row. */
  vocab: number;
  /** Draws per row. */
  samples: number;
  /** How top-k and top-p combine. */
  filterOrder: FilterOrder;
  /** Per-row temperature. */
  temperature: Float32Array;
  /** Per-row top-k (0 = off). */
  topK: Int32Array;
  /** Per-row top-p (1 = off). */
  topP: Float32Array;
  /** Per-row min-p (0 = off). */
  minP: Float32Array;
  /** Per-row seed, low 32 bits. */
  seedLo: Uint32Array;
  /** Per-row seed, high 32 bits. */
  seedHi: Uint32Array;
  /** Per-row random stream (0 with per-row seeds, else the row index, unless the request names streams). */
  stream: Uint32Array;
  /** Per-row decode step, low 32 bits. */
  stepLo: Uint32Array;
  /** Per-row decode step, high 32 bits. */
  stepHi: Uint32Array;
  /** Present only when some row has a bias, a penalty or histories that matter. */
  adjustments: RowAdjustments | undefined;
  /** Present only when some row uses typical-p, top-n-sigma or XTC. */
  extraFilters?: ExtraFilters | undefined;
  /** What log-probabilities to report: the top `n` (0: the sampled token's only) in `mode`. */
  logprobs:
    | {
        /** Top tokens per row to report (0: only the sampled token's log-probability). */
        n: number;
        /** Raw or processed (after temperature and filters) log-probabilities. */
        mode: LogprobsMode;
      }
    | undefined;
  /** What a row that cannot be sampled does: reported in `status`, or an error. */
  onInvalidRow: InvalidRowPolicy;
}

/** Per-row parameters of the filters after top-k, top-p and min-p (see docs/GPU_SAMPLER.md "Semantics"). */
export interface ExtraFilters {
  /** Per-row typical-p (1 = off). */
  typicalP: Float32Array;
  /** Per-row top-n-sigma n (0 = off). */
  topNSigma: Float32Array;
  /** Per-row XTC probability (0 = off). */
  xtcProbability: Float32Array;
  /** Per-row XTC threshold. */
  xtcThreshold: Float32Array;
}

/** Per-row logit adjustments, applied in order: bias, repetition, frequency and presence. */
export interface RowAdjustments {
  /** Per row, (token, bias) pairs added to the logits. */
  bias: (Array<[number, number]> | undefined)[];
  /** Per-row repetition penalty (1 = off). */
  repetitionPenalty: Float32Array;
  /** Per-row frequency penalty (0 = off). */
  frequencyPenalty: Float32Array;
  /** Per-row presence penalty (0 = off). */
  presencePenalty: Float32Array;
  /** Per row, the prompt's tokens (count for the repetition penalty). */
  promptTokens: (ArrayLike<number> | undefined)[];
  /** Per row, the tokens generated so far (count for every penalty). */
  outputTokens: (ArrayLike<number> | undefined)[];
}

/**
 * What `filteredProbs` and `maskedLogits` return: the distribution each row is sampled from,
 * whole rows, without drawing.
 */
export interface DistributionResult {
  /**
   * `batch × vocab`: the probabilities after temperature and every filter (0 outside the kept
   * set), or the processed logits (x / T) of the kept tokens with -Infinity elsewhere; NaN
   * throughout a row that was not sampled (see `status`).
   */
  values: Float32Array;
  /** Per row: 1 when `status[row]` is `RowStatus.sampled`, else 0. */
  valid: Uint8Array;
  /** Per row, a `RowStatus` code, as `sample` reports it. */
  status: Uint8Array;
  /** Rows. */
  batch: number;
  /** Elements per row. */
  vocab: number;
}

/**
 * Speculative decoding's verification (chain speculative sampling): per row, n draft tokens with
 * the draft model's distributions, and the target model's logits (or probabilities) for the n + 1
 * positions that follow. The target's parameters (temperature, filters, bias, seed, …) are given
 * per row as in {@link SampleRequest} and apply at every position of the row; position j draws as
 * a `sample` call at step `step + j`. See docs/GPU_SAMPLER.md "Speculative verification".
 */
export interface VerifyRequest<Input = Float32Array>
  extends Omit<
    SampleRequest<Input>,
    | 'shape'
    | 'samples'
    | 'logprobs'
    | 'logprobsMode'
    | 'repetitionPenalty'
    | 'frequencyPenalty'
    | 'presencePenalty'
    | 'promptTokens'
    | 'outputTokens'
  > {
  /**
   * `[batch, n, vocab]`: n draft tokens per row (n ≥ 0). The target (`logits` or `probs`) is
   * `[batch, n + 1, vocab]`, row-major.
   */
  shape: readonly [number, number, number];
  /** `batch × n` draft token ids, row-major. */
  draftTokens: ArrayLike<number>;
  /**
   * `batch × n × vocab`: the draft model's distribution at each draft position (non-negative and
   * finite; each is divided by its sum, which must be positive).
   */
  draftProbs: Float32Array;
}

/** What `verify` returns. */
export interface VerifyResult {
  /** Per row, how many draft tokens were accepted (0 … n); -1 for a row that was not verified. */
  accepted: Int32Array;
  /**
   * `batch × (n + 1)`: per row, the accepted draft tokens, then one token drawn by the target
   * (from the residual distribution at the first rejection, or the bonus token after n
   * acceptances): `accepted[row] + 1` tokens, then -1.
   */
  tokens: Int32Array;
  /** Per row: 1 when `status[row]` is `RowStatus.sampled`, else 0. */
  valid: Uint8Array;
  /** Per row, a `RowStatus` code (a target position with nothing to sample or invalid values, or invalid draft probabilities). */
  status: Uint8Array;
  /** Rows. */
  batch: number;
  /** Draft tokens per row (n). */
  draft: number;
  /** Elements per row. */
  vocab: number;
}
