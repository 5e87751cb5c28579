import { describe, expect, it } from 'vitest';
import { chiSquare, gaussianLogits, mulberry32 } from '../../../tooling/statistics.js';
import { CpuSampler, RowStatus, SamplerInputError } from '../src/index.js';

// Significance of every statistical test below: a correct verifier fails one with probability 1e-3.
const ALPHA = 1e-3;
const sampler = new CpuSampler();

function softmax(logits: ArrayLike<number>): Float64Array {
  const max = Math.max(...Array.from(logits));
  const w = Float64Array.from(logits, (v) => Math.exp(v - max));
  const sum = w.reduce((s, v) => s + v, 0);
  return w.map((v) => v / sum);
}

/** Draws from `probs` by inversion with an independent generator (the draft model's own sampling). */
function drawFrom(probs: ArrayLike<number>, next: () => number): number {
  const u = next();
  let acc = 0;
  for (let i = 0; i < probs.length; i++) {
    acc += probs[i]!;
    if (u < acc) return i;
  }
  return probs.length - 1;
}

/**
 * 10^5 rows, each verifying n = 2 draft tokens drawn from `draft` against a target whose
 * positions all have `targetLogits`; returns the first output token of every row and the
 * accepted counts.
 */
function verifyMany(targetLogits: Float32Array, draft: Float64Array, rows: number, seed: number) {
  const vocab = targetLogits.length;
  const n = 2;
  const target = new Float32Array(rows * (n + 1) * vocab);
  for (let p = 0; p < rows * (n + 1); p++) target.set(targetLogits, p * vocab);
  const draftProbs = new Float32Array(rows * n * vocab);
  const q32 = Float32Array.from(draft);
  for (let p = 0; p < rows * n; p++) draftProbs.set(q32, p * vocab);
  const next = mulberry32(seed);
  const draftTokens = Array.from({ length: rows * n }, () => drawFrom(draft, next));
  const result = sampler.verify({ logits: target, shape: [rows, n, vocab], draftTokens, draftProbs, seed });
  const first = new Int32Array(rows);
  for (let r = 0; r < rows; r++) first[r] = result.tokens[r * (n + 1)]!;
  return { result, first, draftTokens };
}

describe('verify: the output follows the target distribution (chi-square, α = 1e-3)', () => {
  const vocab = 40;
  const targetLogits = gaussianLogits(vocab, 1.5, 3);
  const p = softmax(targetLogits);
  const rows = 100_000;

  it.each([
    ['close to the target', softmax(Float32Array.from(targetLogits, (v, i) => v + 0.3 * Math.sin(i)))],
    ['far from the target (reversed)', softmax(Float32Array.from(targetLogits, (v) => -v))],
    ['equal to the target', p],
  ])('draft %s: first tokens ~ target; acceptance rate Σ min(p, q)', (_name, q) => {
    const { result, first } = verifyMany(targetLogits, q, rows, 41);
    const test = chiSquare(first, p, ALPHA);
    expect(test.outside).toBe(0);
    expect(test.statistic).toBeLessThan(test.critical);
    // The first draft token is accepted with probability Σ_i min(p_i, q_i): a binomial test at
    // 3.3 standard deviations (two-sided α ≈ 1e-3).
    const rate = p.reduce((s, v, i) => s + Math.min(v, q[i]!), 0);
    let acceptedFirst = 0;
    for (let r = 0; r < rows; r++) if (result.accepted[r]! >= 1) acceptedFirst++;
    const sd = Math.sqrt(rows * Math.max(0, rate * (1 - rate)));
    expect(Math.abs(acceptedFirst - rows * rate)).toBeLessThan(3.3 * sd + 1);
  });

  it('with the request filters (top-k 8, temperature 0.7): the output follows the filtered target', () => {
    const q = softmax(Float32Array.from(targetLogits, (v) => 0.5 * v));
    const n = 1;
    const target = new Float32Array(rows * (n + 1) * vocab);
    for (let i = 0; i < rows * (n + 1); i++) target.set(targetLogits, i * vocab);
    const draftProbs = new Float32Array(rows * n * vocab);
    for (let i = 0; i < rows * n; i++) draftProbs.set(Float32Array.from(q), i * vocab);
    const next = mulberry32(8);
    const draftTokens = Array.from({ length: rows * n }, () => drawFrom(q, next));
    const request = { logits: target, shape: [rows, n, vocab] as const, draftTokens, draftProbs };
    const result = sampler.verify({ ...request, topK: 8, temperature: 0.7, seed: 6 });
    const expected = sampler.filteredProbs({ logits: targetLogits, topK: 8, temperature: 0.7 }).values;
    const first = Int32Array.from({ length: rows }, (_, r) => result.tokens[r * (n + 1)]!);
    const test = chiSquare(first, expected, ALPHA);
    expect(test.outside).toBe(0);
    expect(test.statistic).toBeLessThan(test.critical);
  });
});

describe('verify: exact cases and layout', () => {
  it('a greedy target accepts exactly the drafts that are its argmax, then corrects to it', () => {
    const logits = new Float32Array([9, 0, 0, 0, 0, 9, 0, 0, 0, 0, 9, 0]);
    const draftProbs = new Float32Array([1, 0, 0, 0, 0, 0, 1, 0]);
    const result = sampler.verify({
      logits,
      shape: [1, 2, 4],
      draftTokens: [0, 2],
      draftProbs,
      temperature: 0,
    });
    expect(result.accepted[0]).toBe(1);
    expect([...result.tokens]).toEqual([0, 1, -1]);
  });

  it('after n acceptances the bonus token is the token `sample` draws at step + n', () => {
    const vocab = 50;
    const logits = gaussianLogits(3 * vocab, 1, 9);
    const draftProbs = new Float32Array(2 * vocab);
    const draftTokens = [7, 11];
    // The target itself as the draft at each position: acceptance is certain (u · p < p).
    const p0 = sampler.filteredProbs({ logits: logits.subarray(0, vocab) }).values;
    const p1 = sampler.filteredProbs({ logits: logits.subarray(vocab, 2 * vocab) }).values;
    draftProbs.set(p0, 0);
    draftProbs.set(p1, vocab);
    const result = sampler.verify({
      logits,
      shape: [1, 2, vocab],
      draftTokens,
      draftProbs,
      seed: 5,
      step: 10,
    });
    expect(result.accepted[0]).toBe(2);
    const bonus = sampler.sample({ logits: logits.subarray(2 * vocab), seed: 5, step: 12 }).tokens[0];
    expect([...result.tokens]).toEqual([7, 11, bonus]);
  });

  it('is deterministic, and with per-row seeds a row does not depend on its batch position', () => {
    const vocab = 30;
    const one = gaussianLogits(2 * vocab, 1, 2);
    const q = new Float32Array(vocab).fill(1);
    const request = (rows: number, seeds: number[]) => {
      const logits = new Float32Array(rows * 2 * vocab);
      for (let r = 0; r < rows; r++) logits.set(one, r * 2 * vocab);
      const draftProbs = new Float32Array(rows * vocab);
      for (let r = 0; r < rows; r++) draftProbs.set(q, r * vocab);
      return sampler.verify({
        logits,
        shape: [rows, 1, vocab],
        draftTokens: new Array(rows).fill(3),
        draftProbs,
        seed: seeds,
      });
    };
    const a = request(3, [1, 2, 3]);
    expect(request(3, [1, 2, 3])).toEqual(a);
    const alone = request(1, [3]);
    expect(alone.accepted[0]).toBe(a.accepted[2]);
    expect([...alone.tokens]).toEqual([...a.tokens.subarray(4, 6)]);
  });

  it('n = 0 is one plain sample', () => {
    const logits = gaussianLogits(20, 1, 5);
    const result = sampler.verify({
      logits,
      shape: [1, 0, 20],
      draftTokens: [],
      draftProbs: new Float32Array(0),
      seed: 4,
    });
    expect(result.accepted[0]).toBe(0);
    expect(result.tokens[0]).toBe(sampler.sample({ logits, seed: 4 }).tokens[0]);
  });

  it('bad rows are flagged (tokens -1, accepted -1) or thrown, naming the field and the row', () => {
    const vocab = 3;
    const logits = new Float32Array([1, 2, 3, 1, 2, 3, 1, Number.NaN, 3, 1, 2, 3]);
    const draftProbs = new Float32Array([1, 1, 1, 1, 1, 1]);
    const request = { logits, shape: [2, 1, vocab] as const, draftTokens: [0, 0], draftProbs, seed: 1 };
    const flagged = sampler.verify(request);
    expect([...flagged.status]).toEqual([RowStatus.sampled, RowStatus.invalidValues]);
    expect(flagged.accepted[1]).toBe(-1);
    expect([...flagged.tokens.subarray(2)]).toEqual([-1, -1]);
    expect(() => sampler.verify({ ...request, onInvalidRow: 'throw' })).toThrow(/row 1/);
    const badDraft = new Float32Array([1, 1, 1, 0, 0, 0]);
    expect(
      sampler.verify({ ...request, logits: logits.map((v) => v || 0), draftProbs: badDraft }).status[1],
    ).toBe(RowStatus.invalidValues);
    try {
      sampler.verify({
        ...request,
        logits: logits.map((v) => v || 0),
        draftProbs: badDraft,
        onInvalidRow: 'throw',
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SamplerInputError);
      expect((error as SamplerInputError).field).toBe('draftProbs');
      expect((error as SamplerInputError).row).toBe(1);
    }
  });
});
