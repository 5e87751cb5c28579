import { AutoSampler, type SamplerLogger } from './auto-sampler.js';
import { readConfig } from './config.js';
import { CpuSampler } from './cpu/cpu-sampler.js';
import { BackendUnavailableError, SamplerInputError } from './errors.js';
import { gpuModules } from './gpu/gpu-modules.js';
import { GpuSampler } from './gpu/gpu-sampler.js';
import { MultiGpuSampler } from './gpu/multi-gpu-sampler.js';
import type { Sampler } from './sampler.js';

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
    const gpu = open();
    const modules = gpuModules();
    return new AutoSampler(gpu, logger, modules instanceof Error ? undefined : modules.runtime.HipError);
  } catch (error) {
    const reason = BackendUnavailableError.isInstance(error) ? error.message : String(error);
    return new CpuSampler(reason);
  }
}
