import type { DeviceBuffer, DeviceRange, Stream } from '@rocmforge/hip-runtime';
import type { SampleLaunch, SamplingKernels } from '@rocmforge/sampling-kernels';
import type { ResolvedRequest } from '../request.js';
import { adjustmentEntries } from './adjustment-entries.js';
import type { GpuModules } from './gpu-modules.js';
import type { KernelTiming } from './kernel-timing.js';
import { deviceRange } from './staging.js';
import type { DeviceWorkspace } from './workspace.js';

/** The device buffers of one call, each for the whole batch. */
export interface CallBuffers {
  /** The per-row parameter block. */
  params: DeviceBuffer;
  /** Tokens, then one row status byte per row: one copy brings both back. */
  outputs: DeviceBuffer;
  /** Row statistics, when log-probabilities are asked for. */
  rowStats: DeviceBuffer | undefined;
  /** Log-probabilities of the sampled tokens, when asked for. */
  logprobs: DeviceBuffer | undefined;
  /** Top-n tokens, when asked for. */
  topTokens: DeviceBuffer | undefined;
  /** Top-n log-probabilities, when asked for. */
  topLogprobs: DeviceBuffer | undefined;
}

/** Bytes of the tokens and row statuses of a batch, as they come back. */
export function outputBytes(request: Pick<ResolvedRequest<unknown>, 'batch' | 'samples'>): number {
  return request.batch * request.samples * 4 + request.batch;
}

/** The call's device buffers from `workspace` (reused between calls). */
export function callBuffers(
  workspace: DeviceWorkspace,
  kernels: GpuModules['kernels'],
  request: ResolvedRequest<unknown>,
): CallBuffers {
  const { batch, samples } = request;
  const n = request.logprobs?.n ?? 0;
  const logprobs = request.logprobs !== undefined;
  return {
    params: workspace.get('params', kernels.rowParameterBytes(batch)),
    outputs: workspace.get('outputs', outputBytes(request)),
    rowStats: logprobs ? workspace.get('rowStats', batch * kernels.ROW_STATS * 4) : undefined,
    logprobs: logprobs ? workspace.get('logprobs', batch * samples * 4) : undefined,
    topTokens: n > 0 ? workspace.get('topTokens', batch * n * 4) : undefined,
    topLogprobs: n > 0 ? workspace.get('topLogprobs', batch * n * 4) : undefined,
  };
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
 * logit adjustments (on a copy), the sampling launch, and the log-probabilities asked for.
 * `chunkRows` is the most rows any chunk has (the size of the adjusted copy).
 */
export function launchChunk(
  context: ChunkContext,
  request: ResolvedRequest<unknown>,
  buffers: CallBuffers,
  chunk: { first: number; rows: number; chunkRows: number; input: DeviceRange },
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
  const tokens = deviceRange(buffers.outputs, first * samples * 4, rows * samples * 4);
  const valid = deviceRange(buffers.outputs, batch * samples * 4 + first, rows);
  const stats = modules.ROW_STATS * 4;
  const rowStats = buffers.rowStats && deviceRange(buffers.rowStats, first * stats, rows * stats);
  const splitBytes = kernels.sampleScratchBytes(rows, vocab);
  // Optional fields assigned, not spread in: a spread inside a literal takes V8's slow path.
  const launch: SampleLaunch = {
    input: values,
    dtype: valuesType,
    batch: rows,
    vocab,
    kind,
    params: modules.rowParameterRegions(buffers.params, batch, first, rows),
    filterOrder: request.filterOrder,
    samples,
    tokens,
    valid,
    stream,
  };
  if (rowStats) launch.rowStats = rowStats;
  if (splitBytes > 0) launch.scratch = workspace.get('split', splitBytes, stream);
  for (let i = 0; i < context.timing.repeat; i++) kernels.sample(launch);
  if (!request.logprobs || !rowStats || !buffers.logprobs) return;
  // Log-probabilities of the chunk: of the input (raw) or of the adjusted values (processed).
  const { mode, n } = request.logprobs;
  const [source, sourceType] = mode === 'raw' ? [input, dtype] : [values, valuesType];
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
    out: deviceRange(buffers.logprobs, first * samples * 4, rows * samples * 4),
  });
  if (buffers.topTokens && buffers.topLogprobs) {
    kernels.topLogprobs({
      ...common,
      n,
      outTokens: deviceRange(buffers.topTokens, first * n * 4, rows * n * 4),
      outLogprobs: deviceRange(buffers.topLogprobs, first * n * 4, rows * n * 4),
      valid,
    });
  }
}
