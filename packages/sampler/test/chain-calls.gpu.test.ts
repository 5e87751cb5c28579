import { probe } from '@rocmforge/hip-runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agreementShare, gpuSuite } from '../../../tooling/gpu-test.js';
import { type ChainReferenceParams, chainReference } from '../../../tooling/sampling-reference.js';
import { chiSquare, gaussianLogits, mulberry32 } from '../../../tooling/statistics.js';
import {
  createSampler,
  type DistributionResult,
  RowStatus,
  type SampleRequest,
  type Sampler,
  type VerifyRequest,
} from '../src/index.js';
import { halfBitsOf } from './half-inputs.js';

// The filter chain on the GPU (kernels/methods.hip through gpu/chain-calls.ts and the sample
// path): typical-p, top-n-sigma and XTC draw the CPU's tokens; filteredProbs and maskedLogits
// give the CPU's rows; verify gives the CPU's accepted counts and tokens; and the draws follow
// an independent reference (chi-square).

const ALPHA = 1e-3;

gpuSuite(probe)('GPU filter chain', () => {
  let gpu: Sampler;
  const cpu = createSampler({ backend: 'cpu' });
  beforeAll(() => {
    gpu = createSampler({ backend: 'gpu' });
  });
  afterAll(() => gpu.dispose());

  const modes: Array<[string, Partial<SampleRequest>]> = [
    ['typical-p 0.9', { typicalP: 0.9 }],
    ['top-n-sigma 1', { topNSigma: 1 }],
    ['XTC 0.5 above 0.05', { xtcProbability: 0.5, xtcThreshold: 0.05 }],
    [
      'top-k 50 + top-p 0.9 + typical-p 0.8 + XTC 1 above 0.02, T 0.8',
      { topK: 50, topP: 0.9, typicalP: 0.8, xtcProbability: 1, xtcThreshold: 0.02, temperature: 0.8 },
    ],
    [
      'top-n-sigma 2 + top-p 0.9 joint + min-p 0.01, T 1.3',
      {
        topNSigma: 2,
        topP: 0.9,
        filterOrder: 'joint',
        minP: 0.01,
        temperature: 1.3,
      },
    ],
  ];
  const cases: Array<[number, 'float32' | 'bfloat16', Array<[string, Partial<SampleRequest>]>]> = [
    [32_000, 'float32', modes],
    [151_936, 'float32', modes],
    [32_000, 'bfloat16', modes.slice(0, 1)],
  ];
  // Every case, or this process's share of them (ROCMFORGE_AGREEMENT_SHARD).
  const share = agreementShare(
    cases.flatMap(([vocab, dtype, list]) => list.map(([name]) => `${vocab} ${dtype} ${name}`)),
  );
  for (const [vocab, dtype, list] of cases) {
    // 10^4 rows per mode: ten batches of 1000 rows (rotations of one pool), each its own step.
    let pool: Float32Array | Uint16Array | undefined;
    const mine = list.filter(([name]) => share.includes(`${vocab} ${dtype} ${name}`));
    if (mine.length === 0) continue;
    it.each(
      mine,
    )(`agrees with the CPU token for token on 10^4 rows at vocab ${vocab}, ${dtype}: %s`, async (name, mode) => {
      if (!pool) {
        const values = gaussianLogits(1100 * vocab, 3, vocab);
        pool = dtype === 'float32' ? values : halfBitsOf(values, dtype);
      }
      const rows = 10_000;
      const chunk = 1000;
      let agree = 0;
      for (let start = 0; start < rows; start += chunk) {
        const offset = (start / chunk) * 10 * vocab;
        const request: SampleRequest = {
          logits: pool.subarray(offset, offset + chunk * vocab),
          ...(dtype === 'float32' ? {} : { dtype }),
          shape: [chunk, vocab],
          seed: 1234,
          step: start,
          stream: Uint32Array.from({ length: chunk }, (_, r) => start + r),
          ...mode,
        };
        const b = cpu.sample(request).tokens;
        const a = gpu.sample(request).tokens;
        for (let r = 0; r < chunk; r++) if (a[r] === b[r]) agree++;
        await new Promise((resolve) => setImmediate(resolve));
      }
      const rate = agree / rows;
      console.log(`agreement ${name} @ ${vocab} ${dtype}: ${(rate * 100).toFixed(3)}% of ${rows} rows`);
      expect(rate).toBeGreaterThanOrEqual(0.999);
    });
  }

  describe('filteredProbs and maskedLogits', () => {
    /** Per-row parameters that cover every filter, greedy and +Infinity rows, and bad rows. */
    function mixedRequest(batch: number, vocab: number): SampleRequest {
      const logits = gaussianLogits(batch * vocab, 3, vocab + 7);
      logits.fill(Number.NEGATIVE_INFINITY, 3 * vocab, 4 * vocab); // nothing to sample
      logits[5 * vocab + 17] = Number.NaN; // invalid values
      logits[6 * vocab + 3] = Number.POSITIVE_INFINITY; // the softmax limit
      logits[6 * vocab + 9] = Number.POSITIVE_INFINITY;
      const pick = <T>(list: T[]) => Array.from({ length: batch }, (_, r) => list[r % list.length]!);
      return {
        logits,
        shape: [batch, vocab],
        seed: Array.from({ length: batch }, (_, r) => 100 + r),
        temperature: pick([1, 0.7, 0, 1.4, 1, 0.9, 1]),
        topK: pick([0, 50, 0, 0, 1000, 0, 20, 0]),
        topP: pick([1, 0.9, 1, 0.95, 1, 0.8, 1]),
        minP: pick([0, 0, 0.05, 0, 0, 0, 0.02, 0, 0]),
        typicalP: pick([0.9, 1, 0.5, 0.95, 1, 0.7]),
        topNSigma: pick([0, 1.5, 0, 3, 0, 0, 0, 1]),
        xtcProbability: pick([0, 1, 0.5, 0, 1]),
        xtcThreshold: pick([0.1, 0.02, 0.05]),
      };
    }

    /** The kept tokens of a distribution row (probability > 0, or a logit above -Infinity). */
    const keptOf = (row: Float32Array, probs: boolean) =>
      [...row.keys()].filter((i) => (probs ? row[i]! > 0 : row[i]! > Number.NEGATIVE_INFINITY)).join(',');

    function compare(a: DistributionResult, b: DistributionResult, probs: boolean) {
      expect([...a.status]).toEqual([...b.status]);
      expect([...a.valid]).toEqual([...b.valid]);
      const { batch, vocab } = b;
      let sameSet = 0;
      let worst = 0;
      for (let r = 0; r < batch; r++) {
        const x = a.values.subarray(r * vocab, (r + 1) * vocab);
        const y = b.values.subarray(r * vocab, (r + 1) * vocab);
        if (b.status[r] !== RowStatus.sampled) {
          expect(x.every(Number.isNaN), `row ${r}`).toBe(true);
          sameSet++;
          continue;
        }
        if (keptOf(x, probs) !== keptOf(y, probs)) continue;
        sameSet++;
        for (let i = 0; i < vocab; i++) {
          if (x[i] === y[i]) continue;
          // Relative error, with an absolute floor for probabilities near float32's smallest.
          worst = Math.max(worst, Math.abs(x[i]! - y[i]!) / Math.max(Math.abs(y[i]!), probs ? 1e-30 : 1));
        }
      }
      return { sameSet, worst };
    }

    it.each([
      [32_000, 210],
      [151_936, 70],
    ])('at vocab %i: the CPU’s rows (kept sets, probabilities within 2e-5, logits within 1e-6)', (vocab, batch) => {
      const request = mixedRequest(batch, vocab);
      for (const [probs, a, b] of [
        [true, gpu.filteredProbs(request), cpu.filteredProbs(request)],
        [false, gpu.maskedLogits(request), cpu.maskedLogits(request)],
      ] as const) {
        const { sameSet, worst } = compare(a, b, probs);
        console.log(
          `${probs ? 'filteredProbs' : 'maskedLogits'} @ ${vocab}: ${sameSet}/${batch} rows keep the CPU's set; worst relative difference ${worst.toExponential(2)}`,
        );
        expect(sameSet).toBeGreaterThanOrEqual(batch - 1);
        expect(worst).toBeLessThan(probs ? 2e-5 : 1e-6);
      }
    });

    it('processed log-probabilities of rows sampled through the chain: the CPU’s, within 1e-4', () => {
      const request = mixedRequest(210, 32_000);
      const withLogprobs = { ...request, logprobs: 5, logprobsMode: 'processed' as const };
      const a = gpu.sample(withLogprobs);
      const b = cpu.sample(withLogprobs);
      expect([...a.status]).toEqual([...b.status]);
      let compared = 0;
      for (let r = 0; r < request.shape![0]; r++) {
        if (b.status[r] !== RowStatus.sampled || a.tokens[r] !== b.tokens[r]) continue;
        compared++;
        expect(Math.abs(a.logprobs![r]! - b.logprobs![r]!), `row ${r}`).toBeLessThan(1e-4);
        for (let j = 0; j < 5; j++) {
          const k = r * 5 + j;
          if (b.topLogprobs!.tokens[k] === -1) {
            expect(a.topLogprobs!.tokens[k]).toBe(-1);
            continue;
          }
          expect(
            Math.abs(a.topLogprobs!.logprobs[k]! - b.topLogprobs!.logprobs[k]!),
            `row ${r}`,
          ).toBeLessThan(1e-4);
        }
      }
      expect(compared).toBeGreaterThan(request.shape![0] * 0.8);
    });
  });

  describe('verify', () => {
    /** Target rows to take verifications from, per vocabulary: one pool, rotated per batch. */
    const pools = new Map<number, Float32Array>();
    /**
     * `rows` verified rows of n = 2 draft tokens, their targets taken from the pool at `offset`
     * rows: drafts close to the target (noise on its logits) or far (reversed).
     */
    function verifyRequest(
      rows: number,
      vocab: number,
      far: boolean,
      seed: number,
      params: Partial<VerifyRequest>,
      offset = 0,
    ) {
      const n = 2;
      let pool = pools.get(vocab);
      if (!pool || pool.length < (offset + rows * (n + 1)) * vocab) {
        pool = gaussianLogits((offset + rows * (n + 1) + 64) * vocab, 3, vocab + 1);
        pools.set(vocab, pool);
      }
      const logits = pool.slice(offset * vocab, (offset + rows * (n + 1)) * vocab);
      const draftProbs = new Float32Array(rows * n * vocab);
      const draftTokens = new Int32Array(rows * n);
      const next = mulberry32(seed);
      for (let b = 0; b < rows; b++) {
        for (let j = 0; j < n; j++) {
          const target = logits.subarray((b * (n + 1) + j) * vocab, (b * (n + 1) + j + 1) * vocab);
          const q = draftProbs.subarray((b * n + j) * vocab, (b * n + j + 1) * vocab);
          let max = Number.NEGATIVE_INFINITY;
          for (let i = 0; i < vocab; i++) {
            q[i] = far ? -target[i]! : target[i]! + 0.5 * (next() - 0.5);
            max = Math.max(max, q[i]!);
          }
          let sum = 0;
          for (let i = 0; i < vocab; i++) {
            q[i] = Math.exp(q[i]! - max);
            sum += q[i]!;
          }
          const u = next() * sum;
          let acc = 0;
          let token = vocab - 1;
          for (let i = 0; i < vocab; i++) {
            acc += q[i]!;
            if (acc > u) {
              token = i;
              break;
            }
          }
          draftTokens[b * n + j] = token;
        }
      }
      return {
        logits,
        shape: [rows, n, vocab] as [number, number, number],
        draftTokens,
        draftProbs,
        seed: 77,
        step: seed,
        ...params,
      };
    }

    it.each([
      [32_000, 'close', { topK: 50, topP: 0.9 }],
      [32_000, 'far', { typicalP: 0.9, temperature: 0.8 }],
      [151_936, 'close', { topK: 50, topP: 0.9 }],
      [151_936, 'far', { typicalP: 0.9, temperature: 0.8 }],
    ] as const)('at vocab %i, drafts %s to the target, %o: the CPU’s accepted counts and tokens', async (vocab, how, params) => {
      const rows = vocab === 32_000 ? 10_000 : 1000;
      const chunk = vocab === 32_000 ? 1000 : 250;
      let agree = 0;
      let accepted = 0;
      for (let start = 0; start < rows; start += chunk) {
        // Each batch its own rows (the pool rotated by 6 rows a batch) and its own step.
        const request = verifyRequest(chunk, vocab, how === 'far', start + 1, params, (start / chunk) * 6);
        const a = gpu.verify(request);
        const b = cpu.verify(request);
        for (let r = 0; r < chunk; r++) {
          accepted += b.accepted[r]!;
          const same =
            a.accepted[r] === b.accepted[r] &&
            a.status[r] === b.status[r] &&
            a.tokens.subarray(r * 3, r * 3 + 3).join() === b.tokens.subarray(r * 3, r * 3 + 3).join();
          if (same) agree++;
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      console.log(
        `verify agreement @ ${vocab} ${how}: ${((agree / rows) * 100).toFixed(3)}% of ${rows} rows (mean accepted ${(accepted / rows).toFixed(2)})`,
      );
      expect(agree / rows).toBeGreaterThanOrEqual(0.999);
    });

    it('flags rows as the CPU does: invalid draft probabilities, NaN targets, out-of-range rows named', () => {
      const request = verifyRequest(4, 300, false, 9, {});
      request.draftProbs[1 * 2 * 300 + 5] = -1; // row 1, position 0
      request.logits[2 * 3 * 300 + 7] = Number.NaN; // row 2, position 0
      const a = gpu.verify(request);
      const b = cpu.verify(request);
      expect(a).toEqual(b);
      expect([...a.status]).toEqual([
        RowStatus.sampled,
        RowStatus.invalidValues,
        RowStatus.invalidValues,
        RowStatus.sampled,
      ]);
      expect(() => gpu.verify({ ...request, onInvalidRow: 'throw' })).toThrow(/draftProbs \(row 1\)/);
    });
  });

  describe('draws follow the independent reference (chi-square, 10^5 draws, α = 1e-3)', () => {
    const logits = gaussianLogits(64, 2, 11);
    it.each<[string, Partial<SampleRequest>, ChainReferenceParams]>([
      ['typical-p 0.7', { typicalP: 0.7 }, { typicalP: 0.7 }],
      [
        'typical-p 0.9, T 0.8, top-k 30',
        { typicalP: 0.9, temperature: 0.8, topK: 30 },
        { typicalP: 0.9, temperature: 0.8, topK: 30 },
      ],
      ['top-n-sigma 1', { topNSigma: 1 }, { topNSigma: 1 }],
      ['top-n-sigma 0.5 + top-p 0.95', { topNSigma: 0.5, topP: 0.95 }, { topNSigma: 0.5, topP: 0.95 }],
      ['XTC 1 above 0.05', { xtcProbability: 1, xtcThreshold: 0.05 }, { xtc: 0.05 }],
      [
        'XTC 1 above 0.02 + min-p 0.05',
        { xtcProbability: 1, xtcThreshold: 0.02, minP: 0.05 },
        { xtc: 0.02, minP: 0.05 },
      ],
    ])('%s', (_name, params, reference) => {
      const draws = gpu.sample({ logits, samples: 100_000, seed: 4321, ...params }).tokens;
      const result = chiSquare(draws, chainReference(logits, reference), ALPHA);
      expect(result.outside).toBe(0);
      expect(result.statistic).toBeLessThan(result.critical);
    });

    it.each([
      ['close to', (v: number, i: number) => v + 0.3 * Math.sin(i)],
      ['far from', (v: number) => -v],
    ])('verify, drafts %s the target, typical-p 0.9: the first tokens follow the filtered target', (_name, shift) => {
      const vocab = 40;
      const target = gaussianLogits(vocab, 1.5, 3);
      const rows = 100_000;
      const n = 1;
      const draftLogits = Float32Array.from(target, shift);
      const max = Math.max(...draftLogits);
      const q = Float64Array.from(draftLogits, (v) => Math.exp(v - max));
      const sum = q.reduce((s, v) => s + v, 0);
      const logitsAll = new Float32Array(rows * (n + 1) * vocab);
      for (let i = 0; i < rows * (n + 1); i++) logitsAll.set(target, i * vocab);
      const draftProbs = new Float32Array(rows * n * vocab);
      const normalised = Float32Array.from(q, (v) => v / sum);
      for (let i = 0; i < rows * n; i++) draftProbs.set(normalised, i * vocab);
      const next = mulberry32(8);
      const draftTokens = Array.from({ length: rows * n }, () => {
        const u = next() * sum;
        let acc = 0;
        for (let i = 0; i < vocab; i++) {
          acc += q[i]!;
          if (acc > u) return i;
        }
        return vocab - 1;
      });
      const result = gpu.verify({
        logits: logitsAll,
        shape: [rows, n, vocab],
        draftTokens,
        draftProbs,
        typicalP: 0.9,
        seed: 6,
      });
      const first = Int32Array.from({ length: rows }, (_, r) => result.tokens[r * (n + 1)]!);
      const test = chiSquare(first, chainReference(target, { typicalP: 0.9 }), ALPHA);
      expect(test.outside).toBe(0);
      expect(test.statistic).toBeLessThan(test.critical);
    });
  });
});
