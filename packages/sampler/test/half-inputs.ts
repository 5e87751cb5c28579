// Half-precision test inputs, for every backend's tests: float32 values rounded (toward zero) to
// float16 or bfloat16 bits, and those bits widened back, exactly, to float32. The two describe
// the same numbers, so a sampler must give the same tokens for both.
import { widenHalf } from '../src/half-values.js';

/** The half types. */
export const HALF_TYPES = ['float16', 'bfloat16'] as const;
/** One of them. */
export type HalfType = (typeof HALF_TYPES)[number];

/** The bits of `x` as `dtype`, rounded toward zero (float16: below 2^-14 flushed to ±0, past 65504 ±Infinity). */
function halfBits(word: number, x: number, dtype: HalfType): number {
  if (dtype === 'bfloat16') return Number.isNaN(x) ? 0x7fc0 : word >>> 16;
  const sign = (word >>> 16) & 0x8000;
  if (Number.isNaN(x)) return 0x7e00;
  const exponent = ((word >>> 23) & 0xff) - 127 + 15;
  if (exponent <= 0) return sign;
  if (exponent >= 31) return sign | 0x7c00;
  return sign | (exponent << 10) | ((word >>> 13) & 0x3ff);
}

/** `values` as `dtype` bits. */
export function halfBitsOf(values: Float32Array, dtype: HalfType): Uint16Array {
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = halfBits(words[i]!, values[i]!, dtype);
  return bits;
}

/** `values` as `dtype` bits, and those bits widened to float32 (the numbers the bits hold). */
export function toHalf(values: Float32Array, dtype: HalfType): { bits: Uint16Array; widened: Float32Array } {
  const bits = halfBitsOf(values, dtype);
  return { bits, widened: widenHalf(bits, dtype, 0, bits.length, new Float32Array(bits.length)) };
}
