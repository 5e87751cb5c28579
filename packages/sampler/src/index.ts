export type { SamplerLogger } from './auto-sampler.js';
export {
  BENCH_MODES,
  type BenchCase,
  type BenchMode,
  type BenchOptions,
  type BenchResult,
  defaultBenchGrid,
  type MultiGpuBenchResult,
  type MultiGpuTimes,
  runBenchmark,
  runMultiGpuBenchmark,
  syntheticLogits,
} from './benchmark.js';
export { readConfig as readSamplerConfig, type SamplerConfig } from './config.js';
export { CpuSampler } from './cpu/cpu-sampler.js';
export { type CreateSamplerOptions, createSampler } from './create-sampler.js';
export {
  BackendUnavailableError,
  KernelFailureError,
  SamplerDisposedError,
  SamplerError,
  SamplerInputError,
  UnsupportedOnBackendError,
} from './errors.js';
export { GpuSampler } from './gpu/gpu-sampler.js';
export { MultiGpuSampler } from './gpu/multi-gpu-sampler.js';
export type { DeviceInput } from './input.js';
export { philox4x32, uniform53, upperUniform53 } from './philox.js';
export type { PinnedHostMemory } from './pinned.js';
export type {
  DistributionResult,
  ElementType,
  ExtraFilters,
  FilterOrder,
  Float16ArrayLike,
  HostInput,
  HostValues,
  LogitBias,
  LogprobsMode,
  PerRow,
  ResolvedRequest,
  RowAdjustments,
  SampleRequest,
  SampleResult,
  VerifyRequest,
  VerifyResult,
} from './request.js';
export { MAX_TOP_LOGPROBS } from './request.js';
export { resolveRequest } from './resolve-request.js';
export { sliceRows } from './resolved-request.js';
export { type InvalidRowPolicy, RowStatus, type RowStatusCode } from './row-status.js';
export type { BackendName, ResolvedSampler, Sampler } from './sampler.js';
