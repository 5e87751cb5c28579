import { KERNEL_PARAMS, type KernelName } from './abi.js';
import { type StructLayout, structLayout } from './param-struct.js';

/**
 * Each kernel's parameter layout: one struct of kernels/abi.h passed by value, with the offset
 * of every field. The build writes it into the manifest; the launchers pack arguments from the
 * same structs (src/abi.ts), by field name.
 */
export const KERNEL_SIGNATURES = Object.fromEntries(
  Object.entries(KERNEL_PARAMS).map(([name, struct]) => [name, structLayout(struct)]),
) as Record<KernelName, StructLayout>;

/** Threads per block the kernels are compiled for (RF_BLOCK). */
export const BLOCK_THREADS = 1024;
/** Threads per block of rf_sample_narrow (RF_NARROW_BLOCK). */
export const NARROW_BLOCK_THREADS = 256;
/** Fewest elements per block when a row is split (below this, more blocks only add barrier cost). */
export const MIN_PART_ELEMENTS = 2048;
/**
 * Rows of at most this many elements stay in one block: a split saves less than its row
 * barriers cost (H100, 1 × 4096: plain 21 µs whole vs 30 split, top-k+top-p 45 vs 59;
 * at 16384 the split wins, 56 vs 79). docs/PERFORMANCE.md, v3.
 */
export const MIN_SPLIT_VOCAB = 8192;
/**
 * From this many rows per multiprocessor on, rows go to rf_sample_narrow. H100: 10000 × 32000
 * plain 2080 → 916 µs, 512 × 151936 top-k+top-p 2261 → 1387 µs; at 128 rows (fewer than the
 * multiprocessors) the 1024-thread kernel is faster (65 vs 150 µs). docs/PERFORMANCE.md, v3.
 */
export const NARROW_MIN_ROWS_PER_SM = 2;
/**
 * Narrow blocks per multiprocessor that a batch's split rows may take on
 * rf_sample_split_narrow (`SamplingKernels.splitBlocks`): the kernel is compiled for four
 * resident blocks (RF_SPLIT_NARROW_MIN_BLOCKS), so all of a row's blocks are resident at once.
 */
export const NARROW_SPLIT_BLOCKS_PER_SM = 4;
/**
 * Batches of up to this many rows split their rows over narrow blocks when
 * `SamplingKernels.splitBlocks` is `'auto'`. H200, kernel µs wide → narrow: 1 × 151936
 * top-k+top-p 43.7 → 27.7, plain 24.3 → 12.8; 4 × 151936 top-k+top-p 63.9 → 28.9; 16 × 151936
 * plain 29.5 → 19.6, top-k 40.5 → 39.7, top-p 54.4 → 54.4, top-k+top-p 53.7 → 57.8; 32 × 151936
 * top-k+top-p 52.3 → 55.8 and 32 × 50257 47.4 → 54.2, where plain and top-p gain 10–30%: from 17
 * rows on top-k+top-p would lose more than the others gain, and the choice may not depend on
 * the rows' filters (docs/PERFORMANCE.md, version 10).
 */
export const SPLIT_NARROW_MAX_ROWS = 16;
