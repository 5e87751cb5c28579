import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../tooling/statistics.js';
import { expNonPositive } from '../src/cpu/fast-exp.js';
import { RowSampler } from '../src/cpu/row-sampler.js';
import { createSampler, resolveRequest, type SampleRequest, uniform53 } from '../src/index.js';

// The row sampler is the reference the GPU reproduces: these tests hold its kept sets to the
// semantics of docs/GPU_SAMPLER.md with plain sort-based references written here, its draws to
// the index-order walk, and its results, bit for bit, to a digest.

const generator = mulberry32;

type Shape = 'normal' | 'ties' | 'negativeInfinity' | 'zipf';

function randomRow(vocab: number, shape: Shape, sigma: number, random: () => number): Float32Array {
  const x = new Float32Array(vocab);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  for (let i = 0; i < vocab; i++) {
    const z = normal() * sigma;
    x[i] =
      shape === 'ties'
        ? Math.round(z * 2) / 2
        : shape === 'negativeInfinity' && random() < 0.2
          ? Number.NEGATIVE_INFINITY
          : shape === 'zipf'
            ? -1.1 * Math.log(1 + ((i * 7919) % vocab)) + 0.3 * normal()
            : z;
  }
  return x;
}

interface Kept {
  /** Kept tokens in index order. */
  tokens: number[];
  /** The smallest kept value: the kept set is {i : x_i ≥ threshold}. */
  threshold: number;
}

/** The kept set the row sampler samples from, read from its processed top list (all of it). */
function keptSet(x: Float32Array, params: Omit<SampleRequest<Float32Array>, 'logits'>): Kept {
  const rows = new RowSampler();
  const request = resolveRequest({ logits: x, seed: 1, ...params });
  expect(rows.sampleRow(request, 0, new Int32Array(request.samples))).toBe(true);
  const vocab = x.length;
  const tokens = new Int32Array(vocab);
  const logprobs = new Float32Array(vocab);
  rows.processedTop(vocab, tokens, logprobs, 0);
  const kept: number[] = [];
  for (let j = 0; j < vocab; j++) if (logprobs[j]! > Number.NEGATIVE_INFINITY) kept.push(tokens[j]!);
  kept.sort((a, b) => a - b);
  let threshold = Number.POSITIVE_INFINITY;
  for (const i of kept) threshold = Math.min(threshold, x[i]!);
  return { tokens: kept, threshold };
}

function expectThresholdSet(x: Float32Array, kept: Kept): void {
  const expected: number[] = [];
  for (let i = 0; i < x.length; i++) if (x[i]! >= kept.threshold) expected.push(i);
  expect(kept.tokens).toEqual(expected);
}

/**
 * Top-p by the book: tokens sorted from the most probable, walked until the mass reaches
 * p × total; t_p is the value where the walk ends (ties included). `weigh` gives each token's
 * weight; the mass is summed in float64 (`float`) and, as the GPU sums it, in 64-bit fixed point
 * (`fixed`: a weight w counts ⌊w · 2^(62 − ⌈log2 vocab⌉)⌋, the target is ⌈p · total⌉).
 * `margin` is the distance, relative to the total, from p × total to the nearest mass at which
 * the walk could end: within the rounding of the sums (or of the weights), either neighbouring
 * threshold is right.
 */
function topPReference(
  x: Float32Array,
  topP: number,
  weigh: (v: number) => number,
): { float: number; fixed: number; margin: number } {
  const vocab = x.length;
  const p = Math.fround(topP);
  const weights = Array.from(x, weigh);
  const order = [...weights.keys()].sort((a, b) => x[b]! - x[a]!);
  let bits = 0;
  while (2 ** bits < vocab && bits < 31) bits++;
  const scale = 2 ** (62 - bits);
  const fixedWeights = weights.map((w) => BigInt(Math.floor(w * scale)));
  let total = 0;
  let fixedTotal = 0n;
  for (let i = 0; i < vocab; i++) {
    total += weights[i]!;
    fixedTotal += fixedWeights[i]!;
  }
  const target = p * total;
  let want = BigInt(Math.ceil(p * Number(fixedTotal)));
  if (want === 0n) want = 1n;
  let float = Number.NaN;
  let fixed = Number.NaN;
  let margin = Number.POSITIVE_INFINITY;
  let mass = 0;
  let fixedMass = 0n;
  for (let j = 0; j < vocab && (Number.isNaN(float) || Number.isNaN(fixed)); ) {
    // One group of equal values at a time: a threshold keeps all of them.
    const value = x[order[j]!]!;
    for (; j < vocab && x[order[j]!] === value; j++) {
      mass += weights[order[j]!]!;
      fixedMass += fixedWeights[order[j]!]!;
    }
    margin = Math.min(margin, Math.abs(mass - target) / total);
    if (Number.isNaN(float) && mass >= target) float = value;
    if (Number.isNaN(fixed) && fixedMass >= want) fixed = value;
  }
  if (Number.isNaN(float)) float = x[order[vocab - 1]!]!;
  if (Number.isNaN(fixed)) fixed = x[order[vocab - 1]!]!;
  return { float, fixed, margin };
}

/** Weights as the row computes them: exp((x − max) · (1/T)) through the same exponential. */
function rowWeights(x: Float32Array, temperature: number): (v: number) => number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of x) max = Math.max(max, v);
  const inverseTemperature = 1 / Math.fround(temperature);
  return (v) => expNonPositive((v - max) * inverseTemperature);
}

/** Weights from Math.exp, independent of the row's exponential. */
function exactWeights(x: Float32Array, temperature: number): (v: number) => number {
  let max = Number.NEGATIVE_INFINITY;
  for (const v of x) max = Math.max(max, v);
  return (v) => Math.exp((v - max) / Math.fround(temperature));
}

describe('top-p kept set against a sort-based reference (float64 and 64-bit fixed point)', () => {
  const shapes: Array<[Shape, number]> = [
    ['normal', 3],
    ['normal', 1],
    ['ties', 2],
    ['negativeInfinity', 3],
    ['zipf', 1],
  ];
  const settings = [
    [1, 0.9],
    [0.7, 0.5],
    [1.5, 0.99],
  ] as const;
  const cases: Array<[number, Shape, number, number, number]> = [];
  for (const vocab of [7, 64, 1000, 4097, 32000, 151936]) {
    // The largest vocabulary for three of the five shapes (each case sorts it twice).
    const used = vocab < 151936 ? shapes : [shapes[0]!, shapes[2]!, shapes[4]!];
    for (const [shape, sigma] of used)
      for (const [temperature, topP] of settings) cases.push([vocab, shape, sigma, temperature, topP]);
  }
  // Rows whose p × total falls within the sums' rounding of a possible end of the walk.
  let nearBoundary = 0;

  it.each(cases)('vocab %i, %s σ=%f, T=%f, p=%f', (vocab, shape, sigma, temperature, topP) => {
    const random = generator(vocab * 31 + sigma * 7 + temperature * 1000 + topP * 100);
    const x = randomRow(vocab, shape, sigma, random);
    const kept = keptSet(x, { temperature, topP });
    expectThresholdSet(x, kept);
    // The definition, with weights from Math.exp: the kept mass reaches p × total and, without
    // the tokens at the threshold, falls short of it (within the exponential's 2e-7).
    const weigh = exactWeights(x, temperature);
    let total = 0;
    let keptMass = 0;
    let aboveMass = 0;
    for (let i = 0; i < vocab; i++) {
      const w = weigh(x[i]!);
      total += w;
      if (x[i]! >= kept.threshold) keptMass += w;
      if (x[i]! > kept.threshold) aboveMass += w;
    }
    const target = Math.fround(topP) * total;
    expect(keptMass).toBeGreaterThanOrEqual(target * (1 - 1e-6));
    expect(aboveMass).toBeLessThan(target * (1 + 1e-6));
    // Exactly the sort-based thresholds, with the row's own weights, wherever the sums'
    // rounding (float64 order; fixed-point truncation, below 1e-8 of the total) cannot decide.
    const reference = topPReference(x, topP, rowWeights(x, temperature));
    if (reference.margin < 1e-7) {
      nearBoundary++;
      return;
    }
    expect(kept.threshold).toBe(reference.float);
    expect(kept.threshold).toBe(reference.fixed);
  });

  it('leaves few rows at a boundary (the exact checks above ran on the others)', () => {
    expect(nearBoundary).toBeLessThanOrEqual(cases.length / 30);
  });

  it('top-k then top-p (joint order) keeps the intersection of the two thresholds', () => {
    const random = generator(5);
    for (const [vocab, topK] of [
      [151936, 5000],
      [32000, 50],
      [4097, 4000],
    ]) {
      const x = randomRow(vocab!, 'normal', 3, random);
      const kept = keptSet(x, { topK, topP: 0.9, filterOrder: 'joint' });
      expectThresholdSet(x, kept);
      const sorted = Float32Array.from(x).sort().reverse();
      const reference = topPReference(x, 0.9, rowWeights(x, 1));
      expect(reference.margin).toBeGreaterThan(1e-7);
      expect(kept.threshold).toBe(Math.max(sorted[topK! - 1]!, reference.float));
    }
  });
});

describe('min-p', () => {
  it('decides tokens at the threshold by their weight (none skipped on the way)', () => {
    for (const [minP, temperature] of [
      [0.1, 1],
      [0.05, 0.7],
    ]) {
      // Logits spread over ±1e-3 around max + T · ln(minP), every fourth a maximum-sized one.
      const vocab = 4001;
      const x = new Float32Array(vocab);
      const edge = Math.fround(temperature!) * Math.log(Math.fround(minP!));
      for (let i = 0; i < vocab; i++) x[i] = i % 4 === 0 ? 0 : edge + (i - vocab / 2) * 5e-7;
      const kept = keptSet(x, { minP, temperature });
      const weigh = rowWeights(x, temperature!);
      const expected: number[] = [];
      for (let i = 0; i < vocab; i++) if (weigh(x[i]!) >= Math.fround(minP!)) expected.push(i);
      expect(kept.tokens).toEqual(expected);
      // Both sides of the threshold are there.
      expect(expected.length).toBeGreaterThan(vocab / 4 + 100);
      expect(expected.length).toBeLessThan(vocab - 100);
    }
  });

  it.each([
    151936, 4097, 33,
  ])('keeps exactly the tokens with weight ≥ minP × the largest (vocab %i)', (vocab) => {
    const random = generator(vocab);
    for (const [minP, temperature] of [
      [0.1, 1],
      [0.01, 0.8],
      [0.5, 2],
    ]) {
      const x = randomRow(vocab, 'normal', 3, random);
      const kept = keptSet(x, { minP, temperature });
      expectThresholdSet(x, kept);
      let max = Number.NEGATIVE_INFINITY;
      for (const v of x) max = Math.max(max, v);
      // The row's own weights: (x − max) · (1/T) through the same exponential.
      const inverseTemperature = 1 / Math.fround(temperature!);
      const threshold = Math.fround(minP!);
      const expected: number[] = [];
      for (let i = 0; i < vocab; i++)
        if (expNonPositive((x[i]! - max) * inverseTemperature) >= threshold) expected.push(i);
      expect(kept.tokens).toEqual(expected);
    }
  });
});

describe('the plain draw', () => {
  it.each([
    1, 31, 32, 33, 100, 4097, 151936,
  ])('is the first token whose running weight exceeds u · total, in index order (vocab %i)', (vocab) => {
    const x = randomRow(vocab, 'normal', 3, generator(vocab + 1));
    const samples = 300;
    const seed = 77;
    const result = createSampler({ backend: 'cpu' }).sample({ logits: x, seed, samples });
    let max = Number.NEGATIVE_INFINITY;
    for (const v of x) max = Math.max(max, v);
    const running = new Float64Array(vocab);
    let total = 0;
    for (let i = 0; i < vocab; i++) {
      total += expNonPositive(x[i]! - max);
      running[i] = total;
    }
    for (let draw = 0; draw < samples; draw++) {
      const target = uniform53(seed, 0, 0, 0, 0, draw) * total;
      const token = running.findIndex((r) => r > target);
      expect(result.tokens[draw]).toBe(token);
    }
  });
});

describe('results, bit for bit', () => {
  it('match the digest of v1 (tokens, flags, processed log-probabilities, top lists) on 160 requests', () => {
    // Every mode and input kind, ties, -Infinity, huge logits, adjustments, several draws; scalar
    // seeds only. The digest was taken from v1 of this sampler, before the speed work of v2:
    // a change that moves any bit of any result changes it. Change it only with a deliberate
    // change of semantics (and the GPU comparisons re-run).
    const random = generator(2024);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const sampler = createSampler({ backend: 'cpu' });
    let hash = 0x811c9dc5;
    const add = (
      array: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number; byteLength: number },
    ) => {
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      for (const byte of bytes) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    };
    for (let n = 0; n < 160; n++) {
      const vocab = pick([1, 2, 5, 33, 100, 1000, 4097, 32000, 151936]);
      const batch = vocab > 10000 ? 1 : 1 + Math.floor(random() * 3);
      const kind = random() < 0.8 ? 'logits' : 'probs';
      const input = new Float32Array(batch * vocab);
      for (let row = 0; row < batch; row++) {
        const shape = pick(['normal', 'ties', 'negativeInfinity', 'zipf'] as const);
        const x = randomRow(vocab, shape, pick([0.5, 1, 3, 10]), random);
        if (random() < 0.1) x[Math.floor(random() * vocab)] = pick([3e38, -3e38, 1e30]);
        if (kind === 'probs')
          for (let i = 0; i < vocab; i++)
            x[i] = Number.isFinite(x[i]!) ? Math.exp(Math.min(x[i]! / 4, 60)) : 0;
        input.set(x, row * vocab);
      }
      const request: SampleRequest = {
        [kind]: input,
        shape: [batch, vocab],
        seed: Math.floor(random() * 1e9),
        step: Math.floor(random() * 100),
        temperature: pick([0, 0.3, 0.7, 1, 1, 1.5]),
        samples: pick([1, 1, 2, 7]),
        logprobs: pick([true, 0, 3, 20]),
        logprobsMode: 'processed',
      };
      if (random() < 0.4) request.topK = pick([1, 2, 50, 1000, vocab - 1]);
      if (random() < 0.5) request.topP = pick([0.1, 0.5, 0.9, 0.99]);
      if (random() < 0.3) request.minP = pick([0.01, 0.1, 0.5]);
      if (random() < 0.3) request.filterOrder = 'joint';
      if (kind === 'logits' && batch === 1 && random() < 0.2) {
        request.logitBias = { [Math.floor(random() * vocab)]: 2, [Math.floor(random() * vocab)]: -3 };
        request.repetitionPenalty = 1.3;
        request.frequencyPenalty = 0.5;
        request.presencePenalty = 0.25;
        request.outputTokens = [0, Math.floor(random() * vocab), 0];
      }
      const result = sampler.sample(request);
      add(result.tokens);
      add(result.valid);
      add(result.logprobs!);
      if (result.topLogprobs) {
        add(result.topLogprobs.tokens);
        add(result.topLogprobs.logprobs);
      }
    }
    expect(hash.toString(16)).toBe(RESULTS_DIGEST);
  });
});

const RESULTS_DIGEST = '7e2f106c';
