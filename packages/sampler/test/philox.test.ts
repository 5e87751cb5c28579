import { describe, expect, it } from 'vitest';
import { philox4x32, uniform53, upperUniform53 } from '../src/philox.js';

describe('philox4x32', () => {
  // Random123's published known-answer vectors (tests/kat_vectors, philox4x32 10 rounds).
  const vectors: Array<[number[], number[], number[]]> = [
    [
      [0, 0, 0, 0],
      [0, 0],
      [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
    ],
    [
      [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
      [0xffffffff, 0xffffffff],
      [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
    ],
    [
      [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
      [0xa4093822, 0x299f31d0],
      [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
    ],
  ];
  it.each(vectors)('matches the known answer for counter %j key %j', (counter, key, expected) => {
    const out = philox4x32(
      counter[0]!,
      counter[1]!,
      counter[2]!,
      counter[3]!,
      key[0]!,
      key[1]!,
      new Uint32Array(4),
    );
    expect([...out]).toEqual(expected);
  });
});

describe('uniform53', () => {
  it('lies in [0, 1) and is uniform (mean and variance over 10^5 draws)', () => {
    let sum = 0;
    let sumSq = 0;
    const n = 100_000;
    let outside = 0;
    for (let i = 0; i < n; i++) {
      const u = uniform53(7, 0, 0, 0, 3, i);
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
      sumSq += u * u;
    }
    expect(outside).toBe(0);
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // Standard error of the mean is 1/sqrt(12n) ≈ 0.0009: 5 σ bounds.
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.0046);
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(0.002);
  });

  it('depends on every part of the counter and key', () => {
    const base = uniform53(1, 2, 3, 4, 5, 6);
    expect(uniform53(1, 2, 3, 4, 5, 6)).toBe(base);
    for (const other of [
      uniform53(9, 2, 3, 4, 5, 6),
      uniform53(1, 9, 3, 4, 5, 6),
      uniform53(1, 2, 9, 4, 5, 6),
      uniform53(1, 2, 3, 9, 5, 6),
      uniform53(1, 2, 3, 4, 9, 6),
      uniform53(1, 2, 3, 4, 5, 9),
    ]) {
      expect(other).not.toBe(base);
    }
  });
});

describe('upperUniform53', () => {
  it("is the uniform of the block's words 2 and 3, in [0, 1), and differs from the token draw's", () => {
    const words = philox4x32(4, 9, 7, 0, 3, 0, new Uint32Array(4));
    const u = upperUniform53(3, 0, 7, 0, 9, 4);
    expect(u).toBe(((words[2]! >>> 5) * 2 ** 26 + (words[3]! >>> 6)) / 2 ** 53);
    expect(u).not.toBe(uniform53(3, 0, 7, 0, 9, 4));
    let sum = 0;
    for (let step = 0; step < 20_000; step++) sum += upperUniform53(1, 0, step, 0, 0, 0);
    expect(Math.abs(sum / 20_000 - 0.5)).toBeLessThan(0.01);
  });
});
