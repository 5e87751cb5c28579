import type { KernelArgType } from '@rocmforge/hip-runtime';

/** rf_sample's parameters (and rf_sample_narrow's). */
const SAMPLE_PARAMS = [
  'pointer', // input
  'u32', // vocab
  'u32', // kind: 0 logits, 1 probabilities
  'pointer', // temperature[batch]
  'pointer', // topK[batch]
  'pointer', // topP[batch]
  'pointer', // minP[batch]
  'pointer', // seedLo[batch]
  'pointer', // seedHi[batch]
  'pointer', // stepLo[batch]
  'pointer', // stepHi[batch]
  'pointer', // stream[batch]
  'u32', // filterOrder: 0 topKFirst, 1 joint
  'u32', // samples
  'pointer', // tokens[batch × samples]
  'pointer', // valid[batch]
  'pointer', // rowStats[batch × 6] or 0
  'u32', // parts: blocks per row
  'pointer', // scratch: batch RowScratch records when parts > 1, else 0
] as const satisfies readonly KernelArgType[];

/**
 * Parameter layouts of the kernels in kernels/sampling.hip, in order. The single source of
 * truth: the build writes it into the manifest, the launchers pack arguments from it.
 */
export const KERNEL_SIGNATURES = {
  /** Samples every row: all modes, per-row parameters, rows split over blocks when few. */
  rf_sample: SAMPLE_PARAMS,
  /** rf_sample with NARROW_BLOCK_THREADS-thread blocks (several rows per multiprocessor). */
  rf_sample_narrow: SAMPLE_PARAMS,
  /** probs = softmax(logits / T) per row. */
  rf_softmax: ['pointer', 'pointer', 'u32', 'pointer'],
  /** Inclusive prefix sums of each row. */
  rf_prefix_sum: ['pointer', 'pointer', 'u32'],
  /** Raw Philox4x32-10 words for consecutive draws of each row (seed, step, stream). */
  rf_philox: ['pointer', 'pointer', 'pointer', 'pointer', 'pointer', 'pointer', 'u32', 'u32'],
  /** The 53-bit uniforms the sampler draws, per row. */
  rf_uniform: ['pointer', 'pointer', 'pointer', 'pointer', 'pointer', 'pointer', 'u32'],
  /** Logit bias and repetition / frequency / presence penalties, in place. */
  rf_adjust_logits: [
    'pointer',
    'u32',
    'pointer',
    'pointer',
    'pointer',
    'pointer',
    'pointer',
    'pointer',
    'pointer',
    'pointer',
  ],
  /** Log-probability of each sampled token. */
  rf_token_logprobs: ['pointer', 'u32', 'u32', 'pointer', 'u32', 'pointer', 'u32', 'pointer'],
  /** The n most probable tokens of each row with their log-probabilities. */
  rf_top_logprobs: [
    'pointer',
    'u32',
    'u32',
    'u32',
    'pointer',
    'pointer',
    'u32',
    'u32',
    'pointer',
    'pointer',
    'pointer',
  ],
} as const satisfies Record<string, readonly KernelArgType[]>;

/** The name of one of the kernels. */
export type KernelName = keyof typeof KERNEL_SIGNATURES;

/** Threads per block the kernels are compiled for (RF_BLOCK). */
export const BLOCK_THREADS = 1024;
/** Largest n for top-n log-probabilities (TOP_CAPACITY). */
export const MAX_TOP_LOGPROBS = 1024;
/** Floats per row of the per-row statistics rf_sample writes. */
export const ROW_STATS = 6;
/** Most blocks one row is split over (MAX_PARTS). */
export const MAX_ROW_PARTS = 256;
/** Bytes of split-row scratch per row (sizeof(RowScratch) in kernels/row_split.h). */
export const SPLIT_SCRATCH_BYTES = 16 + MAX_ROW_PARTS * 24 + 6 * 2048 * 8;
/** Fewest elements per block when a row is split (below this, more blocks only add barrier cost). */
export const MIN_PART_ELEMENTS = 2048;
/**
 * Rows of at most this many elements stay in one block: a split saves less than its row
 * barriers cost (H100, 1 × 4096: plain 21 µs whole vs 30 split, top-k+top-p 45 vs 59;
 * at 16384 the split wins, 56 vs 79). docs/PERFORMANCE.md, v3.
 */
export const MIN_SPLIT_VOCAB = 8192;
/** Threads per block of rf_sample_narrow (RF_NARROW_BLOCK). */
export const NARROW_BLOCK_THREADS = 256;
/**
 * From this many rows per multiprocessor on, rows go to rf_sample_narrow. H100: 10000 × 32000
 * plain 2080 → 916 µs, 512 × 151936 top-k+top-p 2261 → 1387 µs; at 128 rows (fewer than the
 * multiprocessors) the 1024-thread kernel is faster (65 vs 150 µs). docs/PERFORMANCE.md, v3.
 */
export const NARROW_MIN_ROWS_PER_SM = 2;
