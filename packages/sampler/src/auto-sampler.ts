import { CpuSampler } from './cpu/cpu-sampler.js';
import { type DriverErrorClass, isDeviceFailure } from './device-failure.js';
import { SamplerDisposedError } from './errors.js';
import { CPU_INPUT, type DeviceInput, onHost } from './input.js';
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
import type { BackendName, ResolvedSampler, Sampler } from './sampler.js';

/** Where a sampler reports a fallback; `null` silences it. Default: `console.warn`. */
export type SamplerLogger = {
  /** Receives one line. */
  warn(message: string): void;
} | null;

/** A GPU backend (one device or several) as `auto` drives it. */
export type GpuBackend = ResolvedSampler<HostValues | DeviceInput> & {
  /** For tests: the next call fails as a driver failure would. */
  injectFailure(): void;
};

/**
 * `auto` on a usable GPU: resolves each request once, samples it on the GPU until a GPU call
 * fails (see {@link isDeviceFailure}), then on the CPU for good, with the same resolved request.
 * `filteredProbs`, `maskedLogits` and `verify` take the same route: the GPU until it fails, then
 * the CPU (see docs/GPU_SAMPLER.md "Backends").
 */
export class AutoSampler implements Sampler {
  #gpu: GpuBackend | undefined;
  #cpu: CpuSampler | undefined;
  #reason: string | undefined;
  #disposed = false;
  readonly #logger: SamplerLogger;
  readonly #driverError: DriverErrorClass | undefined;

  constructor(gpu: GpuBackend, logger: SamplerLogger, driverError: DriverErrorClass | undefined) {
    this.#gpu = gpu;
    this.#logger = logger;
    this.#driverError = driverError;
  }

  get backend(): BackendName {
    return this.#gpu ? 'gpu' : 'cpu';
  }

  get fallbackReason(): string | undefined {
    return this.#reason;
  }

  get memoryBytes(): number {
    return (this.#gpu ?? this.#cpu)?.memoryBytes ?? 0;
  }

  sample(request: SampleRequest<HostInput | DeviceInput>): SampleResult {
    if (this.#disposed) throw new SamplerDisposedError();
    const gpu = this.#gpu;
    if (!gpu) return this.#cpu!.sample(request as SampleRequest);
    const resolved = gpu.resolve(request);
    try {
      return gpu.sampleResolved(resolved);
    } catch (error) {
      return this.#onCpu(error, resolved);
    }
  }

  async sampleAsync(request: SampleRequest<HostInput | DeviceInput>): Promise<SampleResult> {
    if (this.#disposed) throw new SamplerDisposedError();
    const gpu = this.#gpu;
    if (!gpu) return this.#cpu!.sample(request as SampleRequest);
    const resolved = gpu.resolve(request);
    try {
      return await gpu.sampleResolvedAsync(resolved);
    } catch (error) {
      return this.#onCpu(error, resolved);
    }
  }

  filteredProbs(request: SampleRequest): DistributionResult {
    return this.#onEither((sampler) => sampler.filteredProbs(request));
  }

  maskedLogits(request: SampleRequest): DistributionResult {
    return this.#onEither((sampler) => sampler.maskedLogits(request));
  }

  verify(request: VerifyRequest): VerifyResult {
    return this.#onEither((sampler) => sampler.verify(request));
  }

  /** `call` on the GPU; on the CPU when there is none, or for good once a GPU call fails. */
  #onEither<R>(call: (sampler: Sampler) => R): R {
    if (this.#disposed) throw new SamplerDisposedError();
    const gpu = this.#gpu;
    if (!gpu) return call(this.#cpu!);
    try {
      return call(gpu);
    } catch (error) {
      return call(this.#moveToCpu(error));
    }
  }

  /** Rethrows `error` unless the GPU failed; then moves to the CPU for good and samples there. */
  #onCpu(error: unknown, resolved: ResolvedRequest<HostValues | DeviceInput>): SampleResult {
    return this.#moveToCpu(error).sampleResolved(onHost(resolved, CPU_INPUT));
  }

  /** Rethrows `error` unless the GPU failed; then moves to the CPU for good and returns it. */
  #moveToCpu(error: unknown): CpuSampler {
    if (!isDeviceFailure(error, this.#driverError)) throw error;
    this.#reason = `the GPU failed mid-run: ${(error as Error).message}`;
    this.#logger?.warn(`[rocmforge] ${this.#reason}; continuing on the CPU`);
    try {
      this.#gpu?.dispose();
    } catch {
      // The device may be unusable; its memory is the driver's to reclaim.
    }
    this.#gpu = undefined;
    this.#cpu = new CpuSampler(this.#reason);
    return this.#cpu;
  }

  pinHostMemory(array: HostValues): PinnedHostMemory {
    if (this.#disposed) throw new SamplerDisposedError();
    return (this.#gpu ?? this.#cpu!).pinHostMemory(array);
  }

  /** @internal For tests: the next GPU call fails as a driver failure would. */
  injectFailure(): void {
    this.#gpu?.injectFailure();
  }

  dispose(): void {
    this.#disposed = true;
    this.#gpu?.dispose();
    this.#cpu?.dispose();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
