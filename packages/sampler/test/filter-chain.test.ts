import { describe, expect, it } from 'vitest';
import {
  type ChainReferenceParams as ChainParams,
  chainReference as reference,
} from '../../../tooling/sampling-reference.js';
import { chiSquare, gaussianLogits } from '../../../tooling/statistics.js';
import { CpuSampler, RowStatus, SamplerInputError, upperUniform53 } from '../src/index.js';

// Significance of every chi-square test below: a correct sampler fails one with probability 1e-3.
const ALPHA = 1e-3;
const sampler = new CpuSampler();

function row(values: number[]): Float32Array {
  return new Float32Array(values);
}

function logOf(probs: number[]): Float32Array {
  return new Float32Array(probs.map(Math.log));
}

function kept(values: Float32Array): number[] {
  return [...values.keys()].filter((i) => values[i]! > 0);
}

describe("kept sets of llama.cpp's own test cases (tests/test-sampling.cpp, restated)", () => {
  it('top-n-sigma on log {0.1, 0.2, 0.3, 0.4}: n = 1 keeps the top two, n = 3 all, n = 0 is off', () => {
    const logits = logOf([0.1, 0.2, 0.3, 0.4]);
    const one = sampler.filteredProbs({ logits, topNSigma: 1 }).values;
    expect(kept(one)).toEqual([2, 3]);
    expect(one[2]).toBeCloseTo(0.428571, 5);
    expect(one[3]).toBeCloseTo(0.571429, 5);
    expect(kept(sampler.filteredProbs({ logits, topNSigma: 3 }).values)).toEqual([0, 1, 2, 3]);
    expect(kept(sampler.filteredProbs({ logits, topNSigma: 0 }).values)).toEqual([0, 1, 2, 3]);
  });

  it('typical-p 0.5: {0.97, 0.01 ×3} keeps 0.97; {0.4, 0.2 ×3} keeps the three 0.2', () => {
    expect(
      kept(sampler.filteredProbs({ logits: logOf([0.97, 0.01, 0.01, 0.01]), typicalP: 0.5 }).values),
    ).toEqual([0]);
    const values = sampler.filteredProbs({ logits: logOf([0.4, 0.2, 0.2, 0.2]), typicalP: 0.5 }).values;
    expect(kept(values)).toEqual([1, 2, 3]);
    for (const i of [1, 2, 3]) expect(values[i]).toBeCloseTo(1 / 3, 6);
  });

  it.each([
    [0.09, [3]],
    [0.19, [2, 3]],
    [0.29, [1, 2, 3]],
    [0.39, [0, 1, 2, 3]], // one token above the threshold: XTC removes nothing
  ])('XTC with its coin falling, threshold %f on {0.4, 0.3, 0.2, 0.1} keeps %j', (threshold, expected) => {
    const logits = logOf([0.4, 0.3, 0.2, 0.1]);
    const values = sampler.filteredProbs({ logits, xtcProbability: 1, xtcThreshold: threshold }).values;
    expect(kept(values)).toEqual(expected);
  });
});

describe('edge cases', () => {
  it('XTC keeps every token tied at the least probable logit above the threshold', () => {
    const values = sampler.filteredProbs({
      logits: logOf([0.3, 0.3, 0.3, 0.1]),
      xtcProbability: 1,
      xtcThreshold: 0.2,
    }).values;
    expect(kept(values)).toEqual([0, 1, 2, 3]);
  });

  it("XTC's coin is the upper uniform of draw 0's Philox block: applied exactly when it is < the probability", () => {
    const logits = logOf([0.4, 0.3, 0.2, 0.1]);
    let applied = 0;
    for (let step = 0; step < 200; step++) {
      const values = sampler.filteredProbs({
        logits,
        xtcProbability: 0.5,
        xtcThreshold: 0.09,
        seed: 5,
        step,
      }).values;
      const coin = upperUniform53(5, 0, step, 0, 0, 0) < 0.5;
      expect(kept(values)).toEqual(coin ? [3] : [0, 1, 2, 3]);
      if (coin) applied++;
    }
    expect(applied).toBeGreaterThan(70);
    expect(applied).toBeLessThan(130);
  });

  it('temperature 0 and +Infinity logits ignore the new filters, as they ignore every filter', () => {
    const logits = row([1, 3, 2, 0]);
    const greedy = sampler.filteredProbs({ logits, temperature: 0, typicalP: 0.2, topNSigma: 0.1 }).values;
    expect([...greedy]).toEqual([0, 1, 0, 0]);
    const infinite = sampler.filteredProbs({
      logits: row([Number.POSITIVE_INFINITY, 0, Number.POSITIVE_INFINITY, 1]),
      typicalP: 0.2,
    }).values;
    expect([...infinite]).toEqual([0.5, 0, 0.5, 0]);
  });

  it('top-n-sigma ignores -Infinity logits in σ and never keeps them', () => {
    const logits = row([0, Number.NEGATIVE_INFINITY, 1, 2, Number.NEGATIVE_INFINITY]);
    // σ of {0, 1, 2} is √(2/3): max − σ = 1.18; only 2 survives at n = 1, 1 and 2 at n = 1.3.
    expect(kept(sampler.filteredProbs({ logits, topNSigma: 1 }).values)).toEqual([3]);
    expect(kept(sampler.filteredProbs({ logits, topNSigma: 1.3 }).values)).toEqual([2, 3]);
  });

  it('a filter so loose it keeps everything gives the tokens of the fast paths, draw for draw', () => {
    const logits = gaussianLogits(4 * 2000, 2, 31);
    for (const params of [{}, { topK: 40 }, { topP: 0.8 }, { topK: 100, topP: 0.9, minP: 0.01 }]) {
      const base = { logits, shape: [4, 2000] as const, seed: 9, samples: 64, ...params };
      const fast = sampler.sample(base).tokens;
      const chain = sampler.sample({ ...base, topNSigma: 1e30 }).tokens;
      expect([...chain]).toEqual([...fast]);
    }
  });

  it('probabilities as input: top-n-sigma measures log p; typical and XTC act on the same distribution as for logits', () => {
    const probs = row([0.1, 0.2, 0.3, 0.4]);
    expect(kept(sampler.filteredProbs({ probs, topNSigma: 1 }).values)).toEqual([2, 3]);
    expect(kept(sampler.filteredProbs({ probs, xtcProbability: 1, xtcThreshold: 0.19 }).values)).toEqual([
      0, 1,
    ]);
  });

  it('rows that cannot be sampled are NaN throughout, with their status', () => {
    const logits = row([1, Number.NaN, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, 1]);
    const result = sampler.filteredProbs({ logits, shape: [3, 2], typicalP: 0.9 });
    expect([...result.status]).toEqual([
      RowStatus.invalidValues,
      RowStatus.nothingToSample,
      RowStatus.sampled,
    ]);
    expect([...result.values.subarray(0, 4)].every(Number.isNaN)).toBe(true);
    expect(() => sampler.filteredProbs({ logits, shape: [3, 2], onInvalidRow: 'throw' })).toThrow(
      SamplerInputError,
    );
  });

  it('filteredProbs and maskedLogits describe one distribution: softmax(maskedLogits) = filteredProbs', () => {
    const logits = gaussianLogits(3 * 500, 2, 4);
    const request = { logits, shape: [3, 500] as const, temperature: 0.7, topK: 60, typicalP: 0.8, seed: 2 };
    const probs = sampler.filteredProbs(request).values;
    const masked = sampler.maskedLogits(request).values;
    for (let r = 0; r < 3; r++) {
      const part = masked.subarray(r * 500, (r + 1) * 500);
      const max = Math.max(...part);
      const sum = part.reduce((s, v) => s + Math.exp(v - max), 0);
      for (let i = 0; i < 500; i++)
        expect(probs[r * 500 + i]!).toBeCloseTo(Math.exp(part[i]! - max) / sum, 6);
    }
  });

  it('a distribution draws nothing: samples and logprobs are refused', () => {
    const logits = row([1, 2]);
    expect(() => sampler.filteredProbs({ logits, samples: 2 })).toThrow(/samples/);
    expect(() => sampler.maskedLogits({ logits, logprobs: true })).toThrow(/logprobs/);
  });
});

describe('filteredProbs against the reference (float64, sort-based)', () => {
  const logits = gaussianLogits(3000, 2.5, 77);
  it.each<ChainParams>([
    { topNSigma: 1.5 },
    { topNSigma: 2, topK: 30, topP: 0.9 },
    { typicalP: 0.7 },
    { typicalP: 0.9, temperature: 0.8, topK: 200 },
    { typicalP: 0.5, topP: 0.95, minP: 0.02, filterOrder: 'joint' },
    { topNSigma: 2.5, typicalP: 0.6, minP: 0.01 },
  ])('%j', (params) => {
    const values = sampler.filteredProbs({ logits, ...params }).values;
    const expected = reference(logits, params);
    for (let i = 0; i < expected.length; i++) expect(values[i]!).toBeCloseTo(expected[i]!, 6);
  });
});

describe('distribution of draws (chi-square, α = 1e-3, against the reference)', () => {
  const vocab = 60;
  const logits = gaussianLogits(vocab, 2, 12);

  it.each<ChainParams>([
    { typicalP: 0.6 },
    { topNSigma: 1 },
    { topNSigma: 1.5, topK: 20, typicalP: 0.8, temperature: 1.3 },
  ])('10^5 draws of %j', (params) => {
    const draws = sampler.sample({ logits, ...params, seed: 17, samples: 100_000 }).tokens;
    const result = chiSquare(draws, reference(logits, params), ALPHA);
    expect(result.outside).toBe(0);
    expect(result.statistic).toBeLessThan(result.critical);
  });

  it('XTC with probability 0.3 over 10^5 rows (one coin per row): the mixture of the two distributions', () => {
    const rows = 100_000;
    const batch = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++) batch.set(logits, r * vocab);
    const params = { xtcProbability: 0.3, xtcThreshold: 0.05 };
    const draws = sampler.sample({ logits: batch, shape: [rows, vocab], ...params, seed: 23 }).tokens;
    const removed = reference(logits, { xtc: 0.05 });
    const plain = reference(logits, {});
    const expected = plain.map((v, i) => 0.7 * v + 0.3 * removed[i]!);
    expect(removed.filter((v) => v > 0).length).toBeLessThan(plain.filter((v) => v > 0).length);
    const result = chiSquare(draws, expected, ALPHA);
    expect(result.outside).toBe(0);
    expect(result.statistic).toBeLessThan(result.critical);
  });
});
