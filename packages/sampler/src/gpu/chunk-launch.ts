import type { DeviceBuffer, DeviceRange, Stream } from '@rocmforge/hip-runtime';
import type {
  ChainFilterBuffers,
  ChainLaunch,
  ChainOutputName,
  SampleLaunch,
  SamplingKernels,
} from '@rocmforge/sampling-kernels';
import type { ResolvedRequest } from '../request.js';
import { adjustmentEntries } from './adjustment-entries.js';
import type { GpuModules } from './gpu-modules.js';
import type { KernelTiming } from './kernel-timing.js';
import { deviceRange } from './staging.js';
import type { DeviceWorkspace } from './workspace.js';

/**
 * What a call asks of the filter chain (kernels/methods.hip, rf_chain) instead of the sampling
 * kernel: a row's distribution written to `values`, or the target positions of a verification.
 * Requests with typical-p, top-n-sigma or XTC go to the chain without one (draws only).
 */
export interface ChainMethod {
  /** What the chain writes to `values`: the filtered probabilities, the masked logits, or nothing. */
  output: Exclude<ChainOutputName, 'keptValues'>;
  /** f32 [batch, vocab] for the whole batch, when `output` is not 'none'. */
  values?: DeviceBuffer;
  /** A verification's draft, when the rows are target positions. */
  verify?: {
    /** Draft tokens per verified row (≥ 1). */
    draft: number;
    /** i32 [verified rows, n] on the device. */
    draftTokens: DeviceBuffer;
    /** f32 [verified rows, n, vocab] on the device. */
    draftProbs: DeviceBuffer;
    /** u8 [batch] out: a verdict per target row. */
    verdicts: DeviceBuffer;
  };
}

/** Whether `request` runs on the filter chain (a `method` asks for it, or the request's filters need it). */
export function usesChain(request: ResolvedRequest<unknown>, method: ChainMethod | undefined): boolean {
  return method !== undefined || request.extraFilters !== undefined;
}

/**
 * Where each output of a call lies in its output bytes (the same whether the kernels write
 * them in the mapped landing block or in a device buffer copied back in one piece): tokens
 * (i32, batch × samples), one row status byte per row, then, when asked for, the sampled
 * tokens' log-probabilities (f32, batch × samples) and the top-n lists (i32 tokens, then f32
 * log-probabilities, batch × n each).
 */
export interface OutputLayout {
  /** Byte offset of the row statuses (the tokens start at 0). */
  statuses: number;
  /** Byte offset of the log-probabilities (4-byte aligned). */
  logprobs: number;
  /** Byte offset of the top-n tokens. */
  topTokens: number;
  /** Byte offset of the top-n log-probabilities. */
  topLogprobs: number;
  /** Bytes in all. */
  bytes: number;
}

/** The output layout of `request`. */
export function outputLayout(
  request: Pick<ResolvedRequest<unknown>, 'batch' | 'samples' | 'logprobs'>,
): OutputLayout {
  const { batch, samples } = request;
  const statuses = batch * samples * 4;
  const logprobs = Math.ceil((statuses + batch) / 4) * 4;
  const topTokens = logprobs + (request.logprobs ? batch * samples * 4 : 0);
  const n = request.logprobs?.n ?? 0;
  const topLogprobs = topTokens + batch * n * 4;
  const bytes = request.logprobs ? topLogprobs + batch * n * 4 : statuses + batch;
  return { statuses, logprobs, topTokens, topLogprobs, bytes };
}

/** Where one call's kernels read and write, for the whole batch. */
export interface CallBuffers {
  /**
   * The per-row parameter block's device copy; undefined for a call whose one row's parameters
   * go by value in the launch ({@link paramsByValue}).
   */
  params: DeviceRange | undefined;
  /** The outputs, laid out by `layout` (mapped host memory, or a device buffer). */
  outputs: DeviceRange;
  /** Where each output lies in `outputs`. */
  layout: OutputLayout;
  /** Row statistics, when log-probabilities are asked for. */
  rowStats: DeviceBuffer | undefined;
}

/** Bytes of a call's parameter block: the per-row parameters, then the chain's filters (f32 each). */
export function parameterBytes(kernels: GpuModules['kernels'], batch: number, chain: boolean): number {
  return kernels.rowParameterBytes(batch) + (chain ? kernels.CHAIN_FILTERS.length * batch * 4 : 0);
}

/**
 * Writes the chain's filter parameters after the per-row parameters in `host` (the call's
 * parameter block): typical-p, top-n-sigma, XTC's probability and threshold, `batch` f32 each
 * (their off values when the request has none).
 */
export function writeChainFilters(
  kernels: GpuModules['kernels'],
  host: ArrayBuffer,
  request: ResolvedRequest<unknown>,
): void {
  const { batch } = request;
  const at = kernels.rowParameterBytes(batch);
  const f = request.extraFilters;
  kernels.CHAIN_FILTERS.forEach((name, i) => {
    const view = new Float32Array(host, at + i * batch * 4, batch);
    if (f) view.set(f[name]);
    else view.fill(CHAIN_FILTER_OFF[name]);
  });
}

/** Each chain filter's value when it is off (xtcThreshold: its default, unused while XTC is off). */
const CHAIN_FILTER_OFF = { typicalP: 1, topNSigma: 0, xtcProbability: 0, xtcThreshold: 0.1 } as const;

/** The chain filters' device arrays for rows [first, first + rows) of a parameter block of `batch` rows. */
function chainFilterRegions(
  kernels: GpuModules['kernels'],
  block: DeviceRange,
  batch: number,
  first: number,
  rows: number,
): ChainFilterBuffers {
  const at = kernels.rowParameterBytes(batch);
  const regions = {} as ChainFilterBuffers;
  kernels.CHAIN_FILTERS.forEach((name, i) => {
    regions[name] = deviceRange(block, at + (i * batch + first) * 4, rows * 4);
  });
  return regions;
}

/**
 * Whether a call's one row goes with its parameters by value in the launch instead of in a
 * parameter block copied to the device ahead of the kernel: one row from device memory (no
 * host rows to copy anyway), drawn by rf_sample without adjustments or log-probabilities (whose
 * kernels read the parameter block).
 */
export function paramsByValue(request: ResolvedRequest<unknown>, chain: boolean): boolean {
  return (
    request.batch === 1 &&
    !chain &&
    !request.logprobs &&
    request.adjustments === undefined &&
    !ArrayBuffer.isView(request.input)
  );
}

/** The call's parameter block; a call that has none does not reach here. */
function parameterBlock(buffers: CallBuffers): DeviceRange {
  if (!buffers.params)
    throw new Error('internal: a launch that reads the parameter block in a call without one');
  return buffers.params;
}

/** What launching a chunk needs besides the request. */
export interface ChunkContext {
  /** The sampling-kernels package. */
  modules: GpuModules['kernels'];
  /** The kernels loaded on the device. */
  kernels: SamplingKernels;
  /** The sampler's device buffers. */
  workspace: DeviceWorkspace;
  /** The stream everything is queued on. */
  stream: Stream;
  /** The timing events, and the sampling launches per chunk (the same result each time). */
  timing: KernelTiming;
}

/**
 * Queues the kernels of rows [first, first + rows) whose input is `input` on the device: the
 * logit adjustments (on a copy), the sampling launch (rf_sample, or the filter chain for the
 * requests and `method`s that need it), and the log-probabilities asked for. `chunkRows` is the
 * most rows any chunk has (the size of the adjusted copy).
 */
export function launchChunk(
  context: ChunkContext,
  request: ResolvedRequest<unknown>,
  buffers: CallBuffers,
  chunk: { first: number; rows: number; chunkRows: number; input: DeviceRange },
  method?: ChainMethod,
): void {
  const { modules, kernels, workspace, stream } = context;
  const { batch, vocab, samples, kind } = request;
  const { first, rows, input } = chunk;
  const bytes = rows * vocab * 4;
  const { dtype } = request;
  let values = input;
  let valuesType = dtype;
  if (request.adjustments) {
    // Adjusted in place on a float32 copy (half input widened into it).
    const adjusted = workspace.get('adjusted', chunk.chunkRows * vocab * 4);
    values = deviceRange(adjusted, 0, bytes);
    if (dtype === 'float32') adjusted.copyFrom(input, bytes, stream);
    else kernels.widen({ input, dtype, output: values, batch: rows, vocab, stream });
    valuesType = 'float32';
    const table = new modules.AdjustmentTable(adjustmentEntries(request.adjustments, first, rows));
    const buffer = workspace.get('adjustments', table.bytes.byteLength);
    kernels.adjustLogits({ logits: values, vocab, table, buffer, stream });
  }
  const { outputs, layout } = buffers;
  const tokens = deviceRange(outputs, first * samples * 4, rows * samples * 4);
  const valid = deviceRange(outputs, layout.statuses + first, rows);
  const stats = modules.ROW_STATS * 4;
  const rowStats = buffers.rowStats && deviceRange(buffers.rowStats, first * stats, rows * stats);
  // The processed log-probabilities of a chain row describe its kept values (the chain writes
  // them, with the row statistics): a float32 copy.
  let processedValues = values;
  let processedType = valuesType;
  if (usesChain(request, method)) {
    const block = parameterBlock(buffers);
    const launch: ChainLaunch = {
      input: values,
      dtype: valuesType,
      batch: rows,
      vocab,
      kind,
      params: modules.rowParameterRegions(block, batch, first, rows),
      filters: chainFilterRegions(modules, block, batch, first, rows),
      filterOrder: request.filterOrder,
      samples,
      valid,
      stream,
    };
    if (samples > 0) launch.tokens = tokens;
    if (method?.values && method.output !== 'none') {
      launch.output = method.output;
      launch.values = deviceRange(method.values, first * vocab * 4, rows * vocab * 4);
    } else if (request.logprobs?.mode === 'processed') {
      processedValues = deviceRange(workspace.get('kept', chunk.chunkRows * vocab * 4), 0, rows * vocab * 4);
      processedType = 'float32';
      launch.output = 'keptValues';
      launch.values = processedValues;
    }
    if (rowStats) launch.rowStats = rowStats;
    const verify = method?.verify;
    if (verify) {
      launch.verify = {
        draft: verify.draft,
        firstRow: first,
        draftTokens: verify.draftTokens,
        draftProbs: verify.draftProbs,
        verdicts: deviceRange(verify.verdicts, first, rows),
      };
    }
    for (let i = 0; i < context.timing.repeat; i++) kernels.chain(launch);
  } else {
    const splitBytes = kernels.sampleScratchBytes(rows, vocab);
    // Optional fields assigned, not spread in: a spread inside a literal takes V8's slow path.
    const launch: SampleLaunch = {
      input: values,
      dtype: valuesType,
      batch: rows,
      vocab,
      kind,
      filterOrder: request.filterOrder,
      samples,
      tokens,
      valid,
      stream,
    };
    if (buffers.params) launch.params = modules.rowParameterRegions(buffers.params, batch, first, rows);
    else launch.oneRow = request;
    if (rowStats) launch.rowStats = rowStats;
    if (splitBytes > 0) launch.scratch = workspace.get('split', splitBytes, stream);
    for (let i = 0; i < context.timing.repeat; i++) kernels.sample(launch);
  }
  if (!request.logprobs || !rowStats) return;
  // Log-probabilities of the chunk: of the input (raw) or of the adjusted values (processed).
  const { mode, n } = request.logprobs;
  const [source, sourceType] = mode === 'raw' ? [input, dtype] : [processedValues, processedType];
  const common = {
    values: source,
    dtype: sourceType,
    batch: rows,
    vocab,
    kind,
    tokens,
    samples,
    rowStats,
    mode,
    stream,
  };
  kernels.tokenLogprobs({
    ...common,
    out: deviceRange(outputs, layout.logprobs + first * samples * 4, rows * samples * 4),
  });
  if (n > 0) {
    kernels.topLogprobs({
      ...common,
      n,
      outTokens: deviceRange(outputs, layout.topTokens + first * n * 4, rows * n * 4),
      outLogprobs: deviceRange(outputs, layout.topLogprobs + first * n * 4, rows * n * 4),
      valid,
    });
  }
}
