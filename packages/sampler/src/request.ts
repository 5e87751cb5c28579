import { SamplerInputError } from './errors.js';
import type { InvalidRowPolicy } from './row-status.js';

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
export interface SampleRequest<Input = Float32Array> {
  /** Logits, row-major `[batch, vocab]`. Exactly one of `logits` and `probs` is given. */
  logits?: Input;
  /** Probabilities (non-negative; need not sum to 1), row-major `[batch, vocab]`. */
  probs?: Input;
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
   * {@link MAX_TOP_LOGPROBS}): that, plus the top-n per row.
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

/** Every field of {@link SampleRequest}: anything else in a request is rejected (a typo such as `topk`). */
const REQUEST_FIELDS: Record<keyof SampleRequest<unknown>, true> = {
  logits: true,
  probs: true,
  shape: true,
  temperature: true,
  topK: true,
  topP: true,
  minP: true,
  filterOrder: true,
  seed: true,
  stream: true,
  step: true,
  samples: true,
  logitBias: true,
  repetitionPenalty: true,
  frequencyPenalty: true,
  presencePenalty: true,
  promptTokens: true,
  outputTokens: true,
  logprobs: true,
  logprobsMode: true,
  onInvalidRow: true,
};

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
export interface ResolvedRequest<Input = Float32Array> {
  /** The logits or probabilities, row-major batch × vocab. */
  input: Input;
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

const U32 = 0x100000000;

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as ArrayLike<unknown>).length === 'number'
  );
}

function perRow<T>(
  field: string,
  value: PerRow<T> | undefined,
  batch: number,
): (row: number) => T | undefined {
  if (value === undefined) return () => undefined;
  if (isArrayLike(value) && typeof value !== 'string') {
    if (value.length !== batch) {
      throw new SamplerInputError(field, `one value or an array of ${batch} (one per row)`, value);
    }
    return (row) => value[row] as T;
  }
  return () => value as T;
}

function numberField(
  field: string,
  value: PerRow<number> | undefined,
  batch: number,
  fallback: number,
  expected: string,
  valid: (v: number) => boolean,
  into: Float32Array | Int32Array,
  map: (v: number) => number = (v) => v,
): void {
  const at = perRow(field, value, batch);
  const scalar = value === undefined || !isArrayLike(value);
  for (let row = 0; row < batch; row++) {
    const v = at(row) ?? fallback;
    if (typeof v !== 'number' || !valid(v))
      throw new SamplerInputError(field, expected, v, scalar ? undefined : row);
    into[row] = map(v);
  }
}

function u64Field(
  field: string,
  value: PerRow<number | bigint> | undefined,
  batch: number,
  lo: Uint32Array,
  hi: Uint32Array,
): void {
  const at = perRow(field, value, batch);
  const scalar = value === undefined || !isArrayLike(value);
  for (let row = 0; row < batch; row++) {
    const v = at(row) ?? 0;
    const fail = () => new SamplerInputError(field, 'an integer in [0, 2^64)', v, scalar ? undefined : row);
    if (typeof v === 'bigint') {
      if (v < 0n || v >= 1n << 64n) throw fail();
      lo[row] = Number(v & 0xffffffffn);
      hi[row] = Number(v >> 32n);
    } else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
      lo[row] = v % U32;
      hi[row] = Math.floor(v / U32);
    } else {
      throw fail();
    }
  }
}

function tokenLists(
  field: string,
  value: ArrayLike<number> | ReadonlyArray<ArrayLike<number>> | undefined,
  batch: number,
  vocab: number,
): (ArrayLike<number> | undefined)[] {
  const lists: (ArrayLike<number> | undefined)[] = new Array(batch).fill(undefined);
  if (value === undefined) return lists;
  const nested = value.length > 0 && isArrayLike(value[0]);
  if (!nested) {
    if (batch !== 1 && value.length > 0) {
      throw new SamplerInputError(field, `an array of ${batch} token lists (one per row)`, value);
    }
    lists[0] = value as ArrayLike<number>;
  } else {
    if (value.length !== batch)
      throw new SamplerInputError(field, `${batch} token lists (one per row)`, value);
    for (let row = 0; row < batch; row++) lists[row] = (value as ReadonlyArray<ArrayLike<number>>)[row];
  }
  for (let row = 0; row < batch; row++) {
    const list = lists[row];
    if (list === undefined) continue;
    for (let j = 0; j < list.length; j++) {
      const t = list[j];
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t >= vocab) {
        throw new SamplerInputError(`${field}[${j}]`, `a token id in [0, ${vocab})`, t, row);
      }
    }
  }
  return lists;
}

function biasEntries(bias: LogitBias, vocab: number, row: number | undefined): Array<[number, number]> {
  const entries: Array<[number, number]> =
    bias instanceof Map
      ? [...bias.entries()]
      : Object.entries(bias).map(([k, v]) => [Number(k), v as number] as [number, number]);
  for (const [token, value] of entries) {
    if (!Number.isInteger(token) || token < 0 || token >= vocab) {
      throw new SamplerInputError('logitBias', `token ids in [0, ${vocab})`, token, row);
    }
    if (typeof value !== 'number' || Number.isNaN(value) || value === Number.POSITIVE_INFINITY) {
      throw new SamplerInputError(`logitBias[${token}]`, 'a finite number or -Infinity', value, row);
    }
  }
  return entries;
}

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

/** Checks the shape and every parameter of a request, and resolves it to per-row arrays. */
export function resolveRequest<
  Input extends {
    /** Elements of the input (batch × vocab). */
    length: number;
  },
>(
  request: SampleRequest<Input>,
  options: {
    /** Check that the input holds exactly batch × vocab elements (default true). */
    checkInputLength?: boolean;
  } = {},
): ResolvedRequest<Input> {
  if (request === null || typeof request !== 'object') {
    throw new SamplerInputError('request', 'an object', request);
  }
  rejectUnknownFields(request);
  const hasLogits = request.logits !== undefined;
  const hasProbs = request.probs !== undefined;
  if (hasLogits === hasProbs) {
    throw new SamplerInputError('logits', 'exactly one of logits and probs', hasLogits ? 'both' : 'neither');
  }
  const kind = hasLogits ? 'logits' : 'probs';
  const input = (request.logits ?? request.probs) as Input;
  const length = input.length;
  let batch: number;
  let vocab: number;
  if (request.shape !== undefined) {
    const shape = request.shape;
    if (!isArrayLike(shape) || shape.length !== 2)
      throw new SamplerInputError('shape', '[batch, vocab]', shape);
    [batch, vocab] = shape as [number, number];
    if (!Number.isInteger(batch) || batch < 1)
      throw new SamplerInputError('shape[0] (batch)', 'an integer ≥ 1', batch);
    if (!Number.isInteger(vocab) || vocab < 1)
      throw new SamplerInputError('shape[1] (vocab)', 'an integer ≥ 1', vocab);
    if (options.checkInputLength !== false && batch * vocab !== length) {
      throw new SamplerInputError(kind, `${batch * vocab} values (batch ${batch} × vocab ${vocab})`, input);
    }
  } else {
    batch = 1;
    vocab = length;
    if (vocab < 1) throw new SamplerInputError(kind, 'at least one value', input);
  }

  const samples = request.samples ?? 1;
  if (!Number.isInteger(samples) || samples < 1)
    throw new SamplerInputError('samples', 'an integer ≥ 1', samples);
  const filterOrder = request.filterOrder ?? 'topKFirst';
  if (filterOrder !== 'topKFirst' && filterOrder !== 'joint') {
    throw new SamplerInputError('filterOrder', "'topKFirst' or 'joint'", filterOrder);
  }

  const temperature = new Float32Array(batch);
  numberField(
    'temperature',
    request.temperature,
    batch,
    1,
    'a finite number ≥ 0',
    (v) => v >= 0 && v < Infinity,
    temperature,
  );
  const topK = new Int32Array(batch);
  // k ≥ vocab keeps everything: stored as 0 (off) so that no backend sees a k it cannot hold.
  numberField(
    'topK',
    request.topK,
    batch,
    0,
    'an integer ≥ 0',
    (v) => Number.isInteger(v) && v >= 0,
    topK,
    (v) => (v >= vocab ? 0 : v),
  );
  const topP = new Float32Array(batch);
  numberField('topP', request.topP, batch, 1, 'a number in (0, 1]', (v) => v > 0 && v <= 1, topP);
  const minP = new Float32Array(batch);
  numberField('minP', request.minP, batch, 0, 'a number in [0, 1]', (v) => v >= 0 && v <= 1, minP);

  const seedLo = new Uint32Array(batch);
  const seedHi = new Uint32Array(batch);
  u64Field('seed', request.seed, batch, seedLo, seedHi);
  const stepLo = new Uint32Array(batch);
  const stepHi = new Uint32Array(batch);
  u64Field('step', request.step, batch, stepLo, stepHi);
  const stream = new Uint32Array(batch);
  const streamAt = perRow('stream', request.stream, batch);
  const streamScalar = request.stream === undefined || !isArrayLike(request.stream);
  const defaultStream = defaultStreamOf(request.seed);
  for (let row = 0; row < batch; row++) {
    const v = streamAt(row) ?? defaultStream(row);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= U32) {
      throw new SamplerInputError('stream', 'an integer in [0, 2^32)', v, streamScalar ? undefined : row);
    }
    stream[row] = v;
  }

  const adjustments = resolveAdjustments(request, kind, batch, vocab);

  let logprobs: ResolvedRequest['logprobs'];
  if (request.logprobs !== undefined && request.logprobs !== false) {
    const n = request.logprobs === true ? 0 : request.logprobs;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_TOP_LOGPROBS) {
      throw new SamplerInputError(
        'logprobs',
        `true, false or an integer in [0, ${MAX_TOP_LOGPROBS}]`,
        request.logprobs,
      );
    }
    const mode = request.logprobsMode ?? 'raw';
    if (mode !== 'raw' && mode !== 'processed') {
      throw new SamplerInputError('logprobsMode', "'raw' or 'processed'", mode);
    }
    logprobs = { n: Math.min(n, vocab), mode };
  }
  const onInvalidRow = request.onInvalidRow ?? 'flag';
  if (onInvalidRow !== 'flag' && onInvalidRow !== 'throw') {
    throw new SamplerInputError('onInvalidRow', "'flag' or 'throw'", onInvalidRow);
  }

  return {
    input,
    kind,
    batch,
    vocab,
    samples,
    filterOrder,
    temperature,
    topK,
    topP,
    minP,
    seedLo,
    seedHi,
    stream,
    stepLo,
    stepHi,
    adjustments,
    logprobs,
    onInvalidRow,
  };
}

/**
 * The stream of a row that names none: with one seed per row (per request), 0, so that a row's
 * draws depend on its own seed and step only, not on its position; with one seed for the batch,
 * the row index, so that its rows draw differently.
 */
function defaultStreamOf(seed: SampleRequest<unknown>['seed']): (row: number) => number {
  const perRowSeeds = seed !== undefined && isArrayLike(seed);
  return perRowSeeds ? () => 0 : (row) => row;
}

/** Rejects a field that SampleRequest does not have, suggesting the field it resembles. */
function rejectUnknownFields(request: object): void {
  for (const field of Object.keys(request)) {
    if (Object.hasOwn(REQUEST_FIELDS, field)) continue;
    const plain = (name: string) => name.toLowerCase().replace(/[_-]/g, '');
    const near = Object.keys(REQUEST_FIELDS).find((known) => plain(known) === plain(field));
    const expected = `a SampleRequest field name${near ? ` (did you mean ${near}?)` : ''}`;
    throw new SamplerInputError(field, expected, (request as Record<string, unknown>)[field]);
  }
}

function resolveAdjustments(
  request: SampleRequest<unknown>,
  kind: 'logits' | 'probs',
  batch: number,
  vocab: number,
): RowAdjustments | undefined {
  const repetitionPenalty = new Float32Array(batch);
  numberField(
    'repetitionPenalty',
    request.repetitionPenalty,
    batch,
    1,
    'a finite number > 0',
    (v) => v > 0 && v < Infinity,
    repetitionPenalty,
  );
  const frequencyPenalty = new Float32Array(batch);
  numberField(
    'frequencyPenalty',
    request.frequencyPenalty,
    batch,
    0,
    'a finite number',
    Number.isFinite,
    frequencyPenalty,
  );
  const presencePenalty = new Float32Array(batch);
  numberField(
    'presencePenalty',
    request.presencePenalty,
    batch,
    0,
    'a finite number',
    Number.isFinite,
    presencePenalty,
  );

  const bias: (Array<[number, number]> | undefined)[] = new Array(batch).fill(undefined);
  const given = request.logitBias;
  if (given !== undefined) {
    if (Array.isArray(given)) {
      if (given.length !== batch)
        throw new SamplerInputError('logitBias', `one map or ${batch} (one per row)`, given);
      for (let row = 0; row < batch; row++) {
        const b = given[row] as LogitBias | undefined;
        if (b !== undefined) bias[row] = biasEntries(b, vocab, row);
      }
    } else {
      const entries = biasEntries(given as LogitBias, vocab, undefined);
      bias.fill(entries);
    }
  }
  const promptTokens = tokenLists('promptTokens', request.promptTokens, batch, vocab);
  const outputTokens = tokenLists('outputTokens', request.outputTokens, batch, vocab);

  let active = false;
  for (let row = 0; row < batch; row++) {
    if ((bias[row]?.length ?? 0) > 0) active = true;
    if (repetitionPenalty[row] !== 1 && (promptTokens[row]?.length || outputTokens[row]?.length))
      active = true;
    if ((frequencyPenalty[row] !== 0 || presencePenalty[row] !== 0) && outputTokens[row]?.length)
      active = true;
  }
  if (!active) return undefined;
  if (kind === 'probs') {
    throw new SamplerInputError('logitBias / penalties', 'logits input (they adjust logits)', 'probs');
  }
  return { bias, repetitionPenalty, frequencyPenalty, presencePenalty, promptTokens, outputTokens };
}
