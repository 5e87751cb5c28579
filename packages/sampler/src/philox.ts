/**
 * Philox4x32-10, the counter-based generator of Random123 (Salmon et al., SC'11), as used by
 * curand and FlashInfer. A pure function of a 128-bit counter and a 64-bit key: the GPU
 * kernels compute the same function, so CPU and GPU draw identical numbers.
 *
 * rocmforge's layout: key = seed (low word, high word); counter = (draw, stream, step low,
 * step high). `stream` defaults to the batch row, so a row's numbers never depend on the
 * rest of the batch.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const hiHi = aHi * bHi;
  const cross = (loLo >>> 16) + (hiLo & 0xffff) + (loHi & 0xffff);
  return (hiHi + (hiLo >>> 16) + (loHi >>> 16) + Math.floor(cross / 0x10000)) >>> 0;
}

/**
 * Philox4x32-10 of counter `(c0, c1, c2, c3)` under key `(k0, k1)`; writes four words to `out`.
 *
 * @example
 * ```ts
 * import { philox4x32 } from '@rocmforge/sampler';
 * const out = new Uint32Array(4);
 * philox4x32(0, 0, 0, 0, 0, 0, out);
 * // Random123's known answer for counter 0 and key 0:
 * console.log(out[0].toString(16)); // 6627e8d5
 * ```
 */
export function philox4x32(
  c0: number,
  c1: number,
  c2: number,
  c3: number,
  k0: number,
  k1: number,
  out: Uint32Array,
): Uint32Array {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = c2 >>> 0;
  let x3 = c3 >>> 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi0 = mulhi32(M0, x0);
    const lo1 = Math.imul(M1, x2) >>> 0;
    const hi1 = mulhi32(M1, x2);
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + W0) >>> 0;
    key1 = (key1 + W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
  return out;
}

const TWO_POW_M53 = 2 ** -53;
const scratch = new Uint32Array(4);

/**
 * The uniform in [0, 1) that rocmforge draws for `(seed, step, stream, draw)`, each 64-bit
 * value given as its low and high 32-bit words: 53 bits taken from the first two Philox
 * output words (27 high bits of word 0, then 26 high bits of word 1). The GPU kernels compute
 * exactly this double.
 */
export function uniform53(
  seedLo: number,
  seedHi: number,
  stepLo: number,
  stepHi: number,
  stream: number,
  draw: number,
): number {
  philox4x32(draw, stream, stepLo, stepHi, seedLo, seedHi, scratch);
  return wordsToUniform53(scratch[0]!, scratch[1]!);
}

/** 53 bits from two Philox words: 27 high bits of `first`, then 26 high bits of `second`. */
function wordsToUniform53(first: number, second: number): number {
  return ((first >>> 5) * 67108864 + (second >>> 6)) * TWO_POW_M53;
}

/**
 * The second uniform of a Philox block: as {@link uniform53}, from the block's third and fourth
 * output words (27 high bits of word 2, then 26 high bits of word 3). The token draws use only
 * words 0 and 1, so this uniform never coincides with one of them: XTC's coin takes it from the
 * block of draw 0.
 */
export function upperUniform53(
  seedLo: number,
  seedHi: number,
  stepLo: number,
  stepHi: number,
  stream: number,
  draw: number,
): number {
  philox4x32(draw, stream, stepLo, stepHi, seedLo, seedHi, scratch);
  return wordsToUniform53(scratch[2]!, scratch[3]!);
}
