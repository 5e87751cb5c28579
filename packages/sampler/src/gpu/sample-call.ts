import type { DeviceInput } from '../input.js';
import type { HostValues, ResolvedRequest, SampleResult } from '../request.js';
import { allocateResult } from '../resolved-request.js';
import {
  type ChainMethod,
  type ChunkContext,
  launchChunk,
  type OutputLayout,
  outputLayout,
  parameterBytes,
  paramsByValue,
  usesChain,
  writeChainFilters,
} from './chunk-launch.js';
import { decodeRowStatus } from './row-status.js';
import type { Staging } from './staging.js';

/** A call in flight: what to read back once the stream is done. */
export interface PendingCall {
  /** The request. */
  request: ResolvedRequest<unknown>;
  /** Its result, filled from the landing bytes once the stream is done. */
  result: SampleResult;
  /** Pinned host bytes the outputs land in (laid out by `layout`). */
  landing: Uint8Array;
  /** Where each output lies in `landing`. */
  layout: OutputLayout;
}

/**
 * Queues one call on `context.stream`: the per-row parameters written into the staging block
 * (read there by the kernels when it is mapped, else copied to the device), the input, each
 * chunk of rows launched (between the timing events), and the outputs written into the
 * landing bytes (in place when mapped, else by one copy back). `method` asks the filter chain
 * for a distribution or a verification instead of draws (see {@link ChainMethod}).
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
  const layout = outputLayout(request);
  const chain = usesChain(request, method);
  const byValue = paramsByValue(request, chain);
  const call = staging.stage(
    request,
    byValue ? 0 : parameterBytes(modules, batch, chain),
    layout.bytes,
    stream,
  );
  if (!byValue) modules.writeRowParameters(call.host, batch, request);
  if (chain) writeChainFilters(modules, call.host, request);
  const buffers = {
    params: byValue ? undefined : call.parameters(),
    outputs: call.outputs,
    layout,
    rowStats: request.logprobs ? workspace.get('rowStats', batch * modules.ROW_STATS * 4) : undefined,
  };
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
  // Results back to the host (a copy ordered after the launches, unless written in place).
  call.readBack();
  return { request, result: allocateResult(request), landing: call.landing, layout };
}

/** The result of a call whose stream is done: its outputs from the landing bytes, row statuses decoded. */
export function finishCall(
  context: ChunkContext,
  { request, result, landing, layout }: PendingCall,
): SampleResult {
  new Uint8Array(result.tokens.buffer).set(landing.subarray(0, layout.statuses));
  if (result.logprobs) copyOut(result.logprobs, landing, layout.logprobs);
  if (result.topLogprobs) {
    copyOut(result.topLogprobs.tokens, landing, layout.topTokens);
    copyOut(result.topLogprobs.logprobs, landing, layout.topLogprobs);
  }
  // Read in place: nothing reuses the landing block before this call returns.
  const statuses = landing.subarray(layout.statuses, layout.statuses + request.batch);
  // Blocks that could not meet leave the split scratch dirty: allocate it afresh (zeroed).
  decodeRowStatus(statuses, request, result, () => context.workspace.drop('split'));
  return result;
}

/** Fills `into` with its bytes from `landing` at `offset`. */
function copyOut(into: Int32Array | Float32Array, landing: Uint8Array, offset: number): void {
  new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(
    landing.subarray(offset, offset + into.byteLength),
  );
}
