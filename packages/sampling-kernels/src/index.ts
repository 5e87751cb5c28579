export {
  type AbiEnumName,
  CHAIN_FILTERS,
  CHAIN_OUTPUT,
  type ChainFilterName,
  type ChainOutputName,
  ELEMENT_BYTES,
  ELEMENT_SUFFIX,
  ELEMENT_TYPE,
  type ElementSuffix,
  type ElementTypeName,
  FILTER_ORDER,
  type FieldType,
  type FilterOrderName,
  INPUT_KIND,
  type InputKindName,
  KERNEL_SOURCES,
  type KernelName,
  type KernelSourceName,
  kernelSource,
  LOGPROBS_MODE,
  type LogprobsModeName,
  MAX_ROW_PARTS,
  MAX_TOP_LOGPROBS,
  ROW_PARAMETERS,
  ROW_STAT,
  ROW_STATS,
  ROW_STATUS,
  type RowParameterName,
  type RowStatusName,
  SPLIT_SCRATCH_BYTES,
  VERDICT,
} from './abi.js';
export {
  AdjustmentTable,
  type AdjustmentTableField,
  type RowAdjustmentEntries,
  type TokenAdjustment,
} from './adjustment-table.js';
export { type DeviceRegion, subRegion } from './device-region.js';
export { KernelArgumentError, KernelsUnavailableError } from './errors.js';
export { cacheDirectory, compileForDevice, jitForced, kernelSources } from './jit.js';
export { type KernelManifest, packageRoot, prebuiltFor, readManifest } from './manifest.js';
export type { FieldLayout, StructLayout } from './param-struct.js';
export {
  type RowParameterArrays,
  type RowParameterBuffers,
  rowParameterBytes,
  rowParameterRegions,
  writeRowParameters,
} from './row-parameters.js';
export {
  type ChainFilterBuffers,
  type ChainLaunch,
  type SampleLaunch,
  SamplingKernels,
} from './sampling-kernels.js';
export { BLOCK_THREADS, KERNEL_SIGNATURES, NARROW_BLOCK_THREADS } from './signatures.js';
