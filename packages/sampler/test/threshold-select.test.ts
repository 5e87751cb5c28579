import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../tooling/statistics.js';
import {
  type DigitWalk,
  keyToFloat,
  orderedKey,
  remainingAfter,
  ThresholdSelector,
  walkDigits,
} from '../src/cpu/threshold-select.js';

const generator = mulberry32;

/** Random float32 values: normal, with ties, infinities, zeros of both signs and subnormals. */
function randomValues(count: number, random: () => number): Float32Array {
  const x = new Float32Array(count);
  const specials = [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, 0, -0, 1e-45, -1e-45, 3e38, -3e38];
  for (let i = 0; i < count; i++) {
    const u = random();
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()) * 3;
    x[i] = u < 0.05 ? specials[Math.floor(random() * specials.length)]! : u < 0.3 ? Math.round(z) : z;
  }
  return x;
}

const bitsOf = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

describe('ordered keys', () => {
  it('order like the floats (−0 just below +0) and map back', () => {
    const x = randomValues(20000, generator(1));
    const bits = bitsOf(x);
    for (let i = 1; i < x.length; i++) {
      const a = x[i - 1]!;
      const b = x[i]!;
      const ka = orderedKey(bits[i - 1]!);
      const kb = orderedKey(bits[i]!);
      if (a < b) expect(ka).toBeLessThan(kb);
      if (a > b) expect(ka).toBeGreaterThan(kb);
      if (ka === kb) expect(Object.is(a, b)).toBe(true);
      expect(Object.is(keyToFloat(ka), a)).toBe(true);
    }
    expect(orderedKey(0x80000000)).toBe(orderedKey(0) - 1);
  });
});

describe('walkDigits', () => {
  const walk: DigitWalk = { digit: 0, above: 0, short: false };

  it('stops at the first digit from the top whose accumulated weight reaches the target', () => {
    const histogram = new Float64Array(8);
    histogram.set([1, 0, 2, 0, 4, 0, 0, 8]);
    walkDigits(histogram, 8, 8, walk);
    expect(walk).toEqual({ digit: 7, above: 0, short: false });
    walkDigits(histogram, 8, 9, walk);
    expect(walk).toEqual({ digit: 4, above: 8, short: false });
    expect(remainingAfter(walk, 9)).toBe(1);
    walkDigits(histogram, 8, 15, walk);
    expect(walk).toEqual({ digit: 0, above: 14, short: false });
  });

  it('falls short to the lowest digit with weight when the target is out of reach', () => {
    const histogram = new Float64Array(8);
    histogram.set([0, 1, 0, 2]);
    walkDigits(histogram, 8, 4, walk);
    expect(walk).toEqual({ digit: 1, above: 3, short: true });
    expect(remainingAfter(walk, 4)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('ThresholdSelector', () => {
  const selector = new ThresholdSelector();

  it('with counts, selects the k-th largest value (ties counted), over a list or the whole array', () => {
    const random = generator(2);
    for (const count of [1, 5, 100, 5000]) {
      const x = randomValues(count, random);
      const bits = bitsOf(x);
      const sorted = Float32Array.from(x).sort().reverse();
      for (const k of [1, 2, Math.ceil(count / 3), count].filter((k) => k <= count)) {
        expect(Object.is(selector.select(bits, null, count, null, k), sorted[k - 1])).toBe(true);
      }
      // Over every other index.
      const list = Int32Array.from({ length: Math.ceil(count / 2) }, (_, j) => 2 * j);
      const values = Float32Array.from(list, (i) => x[i]!)
        .sort()
        .reverse();
      const k = Math.ceil(list.length / 2);
      expect(Object.is(selector.select(bits, list, list.length, null, k), values[k - 1])).toBe(true);
    }
  });

  it('with weights, returns the value where the mass from the top reaches the target', () => {
    const random = generator(3);
    for (const count of [10, 1000, 20000]) {
      const x = randomValues(count, random).map((v) => (Number.isFinite(v) ? v : 0));
      const weights = Float64Array.from(x, (v) => Math.exp(v / 4 - 10));
      const order = [...x.keys()].sort((a, b) => x[b]! - x[a]!);
      let total = 0;
      for (const w of weights) total += w;
      for (const fraction of [0.1, 0.5, 0.9]) {
        const target = fraction * total;
        const t = selector.select(bitsOf(x), null, count, weights, target);
        let above = 0;
        let atOrAbove = 0;
        for (const i of order) {
          if (x[i]! > t) above += weights[i]!;
          if (x[i]! >= t) atOrAbove += weights[i]!;
        }
        expect(above).toBeLessThan(target * (1 + 1e-12));
        expect(atOrAbove).toBeGreaterThanOrEqual(target * (1 - 1e-12));
      }
    }
  });

  it('selectWithin on the chosen digit and above gives what select gives over all', () => {
    // The row sampler's top-p: the first round summed over the whole row (here by select's own
    // rule), then only the tokens of the chosen digit and above listed for the other two.
    const random = generator(4);
    const walk: DigitWalk = { digit: 0, above: 0, short: false };
    for (const count of [3, 700, 30000]) {
      const x = randomValues(count, random);
      const bits = bitsOf(x);
      const weights = Float64Array.from(x, (v) => (Number.isFinite(v) ? Math.exp(Math.max(-700, v / 3)) : 0));
      let total = 0;
      for (const w of weights) total += w;
      for (const fraction of [0.05, 0.5, 0.95, 1]) {
        const target = fraction * total;
        const histogram = new Float64Array(2048);
        for (let i = 0; i < count; i++) {
          const digit = orderedKey(bits[i]!) >>> 21;
          histogram[digit] = histogram[digit]! + weights[i]!;
        }
        walkDigits(histogram, 2048, target, walk);
        const list = Int32Array.from([...x.keys()].filter((i) => orderedKey(bits[i]!) >>> 21 >= walk.digit));
        const within = selector.selectWithin(
          bits,
          list,
          list.length,
          weights,
          walk.digit,
          remainingAfter(walk, target),
        );
        expect(Object.is(within, selector.select(bits, null, count, weights, target))).toBe(true);
      }
    }
  });
});
