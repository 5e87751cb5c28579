import { readConfig } from './config.js';
import { CpuSampler } from './cpu/cpu-sampler.js';
import { BackendUnavailableError, SamplerDisposedError, SamplerInputError } from './errors.js';
import { GpuSampler } from './gpu/gpu-sampler.js';
import { MultiGpuSampler } from './gpu/multi-gpu-sampler.js';
import type { PinnedHostMemory } from './pinned.js';
import type { SampleRequest, SampleResult } from './request.js';

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
  sample(request: SampleRequest<Float32Array | import('@rocmforge/hip-runtime').DeviceBuffer>): SampleResult;
  /** Samples without blocking the event loop while a GPU works. */
  sampleAsync(
    request: SampleRequest<Float32Array | import('@rocmforge/hip-runtime').DeviceBuffer>,
  ): Promise<SampleResult>;
  /**
   * Page-locks a host array that you will pass as `logits` / `probs` (typically again and
   * again, refilled in place), until the handle is disposed. Its copies to the GPU are then
   * truly asynchronous, and a batch sharded over several GPUs is copied to all of them at once
   * (from pageable memory the driver copies one device after another). The array must stay
   * alive while pinned. On the CPU backend the handle does nothing.
   */
  pinHostMemory(array: Float32Array): PinnedHostMemory;
  /** Frees what the sampler holds; using it afterwards throws. */
  dispose(): void;
}

/** Where the sampler reports a fallback; `null` silences it. Default: `console.warn`. */
export type SamplerLogger = {
  /** Receives one line. */
  warn(message: string): void;
} | null;

/** Options of {@link createSampler}. */
export interface CreateSamplerOptions {
  /** `auto` (default): the GPU when usable, else the CPU with `fallbackReason`; `cpu`; `gpu` (throws when unusable). */
  backend?: 'auto' | 'cpu' | 'gpu';
  /** GPU index (default: `ROCMFORGE_DEVICE` or 0). */
  device?: number;
  /**
   * Several GPUs: `'all'` or their indices. A host-side batch is split evenly by rows over them,
   * sampled on all at once, and returned in row order, with the tokens of a single-device run.
   */
  devices?: 'all' | readonly number[];
  /** Receives the one-line warning when `auto` falls back to the CPU. */
  logger?: SamplerLogger;
}

/**
 * Creates a sampler.
 *
 * @example
 * ```ts
 * import { createSampler } from '@rocmforge/sampler';
 * const sampler = createSampler({ backend: 'cpu' });
 * const logits = new Float32Array([0.1, 2.5, -1.0, 0.7]);
 * const { tokens } = sampler.sample({ logits, temperature: 0.8, topK: 3, topP: 0.9, seed: 42 });
 * console.log(tokens[0] >= 0 && tokens[0] < 4); // true
 * ```
 */
export function createSampler(options: CreateSamplerOptions = {}): Sampler {
  const backend = options.backend ?? 'auto';
  if (backend !== 'auto' && backend !== 'cpu' && backend !== 'gpu') {
    throw new SamplerInputError('backend', "'auto', 'cpu' or 'gpu'", backend);
  }
  if (options.device !== undefined && (!Number.isInteger(options.device) || options.device < 0)) {
    throw new SamplerInputError('device', 'an integer ≥ 0', options.device);
  }
  if (options.devices !== undefined && options.device !== undefined) {
    throw new SamplerInputError('devices', 'either device or devices, not both', options.devices);
  }
  if (backend === 'cpu') return new CpuSampler();
  const device = options.device ?? readConfig().device;
  const open = () =>
    options.devices !== undefined ? MultiGpuSampler.create(options.devices) : GpuSampler.create(device);
  if (backend === 'gpu') return open();
  const logger = options.logger === undefined ? console : options.logger;
  try {
    return new AutoSampler(open(), logger);
  } catch (error) {
    const reason = error instanceof BackendUnavailableError ? error.message : String(error);
    return new CpuSampler(reason);
  }
}

/** A driver or kernel failure (as opposed to bad input, which the CPU would reject too). */
function isDeviceFailure(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('ERR_HIP') || code.startsWith('ERR_KERNEL'));
}

/** `auto` on a usable GPU: runs there until a GPU call fails, then on the CPU for good. */
class AutoSampler implements Sampler {
  #gpu: GpuSampler | MultiGpuSampler | undefined;
  #cpu: CpuSampler | undefined;
  #reason: string | undefined;
  #disposed = false;
  readonly #logger: SamplerLogger;

  constructor(gpu: GpuSampler | MultiGpuSampler, logger: SamplerLogger) {
    this.#gpu = gpu;
    this.#logger = logger;
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

  #fallBack(error: unknown): CpuSampler {
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

  sample(request: SampleRequest<Float32Array | import('@rocmforge/hip-runtime').DeviceBuffer>): SampleResult {
    if (this.#disposed) throw new SamplerDisposedError();
    if (this.#gpu) {
      try {
        return this.#gpu.sample(request);
      } catch (error) {
        if (!isDeviceFailure(error)) throw error;
        return this.#fallBack(error).sample(request as SampleRequest);
      }
    }
    return this.#cpu!.sample(request as SampleRequest);
  }

  async sampleAsync(
    request: SampleRequest<Float32Array | import('@rocmforge/hip-runtime').DeviceBuffer>,
  ): Promise<SampleResult> {
    if (this.#disposed) throw new SamplerDisposedError();
    if (this.#gpu) {
      try {
        return await this.#gpu.sampleAsync(request);
      } catch (error) {
        if (!isDeviceFailure(error)) throw error;
        return this.#fallBack(error).sample(request as SampleRequest);
      }
    }
    return this.#cpu!.sample(request as SampleRequest);
  }

  pinHostMemory(array: Float32Array): PinnedHostMemory {
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
