import { BackendUnavailableError, SamplerInputError } from './errors.js';
import { CpuSampler } from './cpu/cpu-sampler.js';
import type { SampleRequest, SampleResult } from './request.js';

/** Which implementation a {@link Sampler} runs on. */
export type BackendName = 'cpu' | 'gpu';

/** One sampling API, two implementations. */
export interface Sampler extends Disposable {
  /** The backend in use. */
  readonly backend: BackendName;
  /** Why `auto` did not give the GPU (undefined when it did, or when the CPU was asked for). */
  readonly fallbackReason: string | undefined;
  /** Bytes of memory the sampler holds for its scratch space (device memory on the GPU). */
  readonly memoryBytes: number;
  /** Samples synchronously. */
  sample(request: SampleRequest): SampleResult;
  /** Samples without blocking the event loop while a GPU works. */
  sampleAsync(request: SampleRequest): Promise<SampleResult>;
  /** Frees what the sampler holds; using it afterwards throws. */
  dispose(): void;
}

export interface CreateSamplerOptions {
  /** `auto` (default): the GPU when usable, else the CPU with `fallbackReason`; `cpu`; `gpu` (throws when unusable). */
  backend?: 'auto' | 'cpu' | 'gpu';
  /** GPU index (default: `ROCMFORGE_DEVICE` or 0). */
  device?: number;
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
  if (backend === 'cpu') return new CpuSampler();
  const reason = 'the GPU backend is not built into this release of @rocmforge/sampler yet';
  if (backend === 'gpu') throw new BackendUnavailableError('gpu', reason);
  return new CpuSampler(reason);
}
