export { KernelArgumentError, KernelsUnavailableError } from './errors.js';
export { cacheDirectory, compileForDevice, jitForced, kernelSources } from './jit.js';
export { type KernelManifest, packageRoot, prebuiltFor, readManifest } from './manifest.js';
export {
  type DeviceRegion,
  type RowParameterBuffers,
  type SampleLaunch,
  SamplingKernels,
} from './sampling-kernels.js';
export {
  BLOCK_THREADS,
  KERNEL_SIGNATURES,
  type KernelName,
  MAX_TOP_LOGPROBS,
  NARROW_BLOCK_THREADS,
  ROW_STATS,
} from './signatures.js';
