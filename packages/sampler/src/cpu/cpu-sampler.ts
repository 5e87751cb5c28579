import { SamplerDisposedError, SamplerInputError } from '../errors.js';
import { rowValues } from '../half-values.js';
import { CPU_INPUT, type DeviceInput, resolveFor } from '../input.js';
import { checkPinnable, type PinnedHostMemory, pinHandle } from '../pinned.js';
import type {
  DistributionResult,
  HostInput,
  HostValues,
  ResolvedRequest,
  SampleRequest,
  SampleResult,
  VerifyRequest,
  VerifyResult,
} from '../request.js';
import { allocateDistribution, allocateResult, checkDistributionRequest } from '../resolved-request.js';
import { RowStatus, rowStatusError } from '../row-status.js';
import type { ResolvedSampler } from '../sampler.js';
import { resolveVerifyRequest } from '../verify-request.js';
import { RowSampler, topIndices } from './row-sampler.js';
import { SpeculativeVerifier } from './speculative-verify.js';
import { ThresholdSelector } from './threshold-select.js';

/**
 * The pure-TypeScript backend: exact, allocation-free per row, and the reference the GPU
 * backend agrees with token for token.
 */
export class CpuSampler implements ResolvedSampler<HostValues> {
  readonly backend = 'cpu' as const;
  readonly fallbackReason: string | undefined;
  readonly #rows = new RowSampler();
  readonly #selector = new ThresholdSelector();
  readonly #verifier = new SpeculativeVerifier();
  /** A row of half-precision input widened, for raw log-probabilities. */
  #raw = new Float32Array(0);
  #disposed = false;

  constructor(fallbackReason?: string) {
    this.fallbackReason = fallbackReason;
  }

  get memoryBytes(): number {
    return this.#rows.memoryBytes + this.#verifier.memoryBytes + this.#raw.byteLength;
  }

  sample(request: SampleRequest): SampleResult {
    return this.sampleResolved(this.resolve(request));
  }

  async sampleAsync(request: SampleRequest): Promise<SampleResult> {
    return this.sample(request);
  }

  /** Checks `request` (host arrays only) and resolves it. */
  resolve(request: SampleRequest<HostInput | DeviceInput>): ResolvedRequest {
    if (this.#disposed) throw new SamplerDisposedError();
    return resolveFor(request, CPU_INPUT);
  }

  /** As {@link sampleResolved}; the CPU does not block for long. */
  async sampleResolvedAsync(request: ResolvedRequest): Promise<SampleResult> {
    return this.sampleResolved(request);
  }

  /** Nothing to pin on the CPU: checks the array and returns a handle that does nothing. */
  pinHostMemory(array: HostValues): PinnedHostMemory {
    if (this.#disposed) throw new SamplerDisposedError();
    checkPinnable(array);
    return pinHandle(() => {});
  }

  /** Samples an already validated request (from {@link resolve}, or a slice of one). */
  sampleResolved(request: ResolvedRequest): SampleResult {
    const { batch, vocab, samples } = request;
    // The input is read here, on the host: the work it waits for must be done.
    request.after?.synchronize();
    const result = allocateResult(request);
    const { tokens, valid, status, logprobs, topLogprobs: top } = result;
    const want = request.logprobs;
    for (let row = 0; row < batch; row++) {
      status[row] = this.#sampleRow(request, row, tokens);
      const ok = status[row] === RowStatus.sampled;
      valid[row] = ok ? 1 : 0;
      if (!want) continue;
      const out = row * samples;
      if (!ok) {
        logprobs!.fill(Number.NaN, out, out + samples);
        if (top) {
          top.tokens.fill(-1, row * top.n, (row + 1) * top.n);
          top.logprobs.fill(Number.NaN, row * top.n, (row + 1) * top.n);
        }
        continue;
      }
      if (want.mode === 'processed') {
        for (let s = 0; s < samples; s++) logprobs![out + s] = this.#rows.processedLogprob(tokens[out + s]!);
        if (top) this.#rows.processedTop(top.n, top.tokens, top.logprobs, row * top.n);
      } else {
        if (request.dtype !== 'float32' && this.#raw.length < vocab) this.#raw = new Float32Array(vocab);
        const raw = rowValues(request, row * vocab, vocab, this.#raw);
        const logOf = rawLogprobs(raw, request.kind);
        for (let s = 0; s < samples; s++) logprobs![out + s] = logOf(tokens[out + s]!);
        if (top) {
          const bits = new Uint32Array(raw.buffer, raw.byteOffset, vocab);
          const order = topIndices(raw, bits, null, vocab, top.n, this.#selector);
          for (let j = 0; j < top.n; j++) {
            top.tokens[row * top.n + j] = order[j]!;
            top.logprobs[row * top.n + j] = logOf(order[j]!);
          }
        }
      }
    }
    return result;
  }

  /**
   * The probabilities each row is sampled from (after temperature and every filter; 0 outside
   * the kept set), whole rows, without drawing.
   *
   * @example
   * ```ts
   * import { createSampler } from '@rocmforge/sampler';
   * const sampler = createSampler({ backend: 'cpu' });
   * const { values } = sampler.filteredProbs({ logits: new Float32Array([0, 1, 2, 3]), topK: 2 });
   * console.log(values[0], values[1], (values[2] + values[3]).toFixed(6)); // 0 0 1.000000
   * ```
   */
  filteredProbs(request: SampleRequest): DistributionResult {
    return this.#distribution(this.resolve(request), 'probs');
  }

  /**
   * The processed logits each row is sampled from: x / T for the kept tokens, -Infinity for
   * the others (their softmax is {@link filteredProbs}), whole rows, without drawing.
   *
   * @example
   * ```ts
   * import { createSampler } from '@rocmforge/sampler';
   * const sampler = createSampler({ backend: 'cpu' });
   * const { values } = sampler.maskedLogits({ logits: new Float32Array([0, 1, 2, 3]), topK: 2, temperature: 0.5 });
   * console.log(values.join(' ')); // -Infinity -Infinity 4 6
   * ```
   */
  maskedLogits(request: SampleRequest): DistributionResult {
    return this.#distribution(this.resolve(request), 'logits');
  }

  /**
   * Speculative decoding's verification: per row, accepts draft tokens while the target agrees
   * (probability min(1, p/q) each), then draws one token from the residual or, after all n, a
   * bonus token. The tokens follow the target distribution whatever the draft.
   *
   * @example
   * ```ts
   * import { createSampler } from '@rocmforge/sampler';
   * const sampler = createSampler({ backend: 'cpu' });
   * const vocab = 4;
   * const { accepted, tokens } = sampler.verify({
   *   logits: new Float32Array([9, 0, 0, 0, 0, 9, 0, 0, 0, 0, 9, 0]), // 1 row, n + 1 = 3 positions
   *   shape: [1, 2, vocab],
   *   draftTokens: [0, 1],
   *   draftProbs: new Float32Array([1, 0, 0, 0, 0, 1, 0, 0]),
   *   temperature: 0, // greedy target: accepts the drafts that are its argmax
   *   seed: 1,
   * });
   * console.log(accepted[0], tokens.join(' ')); // 2 0 1 2
   * ```
   */
  verify(request: VerifyRequest): VerifyResult {
    if (this.#disposed) throw new SamplerDisposedError();
    return this.#verifier.verify(this.#rows, resolveVerifyRequest(request));
  }

  #distribution(request: ResolvedRequest, as: 'probs' | 'logits'): DistributionResult {
    checkDistributionRequest(request);
    const { batch, vocab } = request;
    const result = allocateDistribution(request);
    for (let row = 0; row < batch; row++) {
      const out = result.values.subarray(row * vocab, (row + 1) * vocab);
      let status: number;
      try {
        status = this.#rows.keepRow(request, row) ? RowStatus.sampled : RowStatus.nothingToSample;
      } catch (error) {
        const invalidValues =
          error instanceof SamplerInputError && error.row === row && error.field === request.kind;
        if (!invalidValues) throw error;
        status = RowStatus.invalidValues;
      }
      result.status[row] = status;
      result.valid[row] = status === RowStatus.sampled ? 1 : 0;
      if (status === RowStatus.sampled) this.#rows.writeDistribution(as, out);
      else out.fill(Number.NaN);
    }
    if (request.onInvalidRow === 'throw') {
      const error = rowStatusError(result.status, request.kind);
      if (error) throw error;
    }
    return result;
  }

  /**
   * Samples row `row` and returns its {@link RowStatus}. The row sampler finds invalid values in
   * the pass that finds the row's maximum and throws for them; under `onInvalidRow: 'flag'` that
   * error becomes the row's status (tokens -1), with no second scan of the row.
   */
  #sampleRow(request: ResolvedRequest, row: number, tokens: Int32Array): number {
    try {
      return this.#rows.sampleRow(request, row, tokens) ? RowStatus.sampled : RowStatus.nothingToSample;
    } catch (error) {
      const invalidValues =
        error instanceof SamplerInputError && error.row === row && error.field === request.kind;
      if (!invalidValues || request.onInvalidRow === 'throw') throw error;
      tokens.fill(-1, row * request.samples, (row + 1) * request.samples);
      return RowStatus.invalidValues;
    }
  }

  dispose(): void {
    this.#disposed = true;
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * The raw log-probability of each token of a row (sums in double): log(p / Σp) for
 * probabilities; for logits (x − max) − log Σ exp(x − max), the maximum subtracted before the
 * log-sum is added so that huge finite logits (3e38) keep it; with +Infinity logits, their
 * softmax limit: log(1 / their count) for them, -Infinity for the rest.
 */
function rawLogprobs(raw: Float32Array, kind: 'logits' | 'probs'): (token: number) => number {
  if (kind === 'probs') {
    let sum = 0;
    for (let i = 0; i < raw.length; i++) sum += raw[i]!;
    const logSum = Math.log(sum);
    return (token) => Math.log(raw[token]!) - logSum;
  }
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < raw.length; i++) if (raw[i]! > max) max = raw[i]!;
  if (max === Number.POSITIVE_INFINITY) {
    let count = 0;
    for (let i = 0; i < raw.length; i++) if (raw[i] === max) count++;
    const logShare = 0 - Math.log(count); // +0, not -0, for a single one
    return (token) => (raw[token] === max ? logShare : Number.NEGATIVE_INFINITY);
  }
  let sum = 0;
  for (let i = 0; i < raw.length; i++) sum += Math.exp(raw[i]! - max);
  const logSum = Math.log(sum);
  return (token) => raw[token]! - max - logSum;
}
