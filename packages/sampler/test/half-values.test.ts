import { describe, expect, it } from 'vitest';
import { narrowToHalf, rowValues, widenHalf } from '../src/half-values.js';

// Every float16 and bfloat16 is exactly a float32: widening must give that float32, bit for bit.
describe('widening half-precision values', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);

  it('bfloat16 is the upper half of the float32 (every pattern, NaNs included)', () => {
    const out = widenHalf(all, 'bfloat16', 0, all.length, new Float32Array(all.length));
    const words = new Uint32Array(out.buffer);
    for (let bits = 0; bits < 65536; bits++) {
      if (words[bits] !== bits * 65536)
        throw new Error(`bfloat16 0x${bits.toString(16)} → 0x${words[bits]!.toString(16)}`);
    }
  });

  it('float16: known values, signed zeros, subnormals, infinities, NaNs and strict order', () => {
    const out = widenHalf(all, 'float16', 0, all.length, new Float32Array(all.length));
    expect(out[0x3c00]).toBe(1);
    expect(out[0xc000]).toBe(-2);
    expect(out[0x3555]).toBe(0.333251953125);
    expect(out[0x7bff]).toBe(65504);
    expect(out[0x0001]).toBe(2 ** -24);
    expect(out[0x03ff]).toBe(1023 * 2 ** -24);
    expect(out[0x0400]).toBe(2 ** -14);
    expect(Object.is(out[0x0000], 0)).toBe(true);
    expect(Object.is(out[0x8000], -0)).toBe(true);
    expect(out[0x7c00]).toBe(Number.POSITIVE_INFINITY);
    expect(out[0xfc00]).toBe(Number.NEGATIVE_INFINITY);
    for (const nan of [0x7c01, 0x7e00, 0x7fff, 0xfc01, 0xfe00, 0xffff]) expect(out[nan]).toBeNaN();
    // Positive patterns 0 … 0x7c00 are increasing values; a negative one is its positive negated.
    for (let bits = 1; bits <= 0x7c00; bits++) {
      if (!(out[bits]! > out[bits - 1]!)) throw new Error(`float16 0x${bits.toString(16)} out of order`);
      if (out[bits | 0x8000] !== -out[bits]!) throw new Error(`float16 0x${(bits | 0x8000).toString(16)}`);
    }
  });

  it('a row of a request: a view of float32 input, half input widened into the scratch', () => {
    const float32 = new Float32Array([1, 2, 3, 4, 5, 6]);
    const row = rowValues({ input: float32, dtype: 'float32' }, 3, 3, new Float32Array(8));
    expect([row.buffer === float32.buffer, row.byteOffset, [...row]]).toEqual([true, 12, [4, 5, 6]]);
    const scratch = new Float32Array(8);
    const bf16 = new Uint16Array([0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0]);
    const widened = rowValues({ input: bf16, dtype: 'bfloat16' }, 3, 3, scratch);
    expect([widened.buffer === scratch.buffer, [...widened]]).toEqual([true, [4, 5, 6]]);
  });

  it.each([
    'float16',
    'bfloat16',
  ] as const)('%s: narrowing is the inverse of widening, and rounds to the nearest, ties to even', (dtype) => {
    const values = widenHalf(all, dtype, 0, all.length, new Float32Array(all.length));
    const back = narrowToHalf(values, dtype);
    for (let bits = 0; bits < 65536; bits++) {
      if (Number.isNaN(values[bits])) {
        if (!Number.isNaN(widenHalf(back, dtype, bits, 1, new Float32Array(1))[0]))
          throw new Error(`NaN 0x${bits.toString(16)}`);
      } else if (back[bits] !== bits) {
        throw new Error(`${dtype} 0x${bits.toString(16)} came back as 0x${back[bits]!.toString(16)}`);
      }
    }
    // Between two neighbours (1 and the next value up): below the midpoint down, above up, at it to the even one.
    const one = dtype === 'float16' ? 0x3c00 : 0x3f80;
    const [a, b, c] = widenHalf(Uint16Array.of(one, one + 1, one + 2), dtype, 0, 3, new Float32Array(3));
    const mid = (x: number, y: number, t: number) => Math.fround(x + (y - x) * t);
    expect([
      ...narrowToHalf(
        Float32Array.of(mid(a!, b!, 0.49), mid(a!, b!, 0.51), mid(a!, b!, 0.5), mid(b!, c!, 0.5)),
        dtype,
      ),
    ]).toEqual([one, one + 1, one, one + 2]);
    // Past float16's range: ±Infinity; bfloat16 has float32's range (1e6 = 0x49742400 rounds down).
    expect([...narrowToHalf(Float32Array.of(1e6, -1e6), dtype)]).toEqual(
      dtype === 'float16' ? [0x7c00, 0xfc00] : [0x4974, 0xc974],
    );
  });
});
