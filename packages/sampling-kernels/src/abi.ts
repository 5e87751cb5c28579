// The TypeScript mirror of kernels/abi.h: the same enums, constants and parameter structs, by the
// same names. test/abi.test.ts parses the header and compiles it with the host's C++ compiler,
// and fails on any difference, so that this file and the header cannot drift apart.

/** What the input rows hold (`RfInputKind`). */
export const INPUT_KIND = {
  /** Logits (`RF_INPUT_KIND_LOGITS`). */
  logits: 0,
  /** Probabilities, non-negative, not necessarily normalised (`RF_INPUT_KIND_PROBS`). */
  probs: 1,
} as const;

/**
 * The element type of input rows (`RfElementType`). Each kernel that reads input rows has one
 * entry point per type: the float32 one by its plain name, the others with the type's
 * {@link ELEMENT_SUFFIX} (`rf_sample_f16`, `rf_sample_narrow_bf16`, …).
 */
export const ELEMENT_TYPE = {
  /** IEEE binary32 (`RF_ELEMENT_TYPE_FLOAT32`). */
  float32: 0,
  /** IEEE binary16 (`RF_ELEMENT_TYPE_FLOAT16`). */
  float16: 1,
  /** The top 16 bits of a binary32 (`RF_ELEMENT_TYPE_BFLOAT16`). */
  bfloat16: 2,
} as const;

/** How top-k and top-p combine (`RfFilterOrder`): top-p over the renormalised top-k set, or both over the row. */
export const FILTER_ORDER = {
  /** Top-p measured on the renormalised top-k distribution (`RF_FILTER_ORDER_TOP_K_FIRST`). */
  topKFirst: 0,
  /** Top-k and top-p both on the full distribution (`RF_FILTER_ORDER_JOINT`). */
  joint: 1,
} as const;

/** Which distribution log-probabilities describe (`RfLogprobsMode`): the input's, or the one sampled from. */
export const LOGPROBS_MODE = {
  /** The input's own log-softmax (`RF_LOGPROBS_MODE_RAW`). */
  raw: 0,
  /** The distribution sampled from: temperature and filters applied (`RF_LOGPROBS_MODE_PROCESSED`). */
  processed: 1,
} as const;

/**
 * What `rf_sample` did with a row (`RfRowStatus`), one byte per row in its `valid` output:
 * nothing to sample (every logit -Infinity, every probability 0), sampled, invalid values (NaN;
 * negative, NaN or infinite probabilities), or the blocks of a split row could not all run at
 * once (not sampled; the split scratch must be zeroed again).
 */
export const ROW_STATUS = {
  /** Every logit -Infinity, or every probability 0 (`RF_ROW_STATUS_NOTHING_TO_SAMPLE`). */
  nothingToSample: 0,
  /** The row's tokens were drawn (`RF_ROW_STATUS_SAMPLED`). */
  sampled: 1,
  /** NaN; negative, NaN or infinite probabilities (`RF_ROW_STATUS_INVALID_VALUES`). */
  invalidValues: 2,
  /** A split row's blocks were not all resident: not sampled (`RF_ROW_STATUS_BLOCKS_COULD_NOT_MEET`). */
  blocksCouldNotMeet: 3,
} as const;

/**
 * Index of each of the {@link ROW_STATS} floats `rf_sample` writes per row for the
 * log-probability kernels (`RfRowStat`): the row's weight mode, its largest value, 1 / T, the
 * kept total, the value threshold (top-k, top-p) and the weight threshold (min-p).
 */
export const ROW_STAT = {
  /** The row's weight mode (`RF_ROW_STAT_WEIGHT_MODE`; WeightMode in kernels/sampling.hip). */
  weightMode: 0,
  /** The row's largest value (`RF_ROW_STAT_MAX`). */
  max: 1,
  /** 1 / T, 0 for greedy rows (`RF_ROW_STAT_INVERSE_TEMPERATURE`). */
  inverseTemperature: 2,
  /** Total weight of the kept tokens (`RF_ROW_STAT_KEPT_TOTAL`). */
  keptTotal: 3,
  /** Values below it were filtered out by top-k or top-p (`RF_ROW_STAT_THRESHOLD`). */
  threshold: 4,
  /** Weights below it were filtered out by min-p (`RF_ROW_STAT_MIN_WEIGHT`). */
  minWeight: 5,
} as const;

/** What `rf_chain` writes to `values` besides its draws (`RfChainOutput`). */
export const CHAIN_OUTPUT = {
  /** Nothing (`RF_CHAIN_OUTPUT_NONE`). */
  none: 0,
  /** The probabilities drawn from, 0 outside the kept set (`RF_CHAIN_OUTPUT_PROBS`). */
  probs: 1,
  /** x / T (log p / T) of the kept tokens, -Infinity elsewhere (`RF_CHAIN_OUTPUT_LOGITS`). */
  logits: 2,
  /**
   * The input values of the kept tokens, -Infinity (logits) or 0 (probabilities) elsewhere: the
   * processed log-probability kernels' input (`RF_CHAIN_OUTPUT_KEPT_VALUES`).
   */
  keptValues: 3,
} as const;

/** `rf_chain`'s verdict bits per target row of a speculative verification (`RfVerdict`). */
export const VERDICT = {
  /** The draft token at this position is accepted (`RF_VERDICT_ACCEPTED`). */
  accepted: 1,
  /** The draft probabilities here are not a distribution (`RF_VERDICT_DRAFT_INVALID`). */
  draftInvalid: 2,
} as const;

/** An input element type: `'float32'`, `'float16'` or `'bfloat16'`. */
export type ElementTypeName = keyof typeof ELEMENT_TYPE;
/** Bytes per element of each input element type. */
export const ELEMENT_BYTES: Readonly<Record<ElementTypeName, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
};
/** The suffix of each element type's kernel entry points (kernels/abi.h, `RfElementType`). */
export const ELEMENT_SUFFIX = {
  /** float32's entry points carry the plain name (`rf_sample`). */
  float32: '',
  /** `rf_sample_f16`, … */
  float16: '_f16',
  /** `rf_sample_bf16`, … */
  bfloat16: '_bf16',
} as const satisfies Readonly<Record<ElementTypeName, string>>;
/** What input rows can hold: `'logits'` or `'probs'`. */
export type InputKindName = keyof typeof INPUT_KIND;
/** A filter order: `'topKFirst'` or `'joint'`. */
export type FilterOrderName = keyof typeof FILTER_ORDER;
/** A log-probability mode: `'raw'` or `'processed'`. */
export type LogprobsModeName = keyof typeof LOGPROBS_MODE;
/** What `rf_chain` writes to its values: `'none'`, `'probs'`, `'logits'` or `'keptValues'`. */
export type ChainOutputName = keyof typeof CHAIN_OUTPUT;
/** A row status's name. */
export type RowStatusName = keyof typeof ROW_STATUS;

/** Floats per row of the row statistics `rf_sample` writes (`RF_ROW_STATS`). */
export const ROW_STATS = 6;
/** Most blocks one row is split over (`RF_MAX_ROW_PARTS`). */
export const MAX_ROW_PARTS = 256;
/** Bytes of split-row scratch per row (`RF_SPLIT_SCRATCH_BYTES`, sizeof(RowScratch) in kernels/row_split.h). */
export const SPLIT_SCRATCH_BYTES = 113_688;
/** Largest n for top-n log-probabilities (`RF_MAX_TOP_LOGPROBS`). */
export const MAX_TOP_LOGPROBS = 1024;

/** The name of an enum of kernels/abi.h. */
export type AbiEnumName =
  | 'RfElementType'
  | 'RfInputKind'
  | 'RfFilterOrder'
  | 'RfLogprobsMode'
  | 'RfRowStatus'
  | 'RfRowStat'
  | 'RfChainOutput'
  | 'RfVerdict';

/** Every enum of kernels/abi.h, by its C name. */
export const ABI_ENUMS = {
  RfElementType: ELEMENT_TYPE,
  RfInputKind: INPUT_KIND,
  RfFilterOrder: FILTER_ORDER,
  RfLogprobsMode: LOGPROBS_MODE,
  RfRowStatus: ROW_STATUS,
  RfRowStat: ROW_STAT,
  RfChainOutput: CHAIN_OUTPUT,
  RfVerdict: VERDICT,
} as const satisfies Record<AbiEnumName, Readonly<Record<string, number>>>;

/** Every constant of kernels/abi.h, by its C name. */
export const ABI_CONSTANTS = {
  RF_ROW_STATS: ROW_STATS,
  RF_MAX_ROW_PARTS: MAX_ROW_PARTS,
  RF_SPLIT_SCRATCH_BYTES: SPLIT_SCRATCH_BYTES,
  RF_MAX_TOP_LOGPROBS: MAX_TOP_LOGPROBS,
} as const;

/** The C type of a parameter-struct field, spelled as in kernels/abi.h. */
export type FieldType = 'unsigned' | 'int' | 'float' | `${string}*` | AbiEnumName;

/** A kernel's parameter struct: its C name and its fields in declaration order with their C types. */
export interface ParamStruct {
  /** The struct's name in kernels/abi.h. */
  readonly name: string;
  /** Field name → C type, in declaration order. */
  readonly fields: Readonly<Record<string, FieldType>>;
}

/**
 * The fields both sampling structs begin with (`RF_ROW_REQUEST_FIELDS` in kernels/abi.h): the
 * rows and what they hold, rf_sample's filters, the Philox key and counter.
 */
const ROW_REQUEST_FIELDS = {
  input: 'const void*',
  vocab: 'unsigned',
  kind: 'RfInputKind',
  temperature: 'const float*',
  topK: 'const int*',
  topP: 'const float*',
  minP: 'const float*',
  seedLo: 'const unsigned*',
  seedHi: 'const unsigned*',
  stepLo: 'const unsigned*',
  stepHi: 'const unsigned*',
  stream: 'const unsigned*',
  filterOrder: 'RfFilterOrder',
} as const satisfies Record<string, FieldType>;

/** The draws' outputs of both sampling structs (`RF_DRAW_OUTPUT_FIELDS` in kernels/abi.h). */
const DRAW_OUTPUT_FIELDS = {
  samples: 'unsigned',
  tokens: 'int*',
  valid: 'unsigned char*',
  rowStats: 'float*',
} as const satisfies Record<string, FieldType>;

/** `RfSampleParams`: rf_sample, rf_sample_narrow and rf_sample_split_narrow. */
export const SAMPLE_PARAMS = {
  name: 'RfSampleParams',
  fields: {
    ...ROW_REQUEST_FIELDS,
    ...DRAW_OUTPUT_FIELDS,
    parts: 'unsigned',
    scratch: 'void*',
    // One row's parameters by value (`oneRow` 1), the per-row pointers then null.
    oneRow: 'unsigned',
    oneTemperature: 'float',
    oneTopK: 'int',
    oneTopP: 'float',
    oneMinP: 'float',
    oneSeedLo: 'unsigned',
    oneSeedHi: 'unsigned',
    oneStepLo: 'unsigned',
    oneStepHi: 'unsigned',
    oneStream: 'unsigned',
  },
} as const satisfies ParamStruct;

/** `RfSoftmaxParams`: rf_softmax. */
export const SOFTMAX_PARAMS = {
  name: 'RfSoftmaxParams',
  fields: { logits: 'const float*', probs: 'float*', vocab: 'unsigned', temperature: 'const float*' },
} as const satisfies ParamStruct;

/** `RfPrefixSumParams`: rf_prefix_sum. */
export const PREFIX_SUM_PARAMS = {
  name: 'RfPrefixSumParams',
  fields: { input: 'const float*', output: 'float*', vocab: 'unsigned' },
} as const satisfies ParamStruct;

/** `RfPhiloxParams`: rf_philox. */
export const PHILOX_PARAMS = {
  name: 'RfPhiloxParams',
  fields: {
    out: 'unsigned*',
    seedLo: 'const unsigned*',
    seedHi: 'const unsigned*',
    stepLo: 'const unsigned*',
    stepHi: 'const unsigned*',
    stream: 'const unsigned*',
    draw0: 'unsigned',
    count: 'unsigned',
  },
} as const satisfies ParamStruct;

/** `RfUniformParams`: rf_uniform. */
export const UNIFORM_PARAMS = {
  name: 'RfUniformParams',
  fields: {
    out: 'double*',
    seedLo: 'const unsigned*',
    seedHi: 'const unsigned*',
    stepLo: 'const unsigned*',
    stepHi: 'const unsigned*',
    stream: 'const unsigned*',
    count: 'unsigned',
  },
} as const satisfies ParamStruct;

/** `RfAdjustLogitsParams`: rf_adjust_logits. */
export const ADJUST_LOGITS_PARAMS = {
  name: 'RfAdjustLogitsParams',
  fields: {
    logits: 'float*',
    vocab: 'unsigned',
    offsets: 'const unsigned*',
    entryToken: 'const int*',
    entryBias: 'const float*',
    entryPromptSeen: 'const unsigned*',
    entryOutputCount: 'const unsigned*',
    repetition: 'const float*',
    frequency: 'const float*',
    presence: 'const float*',
  },
} as const satisfies ParamStruct;

/** `RfTokenLogprobsParams`: rf_token_logprobs. */
export const TOKEN_LOGPROBS_PARAMS = {
  name: 'RfTokenLogprobsParams',
  fields: {
    values: 'const void*',
    vocab: 'unsigned',
    kind: 'RfInputKind',
    tokens: 'const int*',
    samples: 'unsigned',
    rowStats: 'const float*',
    mode: 'RfLogprobsMode',
    out: 'float*',
  },
} as const satisfies ParamStruct;

/** `RfTopLogprobsParams`: rf_top_logprobs. */
export const TOP_LOGPROBS_PARAMS = {
  name: 'RfTopLogprobsParams',
  fields: {
    values: 'const void*',
    vocab: 'unsigned',
    kind: 'RfInputKind',
    n: 'unsigned',
    rowStats: 'const float*',
    tokens: 'const int*',
    samples: 'unsigned',
    mode: 'RfLogprobsMode',
    outTokens: 'int*',
    outLogprobs: 'float*',
    valid: 'const unsigned char*',
  },
} as const satisfies ParamStruct;

/** `RfWidenParams`: rf_widen_f16 and rf_widen_bf16. */
export const WIDEN_PARAMS = {
  name: 'RfWidenParams',
  fields: { input: 'const void*', output: 'float*', vocab: 'unsigned' },
} as const satisfies ParamStruct;

/** `RfChainParams`: rf_chain and rf_chain_narrow (kernels/methods.hip). */
export const CHAIN_PARAMS = {
  name: 'RfChainParams',
  fields: {
    ...ROW_REQUEST_FIELDS,
    typicalP: 'const float*',
    topNSigma: 'const float*',
    xtcProbability: 'const float*',
    xtcThreshold: 'const float*',
    ...DRAW_OUTPUT_FIELDS,
    output: 'RfChainOutput',
    values: 'float*',
    draft: 'unsigned',
    firstRow: 'unsigned',
    draftTokens: 'const int*',
    draftProbs: 'const float*',
    verdicts: 'unsigned char*',
  },
} as const satisfies ParamStruct;

/** Every parameter struct of kernels/abi.h, by its C name. */
export const ABI_STRUCTS = {
  RfSampleParams: SAMPLE_PARAMS,
  RfSoftmaxParams: SOFTMAX_PARAMS,
  RfPrefixSumParams: PREFIX_SUM_PARAMS,
  RfPhiloxParams: PHILOX_PARAMS,
  RfUniformParams: UNIFORM_PARAMS,
  RfAdjustLogitsParams: ADJUST_LOGITS_PARAMS,
  RfTokenLogprobsParams: TOKEN_LOGPROBS_PARAMS,
  RfTopLogprobsParams: TOP_LOGPROBS_PARAMS,
  RfWidenParams: WIDEN_PARAMS,
  RfChainParams: CHAIN_PARAMS,
} as const;

/** The name of one of the kernels. */
export type KernelName =
  | `rf_sample${ElementSuffix}`
  | `rf_sample_narrow${ElementSuffix}`
  | `rf_sample_split_narrow${ElementSuffix}`
  | 'rf_softmax'
  | 'rf_prefix_sum'
  | 'rf_philox'
  | 'rf_uniform'
  | 'rf_adjust_logits'
  | `rf_token_logprobs${ElementSuffix}`
  | `rf_top_logprobs${ElementSuffix}`
  | 'rf_widen_f16'
  | 'rf_widen_bf16'
  | `rf_chain${ElementSuffix}`
  | `rf_chain_narrow${ElementSuffix}`;
/** An element type's entry-point suffix. */
export type ElementSuffix = (typeof ELEMENT_SUFFIX)[ElementTypeName];

/** Each kernel's parameter struct: the kernel takes it by value as its only parameter. */
export const KERNEL_PARAMS = {
  rf_sample: SAMPLE_PARAMS,
  rf_sample_f16: SAMPLE_PARAMS,
  rf_sample_bf16: SAMPLE_PARAMS,
  rf_sample_narrow: SAMPLE_PARAMS,
  rf_sample_narrow_f16: SAMPLE_PARAMS,
  rf_sample_narrow_bf16: SAMPLE_PARAMS,
  rf_sample_split_narrow: SAMPLE_PARAMS,
  rf_sample_split_narrow_f16: SAMPLE_PARAMS,
  rf_sample_split_narrow_bf16: SAMPLE_PARAMS,
  rf_softmax: SOFTMAX_PARAMS,
  rf_prefix_sum: PREFIX_SUM_PARAMS,
  rf_philox: PHILOX_PARAMS,
  rf_uniform: UNIFORM_PARAMS,
  rf_adjust_logits: ADJUST_LOGITS_PARAMS,
  rf_token_logprobs: TOKEN_LOGPROBS_PARAMS,
  rf_token_logprobs_f16: TOKEN_LOGPROBS_PARAMS,
  rf_token_logprobs_bf16: TOKEN_LOGPROBS_PARAMS,
  rf_top_logprobs: TOP_LOGPROBS_PARAMS,
  rf_top_logprobs_f16: TOP_LOGPROBS_PARAMS,
  rf_top_logprobs_bf16: TOP_LOGPROBS_PARAMS,
  rf_widen_f16: WIDEN_PARAMS,
  rf_widen_bf16: WIDEN_PARAMS,
  rf_chain: CHAIN_PARAMS,
  rf_chain_f16: CHAIN_PARAMS,
  rf_chain_bf16: CHAIN_PARAMS,
  rf_chain_narrow: CHAIN_PARAMS,
  rf_chain_narrow_f16: CHAIN_PARAMS,
  rf_chain_narrow_bf16: CHAIN_PARAMS,
} as const satisfies Record<KernelName, ParamStruct>;

/**
 * The kernel sources, each compiled into a binary of its own: `sampling` (kernels/sampling.hip,
 * loaded with the kernels) and `methods` (kernels/methods.hip, the filter chain, loaded when
 * first used).
 */
export const KERNEL_SOURCES = ['sampling', 'methods'] as const;
/** The name of a kernel source (kernels/<name>.hip). */
export type KernelSourceName = (typeof KERNEL_SOURCES)[number];
/** The source whose binary holds kernel `name`. */
export function kernelSource(name: KernelName): KernelSourceName {
  return name.startsWith('rf_chain') ? 'methods' : 'sampling';
}

/** The per-row filter parameters of `rf_chain` beyond {@link ROW_PARAMETERS}: `batch` f32 each, in this order. */
export const CHAIN_FILTERS = [
  'typicalP',
  'topNSigma',
  'xtcProbability',
  'xtcThreshold',
] as const satisfies readonly (keyof typeof CHAIN_PARAMS.fields)[];

/** The name of one of {@link CHAIN_FILTERS}. */
export type ChainFilterName = (typeof CHAIN_FILTERS)[number];

/** The per-row parameters of `rf_sample`: fields of `RfSampleParams`, one device array of `batch` elements each. */
export const ROW_PARAMETERS = [
  'temperature',
  'topK',
  'topP',
  'minP',
  'seedLo',
  'seedHi',
  'stepLo',
  'stepHi',
  'stream',
] as const satisfies readonly (keyof typeof SAMPLE_PARAMS.fields)[];

/** The name of one per-row parameter of `rf_sample`. */
export type RowParameterName = (typeof ROW_PARAMETERS)[number];
