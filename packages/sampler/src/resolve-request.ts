import { SamplerInputError } from './errors.js';
import {
  type ElementType,
  type ExtraFilters,
  type LogitBias,
  MAX_TOP_LOGPROBS,
  type PerRow,
  type ResolvedRequest,
  type RowAdjustments,
  type SampleRequest,
} from './request.js';
import { adjustmentsMatter, extraFiltersMatter } from './resolved-request.js';

const U32 = 0x100000000;

/** Every field of {@link SampleRequest}: anything else in a request is rejected (a typo such as `topk`). */
const REQUEST_FIELDS: Record<keyof SampleRequest<unknown>, true> = {
  logits: true,
  probs: true,
  dtype: true,
  after: true,
  shape: true,
  temperature: true,
  topK: true,
  topP: true,
  minP: true,
  filterOrder: true,
  typicalP: true,
  topNSigma: true,
  xtcProbability: true,
  xtcThreshold: true,
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

const ELEMENT_TYPES: readonly ElementType[] = ['float32', 'float16', 'bfloat16'];

/** `dtype` as given, checked: one of the element types, or undefined. */
export function checkElementType(dtype: unknown): ElementType | undefined {
  if (dtype === undefined || ELEMENT_TYPES.includes(dtype as ElementType))
    return dtype as ElementType | undefined;
  throw new SamplerInputError('dtype', "'float32', 'float16' or 'bfloat16'", dtype);
}

/** `after` as given, checked: an Event or a Stream (anything that can be waited for), or undefined. */
function checkAfter(after: unknown): SampleRequest['after'] {
  const waitable = typeof after === 'object' && after !== null && 'synchronize' in after;
  if (after === undefined || waitable) return after as SampleRequest['after'];
  throw new SamplerInputError('after', 'an Event or a Stream', after);
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return (
    typeof value === 'object' && value !== null && typeof (value as ArrayLike<unknown>).length === 'number'
  );
}

/**
 * `value` as one value per row (its length checked against `batch`), or undefined when it is
 * one value for every row (or none).
 */
function rowList<T>(field: string, value: PerRow<T> | undefined, batch: number): ArrayLike<T> | undefined {
  if (value === undefined || !isArrayLike(value) || typeof value === 'string') return undefined;
  if (value.length !== batch) {
    throw new SamplerInputError(field, `one value or an array of ${batch} (one per row)`, value);
  }
  return value as ArrayLike<T>;
}

// The checks of the numeric fields, made once (not a closure per call).
const finiteNonNegative = (v: number) => v >= 0 && v < Infinity;
const finitePositive = (v: number) => v > 0 && v < Infinity;
const nonNegativeInteger = (v: number) => Number.isInteger(v) && v >= 0;
const openUnit = (v: number) => v > 0 && v <= 1;
const closedUnit = (v: number) => v >= 0 && v <= 1;

/**
 * Fills `into` with the field's value per row (`fallback` where none is given), each checked by
 * `valid`; with `zeroFrom`, values from it on are stored as 0.
 */
function numberField(
  field: string,
  value: PerRow<number> | undefined,
  batch: number,
  fallback: number,
  expected: string,
  valid: (v: number) => boolean,
  into: Float32Array | Int32Array,
  zeroFrom = Number.POSITIVE_INFINITY,
): void {
  const list = rowList(field, value, batch);
  const single = list === undefined ? (value ?? fallback) : fallback;
  for (let row = 0; row < batch; row++) {
    const v = list === undefined ? single : (list[row] ?? fallback);
    if (typeof v !== 'number' || !valid(v))
      throw new SamplerInputError(field, expected, v, list === undefined ? undefined : row);
    into[row] = v >= zeroFrom ? 0 : v;
  }
}

function u64Field(
  field: string,
  value: PerRow<number | bigint> | undefined,
  batch: number,
  lo: Uint32Array,
  hi: Uint32Array,
): void {
  const list = rowList(field, value, batch);
  const single = list === undefined ? (value ?? 0) : 0;
  for (let row = 0; row < batch; row++) {
    const v = list === undefined ? single : (list[row] ?? 0);
    if (typeof v === 'bigint') {
      if (v < 0n || v >= 1n << 64n) throw u64Error(field, v, list === undefined ? undefined : row);
      lo[row] = Number(v & 0xffffffffn);
      hi[row] = Number(v >> 32n);
    } else if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
      lo[row] = v % U32;
      hi[row] = Math.floor(v / U32);
    } else {
      throw u64Error(field, v, list === undefined ? undefined : row);
    }
  }
}

function u64Error(field: string, value: unknown, row: number | undefined): SamplerInputError {
  return new SamplerInputError(field, 'an integer in [0, 2^64)', value, row);
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
  return resolveCounted(request, (input) => input.length, options.checkInputLength !== false);
}

/**
 * {@link resolveRequest} for an input of `count(input)` elements: exactly batch × vocab when
 * `exact`, else at least (checked by the caller, which knows what the input is).
 */
export function resolveCounted<Input>(
  request: SampleRequest<Input>,
  count: (input: Input) => number,
  exact: boolean,
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
  const length = count(input);
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
    if (exact && batch * vocab !== length) {
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

  const rows = new RowArrays(batch);
  const temperature = rows.float32();
  numberField(
    'temperature',
    request.temperature,
    batch,
    1,
    'a finite number ≥ 0',
    finiteNonNegative,
    temperature,
  );
  const topK = rows.int32();
  // k ≥ vocab keeps everything: stored as 0 (off) so that no backend sees a k it cannot hold.
  numberField('topK', request.topK, batch, 0, 'an integer ≥ 0', nonNegativeInteger, topK, vocab);
  const topP = rows.float32();
  numberField('topP', request.topP, batch, 1, 'a number in (0, 1]', openUnit, topP);
  const minP = rows.float32();
  numberField('minP', request.minP, batch, 0, 'a number in [0, 1]', closedUnit, minP);

  const seedLo = rows.uint32();
  const seedHi = rows.uint32();
  u64Field('seed', request.seed, batch, seedLo, seedHi);
  const stepLo = rows.uint32();
  const stepHi = rows.uint32();
  u64Field('step', request.step, batch, stepLo, stepHi);
  const stream = rows.uint32();
  const streams = rowList('stream', request.stream, batch);
  // A row that names no stream: with one seed per row, 0 (its draws depend on its own seed and
  // step, not on its position); with one seed for the batch, the row index.
  const perRowSeeds = request.seed !== undefined && isArrayLike(request.seed);
  for (let row = 0; row < batch; row++) {
    const named = streams === undefined ? request.stream : streams[row];
    const v = named ?? (perRowSeeds ? 0 : row);
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= U32) {
      throw new SamplerInputError(
        'stream',
        'an integer in [0, 2^32)',
        v,
        streams === undefined ? undefined : row,
      );
    }
    stream[row] = v;
  }

  const adjustments = resolveAdjustments(request, kind, batch, vocab);
  const extraFilters = resolveExtraFilters(request, batch);

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
    dtype: checkElementType(request.dtype) ?? 'float32',
    after: checkAfter(request.after),
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
    ...(extraFilters ? { extraFilters } : {}),
    logprobs,
    onInvalidRow,
  };
}

/**
 * The nine per-row arrays of a resolved request (4 bytes a row each). Arrays of more than 64
 * bytes are not kept in V8's heap: each gets its own backing store, and nine of those cost a
 * call of 17–32 rows 19–47 µs of allocation and collection (a call of 16 rows: 1 µs). From 17
 * rows on they are therefore views of a shared slab, carved forward and never reused: a new
 * slab when one is used up (a retained request keeps its slab alive, at most SLAB_BYTES); below
 * that, arrays of their own (in the heap: cheaper than views).
 */
class RowArrays {
  static readonly FIELDS = 9;
  static readonly SLAB_BYTES = 1 << 16;
  static #slab = new ArrayBuffer(0);
  static #used = 0;
  readonly #batch: number;
  readonly #buffer: ArrayBuffer | undefined;
  #offset = 0;
  #next = 0;
  constructor(batch: number) {
    this.#batch = batch;
    const bytes = batch * 4;
    if (bytes <= 64) return;
    const need = bytes * RowArrays.FIELDS;
    if (need > RowArrays.SLAB_BYTES / 4) {
      this.#buffer = new ArrayBuffer(need);
      return;
    }
    if (RowArrays.#used + need > RowArrays.#slab.byteLength) {
      RowArrays.#slab = new ArrayBuffer(RowArrays.SLAB_BYTES);
      RowArrays.#used = 0;
    }
    this.#buffer = RowArrays.#slab;
    this.#offset = RowArrays.#used;
    RowArrays.#used += need;
  }
  float32(): Float32Array {
    return this.#buffer
      ? new Float32Array(this.#buffer, this.#take(), this.#batch)
      : new Float32Array(this.#batch);
  }
  int32(): Int32Array {
    return this.#buffer
      ? new Int32Array(this.#buffer, this.#take(), this.#batch)
      : new Int32Array(this.#batch);
  }
  uint32(): Uint32Array {
    return this.#buffer
      ? new Uint32Array(this.#buffer, this.#take(), this.#batch)
      : new Uint32Array(this.#batch);
  }
  #take(): number {
    if (this.#next === RowArrays.FIELDS) throw new Error('RowArrays: more arrays than FIELDS');
    return this.#offset + this.#next++ * this.#batch * 4;
  }
}

/** Typical-p, top-n-sigma and XTC per row; undefined when no row uses any of them. */
function resolveExtraFilters(request: SampleRequest<unknown>, batch: number): ExtraFilters | undefined {
  if (
    request.typicalP === undefined &&
    request.topNSigma === undefined &&
    request.xtcProbability === undefined &&
    request.xtcThreshold === undefined
  )
    return undefined;
  const filters: ExtraFilters = {
    typicalP: new Float32Array(batch),
    topNSigma: new Float32Array(batch),
    xtcProbability: new Float32Array(batch),
    xtcThreshold: new Float32Array(batch),
  };
  const { typicalP, topNSigma, xtcProbability, xtcThreshold } = filters;
  numberField('typicalP', request.typicalP, batch, 1, 'a number in (0, 1]', openUnit, typicalP);
  numberField('topNSigma', request.topNSigma, batch, 0, 'a finite number ≥ 0', finiteNonNegative, topNSigma);
  numberField(
    'xtcProbability',
    request.xtcProbability,
    batch,
    0,
    'a number in [0, 1]',
    closedUnit,
    xtcProbability,
  );
  numberField(
    'xtcThreshold',
    request.xtcThreshold,
    batch,
    0.1,
    'a number in [0, 1]',
    closedUnit,
    xtcThreshold,
  );
  return extraFiltersMatter(filters, 0, batch) ? filters : undefined;
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
  // None given (most calls): nothing to check, nothing that matters.
  if (
    request.repetitionPenalty === undefined &&
    request.frequencyPenalty === undefined &&
    request.presencePenalty === undefined &&
    request.logitBias === undefined &&
    request.promptTokens === undefined &&
    request.outputTokens === undefined
  ) {
    return undefined;
  }
  const repetitionPenalty = new Float32Array(batch);
  numberField(
    'repetitionPenalty',
    request.repetitionPenalty,
    batch,
    1,
    'a finite number > 0',
    finitePositive,
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

  const adjustments = {
    bias,
    repetitionPenalty,
    frequencyPenalty,
    presencePenalty,
    promptTokens,
    outputTokens,
  };
  if (!adjustmentsMatter(adjustments, 0, batch)) return undefined;
  if (kind === 'probs') {
    throw new SamplerInputError('logitBias / penalties', 'logits input (they adjust logits)', 'probs');
  }
  return adjustments;
}
