import type { DeviceInput } from '../input.js';
import type { HostValues, ResolvedRequest, SampleResult } from '../request.js';
import { allocateResult } from '../resolved-request.js';
import {
  type ChainMethod,
  type ChunkContext,
  callBuffers,
  launchChunk,
  outputBytes,
  parameterBytes,
  usesChain,
  writeChainFilters,
} from './chunk-launch.js';
import { decodeRowStatus } from './row-status.js';
import type { Staging } from './staging.js';

/** A call in flight: what to read back once the stream is done. */
export interface PendingCall {
  /** The request. */
  request: ResolvedRequest<unknown>;
  /** Its result, whose log-probabilities are being copied in. */
  result: SampleResult;
  /** Pinned host bytes the tokens and row statuses land in: tokens, then one status per row. */
  landing: Uint8Array;
}

/**
 * Queues one call on `context.stream`: the per-row parameters and the input go to the device,
 * each chunk of rows is launched (between the timing events), and the outputs come back into
 * the staging block and the result's arrays. `method` asks the filter chain for a distribution
 * or a verification instead of draws (see {@link ChainMethod}).
 */
export function enqueueCall(
  context: ChunkContext,
  staging: Staging,
  request: ResolvedRequest<HostValues | DeviceInput>,
  method?: ChainMethod,
): PendingCall {
  const { modules, workspace, stream, timing } = context;
  const { batch } = request;
  // The producer's work first, on the device (no host wait).
  if (request.after) stream.waitFor(request.after);
  const chain = usesChain(request, method);
  const buffers = callBuffers(workspace, modules, request, chain);
  const paramBytes = parameterBytes(modules, batch, chain);
  const call = staging.stage(request, paramBytes, outputBytes(request), stream);
  modules.writeRowParameters(call.host, batch, request);
  if (chain) writeChainFilters(modules, call.host, request);
  buffers.params.writeAsync(new Uint8Array(call.host, 0, paramBytes), stream);
  timing.start(stream);
  for (let first = 0; first < batch; first += call.chunkRows) {
    const rows = Math.min(call.chunkRows, batch - first);
    launchChunk(
      context,
      request,
      buffers,
      { first, rows, chunkRows: call.chunkRows, input: call.input(first, rows) },
      method,
    );
  }
  timing.end(stream);
  // Results back to the host, ordered after the launches on the stream.
  const result = allocateResult(request);
  buffers.outputs.readAsync(call.landing, stream);
  if (buffers.logprobs && result.logprobs) buffers.logprobs.readAsync(result.logprobs, stream);
  if (buffers.topTokens && buffers.topLogprobs && result.topLogprobs) {
    buffers.topTokens.readAsync(result.topLogprobs.tokens, stream);
    buffers.topLogprobs.readAsync(result.topLogprobs.logprobs, stream);
  }
  return { request, result, landing: call.landing };
}

/** The result of a call whose stream is done: tokens from the landing bytes, row statuses decoded. */
export function finishCall(context: ChunkContext, { request, result, landing }: PendingCall): SampleResult {
  const tokenBytes = result.tokens.byteLength;
  new Uint8Array(result.tokens.buffer).set(landing.subarray(0, tokenBytes));
  // Read in place: nothing reuses the landing block before this call returns.
  const statuses = landing.subarray(tokenBytes, tokenBytes + request.batch);
  // Blocks that could not meet leave the split scratch dirty: allocate it afresh (zeroed).
  decodeRowStatus(statuses, request, result, () => context.workspace.drop('split'));
  return result;
}
