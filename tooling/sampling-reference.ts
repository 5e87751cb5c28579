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

/** The parameters of {@link chainReference}. */
export interface ChainReferenceParams {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  typicalP?: number;
  topNSigma?: number;
  /** XTC's threshold when its coin fell, else undefined. */
  xtc?: number;
  filterOrder?: 'topKFirst' | 'joint';
}

/**
 * An independent, sort-based float64 reference of docs/GPU_SAMPLER.md "Semantics" step 6:
 * top-n-sigma, top-k, top-p, min-p, typical-p, XTC, each on what the one before kept.
 */
export function chainReference(logits: ArrayLike<number>, p: ChainReferenceParams): Float64Array {
  const x = Array.from(logits, (v) => Math.fround(v));
  const vocab = x.length;
  const T = Math.fround(p.temperature ?? 1);
  const max = Math.max(...x);
  const out = new Float64Array(vocab);
  if (T === 0) {
    out[x.indexOf(max)] = 1;
    return out;
  }
  const w = x.map((v) => Math.exp((v - max) / T));
  let keep = x.map((v) => v > Number.NEGATIVE_INFINITY);
  const kept = () => [...x.keys()].filter((i) => keep[i]);
  const byValue = (list: number[]) => [...list].sort((a, b) => x[b]! - x[a]! || a - b);
  const mass = (list: number[]) => list.reduce((s, i) => s + w[i]!, 0);
  if ((p.topNSigma ?? 0) > 0) {
    const finite = x.filter((v) => v > Number.NEGATIVE_INFINITY);
    const mean = finite.reduce((s, v) => s + v, 0) / finite.length;
    const sd = Math.sqrt(finite.reduce((s, v) => s + (v - mean) ** 2, 0) / finite.length);
    keep = keep.map((k, i) => k && x[i]! >= max - p.topNSigma! * sd);
  }
  const topK = p.topK ?? 0;
  if (topK > 0 && topK < kept().length) {
    const t = x[byValue(kept())[topK - 1]!]!;
    keep = keep.map((k, i) => k && x[i]! >= t);
  }
  const topP = Math.fround(p.topP ?? 1);
  if (topP < 1) {
    const base = p.filterOrder === 'joint' ? [...x.keys()] : kept();
    const target = topP * mass(base);
    let acc = 0;
    let t = Number.NEGATIVE_INFINITY;
    for (const i of byValue(base)) {
      acc += w[i]!;
      if (acc >= target) {
        t = x[i]!;
        break;
      }
    }
    keep = keep.map((k, i) => k && x[i]! >= t);
  }
  const minP = Math.fround(p.minP ?? 0);
  if (minP > 0) keep = keep.map((k, i) => k && w[i]! >= minP);
  const typicalP = Math.fround(p.typicalP ?? 1);
  if (typicalP < 1 && kept().length > 1) {
    const list = kept();
    const total = mass(list);
    const entropy = -list.reduce((s, i) => s + (w[i]! / total) * Math.log(w[i]! / total), 0);
    const score = (i: number) => Math.abs(-Math.log(w[i]! / total) - entropy);
    const order = [...list].sort((a, b) => score(a) - score(b));
    let acc = 0;
    let limit = Number.POSITIVE_INFINITY;
    for (const i of order) {
      acc += w[i]!;
      if (acc >= typicalP * total) {
        limit = score(i);
        break;
      }
    }
    keep = keep.map((k, i) => k && score(i) <= limit);
  }
  if (p.xtc !== undefined && kept().length > 1) {
    const list = kept();
    const total = mass(list);
    const above = list.filter((i) => w[i]! / total >= Math.fround(p.xtc!));
    if (above.length >= 2) {
      const least = Math.min(...above.map((i) => x[i]!));
      keep = keep.map((k, i) => k && x[i]! <= least);
    }
  }
  const total = mass(kept());
  for (const i of kept()) out[i] = w[i]! / total;
  return out;
}
