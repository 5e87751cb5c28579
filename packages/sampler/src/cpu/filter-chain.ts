import type { FilterOrder } from '../request.js';
import { expNonPositive } from './fast-exp.js';
import { ThresholdSelector } from './threshold-select.js';

/** One row's filter parameters, as the chain reads them. */
export interface ChainParameters {
  /** Top-k (0 = off). */
  topK: number;
  /** Top-p (1 = off). */
  topP: number;
  /** Min-p (0 = off). */
  minP: number;
  /** How top-k and top-p combine. */
  filterOrder: FilterOrder;
  /** Typical-p (1 = off). */
  typicalP: number;
  /** Top-n-sigma's n (0 = off). */
  topNSigma: number;
  /** XTC's threshold, when its coin said to apply it this step; undefined otherwise. */
  xtcThreshold: number | undefined;
}

/**
 * The whole filter chain of docs/GPU_SAMPLER.md "Semantics", step 6, on one row, for the rows
 * that use typical-p, top-n-sigma or XTC: top-n-sigma, top-k, top-p, min-p, typical-p, XTC, in
 * that order. The rows that use none of them take RowSampler's faster paths, which this chain
 * reproduces token for token (the same thresholds, the same weights).
 *
 * Every step works on a list of candidate tokens kept in index order, and every set it keeps is
 * a threshold on a per-token value (the logit, the typical score), found exactly by radix select:
 * no sort. Scratch grows to the largest vocabulary seen and is reused.
 */
export class FilterChain {
  readonly #selector = new ThresholdSelector();
  /** Weights by token index. */
  #weights = new Float64Array(0);
  #candidates = new Int32Array(0);
  /** Typical-p's negated scores by token index, and their bits. */
  #scores = new Float32Array(0);
  #scoreBits = new Uint32Array(0);
  /** Typical-p's log of each candidate's weight, by token index (one Math.log per token, not two). */
  #logs = new Float64Array(0);

  #ensure(vocab: number): void {
    if (this.#weights.length >= vocab) return;
    this.#weights = new Float64Array(vocab);
    this.#candidates = new Int32Array(vocab);
    this.#scores = new Float32Array(vocab);
    this.#scoreBits = new Uint32Array(this.#scores.buffer);
    this.#logs = new Float64Array(vocab);
  }

  /** Bytes of scratch held. */
  get memoryBytes(): number {
    return this.#weights.length * (8 + 4 + 4 + 8);
  }

  /**
   * The kept set of a row with temperature > 0 and a finite maximum `max`: writes the kept
   * tokens in index order to `kept` and their running weights to `cumulative`; returns how many.
   * `x` is the row (adjusted logits, or probabilities when `kind` is `probs`), `bits` its bits.
   */
  keep(
    x: Float32Array,
    bits: Uint32Array,
    kind: 'logits' | 'probs',
    max: number,
    inverseTemperature: number,
    parameters: ChainParameters,
    kept: Int32Array,
    cumulative: Float64Array,
  ): number {
    const vocab = x.length;
    this.#ensure(vocab);
    const weights = this.#weights;
    const candidates = this.#candidates;
    const plainProbs = kind === 'probs' && inverseTemperature === 1;
    const { topK, topP, minP, filterOrder, typicalP, topNSigma, xtcThreshold } = parameters;

    // Top-n-sigma: a threshold on the logit (log p for probabilities) over the whole row; the
    // tokens of probability 0 (-Infinity logits, zero probabilities) are never candidates.
    const sigmaCut = topNSigma > 0 ? sigmaThreshold(x, kind, max, topNSigma) : Number.NEGATIVE_INFINITY;
    let count = listCandidates(x, kind, sigmaCut, candidates);

    // Top-k among the candidates (ties at the k-th value kept).
    if (topK > 0 && topK < count) {
      const t = this.#selector.select(bits, candidates, count, null, topK);
      count = compactAtLeast(x, candidates, count, t);
    }
    let total = fillWeights(x, candidates, count, kind, max, inverseTemperature, plainProbs, weights);

    // Top-p: on the candidates so far (topKFirst), or on the whole row (joint).
    if (topP < 1) {
      let t: number;
      if (filterOrder === 'joint') {
        const rowTotal = fillWeights(x, null, x.length, kind, max, inverseTemperature, plainProbs, weights);
        t = this.#selector.select(bits, null, vocab, weights, topP * rowTotal);
      } else {
        t = this.#selector.select(bits, candidates, count, weights, topP * total);
      }
      count = compactAtLeast(x, candidates, count, t);
    }

    // Min-p: relative to the most probable token, which every filter before keeps.
    if (minP > 0) {
      const minWeight = minP * (plainProbs ? max : 1);
      count = compactWeighing(weights, candidates, count, minWeight);
    }

    // Typical-p on the distribution left so far: keep the tokens of smallest
    // |−log q − H| until their mass reaches p (ties at the last score kept).
    if (typicalP < 1 && count > 1) {
      total = sumWeights(weights, candidates, count);
      typicalScores(weights, candidates, count, total, this.#logs, this.#scores);
      const t = this.#selector.select(this.#scoreBits, candidates, count, weights, typicalP * total);
      count = compactAtLeast(this.#scores, candidates, count, t);
    }

    // XTC, when its coin fell: among the tokens of positive probability ≥ the threshold (on the
    // distribution left so far), if there are two or more, remove all but the least probable
    // (every token at its logit kept).
    if (xtcThreshold !== undefined && count > 1) {
      total = sumWeights(weights, candidates, count);
      const least = leastAboveThreshold(x, weights, candidates, count, xtcThreshold * total);
      if (least !== undefined) count = compactAtMost(x, candidates, count, least);
    }

    let running = 0;
    for (let j = 0; j < count; j++) {
      const i = candidates[j]!;
      running += weights[i]!;
      kept[j] = i;
      cumulative[j] = running;
    }
    return count;
  }
}

/** The logit of a value: itself for logits, log p for probabilities. */
function logitOf(v: number, kind: 'logits' | 'probs'): number {
  return kind === 'logits' ? v : Math.log(v);
}

/**
 * max − n·σ, σ the population standard deviation of the row's finite logits (log p for
 * probabilities), mean and sum of squares in double: llama.cpp's `top_n_sigma` definition.
 */
export function sigmaThreshold(x: Float32Array, kind: 'logits' | 'probs', max: number, n: number): number {
  // One loop per kind (the same sums in the same order): a per-element call and test of the
  // kind made these two passes most of top-n-sigma's time.
  const values = kind === 'logits' ? x : logsOf(x);
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === Number.NEGATIVE_INFINITY) continue;
    sum += v;
    count++;
  }
  const mean = sum / count;
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === Number.NEGATIVE_INFINITY) continue;
    squares += (v - mean) * (v - mean);
  }
  return logitOf(max, kind) - n * Math.sqrt(squares / count);
}

/** log p of each probability, in double (probability rows only: their logits). */
function logsOf(x: Float32Array): Float64Array {
  const logs = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) logs[i] = Math.log(x[i]!);
  return logs;
}

/** Lists the tokens of positive probability whose logit is ≥ `cut`, in index order; returns how many. */
function listCandidates(x: Float32Array, kind: 'logits' | 'probs', cut: number, out: Int32Array): number {
  let n = 0;
  if (kind === 'logits') {
    // -Infinity is never ≥ a cut above it; with no cut (-Infinity), > -Infinity is the test.
    if (cut > Number.NEGATIVE_INFINITY) {
      for (let i = 0; i < x.length; i++) if (x[i]! >= cut) out[n++] = i;
    } else {
      for (let i = 0; i < x.length; i++) if (x[i]! > Number.NEGATIVE_INFINITY) out[n++] = i;
    }
    return n;
  }
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v !== 0 && Math.log(v) >= cut) out[n++] = i;
  }
  return n;
}

/**
 * A value's weight: exp((v − max)/T) for logits, p for probabilities at T = 1 (`plainProbs`),
 * else (p/max)^(1/T). The one definition RowSampler's fast paths and the filter chain share, so
 * that both agree token for token.
 */
export function weightOf(
  v: number,
  kind: 'logits' | 'probs',
  max: number,
  inverseTemperature: number,
  plainProbs: boolean,
): number {
  if (kind === 'logits') return expNonPositive((v - max) * inverseTemperature);
  return plainProbs ? v : (v / max) ** inverseTemperature;
}

/**
 * Writes the weights of the candidates (by token index: `list[0 … count)`, or tokens 0 … count − 1
 * when `list` is null) and returns their sum in that order. RowSampler's and the chain's.
 */
export function fillWeights(
  x: Float32Array,
  list: Int32Array | null,
  count: number,
  kind: 'logits' | 'probs',
  max: number,
  inverseTemperature: number,
  plainProbs: boolean,
  weights: Float64Array,
): number {
  let total = 0;
  if (kind === 'logits') {
    // weightOf's logits case, one loop per layout (the same weights, summed in the same order).
    if (list === null) {
      for (let i = 0; i < count; i++) {
        const w = expNonPositive((x[i]! - max) * inverseTemperature);
        weights[i] = w;
        total += w;
      }
    } else {
      for (let j = 0; j < count; j++) {
        const i = list[j]!;
        const w = expNonPositive((x[i]! - max) * inverseTemperature);
        weights[i] = w;
        total += w;
      }
    }
    return total;
  }
  for (let j = 0; j < count; j++) {
    const i = list === null ? j : list[j]!;
    const w = weightOf(x[i]!, kind, max, inverseTemperature, plainProbs);
    weights[i] = w;
    total += w;
  }
  return total;
}

function sumWeights(weights: Float64Array, candidates: Int32Array, count: number): number {
  let total = 0;
  for (let j = 0; j < count; j++) total += weights[candidates[j]!]!;
  return total;
}

/** Keeps the candidates with value ≥ `threshold`, in order; returns how many. */
function compactAtLeast(
  values: Float32Array,
  candidates: Int32Array,
  count: number,
  threshold: number,
): number {
  let n = 0;
  for (let j = 0; j < count; j++) {
    const i = candidates[j]!;
    if (values[i]! >= threshold) candidates[n++] = i;
  }
  return n;
}

/** Keeps the candidates with value ≤ `bound`, in order; returns how many. */
function compactAtMost(values: Float32Array, candidates: Int32Array, count: number, bound: number): number {
  let n = 0;
  for (let j = 0; j < count; j++) {
    const i = candidates[j]!;
    if (values[i]! <= bound) candidates[n++] = i;
  }
  return n;
}

/** Keeps the candidates with weight ≥ `minWeight`, in order; returns how many. */
function compactWeighing(
  weights: Float64Array,
  candidates: Int32Array,
  count: number,
  minWeight: number,
): number {
  let n = 0;
  for (let j = 0; j < count; j++) {
    const i = candidates[j]!;
    if (weights[i]! >= minWeight) candidates[n++] = i;
  }
  return n;
}

/**
 * Typical-p's score of each candidate, negated so that the radix select's "largest first" walks
 * the smallest scores first: −|−log q − H|, q = w / total, H = −Σ q log q (a token of weight 0
 * adds nothing to H and scores −Infinity). In float32, as the select reads it.
 */
function typicalScores(
  weights: Float64Array,
  candidates: Int32Array,
  count: number,
  total: number,
  logs: Float64Array,
  scores: Float32Array,
): void {
  const logTotal = Math.log(total);
  let entropy = 0;
  for (let j = 0; j < count; j++) {
    const i = candidates[j]!;
    const w = weights[i]!;
    if (w > 0) {
      const logW = Math.log(w);
      logs[i] = logW;
      entropy -= (w / total) * (logW - logTotal);
    }
  }
  for (let j = 0; j < count; j++) {
    const i = candidates[j]!;
    scores[i] = weights[i]! > 0 ? -Math.abs(logTotal - logs[i]! - entropy) : Number.NEGATIVE_INFINITY;
  }
}

/**
 * XTC's cut: the smallest logit among the candidates of positive weight ≥ `minWeight`, when
 * there are at least two of them; else undefined (XTC removes nothing).
 */
function leastAboveThreshold(
  x: Float32Array,
  weights: Float64Array,
  candidates: Int32Array,
  count: number,
  minWeight: number,
): number | undefined {
  let above = 0;
  let least = Number.POSITIVE_INFINITY;
  for (let j = 0; j < count; j++) {
    const i = candidates[j]!;
    const w = weights[i]!;
    if (w > 0 && w >= minWeight) {
      above++;
      if (x[i]! < least) least = x[i]!;
    }
  }
  return above >= 2 ? least : undefined;
}
