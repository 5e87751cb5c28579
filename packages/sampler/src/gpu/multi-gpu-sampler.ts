import { SamplerDisposedError, SamplerInputError } from '../errors.js';
import { type DeviceInput, type InputRule, resolveFor } from '../input.js';
import { type PinnedHostMemory, pinShared } from '../pinned.js';
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
import { allocateDistribution, allocateResult, sliceRows } from '../resolved-request.js';
import { rowStatusError } from '../row-status.js';
import type { ResolvedSampler } from '../sampler.js';
import { type ResolvedVerifyRequest, resolveVerifyRequest } from '../verify-request.js';
import { gpuModules } from './gpu-modules.js';
import { GpuSampler } from './gpu-sampler.js';

/**
 * One host-side batch sharded by rows over several GPUs: each device samples a contiguous block
 * of rows on its own stream, all devices at once, and the results come back in row order.
 * Rows are split evenly (the devices of one host are alike; a row's cost does not depend on
 * its device). Every row keeps its own random stream (its global row index with one seed for the
 * batch, 0 with per-row seeds, unless the request names streams), so the tokens are those of a
 * single-device run with the same seed. Bad rows are reported (or raised) with their row in the batch.
 *
 * @example
 * ```ts gpu
 * import { createSampler } from '@rocmforge/sampler';
 * const sampler = createSampler({ backend: 'gpu', devices: 'all' });
 * const result = sampler.sample({ logits: new Float32Array(8 * 1000).fill(1), shape: [8, 1000], seed: 1 });
 * console.log(result.tokens.length); // 8
 * sampler.dispose();
 * ```
 */
export class MultiGpuSampler implements ResolvedSampler<HostValues> {
  readonly backend = 'gpu' as const;
  readonly fallbackReason = undefined;
  /** One sampler per device, in the order given. */
  readonly shards: readonly GpuSampler[];
  #disposed = false;

  readonly #input: InputRule & { readonly device?: undefined };

  constructor(shards: GpuSampler[]) {
    if (shards.length === 0) throw new SamplerInputError('devices', 'at least one device', shards.length);
    this.shards = shards;
    this.#input = {
      expected:
        'a Float32Array, Uint16Array or Float16Array (a DeviceBuffer lives on one device: use a single-device sampler)',
    };
  }

  /** Opens `devices` ('all' or indices); throws BackendUnavailableError when one cannot be used. */
  static create(devices: 'all' | readonly number[]): MultiGpuSampler {
    let indices: number[];
    if (devices === 'all') {
      const modules = gpuModules();
      const count = modules instanceof Error ? 0 : safeCount(modules.runtime.deviceCount);
      indices = Array.from({ length: Math.max(count, 1) }, (_, i) => i);
    } else {
      indices = [...devices];
      if (indices.length === 0 || new Set(indices).size !== indices.length) {
        throw new SamplerInputError('devices', "'all' or distinct device indices", devices);
      }
      for (const index of indices) {
        if (!Number.isInteger(index) || index < 0)
          throw new SamplerInputError('devices', 'integers ≥ 0', devices);
      }
    }
    const opened: GpuSampler[] = [];
    try {
      for (const index of indices) opened.push(GpuSampler.create(index));
    } catch (error) {
      for (const s of opened) s.dispose();
      throw error;
    }
    return new MultiGpuSampler(opened);
  }

  get memoryBytes(): number {
    return this.shards.reduce((sum, s) => sum + s.memoryBytes, 0);
  }

  /** Samples a host-side batch over every device; all shards are enqueued before any wait. */
  sample(request: SampleRequest<HostInput | DeviceInput>): SampleResult {
    return this.sampleResolved(this.resolve(request));
  }

  /** As {@link sample}, without blocking the event loop while the devices work. */
  async sampleAsync(request: SampleRequest<HostInput | DeviceInput>): Promise<SampleResult> {
    return this.sampleResolvedAsync(this.resolve(request));
  }

  /**
   * @internal Checks `request` (host arrays only: a DeviceBuffer lives on one device) and
   * resolves it, once, on the whole batch; the shards get slices of it.
   */
  resolve(request: SampleRequest<HostInput | DeviceInput>): ResolvedRequest<HostValues> {
    if (this.#disposed) throw new SamplerDisposedError();
    return resolveFor(request, this.#input);
  }

  /** @internal Samples a resolved batch: every shard's rows enqueued before any wait. */
  sampleResolved(request: ResolvedRequest<HostValues>): SampleResult {
    const plan = this.#plan(request);
    // Every shard enqueued is waited for, even past a failure: a shard's kernels read their
    // parameters and write their outputs in its staging block, which its next call reuses.
    const waits: Array<() => SampleResult> = [];
    let failure: { error: unknown } | undefined;
    for (const { sampler, request: part } of plan) {
      try {
        waits.push(sampler.enqueueResolved(part));
      } catch (error) {
        failure = { error };
        break;
      }
    }
    const parts: SampleResult[] = [];
    for (const wait of waits) {
      try {
        parts.push(wait());
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure) throw failure.error;
    return merge(plan, parts, request);
  }

  /** @internal As {@link sampleResolved}, without blocking the event loop. */
  async sampleResolvedAsync(request: ResolvedRequest<HostValues>): Promise<SampleResult> {
    const plan = this.#plan(request);
    const parts = await Promise.all(
      plan.map(({ sampler, request: part }) => sampler.sampleResolvedAsync(part)),
    );
    return merge(plan, parts, request);
  }

  /** Contiguous blocks of rows, as even as can be, one per device (fewer when the batch is smaller). */
  #plan(request: ResolvedRequest<HostValues>): Shard[] {
    if (this.#disposed) throw new SamplerDisposedError();
    const { batch } = request;
    const count = Math.min(this.shards.length, batch);
    const shards: Shard[] = [];
    for (let i = 0; i < count; i++) {
      const first = Math.floor((i * batch) / count);
      const rows = Math.floor(((i + 1) * batch) / count) - first;
      // Shards report bad rows; the merge raises them under 'throw', with their row in the batch.
      shards.push({
        sampler: this.shards[i]!,
        first,
        rows,
        request: { ...sliceRows(request, first, rows), onInvalidRow: 'flag' },
      });
    }
    return shards;
  }

  /**
   * Page-locks `array` once for every device (a portable registration through the first one):
   * the shards of a batch in it are then copied to their devices at the same time.
   */
  pinHostMemory(array: HostValues): PinnedHostMemory {
    if (this.#disposed) throw new SamplerDisposedError();
    return pinShared(array, this.shards[0]!.device, this.shards);
  }

  /** The probabilities each row is sampled from, its rows sharded over the devices as `sample` shards them. */
  filteredProbs(request: SampleRequest): DistributionResult {
    return this.#distribution(request, 'probs');
  }

  /** The processed logits of each row's kept tokens, -Infinity elsewhere, sharded by rows. */
  maskedLogits(request: SampleRequest): DistributionResult {
    return this.#distribution(request, 'logits');
  }

  /** Speculative decoding's verification, its rows sharded over the devices (every position of a row on one). */
  verify(request: VerifyRequest): VerifyResult {
    if (this.#disposed) throw new SamplerDisposedError();
    const resolved = resolveVerifyRequest(request);
    const { batch, draft, vocab } = resolved;
    const positions = draft + 1;
    const count = Math.min(this.shards.length, batch);
    const waits: Array<{ first: number; wait: () => VerifyResult }> = [];
    for (let i = 0; i < count; i++) {
      const first = Math.floor((i * batch) / count);
      const rows = Math.floor(((i + 1) * batch) / count) - first;
      const part: ResolvedVerifyRequest = {
        batch: rows,
        draft,
        vocab,
        // (A slice of Float32Array rows is Float32Array rows.)
        target: sliceRows(
          resolved.target,
          first * positions,
          rows * positions,
        ) as ResolvedRequest<Float32Array>,
        draftTokens: resolved.draftTokens.subarray(first * draft, (first + rows) * draft),
        draftProbs: resolved.draftProbs.subarray(first * draft * vocab, (first + rows) * draft * vocab),
      };
      waits.push({ first, wait: this.shards[i]!.enqueueVerify(part, first) });
    }
    const result: VerifyResult = {
      accepted: new Int32Array(batch),
      tokens: new Int32Array(batch * positions),
      valid: new Uint8Array(batch),
      status: new Uint8Array(batch),
      batch,
      draft,
      vocab,
    };
    // In row order: under 'throw' the first shard with a bad row raises it, named in the whole batch.
    for (const { first, wait } of waits) {
      const part = wait();
      result.accepted.set(part.accepted, first);
      result.tokens.set(part.tokens, first * positions);
      result.valid.set(part.valid, first);
      result.status.set(part.status, first);
    }
    return result;
  }

  #distribution(request: SampleRequest, as: 'probs' | 'logits'): DistributionResult {
    const resolved = this.resolve(request);
    const plan = this.#plan(resolved);
    const waits = plan.map(({ sampler, request: part }) => sampler.enqueueDistribution(part, as));
    const { vocab } = resolved;
    const result = allocateDistribution(resolved);
    plan.forEach(({ first }, i) => {
      const part = waits[i]!();
      result.values.set(part.values, first * vocab);
      result.valid.set(part.valid, first);
      result.status.set(part.status, first);
    });
    if (resolved.onInvalidRow === 'throw') {
      const error = rowStatusError(result.status, resolved.kind);
      if (error) throw error;
    }
    return result;
  }

  /** @internal For tests: the next call on device `shard` (position in `shards`) fails as a driver failure would. */
  injectFailure(shard = 0): void {
    this.shards[shard]?.injectFailure();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const s of this.shards) s.dispose();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}

interface Shard {
  sampler: GpuSampler;
  first: number;
  rows: number;
  request: ResolvedRequest<HostValues>;
}

function safeCount(count: () => number): number {
  try {
    return count();
  } catch {
    return 0;
  }
}

/** The shards' results in row order, as one result. */
function merge(plan: Shard[], parts: SampleResult[], resolved: ResolvedRequest): SampleResult {
  const { samples } = resolved;
  const result = allocateResult(resolved);
  const n = result.topLogprobs?.n ?? 0;
  plan.forEach(({ first }, i) => {
    const part = parts[i]!;
    result.tokens.set(part.tokens, first * samples);
    result.valid.set(part.valid, first);
    result.status.set(part.status, first);
    if (part.logprobs) result.logprobs!.set(part.logprobs, first * samples);
    if (part.topLogprobs) {
      result.topLogprobs!.tokens.set(part.topLogprobs.tokens, first * n);
      result.topLogprobs!.logprobs.set(part.topLogprobs.logprobs, first * n);
    }
  });
  if (resolved.onInvalidRow === 'throw') {
    const error = rowStatusError(result.status, resolved.kind);
    if (error) throw error;
  }
  return result;
}
