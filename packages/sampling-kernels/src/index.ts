export {
  ABI_CONSTANTS,
  ABI_ENUMS,
  ABI_STRUCTS,
  type AbiEnumName,
  ADJUST_LOGITS_PARAMS,
  FILTER_ORDER,
  type FieldType,
  type FilterOrderName,
  INPUT_KIND,
  type InputKindName,
  KERNEL_PARAMS,
  type KernelName,
  LOGPROBS_MODE,
  type LogprobsModeName,
  MAX_ROW_PARTS,
  MAX_TOP_LOGPROBS,
  type ParamStruct,
  PHILOX_PARAMS,
  PREFIX_SUM_PARAMS,
  ROW_PARAMETERS,
  ROW_STAT,
  ROW_STATS,
  ROW_STATUS,
  type RowParameterName,
  type RowStatusName,
  SAMPLE_PARAMS,
  SOFTMAX_PARAMS,
  SPLIT_SCRATCH_BYTES,
  TOKEN_LOGPROBS_PARAMS,
  TOP_LOGPROBS_PARAMS,
  UNIFORM_PARAMS,
} from './abi.js';
export { AdjustmentTable, type RowAdjustmentEntries, type TokenAdjustment } from './adjustment-table.js';
export { type DeviceRegion, subRegion } from './device-region.js';
export { KernelArgumentError, KernelsUnavailableError } from './errors.js';
export { cacheDirectory, compileForDevice, jitForced, kernelSources } from './jit.js';
export { type KernelManifest, packageRoot, prebuiltFor, readManifest } from './manifest.js';
export {
  type FieldLayout,
  type FieldValue,
  type StructLayout,
  type StructValues,
  structArgs,
  structLayout,
} from './param-struct.js';
export {
  type RowParameterArrays,
  type RowParameterBuffers,
  rowParameterBytes,
  rowParameterRegions,
  writeRowParameters,
} from './row-parameters.js';
export { type SampleLaunch, SamplingKernels } from './sampling-kernels.js';
export { BLOCK_THREADS, KERNEL_SIGNATURES, NARROW_BLOCK_THREADS } from './signatures.js';
