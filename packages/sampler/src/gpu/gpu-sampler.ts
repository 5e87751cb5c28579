import type { Device, Stream } from '@rocmforge/hip-runtime';
import type { SamplingKernels } from '@rocmforge/sampling-kernels';
import { BackendUnavailableError, SamplerDisposedError } from '../errors.js';
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
import type { ResolvedSampler } from '../sampler.js';
import { type ResolvedVerifyRequest, resolveVerifyRequest } from '../verify-request.js';
import { CallQueue } from './call-queue.js';
import { enqueueDistribution, enqueueVerify } from './chain-calls.js';
import type { ChunkContext } from './chunk-launch.js';
import { type GpuModules, gpuModules } from './gpu-modules.js';
import { KernelTiming } from './kernel-timing.js';
import { enqueueCall, finishCall, type PendingCall } from './sample-call.js';
import { type MappedLimits, Staging } from './staging.js';
import { DeviceWorkspace } from './workspace.js';

/**
 * How long a synchronous call polls its stream before the driver's wait: longer than the whole
 * of a small call (batch ≤ 32 at vocab 151936: ≤ 200 µs on an H200), whose end is then seen at
 * once instead of after the driver's wake-up; a larger call polls this long, then waits.
 */
const WAIT_SPIN_MICROSECONDS = 250;

/**
 * The GPU backend: the same requests and results as the CPU backend, computed by
 * @rocmforge/sampling-kernels in one launch per batch (per chunk of rows for large host
 * batches). Device workspace is reused between calls and grows on demand; `dispose()` frees it.
 */
export class GpuSampler implements ResolvedSampler<HostValues | DeviceInput> {
  readonly backend = 'gpu' as const;
  readonly fallbackReason = undefined;
  /** The device this sampler runs on. */
  readonly device: Device;
  /** The sampling kernels, loaded once per device. */
  readonly kernels: SamplingKernels;
  readonly #modules: GpuModules;
  readonly #stream: Stream;
  readonly #workspace: DeviceWorkspace;
  readonly #staging: Staging;
  readonly #timing = new KernelTiming();
  readonly #input: InputRule;
  readonly #queue = new CallQueue();
  readonly #context: ChunkContext;
  #disposed = false;
  #injectFailure = false;

  private constructor(modules: GpuModules, device: Device) {
    this.#modules = modules;
    this.device = device;
    this.kernels = modules.kernels.SamplingKernels.forDevice(device);
    this.#stream = device.createStream();
    this.#workspace = new DeviceWorkspace(device);
    this.#staging = new Staging(device, this.#workspace, modules.runtime.HipError);
    this.#input = { expected: 'a Float32Array, Uint16Array, Float16Array or DeviceBuffer', device };
    this.#context = {
      modules: modules.kernels,
      kernels: this.kernels,
      workspace: this.#workspace,
      stream: this.#stream,
      timing: this.#timing,
    };
  }

  /** Opens device `index` and its kernels; throws BackendUnavailableError saying why when it cannot. */
  static create(index: number): GpuSampler {
    const modules = gpuModules();
    if (modules instanceof Error) throw new BackendUnavailableError('gpu', modules.message);
    try {
      return new GpuSampler(modules, modules.runtime.openDevice(index));
    } catch (error) {
      throw new BackendUnavailableError('gpu', (error as Error).message, { cause: error });
    }
  }

  get memoryBytes(): number {
    return this.#workspace.bytes;
  }

  sample(request: SampleRequest<HostInput | DeviceInput>): SampleResult {
    this.#queue.assertIdle();
    return this.#wait(this.#enqueue(this.resolve(request)));
  }

  /**
   * Samples without blocking the event loop while the GPU works. Calls on one sampler run one
   * after another (they share its pinned staging memory).
   */
  sampleAsync(request: SampleRequest<HostInput | DeviceInput>): Promise<SampleResult> {
    return this.#queued(() => this.resolve(request));
  }

  /** @internal Checks `request` (host arrays, or DeviceBuffers of this device) and resolves it. */
  resolve(request: SampleRequest<HostInput | DeviceInput>): ResolvedRequest<HostValues | DeviceInput> {
    if (this.#disposed) throw new SamplerDisposedError();
    return resolveFor(request, this.#input);
  }

  /** @internal Samples a request resolved by {@link resolve}. */
  sampleResolved(request: ResolvedRequest<HostValues | DeviceInput>): SampleResult {
    return this.enqueueResolved(request)();
  }

  /** @internal As {@link sampleAsync}, for a request resolved by {@link resolve}. */
  sampleResolvedAsync(request: ResolvedRequest<HostValues | DeviceInput>): Promise<SampleResult> {
    return this.#queued(() => request);
  }

  /**
   * @internal Enqueues a resolved request on this sampler's stream and returns the function that
   * waits for it and gives the result: several devices' work can be in flight before any wait.
   */
  enqueueResolved(request: ResolvedRequest<HostValues | DeviceInput>): () => SampleResult {
    this.#queue.assertIdle();
    const pending = this.#enqueue(request);
    return () => this.#wait(pending);
  }

  /**
   * Records device events around each sampling launch from now on, so that
   * {@link lastKernelMilliseconds} reports the kernel's own time (for benchmarks).
   */
  enableTiming(options: { repeat?: number } = {}): void {
    this.#timing.enable(this.device, Math.max(1, Math.floor(options.repeat ?? 1)));
  }

  /**
   * Stops what {@link enableTiming} started: no events around the launches (the wall time of a
   * call is then what a caller without timing pays), one launch per call.
   */
  disableTiming(): void {
    this.#timing.disable();
  }

  /**
   * Device time of the last sampling launch in ms (needs `enableTiming()`), else undefined.
   * With `enableTiming({ repeat: n })` each call launches the sampling kernel n times back to
   * back (same result) and this is the mean: the host's launch latency, which a single launch
   * of a few microseconds would include, is then hidden behind the previous launch.
   */
  get lastKernelMilliseconds(): number | undefined {
    return this.#timing.milliseconds;
  }

  /**
   * Page-locks `array` (portably: every device sees it pinned) until the handle is disposed;
   * this sampler then copies it, or any view inside it, straight to the device, asynchronously.
   */
  pinHostMemory(array: HostValues): PinnedHostMemory {
    if (this.#disposed) throw new SamplerDisposedError();
    return pinShared(array, this.device, [this]);
  }

  /** @internal Records `array` as page-locked by someone else (the multi-GPU sampler's pin). */
  markPinned(array: HostValues): () => void {
    return this.#staging.userPinned.add(array);
  }

  /**
   * @internal When the kernels write the outputs into the mapped staging block rather than
   * into device memory copied back (benchmarks and tests compare the two; `{ rows: 0 }`
   * copies always).
   */
  setMappedLimits(limits: MappedLimits): void {
    this.#staging.limits = { rows: limits.rows };
  }

  /** @internal For tests: the next call fails as a driver failure would. */
  injectFailure(): void {
    this.#injectFailure = true;
  }

  /** The probabilities each row is sampled from, on the device (the filter chain, kernels/methods.hip). */
  filteredProbs(request: SampleRequest<HostInput | DeviceInput>): DistributionResult {
    return this.enqueueDistribution(this.resolve(request), 'probs')();
  }

  /** The processed logits of each row's kept tokens, -Infinity elsewhere, on the device. */
  maskedLogits(request: SampleRequest<HostInput | DeviceInput>): DistributionResult {
    return this.enqueueDistribution(this.resolve(request), 'logits')();
  }

  /** Speculative decoding's verification on the device (host arrays in, as on the CPU). */
  verify(request: VerifyRequest): VerifyResult {
    if (this.#disposed) throw new SamplerDisposedError();
    return this.enqueueVerify(resolveVerifyRequest(request))();
  }

  /**
   * @internal Enqueues the filtered distribution of a resolved request (`probs` or `logits`) and
   * returns the function that waits for it and gives the result.
   */
  enqueueDistribution(
    request: ResolvedRequest<HostValues | DeviceInput>,
    as: 'probs' | 'logits',
  ): () => DistributionResult {
    this.#queue.assertIdle();
    this.#beforeEnqueue();
    return this.#afterWait(enqueueDistribution(this.#context, this.#staging, request, as));
  }

  /**
   * @internal Enqueues a resolved verification and returns the function that waits for it and
   * gives the result; errors name rows from `rowOffset` (a shard's first row in the whole batch).
   */
  enqueueVerify(request: ResolvedVerifyRequest, rowOffset = 0): () => VerifyResult {
    this.#queue.assertIdle();
    this.#beforeEnqueue();
    return this.#afterWait(enqueueVerify(this.#context, this.#staging, request, rowOffset));
  }

  /** `finish`, called once the stream is done (polled first: see WAIT_SPIN_MICROSECONDS). */
  #afterWait<T>(finish: () => T): () => T {
    return () => {
      this.#stream.synchronize({ spinMicroseconds: WAIT_SPIN_MICROSECONDS });
      return finish();
    };
  }

  #queued(resolve: () => ResolvedRequest<HostValues | DeviceInput>): Promise<SampleResult> {
    return this.#queue.run(async () => {
      const pending = this.#enqueue(resolve());
      await this.#stream.wait();
      return finishCall(this.#context, pending);
    });
  }

  #enqueue(request: ResolvedRequest<HostValues | DeviceInput>): PendingCall {
    this.#beforeEnqueue();
    return enqueueCall(this.#context, this.#staging, request);
  }

  /** Checks the sampler is usable; for tests, fails as a driver failure would when asked to. */
  #beforeEnqueue(): void {
    if (this.#disposed) throw new SamplerDisposedError();
    if (this.#injectFailure) {
      this.#injectFailure = false;
      throw new this.#modules.runtime.HipError('cuLaunchKernel (injected)', 'INJECTED_FAILURE', 999);
    }
  }

  #wait(pending: PendingCall): SampleResult {
    this.#stream.synchronize({ spinMicroseconds: WAIT_SPIN_MICROSECONDS });
    return finishCall(this.#context, pending);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#workspace.dispose();
    this.#staging.dispose();
    this.#timing.dispose();
    this.#stream.dispose();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
