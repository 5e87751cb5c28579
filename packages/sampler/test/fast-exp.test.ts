import { describe, expect, it } from 'vitest';
import { expNonPositive } from '../src/cpu/fast-exp.js';

describe('expNonPositive', () => {
  it('is within 2e-7 of Math.exp down to exp(-700)', () => {
    let worst = 0;
    for (let i = 0; i <= 700_000; i++) {
      const d = -i / 1000;
      const e = Math.exp(d);
      worst = Math.max(worst, Math.abs(expNonPositive(d) - e) / e);
    }
    expect(worst).toBeLessThan(2e-7);
  });

  it('is exact at 0 and 0 at -Infinity and below the smallest double', () => {
    expect(expNonPositive(0)).toBe(1);
    expect(expNonPositive(-0)).toBe(1);
    expect(expNonPositive(Number.NEGATIVE_INFINITY)).toBe(0);
    expect(expNonPositive(-800)).toBe(0);
    expect(expNonPositive(-1e300)).toBe(0);
  });

  it('keeps its bits: the CPU results (and the GPU comparisons) depend on them', () => {
    // FNV-1a over the float64 bits of exp at 2·10^5 points of [-750, 0] and the integer and
    // half-integer multiples of ln 2 (where the range reduction changes k). The digest is the
    // v1 function's (before k stayed a double); any change of a result bit changes it.
    const value = new Float64Array(1);
    const words = new Uint32Array(value.buffer);
    let hash = 0x811c9dc5;
    const add = (d: number) => {
      value[0] = expNonPositive(d);
      for (const word of words) hash = Math.imul(hash ^ word, 0x01000193) >>> 0;
    };
    for (let i = 0; i <= 200_000; i++) add(-i * 0.00375);
    for (let k = 0; k < 2200; k++) {
      add((-k / 2) * Math.LN2);
      add((-k / 2) * Math.LN2 * (1 + 2 ** -40));
      add((-k / 2) * Math.LN2 * (1 - 2 ** -40));
    }
    expect(hash.toString(16)).toBe(EXP_DIGEST);
  });
});

const EXP_DIGEST = '8d0c08b2';
