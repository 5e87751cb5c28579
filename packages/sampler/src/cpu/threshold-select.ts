/**
 * Exact threshold selection by radix select over the bits of float32 values, the procedure
 * both backends use for top-k (weights = counts) and top-p (weights = probabilities).
 *
 * Floats map to unsigned keys that sort like the floats (`orderedKey`); three rounds of
 * 11, 11 and 10 bits narrow the candidates to one key. Each round histograms the remaining
 * candidates' weights per digit and walks the digits from the top until the accumulated
 * weight reaches the target. No sort, at most three passes over (shrinking) candidates.
 */

/**
 * Maps float32 bits to a u32 that orders like the float (NaN excluded): negative floats have
 * every bit flipped, the others only the sign bit. Branch-free: a branch on the sign costs a
 * misprediction on every other element of a row of random logits (it tripled top-p's time).
 */
export function orderedKey(bits: number): number {
  return (bits ^ ((bits >> 31) | 0x80000000)) >>> 0;
}

const conversion = new DataView(new ArrayBuffer(4));

/** The float whose ordered key is `key` (NaN for the keys of negative NaNs, below -Infinity's). */
export function keyToFloat(key: number): number {
  const bits = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  conversion.setUint32(0, bits >>> 0, true);
  return conversion.getFloat32(0, true);
}

/** Where a walk over digit weights stopped (see {@link walkDigits}). */
export interface DigitWalk {
  /** The digit chosen: the first from the top whose accumulated weight reaches the target. */
  digit: number;
  /** Weight of the digits above it. */
  above: number;
  /** The whole weight stays below the target (rounding): `digit` is the lowest with weight. */
  short: boolean;
}

/**
 * The radix select's step: walks `histogram[0 … bins)` from the largest digit down, skipping
 * digits with no weight, and stops at the first where the accumulated weight reaches
 * `remaining`.
 */
export function walkDigits(histogram: Float64Array, bins: number, remaining: number, walk: DigitWalk): void {
  let lowest = -1;
  let above = 0;
  walk.short = false;
  for (let digit = bins - 1; digit >= 0; digit--) {
    const h = histogram[digit]!;
    if (h === 0) continue;
    lowest = digit;
    if (above + h >= remaining) {
      walk.digit = digit;
      walk.above = above;
      return;
    }
    above += h;
  }
  walk.digit = lowest;
  walk.above = above;
  walk.short = true;
}

/** The weight still to reach inside the digit a walk chose (everything, when it fell short). */
export function remainingAfter(walk: DigitWalk, remaining: number): number {
  return walk.short ? Number.POSITIVE_INFINITY : remaining - walk.above;
}

const ROUNDS: ReadonlyArray<{ shift: number; mask: number }> = [
  { shift: 21, mask: 0x7ff },
  { shift: 10, mask: 0x7ff },
  { shift: 0, mask: 0x3ff },
];

/**
 * Scratch space for the radix select, reused across calls.
 *
 * Its loops are functions of their own that return right after the loop (see
 * row-sampler.ts: V8 compiles a long loop while it runs and deoptimised the code after it).
 */
export class ThresholdSelector {
  readonly #histogram = new Float64Array(2048);
  readonly #walk: DigitWalk = { digit: 0, above: 0, short: false };
  #survivors = new Int32Array(0);

  /**
   * Returns the value v (a float whose bits are `bits[i]` for some candidate i) over the
   * candidates such that the weight of candidates with x > v is below `target` and the weight
   * of those with x ≥ v reaches it. `candidates` is a list of indices (first `count` entries)
   * or `null` for 0..count-1; `weights` is indexed by token index, or `null` to count each
   * candidate as 1. If rounding leaves the whole weight below `target`, the smallest candidate
   * value is returned (everything is kept).
   */
  select(
    bits: Uint32Array,
    candidates: Int32Array | null,
    count: number,
    weights: Float64Array | null,
    target: number,
  ): number {
    const histogram = this.#histogram;
    histogram.fill(0);
    sumByDigit(bits, candidates, count, weights, 21, 0x7ff, histogram);
    const walk = this.#walk;
    walkDigits(histogram, 2048, target, walk);
    return this.selectWithin(bits, candidates, count, weights, walk.digit, remainingAfter(walk, target));
  }

  /**
   * {@link select} from its second round: the first round (the top 11 bits of the ordered key)
   * chose `digit`, with `remaining` weight still to reach inside it. The candidates must hold
   * every token of that digit, in the order the first round summed them; others are ignored.
   * A caller that summed the first round itself (over a whole row, while it computed the
   * weights) lists only the tokens of the chosen digit and above.
   */
  selectWithin(
    bits: Uint32Array,
    candidates: Int32Array | null,
    count: number,
    weights: Float64Array | null,
    digit: number,
    remaining: number,
  ): number {
    const histogram = this.#histogram;
    const walk = this.#walk;
    if (this.#survivors.length < count) this.#survivors = new Int32Array(Math.max(count, 1024));
    const survivors = this.#survivors;
    let prefix = digit << 21;
    let survivorCount = narrow(bits, candidates, count, 21, prefix >>> 21, survivors);
    for (let round = 1; round < 3; round++) {
      const { shift, mask } = ROUNDS[round]!;
      const bins = mask + 1;
      histogram.fill(0, 0, bins);
      sumByDigit(bits, survivors, survivorCount, weights, shift, mask, histogram);
      walkDigits(histogram, bins, remaining, walk);
      remaining = remainingAfter(walk, remaining);
      prefix |= walk.digit << shift;
      if (round === 2) break;
      survivorCount = narrow(bits, survivors, survivorCount, shift, prefix >>> shift, survivors);
    }
    return keyToFloat(prefix >>> 0);
  }
}

/**
 * Adds each candidate's weight (1 when `weights` is null) to the bin of its digit
 * `(key >>> shift) & mask`, in list order.
 */
function sumByDigit(
  bits: Uint32Array,
  candidates: Int32Array | null,
  count: number,
  weights: Float64Array | null,
  shift: number,
  mask: number,
  histogram: Float64Array,
): void {
  for (let j = 0; j < count; j++) {
    const i = candidates === null ? j : candidates[j]!;
    histogram[(orderedKey(bits[i]!) >>> shift) & mask]! += weights === null ? 1 : weights[i]!;
  }
}

/**
 * Writes to `out` (which may be `candidates` itself) the candidates whose key >>> shift is
 * `wanted`, in order; returns how many. Branch-free: on random values a branch here
 * mispredicts on every few candidates.
 */
function narrow(
  bits: Uint32Array,
  candidates: Int32Array | null,
  count: number,
  shift: number,
  wanted: number,
  out: Int32Array,
): number {
  let kept = 0;
  for (let j = 0; j < count; j++) {
    const i = candidates === null ? j : candidates[j]!;
    out[kept] = i;
    kept += +(orderedKey(bits[i]!) >>> shift === wanted);
  }
  return kept;
}
