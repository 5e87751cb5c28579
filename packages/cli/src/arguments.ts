import { InvalidArgumentError } from 'commander';

// Parsers of flag values. Each throws commander's InvalidArgumentError naming the flag, which
// commander reports as a usage error (exit 2).

function number(flag: string, check: (v: number) => boolean, expected: string) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !check(v))
      throw new InvalidArgumentError(`${flag} must be ${expected}, got '${value}'`);
    return v;
  };
}

/** An integer ≥ `min`. */
export const integer = (flag: string, min = 0) =>
  number(flag, (v) => Number.isInteger(v) && v >= min, `an integer ≥ ${min}`);

/** Any finite number. */
export const finite = (flag: string) => number(flag, Number.isFinite, 'a number');

/** A non-negative integer of up to 64 bits, as a bigint. */
export function unsigned64(flag: string) {
  return (value: string): bigint => {
    if (!/^\d+$/.test(value) || BigInt(value) >= 2n ** 64n)
      throw new InvalidArgumentError(`${flag} must be an integer in [0, 2^64), got '${value}'`);
    return BigInt(value);
  };
}

/** `B,V`: two positive integers. */
export function shape(value: string): [number, number] {
  const parts = value.split(',').map((v) => Number(v.trim()));
  if (parts.length !== 2 || !parts.every((v) => Number.isInteger(v) && v > 0)) {
    throw new InvalidArgumentError(`--shape must be B,V with positive integers, got '${value}'`);
  }
  return parts as [number, number];
}

/** Comma-separated positive numbers. */
export function positiveNumbers(flag: string) {
  return (value: string): number[] =>
    value.split(',').map((v) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n <= 0)
        throw new InvalidArgumentError(`${flag} must be positive numbers like 3,1, got '${value}'`);
      return n;
    });
}

/** Comma-separated words, each one of `choices`. */
export function oneOfEach(flag: string, choices: readonly string[]) {
  return (value: string): string[] =>
    value.split(',').map((v) => {
      if (!choices.includes(v))
        throw new InvalidArgumentError(`${flag} takes ${choices.join(', ')}; got '${v}'`);
      return v;
    });
}

/** Batch × vocab shapes like `32x151936,512x151936`. */
export function shapes(flag: string) {
  return (value: string): Array<[number, number]> =>
    value.split(',').map((v) => {
      const m = /^(\d+)x(\d+)$/.exec(v.trim());
      const batch = m ? Number(m[1]) : 0;
      const vocab = m ? Number(m[2]) : 0;
      if (!(batch >= 1 && vocab >= 1 && Number.isSafeInteger(batch * vocab)))
        throw new InvalidArgumentError(`${flag} takes shapes like 32x151936,512x151936; got '${v}'`);
      return [batch, vocab];
    });
}

/** `all`, or GPU indices like `0,1`. */
export function devices(value: string): 'all' | number[] {
  if (value === 'all') return 'all';
  const indices = value.split(',').map((v) => Number(v.trim()));
  if (!indices.every((v) => Number.isInteger(v) && v >= 0))
    throw new InvalidArgumentError(`--devices must be 'all' or GPU indices like 0,1, got '${value}'`);
  return indices;
}
