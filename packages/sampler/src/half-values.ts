import type { ElementType, HostValues, ResolvedRequest } from './request.js';

/**
 * float16 → float32 for every 16-bit pattern (built on first use: 256 KiB). A lookup per
 * element widens a row about as fast as memory moves, and every float16 is exact in float32.
 */
let float16Table: Float32Array | undefined;

function float16Values(): Float32Array {
  if (float16Table) return float16Table;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    table[bits] =
      exponent === 0
        ? sign * fraction * 2 ** -24
        : exponent === 31
          ? fraction === 0
            ? sign * Number.POSITIVE_INFINITY
            : Number.NaN
          : sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }
  float16Table = table;
  return table;
}

/**
 * Widens `count` float16 or bfloat16 values (their bits, from `bits[from]` on) into `out`
 * (exactly: both are subsets of float32). bfloat16 is float32's upper half: a 16-bit shift.
 */
export function widenHalf(
  bits: Uint16Array,
  dtype: Exclude<ElementType, 'float32'>,
  from: number,
  count: number,
  out: Float32Array,
): Float32Array {
  if (dtype === 'bfloat16') {
    const words = new Uint32Array(out.buffer, out.byteOffset, count);
    for (let i = 0; i < count; i++) words[i] = bits[from + i]! << 16;
  } else {
    const table = float16Values();
    for (let i = 0; i < count; i++) out[i] = table[bits[from + i]!]!;
  }
  return out;
}

/**
 * The float32 values of `vocab` elements of a request's input from element `offset` on: a view
 * of a float32 input, or half values widened into `scratch` (one row at a time: the hot loops
 * then read float32 as they do for float32 input, and the batch is never copied whole).
 */
export function rowValues(
  request: Pick<ResolvedRequest<HostValues>, 'input' | 'dtype'>,
  offset: number,
  vocab: number,
  scratch: Float32Array,
): Float32Array {
  const { input, dtype } = request;
  if (dtype === 'float32') return (input as Float32Array).subarray(offset, offset + vocab);
  return widenHalf(input as Uint16Array, dtype, offset, vocab, scratch.subarray(0, vocab));
}

const narrow = new Float32Array(1);
const narrowWord = new Uint32Array(narrow.buffer);

/** The float16 nearest to `x` (ties to even; past 65504 ±Infinity; NaN stays NaN). */
function float16Of(x: number): number {
  narrow[0] = x;
  const word = narrowWord[0]!;
  const sign = (word >>> 16) & 0x8000;
  const exponent = (word >>> 23) & 0xff;
  const fraction = word & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (fraction === 0 ? 0 : 0x200);
  const e = exponent - 112; // the float16 exponent field
  if (e >= 31) return sign | 0x7c00;
  // The bits below the float16 fraction decide the rounding: above half up, at half to even.
  let half: number;
  let shift: number;
  let mantissa: number;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa = fraction | 0x800000;
    shift = 14 - e;
    half = mantissa >>> shift;
  } else {
    mantissa = fraction;
    shift = 13;
    half = (e << 10) | (fraction >>> 13);
  }
  const rest = mantissa & ((1 << shift) - 1);
  const midpoint = 1 << (shift - 1);
  if (rest > midpoint || (rest === midpoint && (half & 1) === 1)) half++;
  return sign | half;
}

/**
 * `values` rounded to the nearest `dtype` value (ties to even), as its bits: what an engine's
 * half-precision logits of the same numbers would hold.
 */
export function narrowToHalf(values: Float32Array, dtype: Exclude<ElementType, 'float32'>): Uint16Array {
  const bits = new Uint16Array(values.length);
  if (dtype === 'float16') {
    for (let i = 0; i < values.length; i++) bits[i] = float16Of(values[i]!);
    return bits;
  }
  const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < values.length; i++) {
    const word = words[i]!;
    const nan = (word & 0x7fffffff) > 0x7f800000;
    bits[i] = nan ? (word >>> 16) | 0x40 : (word + 0x7fff + ((word >>> 16) & 1)) >>> 16;
  }
  return bits;
}
