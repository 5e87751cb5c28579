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
 * What the GPU has no kernels for (typical-p, top-n-sigma, XTC, `filteredProbs`, `maskedLogits`,
 * `verify`) runs on the CPU by design, call by call, while the rest stays on the GPU: routed
 * here before the GPU sees it, never a fallback (host arrays only; see docs/GPU_SAMPLER.md "Backends").
 */
export class AutoSampler implements Sampler {
  #gpu: GpuBackend | undefined;
  #cpu: CpuSampler | undefined;
  /** The CPU for what the GPU has no kernels for, while the GPU serves the rest. */
  #cpuForUnsupported: CpuSampler | undefined;
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
    if (resolved.extraFilters) return this.#hostCpu().sampleResolved(onHost(resolved, CPU_INPUT));
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
    if (resolved.extraFilters) return this.#hostCpu().sampleResolved(onHost(resolved, CPU_INPUT));
    try {
      return await gpu.sampleResolvedAsync(resolved);
    } catch (error) {
      return this.#onCpu(error, resolved);
    }
  }

  filteredProbs(request: SampleRequest): DistributionResult {
    if (this.#disposed) throw new SamplerDisposedError();
    return (this.#gpu ? this.#hostCpu() : this.#cpu!).filteredProbs(request);
  }

  maskedLogits(request: SampleRequest): DistributionResult {
    if (this.#disposed) throw new SamplerDisposedError();
    return (this.#gpu ? this.#hostCpu() : this.#cpu!).maskedLogits(request);
  }

  verify(request: VerifyRequest): VerifyResult {
    if (this.#disposed) throw new SamplerDisposedError();
    return (this.#gpu ? this.#hostCpu() : this.#cpu!).verify(request);
  }

  /** The CPU sampler for the calls the GPU has no kernels for (created on first use). */
  #hostCpu(): CpuSampler {
    this.#cpuForUnsupported ??= new CpuSampler();
    return this.#cpuForUnsupported;
  }

  /** Rethrows `error` unless the GPU failed; then moves to the CPU for good and samples there. */
  #onCpu(error: unknown, resolved: ResolvedRequest<HostValues | DeviceInput>): SampleResult {
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
    return this.#cpu.sampleResolved(onHost(resolved, CPU_INPUT));
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
    this.#cpuForUnsupported?.dispose();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
