import { SamplerInputError } from '../errors.js';
import { rowValues } from '../half-values.js';
import { uniform53, upperUniform53 } from '../philox.js';
import type { ResolvedRequest, RowAdjustments } from '../request.js';
import { rowUsesExtraFilters } from '../resolved-request.js';
import { expNonPositive } from './fast-exp.js';
import { FilterChain, fillWeights, weightOf } from './filter-chain.js';
import {
  type DigitWalk,
  keyToFloat,
  remainingAfter,
  ThresholdSelector,
  walkDigits,
} from './threshold-select.js';

/** Tokens per running total kept by the plain path (the draw recomputes at most this many weights). */
const CHUNK = 32;
/**
 * Samples one row at a time, following docs/GPU_SAMPLER.md "Semantics" step by step.
 * Scratch buffers grow to the largest vocabulary seen and are reused: no allocation per call.
 *
 * Every filter (top-k, top-p, min-p) is a threshold on the processed logit x, so the kept
 * set is always {i : x_i ≥ t} for one t. The draw walks the kept tokens in index order and
 * takes the first whose running weight exceeds u · (kept weight), u from Philox — the same
 * walk the GPU does with a prefix sum.
 */
export class RowSampler {
  readonly #selector = new ThresholdSelector();
  /** Rows with typical-p, top-n-sigma or XTC take the whole chain. */
  readonly #chain = new FilterChain();
  #weights = new Float64Array(0);
  #cumulative = new Float64Array(0);
  #kept = new Int32Array(0);
  #candidates = new Int32Array(0);
  #work = new Float32Array(0);
  /** The row's values widened to float32 (half-precision input). */
  #row = new Float32Array(0);
  #workBits = new Uint32Array(0);
  #counts = new Int32Array(0);
  /** Running weight at the end of each chunk of {@link CHUNK} tokens (the plain path). */
  #chunkTotals = new Float64Array(0);
  /** Index of the maximum found by #streamTopK. */
  #streamArgmax = -1;
  /** The plain path's total (its kept list and running sums are implicit). */
  #plainTotal = 0;
  /** Top-p's first round: weight per top-11-bit digit, of the raw bits then of the key. */
  readonly #rawDigitWeights = new Float64Array(2048);
  readonly #digitWeights = new Float64Array(2048);
  readonly #walk: DigitWalk = { digit: 0, above: 0, short: false };
  /** Top-p's compact candidate list (#topPOverRow): tokens in #kept, then values and weights. */
  #massValues = new Float32Array(0);
  #massBits = new Uint32Array(0);
  #massWeights = new Float64Array(0);
  #massCount = 0;

  // State of the last sampled row, read by the log-probability methods.
  #x: Float32Array = this.#work;
  #keptCount = 0;
  /** The kept set is every token, in order (the plain path writes no index list). */
  #identity = false;
  #total = 0;
  #max = 0;
  #inverseTemperature = 1;
  #mode: 'greedy' | 'infinite' | 'logits' | 'probs' = 'logits';

  #ensure(vocab: number): void {
    if (this.#weights.length >= vocab) return;
    this.#weights = new Float64Array(vocab);
    this.#cumulative = new Float64Array(vocab);
    this.#kept = new Int32Array(vocab);
    this.#candidates = new Int32Array(vocab);
    this.#work = new Float32Array(vocab);
    this.#row = new Float32Array(vocab);
    this.#workBits = new Uint32Array(this.#work.buffer);
    this.#counts = new Int32Array(vocab);
    this.#chunkTotals = new Float64Array(Math.ceil(vocab / CHUNK));
    this.#massValues = new Float32Array(vocab);
    this.#massBits = new Uint32Array(this.#massValues.buffer);
    this.#massWeights = new Float64Array(vocab);
  }

  /** Bytes of scratch held. */
  get memoryBytes(): number {
    const v = this.#weights.length;
    return v * (8 + 8 + 4 + 4 + 4 + 4 + 4 + 4 + 8) + this.#chunkTotals.length * 8 + this.#chain.memoryBytes;
  }

  /**
   * Samples row `row` of `request` into `tokens[row * samples …]`. Returns false when nothing
   * can be sampled (all -Infinity logits, all-zero probabilities); tokens are then -1.
   */
  sampleRow(request: ResolvedRequest, row: number, tokens: Int32Array): boolean {
    const out = row * request.samples;
    if (!this.keepRow(request, row)) {
      tokens.fill(-1, out, out + request.samples);
      return false;
    }
    if (this.#mode === 'greedy') tokens.fill(this.#kept[0]!, out, out + request.samples);
    else this.#draw(request, row, tokens, out);
    return true;
  }

  /**
   * Computes the distribution row `row` of `request` is sampled from (its kept set and weights),
   * without drawing; the log-probability and distribution methods then describe it. Returns false
   * when nothing can be sampled (all -Infinity logits, all-zero probabilities).
   */
  keepRow(request: ResolvedRequest, row: number): boolean {
    const { vocab, kind } = request;
    this.#ensure(vocab);
    const adjust = request.adjustments !== undefined && kind === 'logits';
    let x = rowValues(request, row * vocab, vocab, adjust ? this.#work : this.#row);
    let bits = new Uint32Array(x.buffer, x.byteOffset, vocab);
    if (adjust) {
      const work = this.#work.subarray(0, vocab);
      if (x.buffer !== work.buffer) work.set(x);
      this.#applyAdjustments(work, request.adjustments!, row);
      x = work;
      bits = this.#workBits.subarray(0, vocab);
    }
    this.#x = x;
    this.#identity = false;

    const temperature = request.temperature[row]!;
    const topK = request.topK[row]!;
    const topP = request.topP[row]!;
    const minP = request.minP[row]!;
    const kept = this.#kept;
    const cumulative = this.#cumulative;

    // 1. Maximum (lowest index on ties) and validation. With top-k on logits, one streaming
    //    pass finds the maximum and the top-k candidates together.
    let max: number;
    let argmax: number;
    let candidates: Int32Array | null = null;
    let candidateCount = vocab;
    let threshold = Number.NEGATIVE_INFINITY;
    const extra = request.extraFilters !== undefined && rowUsesExtraFilters(request.extraFilters, row);
    if (kind === 'logits' && topK > 0 && temperature > 0 && !extra) {
      const found = this.#topKCandidates(x, bits, topK, row);
      max = found.max;
      argmax = found.argmax;
      candidates = this.#candidates;
      candidateCount = found.count;
      threshold = found.threshold;
    } else {
      argmax = kind === 'logits' ? argmaxOfLogits(x, row) : argmaxOfProbs(x, row);
      max = argmax === -1 ? (kind === 'logits' ? Number.NEGATIVE_INFINITY : 0) : x[argmax]!;
    }
    if (argmax === -1) {
      this.#keptCount = 0;
      return false;
    }
    this.#max = max;

    // 2. Temperature 0: greedy.
    if (temperature === 0) {
      this.#mode = 'greedy';
      kept[0] = argmax;
      cumulative[0] = 1;
      this.#keptCount = 1;
      this.#total = 1;
      return true;
    }

    // 3. +Infinity logits: the limit of the softmax, uniform over the +Infinity tokens.
    if (max === Number.POSITIVE_INFINITY) {
      this.#mode = 'infinite';
      let count = 0;
      for (let i = argmax; i < vocab; i++) {
        if (x[i] === Number.POSITIVE_INFINITY) {
          kept[count] = i;
          cumulative[count] = count + 1;
          count++;
        }
      }
      this.#keptCount = count;
      this.#total = count;
      return true;
    }

    // 4. Weights w_i = exp((x_i − max) / T) for logits, (p_i / max)^(1/T) for probabilities
    //    (p_i itself when T = 1); the most probable token has weight 1 (max for T = 1 probs).
    const inverseTemperature = 1 / temperature;
    this.#inverseTemperature = inverseTemperature;
    this.#mode = kind;
    const plainProbs = kind === 'probs' && temperature === 1;
    const maxWeight = plainProbs ? max : 1;
    const weights = this.#weights;
    let weighted = false;

    if (extra) {
      const filters = request.extraFilters!;
      const xtcProbability = filters.xtcProbability[row]!;
      // XTC's coin: the upper uniform of the block of draw 0 (see philox.ts), never a token draw.
      const xtcApplies =
        xtcProbability > 0 &&
        upperUniform53(
          request.seedLo[row]!,
          request.seedHi[row]!,
          request.stepLo[row]!,
          request.stepHi[row]!,
          request.stream[row]!,
          0,
        ) < xtcProbability;
      const count = this.#chain.keep(
        x,
        bits,
        kind,
        max,
        inverseTemperature,
        {
          topK,
          topP,
          minP,
          filterOrder: request.filterOrder,
          typicalP: filters.typicalP[row]!,
          topNSigma: filters.topNSigma[row]!,
          xtcThreshold: xtcApplies ? filters.xtcThreshold[row]! : undefined,
        },
        kept,
        cumulative,
      );
      this.#keptCount = count;
      this.#total = count === 0 ? 0 : cumulative[count - 1]!;
      return true;
    }

    if (kind === 'probs' && topK > 0) {
      threshold = this.#selector.select(bits, null, vocab, null, topK);
      candidates = this.#candidates;
      candidateCount = listAtLeast(x, threshold, candidates, this.#massValues);
    }
    // Top-p over the whole row leaves its candidates in a compact list (see #topPOverRow).
    let massList = false;
    if (topP < 1) {
      let topPThreshold: number;
      if (candidates !== null && request.filterOrder === 'topKFirst') {
        // Top-p of the renormalised top-k set: a few candidates, selected directly.
        const total = fillWeights(
          x,
          candidates,
          candidateCount,
          kind,
          max,
          inverseTemperature,
          plainProbs,
          weights,
        );
        topPThreshold = this.#selector.select(bits, candidates, candidateCount, weights, topP * total);
        weighted = true;
      } else {
        topPThreshold = this.#topPOverRow(x, bits, kind, max, inverseTemperature, plainProbs, topP);
        // Joint with top-k: the top-k list stays the candidates (their weights recomputed).
        massList = candidates === null;
      }
      if (topPThreshold > threshold) threshold = topPThreshold;
    }

    // 5. Kept set in index order, with min-p, and its running weight: `kept` lists the tokens,
    //    `cumulative` their running weights (so the total is its last entry).
    const minWeight = minP * maxWeight;
    let keptCount: number;
    if (massList) {
      keptCount = keepListed(
        this.#massValues,
        this.#massWeights,
        this.#massCount,
        threshold,
        minWeight,
        kept,
        cumulative,
      );
    } else if (!weighted && candidates === null && kind === 'logits') {
      // The common plain path: one pass of exponentials; min-p skips the exponential of tokens
      // far below its threshold (the exact test on the weight decides the rest).
      keptCount =
        minP > 0
          ? keepAboveMinP(x, max, inverseTemperature, minP, minWeight, kept, cumulative)
          : this.#plainWeights(x, max, inverseTemperature);
    } else {
      keptCount = keepCandidates(
        x,
        candidates,
        candidateCount,
        threshold,
        weighted ? weights : null,
        kind,
        max,
        inverseTemperature,
        plainProbs,
        minWeight,
        kept,
        cumulative,
      );
    }
    const total = this.#identity ? this.#plainTotal : keptCount === 0 ? 0 : cumulative[keptCount - 1]!;
    this.#keptCount = keptCount;
    this.#total = total;
    return true;
  }

  /**
   * Writes the whole distribution of the last kept row to `out` (its vocab entries): `probs`, the
   * probability of every token (0 outside the kept set); `logits`, the processed logit x / T of
   * every kept token (log p / T for probabilities; x itself for a greedy row's token, +Infinity for
   * the +Infinity tokens of such a row) and -Infinity elsewhere, so that its softmax is `probs`.
   */
  writeDistribution(as: 'probs' | 'logits', out: Float32Array | Float64Array): void {
    const x = this.#x;
    const vocab = x.length;
    const outside = as === 'probs' ? 0 : Number.NEGATIVE_INFINITY;
    const mode = this.#mode;
    const total = this.#total;
    const value = (token: number): number => {
      if (as === 'probs') return Math.exp(this.#logWeight(token)) / total;
      const v = x[token]!;
      if (mode === 'greedy' || mode === 'infinite') return v;
      return mode === 'logits' ? v * this.#inverseTemperature : Math.log(v) * this.#inverseTemperature;
    };
    if (this.#identity) {
      for (let i = 0; i < vocab; i++) out[i] = value(i);
      return;
    }
    out.fill(outside, 0, vocab);
    for (let j = 0; j < this.#keptCount; j++) {
      const token = this.#kept[j]!;
      out[token] = value(token);
    }
  }

  /**
   * One streaming pass for top-k on logits: keeps a buffer of tokens at or above a running
   * threshold (the k-th largest seen so far), tightening it whenever the buffer fills, and
   * tracks the maximum. Leaves the candidates ≥ the exact k-th largest value, in index order.
   */
  #topKCandidates(
    x: Float32Array,
    bits: Uint32Array,
    k: number,
    row: number,
  ): { max: number; argmax: number; count: number; threshold: number } {
    const count = this.#streamTopK(x, bits, k, row);
    const argmax = this.#streamArgmax;
    const threshold = this.#selector.select(bits, this.#candidates, count, null, k);
    return {
      max: argmax === -1 ? Number.NEGATIVE_INFINITY : x[argmax]!,
      argmax,
      count: compact(x, this.#candidates, count, threshold),
      threshold,
    };
  }

  /** The streaming pass of {@link #topKCandidates}: returns the buffer's count (argmax in #streamArgmax). */
  #streamTopK(x: Float32Array, bits: Uint32Array, k: number, row: number): number {
    const vocab = x.length;
    const list = this.#candidates;
    let limit = Math.min(vocab, Math.max(4 * k, 1024));
    let running = Number.NEGATIVE_INFINITY;
    let count = 0;
    let max = Number.NEGATIVE_INFINITY;
    this.#streamArgmax = -1;
    // Four at a time: one test rejects a quad below the running threshold (NaN fails it too,
    // and is caught one by one); this halves the pass on V8. (No closure for the four: one that
    // captured `running` would keep it in memory.)
    for (let quad = 0; quad < vocab; quad += 4) {
      const end = quad + 4;
      if (
        end <= vocab &&
        x[quad]! < running &&
        x[quad + 1]! < running &&
        x[quad + 2]! < running &&
        x[quad + 3]! < running
      )
        continue;
      for (let i = quad; i < end && i < vocab; i++) {
        const v = x[i]!;
        if (v >= running) {
          if (v > max) {
            max = v;
            this.#streamArgmax = i;
          }
          list[count++] = i;
          if (count === limit && i + 1 < vocab) {
            running = this.#selector.select(bits, list, count, null, k);
            count = compact(x, list, count, running);
            // Ties can keep the buffer full; grow it so that each tightening halves the work.
            if (count * 2 > limit) limit = Math.min(vocab, limit * 2);
          }
        } else if (Number.isNaN(v)) {
          throw new SamplerInputError('logits', 'no NaN', v, row);
        }
      }
    }
    return count;
  }

  /**
   * Top-p over the whole row: returns t_p and leaves a compact list of #massCount candidates
   * holding every token ≥ t_p, in index order: tokens in #kept, their values in #massValues,
   * their weights in #massWeights.
   *
   * The total needs every token's weight, in index order; the threshold needs far fewer. One
   * pass computes the weights, their total and the radix select's first round (the weight per
   * 11-bit digit, summed in index order as the select sums it), whose walk names the digit
   * where t_p lies. A second pass lists the tokens of that digit and above — a few percent of
   * a row of random logits — and the select finishes its second and third rounds on the list:
   * the same sums in the same order as over the row, so the row's own t_p, bit for bit.
   * Neither pass stores a weight per token (a row of stores costs as much as the exponentials
   * here), and neither branches on the data (a mispredicted branch per few tokens would too).
   */
  #topPOverRow(
    x: Float32Array,
    bits: Uint32Array,
    kind: 'logits' | 'probs',
    max: number,
    inverseTemperature: number,
    plainProbs: boolean,
    topP: number,
  ): number {
    // Indexed by the raw top 11 bits (one shift per token); see keyDigitWeights below.
    const raw = this.#rawDigitWeights;
    const total =
      kind === 'logits'
        ? logitWeightsByDigit(x, bits, max, inverseTemperature, raw)
        : probWeightsByDigit(x, bits, max, inverseTemperature, plainProbs, raw);
    const target = topP * total;
    const histogram = keyDigitWeights(raw, this.#digitWeights);
    const walk = this.#walk;
    walkDigits(histogram, 2048, target, walk);
    // List the chosen digit and above. The lowest digits hold the negative NaNs: no float is
    // their lower end, and no bound is needed there.
    const lowerEnd = walk.digit > 3 ? keyToFloat((walk.digit << 21) >>> 0) : Number.NEGATIVE_INFINITY;
    const count = this.#gather(x, lowerEnd, kind, max, inverseTemperature, plainProbs);
    return this.#selector.selectWithin(
      this.#massBits,
      null,
      count,
      this.#massWeights,
      walk.digit,
      remainingAfter(walk, target),
    );
  }

  /**
   * Lists the tokens with x ≥ `bound` in index order, with their values and weights side by
   * side (#kept, #massValues, #massWeights); returns and records how many.
   */
  #gather(
    x: Float32Array,
    bound: number,
    kind: 'logits' | 'probs',
    max: number,
    inverseTemperature: number,
    plainProbs: boolean,
  ): number {
    const count = listAtLeast(x, bound, this.#kept, this.#massValues);
    // The same weights the first pass summed (the same function of the same values).
    weighListed(this.#massValues, count, kind, max, inverseTemperature, plainProbs, this.#massWeights);
    this.#massCount = count;
    return count;
  }

  /**
   * The plain path: every token is kept (the kept list is the identity, never written), with
   * the running total at the end of every chunk of {@link CHUNK} tokens for the draw; returns
   * the kept count.
   */
  #plainWeights(x: Float32Array, max: number, inverseTemperature: number): number {
    this.#plainTotal = chunkedWeights(x, max, inverseTemperature, this.#chunkTotals);
    this.#identity = true;
    return x.length;
  }

  /**
   * The plain path's draw: the first token whose running weight exceeds `target`, as a binary
   * search over per-token running sums would find it. The chunk totals find the chunk; the
   * chunk's running sums are recomputed from its start (the same additions, the same result).
   */
  #drawPlain(target: number): number {
    const x = this.#x;
    const vocab = x.length;
    const chunkTotals = this.#chunkTotals;
    const chunks = Math.ceil(vocab / CHUNK);
    const max = this.#max;
    const inverseTemperature = this.#inverseTemperature;
    let lo = 0;
    let hi = chunks;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (chunkTotals[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    if (lo < chunks) {
      let running = lo === 0 ? 0 : chunkTotals[lo - 1]!;
      const end = Math.min(vocab, (lo + 1) * CHUNK);
      for (let i = lo * CHUNK; i < end; i++) {
        running += expNonPositive((x[i]! - max) * inverseTemperature);
        if (running > target) return i;
      }
    }
    // u · total rounded up to total: the last token whose running weight grew.
    for (let chunk = chunks - 1; chunk >= 0; chunk--) {
      const start = chunk === 0 ? 0 : chunkTotals[chunk - 1]!;
      if (chunk > 0 && chunkTotals[chunk] === start) continue;
      let running = start;
      let last = 0;
      const end = Math.min(vocab, (chunk + 1) * CHUNK);
      for (let i = chunk * CHUNK; i < end; i++) {
        const next = running + expNonPositive((x[i]! - max) * inverseTemperature);
        if (i > 0 && next !== running) last = i;
        running = next;
      }
      return last;
    }
    return 0;
  }

  /** 6. One Philox uniform per draw; the first kept token whose running weight exceeds u · total. */
  #draw(request: ResolvedRequest, row: number, tokens: Int32Array, out: number): void {
    const kept = this.#kept;
    const cumulative = this.#cumulative;
    const count = this.#keptCount;
    const total = this.#total;
    const seedLo = request.seedLo[row]!;
    const seedHi = request.seedHi[row]!;
    const stepLo = request.stepLo[row]!;
    const stepHi = request.stepHi[row]!;
    const stream = request.stream[row]!;
    for (let draw = 0; draw < request.samples; draw++) {
      const target = uniform53(seedLo, seedHi, stepLo, stepHi, stream, draw) * total;
      if (this.#identity) {
        tokens[out + draw] = this.#drawPlain(target);
        continue;
      }
      let lo = 0;
      let hi = count;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (cumulative[mid]! > target) hi = mid;
        else lo = mid + 1;
      }
      if (lo === count) {
        // u · total rounded up to total: take the last token with positive weight.
        lo = count - 1;
        while (lo > 0 && cumulative[lo] === cumulative[lo - 1]) lo--;
      }
      tokens[out + draw] = kept[lo]!;
    }
  }

  /** Log-probability of `token` under the distribution the last row was sampled from. */
  processedLogprob(token: number): number {
    const logWeight = this.#logWeight(token);
    return logWeight - Math.log(this.#total);
  }

  #logWeight(token: number): number {
    const v = this.#x[token]!;
    switch (this.#mode) {
      case 'greedy':
        return token === this.#kept[0] ? 0 : Number.NEGATIVE_INFINITY;
      case 'infinite':
        return v === Number.POSITIVE_INFINITY ? 0 : Number.NEGATIVE_INFINITY;
      case 'logits':
        return (v - this.#max) * this.#inverseTemperature;
      default:
        return this.#inverseTemperature === 1
          ? Math.log(v)
          : Math.log(v / this.#max) * this.#inverseTemperature;
    }
  }

  /**
   * The `n` most probable kept tokens of the last row (most probable first, lowest index on
   * ties) with their processed log-probabilities; entries past the kept set are -1 / -Infinity.
   */
  processedTop(n: number, tokens: Int32Array, logprobs: Float32Array, offset: number): void {
    const count = this.#keptCount;
    const x = this.#x;
    const kept = this.#identity ? null : this.#kept;
    const order = topIndices(
      x,
      new Uint32Array(x.buffer, x.byteOffset, x.length),
      kept,
      count,
      n,
      this.#selector,
    );
    const logTotal = Math.log(this.#total);
    for (let j = 0; j < n; j++) {
      const token = order[j];
      tokens[offset + j] = token ?? -1;
      logprobs[offset + j] =
        token === undefined ? Number.NEGATIVE_INFINITY : this.#logWeight(token) - logTotal;
    }
  }

  #applyAdjustments(x: Float32Array, adjustments: RowAdjustments, row: number): void {
    const bias = adjustments.bias[row];
    // A -Infinity bias bans the token whatever its logit (+Infinity + -Infinity would be NaN).
    if (bias !== undefined)
      for (const [token, value] of bias)
        x[token] = value === Number.NEGATIVE_INFINITY ? value : x[token]! + value;
    const prompt = adjustments.promptTokens[row];
    const output = adjustments.outputTokens[row];
    const counts = this.#counts;
    const repetition = adjustments.repetitionPenalty[row]!;
    if (repetition !== 1) {
      // Mark each distinct token of prompt ∪ output once (counts as a seen-marker here).
      for (const list of [prompt, output]) {
        if (list === undefined) continue;
        for (let j = 0; j < list.length; j++) {
          const t = list[j]!;
          if (counts[t] !== 0) continue;
          counts[t] = 1;
          const v = x[t]!;
          x[t] = v > 0 ? v / repetition : v * repetition;
        }
      }
      for (const list of [prompt, output])
        if (list !== undefined) for (let j = 0; j < list.length; j++) counts[list[j]!] = 0;
    }
    const frequency = adjustments.frequencyPenalty[row]!;
    const presence = adjustments.presencePenalty[row]!;
    if ((frequency !== 0 || presence !== 0) && output !== undefined) {
      for (let j = 0; j < output.length; j++) counts[output[j]!]!++;
      for (let j = 0; j < output.length; j++) {
        const t = output[j]!;
        const c = counts[t]!;
        if (c === 0) continue;
        x[t] = x[t]! - frequency * c - presence;
        counts[t] = 0;
      }
    }
  }
}

/**
 * Index of the largest logit (the lowest on ties); -1 when every logit is -Infinity. Returns a
 * number only: V8 compiles this loop while it runs, before the code after it has run once, and
 * an array or object built there deoptimised the function on call after call.
 */
function argmaxOfLogits(x: Float32Array, row: number): number {
  const n = x.length;
  let max = Number.NEGATIVE_INFINITY;
  let argmax = -1;
  // Four at a time: a quad with nothing above the maximum (and no NaN) costs one test. (No
  // closure for the four: one that captured `max` would keep it in memory.)
  for (let quad = 0; quad < n; quad += 4) {
    const end = quad + 4;
    if (end <= n && x[quad]! <= max && x[quad + 1]! <= max && x[quad + 2]! <= max && x[quad + 3]! <= max)
      continue;
    for (let i = quad; i < end && i < n; i++) {
      const v = x[i]!;
      if (v > max) {
        max = v;
        argmax = i;
      } else if (Number.isNaN(v)) {
        throw new SamplerInputError('logits', 'no NaN', v, row);
      }
    }
  }
  return argmax;
}

/** Index of the largest probability (the lowest on ties); -1 when every probability is 0. */
function argmaxOfProbs(x: Float32Array, row: number): number {
  let max = 0;
  let argmax = -1;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (!(v >= 0 && v < Number.POSITIVE_INFINITY))
      throw new SamplerInputError('probs', 'finite values ≥ 0', v, row);
    if (v > max) {
      max = v;
      argmax = i;
    }
  }
  return argmax;
}

// The hot loops below are functions of their own that return right after the loop: V8 compiles
// a long loop while it runs (on-stack replacement), before the code after it has run once, and
// re-entered that compiled loop on every call, to deoptimise each time at the first operation
// after it (897 times in one bench run, when the weights loop was inline in #topPOverRow).

/**
 * Lists the indices i with x_i ≥ `bound` in `tokens` and their values in `values`, in index
 * order; returns how many. Four at a time: a quad wholly below the bound costs one branch, and
 * a quad that is not is written without a branch per token (on random logits a branch per
 * token mispredicts every few tokens: 0.2 ms at 0% density, 1.25 ms at 50%).
 */
function listAtLeast(x: Float32Array, bound: number, tokens: Int32Array, values: Float32Array): number {
  const vocab = x.length;
  let n = 0;
  // One loop shape for every length (no tail loop: see chunkedWeights).
  for (let quad = 0; quad < vocab; quad += 4) {
    const end = quad + 4;
    if (
      end <= vocab &&
      x[quad]! < bound &&
      x[quad + 1]! < bound &&
      x[quad + 2]! < bound &&
      x[quad + 3]! < bound
    )
      continue;
    for (let i = quad; i < end && i < vocab; i++) {
      const v = x[i]!;
      tokens[n] = i;
      values[n] = v;
      n += +(v >= bound);
    }
  }
  return n;
}

/** The weight of each listed value. */
function weighListed(
  values: Float32Array,
  count: number,
  kind: 'logits' | 'probs',
  max: number,
  inverseTemperature: number,
  plainProbs: boolean,
  weights: Float64Array,
): void {
  for (let j = 0; j < count; j++)
    weights[j] = weightOf(values[j]!, kind, max, inverseTemperature, plainProbs);
}

/**
 * The kept set from a compact list (tokens in `kept`, values and weights side by side): those
 * ≥ `threshold` with weight ≥ `minWeight`, compacted in place with their running weights;
 * returns how many. Branch-free: adding 0 · w leaves the total's bits as they are.
 */
function keepListed(
  values: Float32Array,
  weights: Float64Array,
  count: number,
  threshold: number,
  minWeight: number,
  kept: Int32Array,
  cumulative: Float64Array,
): number {
  let total = 0;
  let keptCount = 0;
  for (let j = 0; j < count; j++) {
    const w = weights[j]!;
    const keep = +(values[j]! >= threshold) & +(w >= minWeight);
    total += keep * w;
    kept[keptCount] = kept[j]!;
    cumulative[keptCount] = total;
    keptCount += keep;
  }
  return keptCount;
}

/**
 * The kept set of min-p alone on logits: the tokens with weight ≥ `minWeight`, with their
 * running weights; returns how many. Tokens far below skip the exponential (the exact test on
 * the weight decides the rest), four at a time: a quad wholly below the skip level (the same
 * test, token by token) costs one branch.
 */
function keepAboveMinP(
  x: Float32Array,
  max: number,
  inverseTemperature: number,
  minP: number,
  minWeight: number,
  kept: Int32Array,
  cumulative: Float64Array,
): number {
  const vocab = x.length;
  const skipBelow = Math.log(minP) - 1e-6;
  let total = 0;
  let keptCount = 0;
  for (let quad = 0; quad < vocab; quad += 4) {
    const end = quad + 4;
    if (
      end <= vocab &&
      (x[quad]! - max) * inverseTemperature < skipBelow &&
      (x[quad + 1]! - max) * inverseTemperature < skipBelow &&
      (x[quad + 2]! - max) * inverseTemperature < skipBelow &&
      (x[quad + 3]! - max) * inverseTemperature < skipBelow
    )
      continue;
    for (let i = quad; i < end && i < vocab; i++) {
      const d = (x[i]! - max) * inverseTemperature;
      if (d < skipBelow) continue;
      const w = expNonPositive(d);
      if (w < minWeight) continue;
      total += w;
      kept[keptCount] = i;
      cumulative[keptCount] = total;
      keptCount++;
    }
  }
  return keptCount;
}

/**
 * The kept set among candidates (indices, or the whole row when null): those ≥ `threshold`
 * with weight ≥ `minWeight`, weights read from `weights` (by token) or computed; returns how
 * many.
 */
function keepCandidates(
  x: Float32Array,
  candidates: Int32Array | null,
  count: number,
  threshold: number,
  weights: Float64Array | null,
  kind: 'logits' | 'probs',
  max: number,
  inverseTemperature: number,
  plainProbs: boolean,
  minWeight: number,
  kept: Int32Array,
  cumulative: Float64Array,
): number {
  let total = 0;
  let keptCount = 0;
  for (let j = 0; j < count; j++) {
    const i = candidates === null ? j : candidates[j]!;
    const v = x[i]!;
    if (v < threshold) continue;
    const w = weights === null ? weightOf(v, kind, max, inverseTemperature, plainProbs) : weights[i]!;
    if (w < minWeight) continue;
    total += w;
    kept[keptCount] = i;
    cumulative[keptCount] = total;
    keptCount++;
  }
  return keptCount;
}

/**
 * Σ exp((x_i − max) / T) over the row in index order, with the running total at the end of
 * every chunk of {@link CHUNK} tokens written to `chunkTotals`.
 */
function chunkedWeights(
  x: Float32Array,
  max: number,
  inverseTemperature: number,
  chunkTotals: Float64Array,
): number {
  const vocab = x.length;
  let total = 0;
  // One loop shape for every vocabulary: a tail branch that a vocabulary divisible by CHUNK
  // never takes had no type feedback when V8 compiled the loop, and deoptimised it again and
  // again (170 times in one bench run).
  for (let chunk = 0, start = 0; start < vocab; chunk++, start += CHUNK) {
    const end = Math.min(start + CHUNK, vocab);
    for (let i = start; i < end; i++) total += expNonPositive((x[i]! - max) * inverseTemperature);
    chunkTotals[chunk] = total;
  }
  return total;
}

/** Σ exp((x_i − max) / T) in index order, and the same weights summed per raw top-11-bit digit. */
function logitWeightsByDigit(
  x: Float32Array,
  bits: Uint32Array,
  max: number,
  inverseTemperature: number,
  byDigit: Float64Array,
): number {
  byDigit.fill(0);
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    const w = expNonPositive((x[i]! - max) * inverseTemperature);
    total += w;
    byDigit[bits[i]! >>> 21]! += w;
  }
  return total;
}

/** {@link logitWeightsByDigit} for probabilities. */
function probWeightsByDigit(
  x: Float32Array,
  bits: Uint32Array,
  max: number,
  inverseTemperature: number,
  plainProbs: boolean,
  byDigit: Float64Array,
): number {
  byDigit.fill(0);
  let total = 0;
  for (let i = 0; i < x.length; i++) {
    const w = weightOf(x[i]!, 'probs', max, inverseTemperature, plainProbs);
    total += w;
    byDigit[bits[i]! >>> 21]! += w;
  }
  return total;
}

/**
 * Reorders weights indexed by the raw top 11 bits of float32 values into the order of the
 * ordered key's top 11 bits (see orderedKey): positive floats (raw digit r < 0x400) go to
 * r + 0x400, negative ones to 0x7ff − r. One raw digit is one key digit, so each bin holds the
 * same tokens' weights, summed in the same order.
 */
function keyDigitWeights(raw: Float64Array, out: Float64Array): Float64Array {
  for (let r = 0; r < 0x400; r++) {
    out[r + 0x400] = raw[r]!;
    out[0x7ff - (r + 0x400)] = raw[r + 0x400]!;
  }
  return out;
}

/** Keeps the listed tokens with x ≥ threshold, in order; returns how many. */
function compact(x: Float32Array, list: Int32Array, count: number, threshold: number): number {
  let n = 0;
  for (let j = 0; j < count; j++) {
    const i = list[j]!;
    if (x[i]! >= threshold) list[n++] = i;
  }
  return n;
}

/**
 * Indices of the `n` largest values of `x` among `candidates` (or all of `x` when
 * `candidates` is null), largest first, lowest index first among equal values.
 */
export function topIndices(
  x: Float32Array,
  bits: Uint32Array,
  candidates: Int32Array | null,
  count: number,
  n: number,
  selector: ThresholdSelector,
): number[] {
  if (n === 0 || count === 0) return [];
  const take = Math.min(n, count);
  const threshold = selector.select(bits, candidates, count, null, take);
  const chosen: number[] = [];
  for (let j = 0; j < count; j++) {
    const i = candidates === null ? j : candidates[j]!;
    if (x[i]! >= threshold) chosen.push(i);
  }
  chosen.sort((a, b) => x[b]! - x[a]! || a - b);
  chosen.length = take;
  return chosen;
}
