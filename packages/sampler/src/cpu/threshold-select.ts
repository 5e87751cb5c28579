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
  /** The walk would have gone below the digits known to be complete: nothing chosen. */
  incomplete: boolean;
}

/**
 * The radix select's step: walks `histogram[0 … bins)` from the largest digit down, skipping
 * digits with no weight, and stops at the first where the accumulated weight reaches
 * `remaining`. Digits below `completeDigit` may be incomplete: reaching one sets `incomplete`.
 */
export function walkDigits(
  histogram: Float64Array,
  bins: number,
  remaining: number,
  completeDigit: number,
  walk: DigitWalk,
): void {
  let lowest = -1;
  let above = 0;
  walk.short = false;
  walk.incomplete = false;
  for (let digit = bins - 1; digit >= 0; digit--) {
    if (digit < completeDigit) {
      walk.incomplete = true;
      return;
    }
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

const ROUNDS: ReadonlyArray<{ shift: number; mask: number }> = [
  { shift: 21, mask: 0x7ff },
  { shift: 10, mask: 0x7ff },
  { shift: 0, mask: 0x3ff },
];

/**
 * Scratch space for {@link selectThreshold}, reused across calls.
 */
export class ThresholdSelector {
  readonly #histogram = new Float64Array(2048);
  readonly #walk: DigitWalk = { digit: 0, above: 0, short: false, incomplete: false };
  #survivors = new Int32Array(0);

  /**
   * Returns the value v (a float whose bits are `bits[i]` for some candidate i) over the candidates such that the weight of candidates with
   * x > v is below `target` and the weight of those with x ≥ v reaches it. `candidates` is a
   * list of indices (first `count` entries) or `null` for 0..count-1; `weights` is indexed by
   * token index, or `null` to count each candidate as 1. If rounding leaves the whole weight
   * below `target`, the smallest candidate value is returned (everything is kept).
   *
   * `completeFrom` says the candidates may be a prefilter of the row: they hold every token of
   * the row whose ordered key is ≥ `completeFrom` (and perhaps some below), in index order. The
   * result is then the row's own (same digit sums, same order) whenever the first round stops on
   * a digit wholly at or above `completeFrom`; otherwise it returns NaN and the caller selects
   * over the row. 0 (the default) means the candidates are the whole set.
   */
  select(
    bits: Uint32Array,
    candidates: Int32Array | null,
    count: number,
    weights: Float64Array | null,
    target: number,
    completeFrom = 0,
  ): number {
    const histogram = this.#histogram;
    const walk = this.#walk;
    if (this.#survivors.length < count) this.#survivors = new Int32Array(Math.max(count, 1024));
    const survivors = this.#survivors;
    let prefix = 0;
    let remaining = target;
    let survivorCount = 0;
    for (let round = 0; round < 3; round++) {
      const { shift, mask } = ROUNDS[round]!;
      const bins = mask + 1;
      histogram.fill(0, 0, bins);
      if (round === 0) {
        for (let j = 0; j < count; j++) {
          const i = candidates === null ? j : candidates[j]!;
          const digit = orderedKey(bits[i]!) >>> 21;
          histogram[digit]! += weights === null ? 1 : weights[i]!;
        }
      } else {
        for (let j = 0; j < survivorCount; j++) {
          const i = survivors[j]!;
          const digit = (orderedKey(bits[i]!) >>> shift) & mask;
          histogram[digit]! += weights === null ? 1 : weights[i]!;
        }
      }
      // Digits below `completeDigit` may be missing tokens: the walk must not reach them.
      walkDigits(histogram, bins, remaining, round === 0 ? Math.ceil(completeFrom / 2 ** 21) : 0, walk);
      if (walk.incomplete) return Number.NaN;
      const chosen = walk.digit;
      if (walk.short) {
        // Rounding left the total short of the target: keep everything down to the lowest bin.
        remaining = Number.POSITIVE_INFINITY;
      } else {
        remaining -= walk.above;
      }
      prefix |= chosen << shift;
      if (round === 2) break;
      // Narrow the candidates to those whose key starts with the chosen digits.
      const highShift = shift;
      const wanted = prefix >>> highShift;
      let kept = 0;
      // Branch-free: on random values a branch here mispredicts on every few candidates.
      if (round === 0) {
        for (let j = 0; j < count; j++) {
          const i = candidates === null ? j : candidates[j]!;
          survivors[kept] = i;
          kept += +(orderedKey(bits[i]!) >>> highShift === wanted);
        }
      } else {
        for (let j = 0; j < survivorCount; j++) {
          const i = survivors[j]!;
          survivors[kept] = i;
          kept += +(orderedKey(bits[i]!) >>> highShift === wanted);
        }
      }
      survivorCount = kept;
    }
    return keyToFloat(prefix >>> 0);
  }
}
