// A deliberately plain, sort-based float64 reference of the semantics in docs/GPU_SAMPLER.md,
// used to compute exact expected distributions for the statistical tests.

export interface ReferenceParams {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  filterOrder?: 'topKFirst' | 'joint';
}

export function referenceDistribution(logits: ArrayLike<number>, params: ReferenceParams): Float64Array {
  const vocab = logits.length;
  const x = Array.from(logits, (v) => Math.fround(v));
  const temperature = Math.fround(params.temperature ?? 1);
  const topK = params.topK ?? 0;
  const topP = Math.fround(params.topP ?? 1);
  const minP = Math.fround(params.minP ?? 0);
  const out = new Float64Array(vocab);
  const max = Math.max(...x);
  if (temperature === 0) {
    out[x.indexOf(max)] = 1;
    return out;
  }
  const w = x.map((v) => Math.exp((v - max) / temperature));
  const order = [...x.keys()].sort((a, b) => x[b]! - x[a]! || a - b);
  const keep = new Array<boolean>(vocab).fill(true);
  if (topK > 0 && topK < vocab) {
    const t = x[order[topK - 1]!]!;
    for (let i = 0; i < vocab; i++) if (x[i]! < t) keep[i] = false;
  }
  if (topP < 1) {
    const base =
      topK > 0 && topK < vocab && params.filterOrder !== 'joint' ? keep.slice() : new Array(vocab).fill(true);
    let total = 0;
    for (let i = 0; i < vocab; i++) if (base[i]) total += w[i]!;
    const target = topP * total;
    let acc = 0;
    let t = Number.NEGATIVE_INFINITY;
    for (const i of order) {
      if (!base[i]) continue;
      acc += w[i]!;
      if (acc >= target) {
        t = x[i]!;
        break;
      }
    }
    for (let i = 0; i < vocab; i++) if (x[i]! < t) keep[i] = false;
  }
  if (minP > 0) for (let i = 0; i < vocab; i++) if (w[i]! < minP) keep[i] = false;
  let total = 0;
  for (let i = 0; i < vocab; i++) if (keep[i]) total += w[i]!;
  for (let i = 0; i < vocab; i++) out[i] = keep[i] ? w[i]! / total : 0;
  return out;
}
