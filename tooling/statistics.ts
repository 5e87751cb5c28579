// Pearson's chi-square goodness-of-fit test, for the statistical tests of every sampler.

/** Upper quantile of the chi-square distribution (Wilson–Hilferty), accurate to ~1% for df ≥ 3. */
export function chiSquareCritical(df: number, alpha: number): number {
  const z = normalQuantile(1 - alpha);
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

function normalQuantile(p: number): number {
  // Acklam's rational approximation of the inverse normal CDF (relative error < 1.2e-9).
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q = Math.sqrt(-2 * Math.log(1 - p));
  return (
    -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1)
  );
}

export interface ChiSquareResult {
  statistic: number;
  df: number;
  critical: number;
  /** Draws that landed on tokens of probability 0. */
  outside: number;
}

/**
 * Compares observed draws with expected probabilities. Cells with expected count < 5 are
 * pooled into one cell. Significance `alpha` is the chance that a correct sampler fails.
 */
export function chiSquare(
  draws: ArrayLike<number>,
  expected: ArrayLike<number>,
  alpha = 1e-3,
): ChiSquareResult {
  const n = draws.length;
  const counts = new Float64Array(expected.length);
  let outside = 0;
  for (let j = 0; j < n; j++) {
    const t = draws[j]!;
    if (!(t >= 0 && t < expected.length) || expected[t] === 0) outside++;
    else counts[t]!++;
  }
  let statistic = 0;
  let cells = 0;
  let pooledObserved = 0;
  let pooledExpected = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]! * n;
    if (e === 0) continue;
    if (e < 5) {
      pooledObserved += counts[i]!;
      pooledExpected += e;
      continue;
    }
    statistic += (counts[i]! - e) ** 2 / e;
    cells++;
  }
  if (pooledExpected > 0) {
    statistic += (pooledObserved - pooledExpected) ** 2 / pooledExpected;
    cells++;
  }
  const df = Math.max(cells - 1, 1);
  return { statistic, df, critical: chiSquareCritical(df, alpha), outside };
}

/** Deterministic N(0, σ²) logits from a fixed seed: the sampler's own benchmark generator. */
export { syntheticLogits as gaussianLogits } from '../packages/sampler/src/benchmark.js';

/** mulberry32: a small deterministic generator of uniforms in [0, 1), so that test rows are fixed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
