import type { DeviceBuffer } from '@rocmforge/hip-runtime';
import type { DeviceInput } from './input.js';
import type { PinnedHostMemory } from './pinned.js';
import type {
  DistributionResult,
  HostInput,
  HostValues,
  ResolvedRequest,
  SampleRequest,
  SampleResult,
  VerifyRequest,
  VerifyResult,
} from './request.js';

/** Which implementation a {@link Sampler} runs on. */
export type BackendName = 'cpu' | 'gpu';

/** One sampling API, two implementations. */
export interface Sampler extends Disposable {
  /** The backend in use (an `auto` sampler moves from `gpu` to `cpu` if the GPU fails). */
  readonly backend: BackendName;
  /** Why `auto` is not on the GPU (undefined when it is, or when the CPU was asked for). */
  readonly fallbackReason: string | undefined;
  /** Bytes of scratch memory the sampler holds (device memory on the GPU). */
  readonly memoryBytes: number;
  /** Samples synchronously. The GPU backend also takes a `DeviceBuffer` as `logits`/`probs`. */
  sample(request: SampleRequest<HostInput | DeviceBuffer>): SampleResult;
  /** Samples without blocking the event loop while a GPU works. */
  sampleAsync(request: SampleRequest<HostInput | DeviceBuffer>): Promise<SampleResult>;
  /**
   * The probabilities each row is sampled from (temperature and every filter applied; 0 outside
   * the kept set), whole rows, without drawing. On the GPU backend the filter chain's kernel
   * (kernels/methods.hip) computes them on the device.
   */
  filteredProbs(request: SampleRequest): DistributionResult;
  /**
   * The processed logits (x / T) of each row's kept tokens, -Infinity elsewhere: the
   * distribution of {@link filteredProbs} as logits. GPU: as filteredProbs.
   */
  maskedLogits(request: SampleRequest): DistributionResult;
  /**
   * Speculative decoding's verification (chain speculative sampling) on host arrays; see
   * {@link VerifyRequest}. GPU: the filter chain's kernel verifies every position at once.
   */
  verify(request: VerifyRequest): VerifyResult;
  /**
   * Page-locks a host array that you will pass as `logits` / `probs` (typically again and
   * again, refilled in place), until the handle is disposed. Its copies to the GPU are then
   * truly asynchronous, and a batch sharded over several GPUs is copied to all of them at once
   * (from pageable memory the driver copies one device after another). The array must stay
   * alive while pinned. On the CPU backend the handle does nothing.
   */
  pinHostMemory(array: HostValues): PinnedHostMemory;
  /** Frees what the sampler holds; using it afterwards throws. */
  dispose(): void;
}

/**
 * A backend below its face: it resolves a request once, under its own input rule, and samples
 * resolved requests, so that a face in front of it (`auto`, several devices) resolves a request
 * once and hands the resolved form on.
 */
export interface ResolvedSampler<Input extends HostValues | DeviceInput> extends Sampler {
  /** Checks `request` against this backend's inputs and limits, and resolves it. */
  resolve(request: SampleRequest<HostInput | DeviceInput>): ResolvedRequest<Input>;
  /** Samples a request this backend resolved (or a slice of one). */
  sampleResolved(request: ResolvedRequest<Input>): SampleResult;
  /** As `sampleResolved`, without blocking the event loop while a GPU works. */
  sampleResolvedAsync(request: ResolvedRequest<Input>): Promise<SampleResult>;
}
