import { SamplerDisposedError, SamplerInputError } from '../errors.js';
import { type PinnedHostMemory, pinShared } from '../pinned.js';
import {
  allocateResult,
  type ResolvedRequest,
  resolveRequest,
  type SampleRequest,
  type SampleResult,
} from '../request.js';
import { rowStatusError } from '../row-status.js';
import type { Sampler } from '../sampler.js';
import { gpuModules } from './gpu-modules.js';
import { type DeviceInput, GpuSampler } from './gpu-sampler.js';

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
export class MultiGpuSampler implements Sampler {
  readonly backend = 'gpu' as const;
  readonly fallbackReason = undefined;
  /** One sampler per device, in the order given. */
  readonly shards: readonly GpuSampler[];
  #disposed = false;

  constructor(shards: GpuSampler[]) {
    if (shards.length === 0) throw new SamplerInputError('devices', 'at least one device', shards.length);
    this.shards = shards;
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
  sample(request: SampleRequest<Float32Array | DeviceInput>): SampleResult {
    const { plan, resolved } = this.#plan(request);
    const waits = plan.map(({ sampler, request: part }) => sampler.enqueue(part));
    const parts = waits.map((wait) => wait());
    return merge(plan, parts, resolved);
  }

  /** As {@link sample}, without blocking the event loop while the devices work. */
  async sampleAsync(request: SampleRequest<Float32Array | DeviceInput>): Promise<SampleResult> {
    const { plan, resolved } = this.#plan(request);
    const parts = await Promise.all(plan.map(({ sampler, request: part }) => sampler.sampleAsync(part)));
    return merge(plan, parts, resolved);
  }

  #plan(request: SampleRequest<Float32Array | DeviceInput>): { plan: Shard[]; resolved: ResolvedRequest } {
    if (this.#disposed) throw new SamplerDisposedError();
    const given = request?.logits ?? request?.probs;
    if (given !== undefined && !(given instanceof Float32Array)) {
      throw new SamplerInputError(
        request.logits ? 'logits' : 'probs',
        'a Float32Array (a DeviceBuffer lives on one device: use a single-device sampler)',
        given,
      );
    }
    // Validated once, on the whole batch, with the CPU's typed errors; shards get resolved values.
    const resolved = resolveRequest(request as SampleRequest);
    const { batch, vocab } = resolved;
    const count = Math.min(this.shards.length, batch);
    const shards: Shard[] = [];
    for (let i = 0; i < count; i++) {
      const first = Math.floor((i * batch) / count);
      const rows = Math.floor(((i + 1) * batch) / count) - first;
      shards.push({ sampler: this.shards[i]!, first, rows, request: rowsOf(resolved, first, rows, vocab) });
    }
    return { plan: shards, resolved };
  }

  /**
   * Page-locks `array` once for every device (a portable registration through the first one):
   * the shards of a batch in it are then copied to their devices at the same time.
   */
  pinHostMemory(array: Float32Array): PinnedHostMemory {
    if (this.#disposed) throw new SamplerDisposedError();
    return pinShared(array, this.shards[0]!.device, this.shards);
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
  request: SampleRequest;
}

function safeCount(count: () => number): number {
  try {
    return count();
  } catch {
    return 0;
  }
}

const wide = (lo: Uint32Array, hi: Uint32Array, first: number, rows: number): bigint[] =>
  Array.from({ length: rows }, (_, r) => (BigInt(hi[first + r]!) << 32n) | BigInt(lo[first + r]!));

/** The request for rows [first, first + rows) of a resolved batch, every per-row value explicit. */
function rowsOf(resolved: ResolvedRequest, first: number, rows: number, vocab: number): SampleRequest {
  const end = first + rows;
  const input = resolved.input.subarray(first * vocab, end * vocab);
  const request: SampleRequest = {
    [resolved.kind]: input,
    shape: [rows, vocab],
    samples: resolved.samples,
    filterOrder: resolved.filterOrder,
    temperature: resolved.temperature.subarray(first, end),
    topK: resolved.topK.subarray(first, end),
    topP: resolved.topP.subarray(first, end),
    minP: resolved.minP.subarray(first, end),
    seed: wide(resolved.seedLo, resolved.seedHi, first, rows),
    stream: resolved.stream.subarray(first, end),
    step: wide(resolved.stepLo, resolved.stepHi, first, rows),
    // Shards report bad rows; the merge raises them under 'throw', with their row in the batch.
    onInvalidRow: 'flag',
  };
  if (resolved.logprobs) {
    request.logprobs = resolved.logprobs.n > 0 ? resolved.logprobs.n : true;
    request.logprobsMode = resolved.logprobs.mode;
  }
  const a = resolved.adjustments;
  if (a) {
    request.logitBias = a.bias.slice(first, end).map((pairs) => (pairs ? new Map(pairs) : undefined));
    request.repetitionPenalty = a.repetitionPenalty.subarray(first, end);
    request.frequencyPenalty = a.frequencyPenalty.subarray(first, end);
    request.presencePenalty = a.presencePenalty.subarray(first, end);
    request.promptTokens = a.promptTokens.slice(first, end).map((t) => t ?? []);
    request.outputTokens = a.outputTokens.slice(first, end).map((t) => t ?? []);
  }
  return request;
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
