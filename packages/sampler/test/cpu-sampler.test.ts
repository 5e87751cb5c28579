import { describe, expect, it } from 'vitest';
import { type ReferenceParams, referenceDistribution } from '../../../tooling/sampling-reference.js';
import { chiSquare, gaussianLogits } from '../../../tooling/statistics.js';
import { createSampler, RowStatus, type SampleRequest } from '../src/index.js';
import { HALF_TYPES, toHalf } from './half-inputs.js';
import { servingSemantics } from './serving-semantics.js';

const sampler = createSampler({ backend: 'cpu' });
const DRAWS = 100_000;
// Significance of every chi-square test below: a correct sampler fails one with probability 1e-3;
// the seeds are fixed, so the suite's outcome is deterministic.
const ALPHA = 1e-3;

function drawMany(logits: Float32Array, params: ReferenceParams & { seed?: number }) {
  return sampler.sample({ logits, samples: DRAWS, seed: params.seed ?? 1234, ...params }).tokens;
}

describe('distribution of draws (chi-square, 10^5 draws, α = 1e-3)', () => {
  const logits = gaussianLogits(64, 2, 7);
  const modes: Array<[string, ReferenceParams]> = [
    ['plain', {}],
    ['temperature 0.7', { temperature: 0.7 }],
    ['temperature 2.5', { temperature: 2.5 }],
    ['top-k 10', { topK: 10 }],
    ['top-p 0.8', { topP: 0.8 }],
    ['min-p 0.05', { minP: 0.05 }],
    ['top-k 20 + top-p 0.7, topKFirst', { topK: 20, topP: 0.7, filterOrder: 'topKFirst' }],
    ['top-k 20 + top-p 0.7, joint', { topK: 20, topP: 0.7, filterOrder: 'joint' }],
    ['top-k 5 + top-p 0.95, joint', { topK: 5, topP: 0.95, filterOrder: 'joint' }],
    ['everything, temperature 0.8', { temperature: 0.8, topK: 30, topP: 0.9, minP: 0.02 }],
  ];
  it.each(modes)('%s', (_name, params) => {
    const expected = referenceDistribution(logits, params);
    const result = chiSquare(drawMany(logits, params), expected, ALPHA);
    expect(result.outside).toBe(0);
    expect(result.statistic).toBeLessThan(result.critical);
  });

  it('top-k+top-p orders differ where they should', () => {
    const a = referenceDistribution(logits, { topK: 20, topP: 0.7, filterOrder: 'topKFirst' });
    const b = referenceDistribution(logits, { topK: 20, topP: 0.7, filterOrder: 'joint' });
    const keptA = a.filter((p) => p > 0).length;
    const keptB = b.filter((p) => p > 0).length;
    expect(keptA).toBeLessThan(keptB);
  });

  it('probabilities as input give the distribution they describe', () => {
    const probs = new Float32Array([0.1, 0.4, 0, 0.2, 0.3]);
    const draws = sampler.sample({ probs, samples: DRAWS, seed: 5 }).tokens;
    const result = chiSquare(draws, [0.1, 0.4, 0, 0.2, 0.3], ALPHA);
    expect(result.outside).toBe(0);
    expect(result.statistic).toBeLessThan(result.critical);
  });

  it('probabilities with top-p and temperature follow p^(1/T) filtered', () => {
    const probs = new Float32Array([0.05, 0.4, 0.15, 0.1, 0.3]);
    const logitsOfProbs = new Float32Array(Array.from(probs, Math.log));
    const expected = referenceDistribution(logitsOfProbs, { temperature: 0.5, topP: 0.8 });
    const draws = sampler.sample({ probs, temperature: 0.5, topP: 0.8, samples: DRAWS, seed: 6 }).tokens;
    const result = chiSquare(draws, expected, ALPHA);
    expect(result.outside).toBe(0);
    expect(result.statistic).toBeLessThan(result.critical);
  });

  it('logit bias and penalties shift the distribution as vLLM defines them', () => {
    const base = gaussianLogits(16, 1.5, 11);
    const prompt = [1, 2, 2];
    const output = [2, 3, 3, 3, 4];
    const adjusted = Float32Array.from(base);
    adjusted[0]! += 2; // bias
    adjusted[5]! += -1.5;
    for (const t of [1, 2, 3, 4]) adjusted[t] = adjusted[t]! > 0 ? adjusted[t]! / 1.3 : adjusted[t]! * 1.3;
    const counts = new Map<number, number>();
    for (const t of output) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, c] of counts) adjusted[t] = adjusted[t]! - 0.4 * c - 0.6;
    const expected = referenceDistribution(adjusted, { temperature: 0.9 });
    const draws = sampler.sample({
      logits: base,
      temperature: 0.9,
      logitBias: new Map([
        [0, 2],
        [5, -1.5],
      ]),
      repetitionPenalty: 1.3,
      frequencyPenalty: 0.4,
      presencePenalty: 0.6,
      promptTokens: prompt,
      outputTokens: output,
      samples: DRAWS,
      seed: 8,
    }).tokens;
    const result = chiSquare(draws, expected, ALPHA);
    expect(result.outside).toBe(0);
    expect(result.statistic).toBeLessThan(result.critical);
    // The input itself is never modified.
    expect([...base]).toEqual([...gaussianLogits(16, 1.5, 11)]);
  });

  it('a large vocabulary with ties at the top-k threshold keeps every tie', () => {
    const x = new Float32Array(1000).fill(-5);
    x.fill(1, 100, 110); // ten tokens tied at the top
    const tokens = sampler.sample({ logits: x, topK: 3, samples: 20_000, seed: 3 }).tokens;
    const seen = new Set(tokens);
    expect([...seen].sort((a, b) => a - b)).toEqual([100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  });
});

describe('edge cases', () => {
  const logits = gaussianLogits(100, 3, 21);
  const argmax = logits.indexOf(Math.max(...logits));

  it('k = 1 and temperature 0 are the argmax', () => {
    expect([...sampler.sample({ logits, topK: 1, samples: 50 }).tokens]).toEqual(new Array(50).fill(argmax));
    expect(sampler.sample({ logits, temperature: 0 }).tokens[0]).toBe(argmax);
  });

  it('greedy ties resolve to the lowest index', () => {
    const x = new Float32Array([0, 3, 1, 3, 3]);
    expect(sampler.sample({ logits: x, temperature: 0 }).tokens[0]).toBe(1);
    expect(sampler.sample({ probs: new Float32Array([0.2, 0.4, 0.4]), temperature: 0 }).tokens[0]).toBe(1);
  });

  it('k ≥ vocab and p = 1 are off', () => {
    const off = sampler.sample({ logits, samples: 1000, seed: 9 }).tokens;
    expect([...sampler.sample({ logits, topK: 100, samples: 1000, seed: 9 }).tokens]).toEqual([...off]);
    expect([...sampler.sample({ logits, topK: 1e9, topP: 1, samples: 1000, seed: 9 }).tokens]).toEqual([
      ...off,
    ]);
  });

  it('a tiny p keeps only the most probable token', () => {
    expect(new Set(sampler.sample({ logits, topP: 1e-9, samples: 1000 }).tokens)).toEqual(new Set([argmax]));
  });

  it('a tiny temperature is the argmax without overflow', () => {
    expect(new Set(sampler.sample({ logits, temperature: 1e-30, samples: 100 }).tokens)).toEqual(
      new Set([argmax]),
    );
  });

  it('one-hot and uniform rows', () => {
    const oneHot = new Float32Array(50).fill(Number.NEGATIVE_INFINITY);
    oneHot[17] = 0;
    expect(new Set(sampler.sample({ logits: oneHot, samples: 100 }).tokens)).toEqual(new Set([17]));
    const uniform = new Float32Array(10);
    const result = chiSquare(
      sampler.sample({ logits: uniform, samples: DRAWS, seed: 2 }).tokens,
      new Array(10).fill(0.1),
      ALPHA,
    );
    expect(result.statistic).toBeLessThan(result.critical);
  });

  it('huge and tiny logits do not overflow', () => {
    const x = new Float32Array([3e38, -3e38, 3e38 - 1e33, 1e-40]);
    const tokens = sampler.sample({ logits: x, samples: 1000 }).tokens;
    for (const t of tokens) expect(t === 0 || t === 2).toBe(true);
  });

  it('vocab 1', () => {
    expect(sampler.sample({ logits: new Float32Array([0.3]), topP: 0.5, topK: 1, minP: 1 }).tokens[0]).toBe(
      0,
    );
  });

  it('+Infinity logits: uniform over the +Infinity tokens, whatever the filters', () => {
    const x = new Float32Array([1, Number.POSITIVE_INFINITY, 2, Number.POSITIVE_INFINITY, 3]);
    const tokens = sampler.sample({ logits: x, samples: 10_000, topP: 0.1, seed: 4 }).tokens;
    const ones = tokens.filter((t) => t === 1).length;
    expect(new Set(tokens)).toEqual(new Set([1, 3]));
    expect(Math.abs(ones - 5000)).toBeLessThan(300);
    expect(sampler.sample({ logits: x, temperature: 0 }).tokens[0]).toBe(1);
  });

  it('all -Infinity rows are reported per row and never produce a token', () => {
    const x = new Float32Array([0, 1, 2, ...new Array(3).fill(Number.NEGATIVE_INFINITY), 5, 4, 3]);
    const result = sampler.sample({ logits: x, shape: [3, 3], samples: 2 });
    expect([...result.valid]).toEqual([1, 0, 1]);
    expect([...result.tokens.subarray(2, 4)]).toEqual([-1, -1]);
    const zeros = sampler.sample({ probs: new Float32Array(4) });
    expect(zeros.valid[0]).toBe(0);
    expect(zeros.tokens[0]).toBe(-1);
  });

  it('vocab 262144: every filter works and no token leaves [0, vocab)', () => {
    const big = gaussianLogits(262_144, 3, 5);
    const result = sampler.sample({
      logits: big,
      shape: [2, 131_072],
      topK: 50,
      topP: 0.9,
      samples: 200,
      seed: 1,
    });
    for (const t of result.tokens) expect(t >= 0 && t < 131_072).toBe(true);
    const single = sampler.sample({ logits: big, minP: 0.1, samples: 200 });
    const threshold = big.reduce((m, v) => Math.max(m, v), Number.NEGATIVE_INFINITY) + Math.log(0.1);
    for (const t of single.tokens) expect(big[t]!).toBeGreaterThanOrEqual(threshold - 1e-5);
  });
});

describe('determinism and batch invariance', () => {
  const rows = 8;
  const vocab = 300;
  const batch = gaussianLogits(rows * vocab, 2, 99);
  const params = { topK: 40, topP: 0.9, temperature: 0.9, samples: 4 };

  it('the same seed gives the same tokens; another seed or step gives others', () => {
    const a = sampler.sample({ logits: batch, shape: [rows, vocab], seed: 77, ...params }).tokens;
    const b = sampler.sample({ logits: batch, shape: [rows, vocab], seed: 77, ...params }).tokens;
    const c = sampler.sample({ logits: batch, shape: [rows, vocab], seed: 78, ...params }).tokens;
    const d = sampler.sample({ logits: batch, shape: [rows, vocab], seed: 77, step: 1, ...params }).tokens;
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
    expect([...a]).not.toEqual([...d]);
  });

  it("a row's token does not depend on its batch position when its stream and seed travel with it", () => {
    const seeds = [11, 12, 13, 14, 15, 16, 17, 18];
    const streams = [900, 901, 902, 903, 904, 905, 906, 907];
    const full = sampler.sample({
      logits: batch,
      shape: [rows, vocab],
      seed: seeds,
      stream: streams,
      ...params,
    });
    // Row 5 alone, and row 5 moved to the front of a reversed batch.
    const row5 = batch.slice(5 * vocab, 6 * vocab);
    const alone = sampler.sample({ logits: row5, seed: 16, stream: 905, ...params });
    expect([...alone.tokens]).toEqual([...full.tokens.subarray(20, 24)]);
    const reversed = new Float32Array(rows * vocab);
    for (let r = 0; r < rows; r++)
      reversed.set(batch.subarray(r * vocab, (r + 1) * vocab), (rows - 1 - r) * vocab);
    const moved = sampler.sample({
      logits: reversed,
      shape: [rows, vocab],
      seed: [...seeds].reverse(),
      stream: [...streams].reverse(),
      ...params,
    });
    for (let r = 0; r < rows; r++) {
      expect([...moved.tokens.subarray((rows - 1 - r) * 4, (rows - r) * 4)]).toEqual([
        ...full.tokens.subarray(r * 4, (r + 1) * 4),
      ]);
    }
  });
});

describe('serving semantics (per-row seeds, flagged rows, log-probability limits)', () => {
  servingSemantics(() => sampler, { vocab: 2000, exactAcrossBatchSizes: true });
});

describe('log-probabilities', () => {
  const logits = new Float32Array([2, 1, 0.5, -1, 3]);

  it('raw: the log-softmax of the input, for the sampled token and the top n', () => {
    const result = sampler.sample({ logits, logprobs: 3, seed: 1, topK: 2, temperature: 0.5 });
    const z = Math.log([...logits].reduce((s, v) => s + Math.exp(v), 0));
    const token = result.tokens[0]!;
    expect(result.logprobs![0]).toBeCloseTo(logits[token]! - z, 5);
    expect([...result.topLogprobs!.tokens]).toEqual([4, 0, 1]);
    expect(result.topLogprobs!.logprobs[2]).toBeCloseTo(1 - z, 5);
  });

  it('processed: the distribution actually sampled, -Infinity past the kept set', () => {
    const result = sampler.sample({
      logits,
      logprobs: 3,
      logprobsMode: 'processed',
      topK: 2,
      temperature: 0.5,
      seed: 2,
    });
    const p4 = Math.exp(3 / 0.5) / (Math.exp(3 / 0.5) + Math.exp(2 / 0.5));
    expect([...result.topLogprobs!.tokens]).toEqual([4, 0, -1]);
    expect(result.topLogprobs!.logprobs[0]).toBeCloseTo(Math.log(p4), 5);
    expect(result.topLogprobs!.logprobs[2]).toBe(Number.NEGATIVE_INFINITY);
    const greedy = sampler.sample({ logits, logprobs: 2, logprobsMode: 'processed', temperature: 0 });
    expect(greedy.logprobs![0]).toBe(0);
  });
});

describe('resources', () => {
  it('dispose makes the sampler unusable with a typed error', () => {
    const s = createSampler({ backend: 'cpu' });
    s.dispose();
    expect(() => s.sample({ logits: new Float32Array([1]) })).toThrow(/disposed/);
  });
});

describe('pinHostMemory on the CPU', () => {
  it('checks the array and returns a handle that does nothing', () => {
    const sampler = createSampler({ backend: 'cpu' });
    const logits = new Float32Array([1, 2, 3]);
    using pin = sampler.pinHostMemory(logits);
    pin.dispose();
    expect(sampler.sample({ logits, seed: 1 }).tokens[0]).toBeLessThan(3);
    expect(() => sampler.pinHostMemory(new Float32Array(0))).toThrow(
      expect.objectContaining({ code: 'ERR_SAMPLER_INPUT', field: 'array' }),
    );
    expect(() => sampler.pinHostMemory(new Float64Array(3) as never)).toThrow(/array/);
    sampler.dispose();
    expect(() => sampler.pinHostMemory(logits)).toThrow(/disposed/);
  });
});

describe.each(HALF_TYPES)('%s input', (dtype) => {
  // Gaussian logits rounded to the half type: the bits and their exact float32 values.
  const batch = 12;
  const vocab = 3000;
  const { bits, widened } = toHalf(gaussianLogits(batch * vocab, 2.5, 21), dtype);
  const rowParams: Omit<SampleRequest, 'logits'> = {
    shape: [batch, vocab],
    temperature: [1, 0.7, 0, 1.3, 1, 1, 0.9, 1, 2, 0.5, 1, 1],
    topK: [0, 40, 0, 0, 5, 0, 100, 0, 0, 20, 1, 0],
    topP: [1, 1, 1, 0.9, 1, 0.5, 0.8, 1, 0.95, 0.7, 1, 1],
    minP: [0, 0, 0, 0, 0, 0, 0.05, 0.1, 0, 0, 0, 0.02],
    seed: 77,
    samples: 3,
  };

  it.each([
    ['per-row modes', {}],
    ['joint order with raw log-probabilities and top 5', { filterOrder: 'joint', logprobs: 5 }],
    ['processed log-probabilities and top 3', { logprobs: 3, logprobsMode: 'processed' }],
    [
      'bias and penalties',
      {
        logitBias: { 7: 3, 11: Number.NEGATIVE_INFINITY },
        repetitionPenalty: 1.2,
        frequencyPenalty: 0.3,
        presencePenalty: 0.4,
        outputTokens: Array.from({ length: batch }, (_, r) => [r, r + 1, 42, 42]),
        logprobs: 2,
      },
    ],
  ] as Array<
    [string, Partial<SampleRequest>]
  >)('gives exactly the tokens and log-probabilities of its values widened to float32: %s', (_name, extra) => {
    const half = sampler.sample({ logits: bits, dtype, ...rowParams, ...extra });
    const float32 = sampler.sample({ logits: widened, ...rowParams, ...extra });
    expect(half).toEqual(float32);
    expect([...half.status]).toEqual(new Array(batch).fill(RowStatus.sampled));
  });

  it('probabilities: the same tokens as their float32 values', () => {
    const { bits: p, widened: pw } = toHalf(
      Float32Array.from(widened, (x) => Math.exp(x / 4)),
      dtype,
    );
    const params = { ...rowParams, logprobs: 2 };
    expect(sampler.sample({ probs: p, dtype, ...params })).toEqual(sampler.sample({ probs: pw, ...params }));
  });

  it('NaN and all -Infinity rows are reported as for float32', () => {
    const row = (fill: number) => toHalf(new Float32Array(8).fill(fill), dtype).bits;
    const rows = new Uint16Array(24);
    rows.set(row(Number.NaN), 0);
    rows.set(row(Number.NEGATIVE_INFINITY), 8);
    rows.set(toHalf(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]), dtype).bits, 16);
    const result = sampler.sample({ logits: rows, dtype, shape: [3, 8], temperature: 0 });
    expect([...result.status]).toEqual([
      RowStatus.invalidValues,
      RowStatus.nothingToSample,
      RowStatus.sampled,
    ]);
    expect([...result.tokens]).toEqual([-1, -1, 7]);
  });

  it('draws follow the softmax of its values (chi-square, 10^5 draws, α = 1e-3)', () => {
    const { bits: row, widened: values } = toHalf(gaussianLogits(64, 2, 7), dtype);
    for (const params of [
      {},
      { temperature: 0.7, topK: 20, topP: 0.8 },
      { minP: 0.05 },
    ] as ReferenceParams[]) {
      const draws = sampler.sample({ logits: row, dtype, samples: DRAWS, seed: 4321, ...params }).tokens;
      const result = chiSquare(draws, referenceDistribution(values, params), ALPHA);
      expect(result.outside).toBe(0);
      expect(result.statistic).toBeLessThan(result.critical);
    }
  });
});
