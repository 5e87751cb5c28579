// The serving guarantees of docs/GPU_SAMPLER.md "Semantics" as one list of tests, run against
// every backend: the CPU (cpu-sampler.test.ts, in CI), one GPU (gpu-sampler.gpu.test.ts) and
// several (multi-gpu-sampler.gpu.test.ts). A per-row seed makes a row's tokens independent of its
// position; a bad row is flagged and costs the other rows nothing; log-probabilities and bias
// have their limits at ±Infinity and at huge finite values.
import { expect, it } from 'vitest';
import { gaussianLogits, mulberry32 } from '../../../tooling/statistics.js';
import {
  MAX_TOP_LOGPROBS,
  RowStatus,
  type SampleRequest,
  type SampleResult,
  type Sampler,
  SamplerInputError,
} from '../src/index.js';

export interface ServingSemanticsOptions {
  /** Elements per row of the random batches. */
  vocab: number;
  /**
   * Whether a row must give bit for bit the same result in batches of other sizes (alone, or with
   * the bad rows removed): true on the CPU. The GPU splits the rows of small batches over more
   * blocks, whose sums round differently, so there the comparisons keep the batch's shape.
   */
  exactAcrossBatchSizes: boolean;
}

const generator = mulberry32;

const pick = <T>(next: () => number, values: readonly T[]): T => values[Math.floor(next() * values.length)]!;

/** One request per row: its logits and its parameters. */
interface RowRequest {
  logits: Float32Array;
  seed: bigint;
  step: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
}

function randomRow(next: () => number, vocab: number): RowRequest {
  return {
    logits: gaussianLogits(vocab, 3, Math.floor(next() * 2 ** 31)),
    seed: BigInt(Math.floor(next() * 2 ** 32)) * 2n ** 20n + BigInt(Math.floor(next() * 2 ** 20)),
    step: Math.floor(next() * 1000),
    temperature: pick(next, [0, 0.7, 1, 1.3]),
    topK: pick(next, [0, 1, 20, 100]),
    topP: pick(next, [1, 0.9, 0.5]),
    minP: pick(next, [0, 0.05]),
  };
}

/** The batch of `rows` as one request with per-row parameters (and no `stream`). */
function batchOf(
  rows: readonly RowRequest[],
  vocab: number,
  extra: Partial<SampleRequest> = {},
): SampleRequest {
  const logits = new Float32Array(rows.length * vocab);
  for (const [i, r] of rows.entries()) logits.set(r.logits, i * vocab);
  return {
    logits,
    shape: [rows.length, vocab],
    seed: rows.map((r) => r.seed),
    step: rows.map((r) => r.step),
    temperature: rows.map((r) => r.temperature),
    topK: rows.map((r) => r.topK),
    topP: rows.map((r) => r.topP),
    minP: rows.map((r) => r.minP),
    ...extra,
  };
}

/** Row `row` of a result: its tokens, status and log-probabilities (top-n included). */
function rowOf(result: SampleResult, row: number) {
  const { samples } = result;
  const n = result.topLogprobs?.n ?? 0;
  return {
    status: result.status[row],
    valid: result.valid[row],
    tokens: [...result.tokens.subarray(row * samples, (row + 1) * samples)],
    logprobs: result.logprobs && [...result.logprobs.subarray(row * samples, (row + 1) * samples)],
    topTokens: result.topLogprobs && [...result.topLogprobs.tokens.subarray(row * n, (row + 1) * n)],
    topLogprobs: result.topLogprobs && [...result.topLogprobs.logprobs.subarray(row * n, (row + 1) * n)],
  };
}

function errorOf(run: () => unknown): SamplerInputError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(SamplerInputError);
    return error as SamplerInputError;
  }
  throw new Error('expected a SamplerInputError');
}

/** Registers the serving-semantics tests for the sampler `get()` returns (called inside a suite). */
export function servingSemantics(get: () => Sampler, options: ServingSemanticsOptions): void {
  const { vocab, exactAcrossBatchSizes } = options;

  it('per-row seeds: the same request gives the same tokens at every row position of a random batch', async () => {
    const next = generator(20);
    const batch = 8;
    for (let trial = 0; trial < 3; trial++) {
      const target = randomRow(next, vocab);
      target.temperature = pick(next, [0.7, 1, 1.3]);
      const extra: Partial<SampleRequest> = {
        samples: 3,
        logprobs: 2,
        logprobsMode: pick(next, ['raw', 'processed'] as const),
      };
      const seen: ReturnType<typeof rowOf>[] = [];
      for (let position = 0; position < batch; position++) {
        const rows = Array.from({ length: batch }, () => randomRow(next, vocab));
        rows[position] = target;
        const result = get().sample(batchOf(rows, vocab, extra));
        seen.push(rowOf(result, position));
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(seen[0]!.status).toBe(RowStatus.sampled);
      for (const s of seen) expect(s).toEqual(seen[0]);
      if (exactAcrossBatchSizes) {
        expect(rowOf(get().sample(batchOf([target], vocab, extra)), 0)).toEqual(seen[0]);
      }
    }
  });

  it('one seed for the batch keeps a stream per row: identical rows draw differently', () => {
    const row = gaussianLogits(vocab, 0.1, 3);
    const logits = new Float32Array(4 * vocab);
    for (let r = 0; r < 4; r++) logits.set(row, r * vocab);
    const { tokens } = get().sample({ logits, shape: [4, vocab], seed: 7, samples: 8 });
    expect([...tokens.subarray(0, 8)]).not.toEqual([...tokens.subarray(8, 16)]);
    const perRow = get().sample({ logits, shape: [4, vocab], seed: [7, 7, 7, 7], samples: 8 }).tokens;
    expect([...perRow.subarray(0, 8)]).toEqual([...perRow.subarray(24, 32)]);
  });

  it.each([
    'raw',
    'processed',
  ] as const)('bad rows at random positions are flagged; every other row is sampled bit for bit as without them (%s log-probabilities)', async (mode) => {
    const next = generator(mode === 'raw' ? 31 : 32);
    const batch = 12;
    for (let trial = 0; trial < 3; trial++) {
      const rows = Array.from({ length: batch }, () => randomRow(next, vocab));
      const positions = new Set<number>();
      while (positions.size < 4) positions.add(Math.floor(next() * batch));
      const [allInfinite, ...withNaN] = [...positions];
      const bad = rows.map((r) => ({ ...r, logits: r.logits.slice() }));
      bad[allInfinite!]!.logits.fill(Number.NEGATIVE_INFINITY);
      for (const [i, p] of withNaN.entries()) {
        const x = bad[p]!.logits;
        if (i === 0) x.fill(Number.NaN);
        else x[Math.floor(next() * vocab)] = Number.NaN;
      }
      const extra: Partial<SampleRequest> = { samples: 2, logprobs: 3, logprobsMode: mode };
      const flagged = get().sample(batchOf(bad, vocab, extra));
      const clean = get().sample(batchOf(rows, vocab, extra));
      const kept = [...Array(batch).keys()].filter((r) => !positions.has(r));
      const without = exactAcrossBatchSizes
        ? get().sample(
            batchOf(
              kept.map((r) => rows[r]!),
              vocab,
              extra,
            ),
          )
        : undefined;
      for (let r = 0; r < batch; r++) {
        const got = rowOf(flagged, r);
        expect(got.valid).toBe(got.status === RowStatus.sampled ? 1 : 0);
        if (positions.has(r)) {
          expect(got).toEqual({
            status: r === allInfinite ? RowStatus.nothingToSample : RowStatus.invalidValues,
            valid: 0,
            tokens: [-1, -1],
            logprobs: [Number.NaN, Number.NaN],
            topTokens: [-1, -1, -1],
            topLogprobs: [Number.NaN, Number.NaN, Number.NaN],
          });
        } else {
          expect(got).toEqual(rowOf(clean, r));
          expect(got.status).toBe(RowStatus.sampled);
          if (without) expect(got).toEqual(rowOf(without, kept.indexOf(r)));
        }
      }
      const firstNaN = Math.min(...withNaN);
      const error = errorOf(() => get().sample(batchOf(bad, vocab, { ...extra, onInvalidRow: 'throw' })));
      expect([error.field, error.row]).toEqual(['logits', firstNaN]);
      await new Promise((resolve) => setImmediate(resolve));
    }
  });

  it('invalid probabilities are flagged per row too', () => {
    const probs = new Float32Array([0.2, 0.8, 0.5, -0.1, 0, 0, 0.5, Number.POSITIVE_INFINITY, 0.3, 0.7]);
    const result = get().sample({ probs, shape: [5, 2], seed: [1, 2, 3, 4, 5] });
    expect([...result.status]).toEqual([
      RowStatus.sampled,
      RowStatus.invalidValues,
      RowStatus.nothingToSample,
      RowStatus.invalidValues,
      RowStatus.sampled,
    ]);
    expect([...result.valid]).toEqual([1, 0, 0, 0, 1]);
    expect([...result.tokens.subarray(1, 4)]).toEqual([-1, -1, -1]);
    const error = errorOf(() => get().sample({ probs, shape: [5, 2], onInvalidRow: 'throw' }));
    expect([error.field, error.row]).toEqual(['probs', 1]);
  });

  it('raw log-probabilities with +Infinity logits are their softmax limit', () => {
    const one = get().sample({ logits: Float32Array.of(Number.POSITIVE_INFINITY, 0), logprobs: 1 });
    expect([
      one.tokens[0],
      one.logprobs![0],
      one.topLogprobs!.tokens[0],
      one.topLogprobs!.logprobs[0],
    ]).toEqual([0, 0, 0, 0]);
    const inf = Number.POSITIVE_INFINITY;
    const two = get().sample({ logits: Float32Array.of(inf, 5, inf, 0), logprobs: 4, samples: 8, seed: 3 });
    for (const t of two.tokens) expect([0, 2]).toContain(t);
    for (const l of two.logprobs!) expect(l).toBeCloseTo(-Math.LN2, 6);
    expect([...two.topLogprobs!.tokens]).toEqual([0, 2, 1, 3]);
    const top = [...two.topLogprobs!.logprobs];
    expect(top[0]).toBeCloseTo(-Math.LN2, 6);
    expect(top[1]).toBeCloseTo(-Math.LN2, 6);
    expect(top.slice(2)).toEqual([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY]);
  });

  it('raw log-probabilities of huge finite logits do not overflow the normaliser', () => {
    const huge = get().sample({ logits: Float32Array.of(3e38, 3e38, 0), logprobs: 3, samples: 4, seed: 1 });
    for (const l of huge.logprobs!) expect(l).toBeCloseTo(-Math.LN2, 6);
    expect([...huge.topLogprobs!.tokens]).toEqual([0, 1, 2]);
    expect(huge.topLogprobs!.logprobs[1]).toBeCloseTo(-Math.LN2, 6);
    expect(huge.topLogprobs!.logprobs[2]).toBe(Math.fround(-3e38));
    // 1e6 + log Σ exp(x − max) would keep only ~0.06 of precision in float32.
    const large = get().sample({ logits: Float32Array.of(1e6, 1e6 - 1), logprobs: 2, temperature: 0 });
    const logSum = Math.log1p(Math.exp(-1));
    expect(large.topLogprobs!.logprobs[0]).toBeCloseTo(-logSum, 5);
    expect(large.topLogprobs!.logprobs[1]).toBeCloseTo(-1 - logSum, 5);
    const probs = get().sample({ probs: Float32Array.of(0.2, 0.6, 0), logprobs: 3, temperature: 0 });
    expect(probs.topLogprobs!.logprobs[0]).toBeCloseTo(Math.log(0.75), 6);
    expect(probs.topLogprobs!.logprobs[1]).toBeCloseTo(Math.log(0.25), 6);
    expect(probs.topLogprobs!.logprobs[2]).toBe(Number.NEGATIVE_INFINITY);
  });

  it('a -Infinity logit bias bans the token, even one whose logit is +Infinity', () => {
    const inf = Number.POSITIVE_INFINITY;
    const banned = get().sample({
      logits: Float32Array.of(inf, 1, 2),
      logitBias: { 0: -inf },
      samples: 200,
      seed: 2,
    });
    expect(banned.status[0]).toBe(RowStatus.sampled);
    expect(new Set(banned.tokens)).toEqual(new Set([1, 2]));
    const oneLeft = get().sample({
      logits: Float32Array.of(inf, inf, 0),
      logitBias: { 1: -inf },
      samples: 50,
      logprobs: true,
      logprobsMode: 'processed',
    });
    expect(new Set(oneLeft.tokens)).toEqual(new Set([0]));
    expect(oneLeft.logprobs![0]).toBe(0);
    const greedy = get().sample({
      logits: Float32Array.of(inf, 3, 2),
      logitBias: { 0: -inf },
      temperature: 0,
    });
    expect(greedy.tokens[0]).toBe(1);
    const none = get().sample({
      logits: Float32Array.of(inf, Number.NEGATIVE_INFINITY),
      logitBias: { 0: -inf },
    });
    expect([none.status[0], none.tokens[0]]).toEqual([RowStatus.nothingToSample, -1]);
  });

  it('rejects unknown request fields, naming them', () => {
    const logits = gaussianLogits(vocab, 2, 4);
    for (const [field, near] of [
      ['topk', 'topK'],
      ['top_p', 'topP'],
      ['temprature', undefined],
    ] as const) {
      const error = errorOf(() => get().sample({ logits, [field]: 0.5 } as SampleRequest));
      expect(error.field).toBe(field);
      if (near) expect(error.message).toContain(`did you mean ${near}?`);
    }
  });

  it(`top-n log-probabilities stop at n = ${MAX_TOP_LOGPROBS}, with one error`, () => {
    const logits = gaussianLogits(Math.max(vocab, 2 * MAX_TOP_LOGPROBS), 2, 5);
    const most = get().sample({ logits, logprobs: MAX_TOP_LOGPROBS, seed: 1 });
    expect(most.topLogprobs!.n).toBe(MAX_TOP_LOGPROBS);
    expect(most.topLogprobs!.tokens[MAX_TOP_LOGPROBS - 1]).toBeGreaterThanOrEqual(0);
    const error = errorOf(() => get().sample({ logits, logprobs: MAX_TOP_LOGPROBS + 1 }));
    expect(error.field).toBe('logprobs');
    expect(error.message).toContain(`[0, ${MAX_TOP_LOGPROBS}]`);
  });
}
