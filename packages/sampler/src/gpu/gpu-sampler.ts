import type { Device, DeviceBuffer, Stream } from '@rocmforge/hip-runtime';
import type {
  DeviceRegion,
  RowAdjustmentEntries,
  SampleLaunch,
  SamplingKernels,
  TokenAdjustment,
} from '@rocmforge/sampling-kernels';
import {
  BackendUnavailableError,
  KernelFailureError,
  SamplerDisposedError,
  SamplerError,
  SamplerInputError,
} from '../errors.js';
import { type PinnedHostMemory, PinnedRanges, pinShared } from '../pinned.js';
import {
  allocateResult,
  type ResolvedRequest,
  resolveRequest,
  type SampleRequest,
  type SampleResult,
} from '../request.js';
import type { Sampler } from '../sampler.js';
import { type GpuModules, gpuModules } from './gpu-modules.js';
import { DeviceWorkspace } from './workspace.js';

/** Logits or probabilities already on the device: a DeviceBuffer of the GPU sampler's device. */
export type DeviceInput = DeviceBuffer;

/** A sample call in flight: what to read back once the stream is done. */
interface Pending {
  request: ResolvedRequest<unknown>;
  result: SampleResult;
  /** Pinned host bytes the tokens and flags land in: tokens, then one flag per row. */
  landing: Uint8Array;
}

/** Device memory for host inputs (and adjusted copies) at most: larger batches go in chunks of rows. */
const STAGING_BYTES = 64 * 2 ** 20;
/**
 * Host inputs up to this size go through the sampler's page-locked block: a copy in memory,
 * then a truly asynchronous transfer, instead of the driver's synchronous staged copy from
 * pageable memory (about 35 µs for one row of 4096 logits on an H100 machine).
 */
const PINNED_INPUT_BYTES = 16 * 2 ** 20;

/**
 * The GPU backend: the same requests and results as the CPU backend, computed by
 * @rocmforge/sampling-kernels in one launch per batch. Device workspace is reused between
 * calls and grows on demand; `dispose()` frees it.
 */
export class GpuSampler implements Sampler {
  readonly backend = 'gpu' as const;
  readonly fallbackReason = undefined;
  /** The device this sampler runs on. */
  readonly device: Device;
  /** The sampling kernels, loaded once per device. */
  readonly kernels: SamplingKernels;
  readonly #modules: GpuModules;
  readonly #stream: Stream;
  readonly #workspace: DeviceWorkspace;
  /** Page-locked host memory for the per-row parameters going in and the tokens coming out. */
  #pinned: { buffer: ArrayBuffer; pin: Disposable & { dispose(): void } } | undefined;
  readonly #userPinned = new PinnedRanges();
  #disposed = false;
  #injectFailure = false;
  #inFlight = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #repeat = 1;
  #timing:
    | { start: import('@rocmforge/hip-runtime').Event; end: import('@rocmforge/hip-runtime').Event }
    | undefined;
  #timed = false;

  private constructor(modules: GpuModules, device: Device) {
    this.#modules = modules;
    this.device = device;
    this.kernels = modules.kernels.SamplingKernels.forDevice(device);
    this.#stream = device.createStream();
    this.#workspace = new DeviceWorkspace(device);
  }

  /** Opens device `index` and its kernels; throws BackendUnavailableError saying why when it cannot. */
  static create(index: number): GpuSampler {
    const modules = gpuModules();
    if (modules instanceof Error) throw new BackendUnavailableError('gpu', modules.message);
    try {
      return new GpuSampler(modules, modules.runtime.openDevice(index));
    } catch (error) {
      throw new BackendUnavailableError('gpu', (error as Error).message, { cause: error });
    }
  }

  get memoryBytes(): number {
    return this.#workspace.bytes;
  }

  sample(request: SampleRequest<Float32Array | DeviceInput>): SampleResult {
    return this.enqueue(request)();
  }

  /**
   * @internal Enqueues `request` on this sampler's stream and returns the function that waits
   * for it and gives the result: several devices' work can be in flight before any wait.
   */
  enqueue(request: SampleRequest<Float32Array | DeviceInput>): () => SampleResult {
    if (this.#inFlight > 0) {
      throw new SamplerError(
        'A sampleAsync call of this sampler is still in flight: await it before calling sample (or use a second sampler)',
        'ERR_SAMPLER_BUSY',
      );
    }
    const pending = this.#enqueue(request);
    return () => {
      this.#stream.synchronize();
      return this.#finish(pending);
    };
  }

  /**
   * Samples without blocking the event loop while the GPU works. Calls on one sampler run one
   * after another (they share its pinned staging memory).
   */
  sampleAsync(request: SampleRequest<Float32Array | DeviceInput>): Promise<SampleResult> {
    this.#inFlight++;
    const run = async () => {
      try {
        const pending = this.#enqueue(request);
        await this.#stream.wait();
        return this.#finish(pending);
      } finally {
        this.#inFlight--;
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  /**
   * Records device events around each sampling launch from now on, so that
   * {@link lastKernelMilliseconds} reports the kernel's own time (for benchmarks).
   */
  enableTiming(options: { repeat?: number } = {}): void {
    this.#timing ??= { start: this.device.createEvent(), end: this.device.createEvent() };
    this.#repeat = Math.max(1, Math.floor(options.repeat ?? 1));
  }

  /**
   * Device time of the last sampling launch in ms (needs `enableTiming()`), else undefined.
   * With `enableTiming({ repeat: n })` each call launches the sampling kernel n times back to
   * back (same result) and this is the mean: the host's launch latency, which a single launch
   * of a few microseconds would include, is then hidden behind the previous launch.
   */
  get lastKernelMilliseconds(): number | undefined {
    if (!this.#timing || !this.#timed) return undefined;
    return this.#timing.end.elapsedSince(this.#timing.start) / this.#repeat;
  }

  /**
   * Page-locks `array` (portably: every device sees it pinned) until the handle is disposed;
   * this sampler then copies it, or any view inside it, straight to the device, asynchronously.
   */
  pinHostMemory(array: Float32Array): PinnedHostMemory {
    if (this.#disposed) throw new SamplerDisposedError();
    return pinShared(array, this.device, [this]);
  }

  /** @internal Records `array` as page-locked by someone else (the multi-GPU sampler's pin). */
  markPinned(array: Float32Array): () => void {
    return this.#userPinned.add(array);
  }

  /** @internal For tests: the next call fails as a driver failure would. */
  injectFailure(): void {
    this.#injectFailure = true;
  }

  /** A page-locked host buffer of at least `bytes`, grown (and re-pinned) on demand. */
  #pinnedHost(bytes: number): ArrayBuffer {
    if (this.#pinned && this.#pinned.buffer.byteLength >= bytes) return this.#pinned.buffer;
    this.#pinned?.pin.dispose();
    let size = 4096;
    while (size < bytes) size *= 2;
    const buffer = new ArrayBuffer(size);
    this.#pinned = { buffer, pin: this.device.pinHostMemory(new Uint8Array(buffer)) };
    return buffer;
  }

  #region(buffer: DeviceBuffer, byteOffset: number, byteLength: number): DeviceRegion & { device: Device } {
    return { address: buffer.address + BigInt(byteOffset), byteLength, device: this.device };
  }

  #enqueue(request: SampleRequest<Float32Array | DeviceInput>): Pending {
    if (this.#disposed) throw new SamplerDisposedError();
    const given = (request?.logits ?? request?.probs) as Float32Array | DeviceInput | undefined;
    const onDevice =
      given !== undefined &&
      !(given instanceof Float32Array) &&
      typeof (given as DeviceInput).address === 'bigint';
    let resolved: ResolvedRequest<unknown>;
    if (onDevice) {
      const buffer = given as DeviceInput;
      if (request.shape === undefined) {
        throw new SamplerInputError('shape', '[batch, vocab] with a DeviceBuffer input', undefined);
      }
      if (buffer.device !== this.device) {
        throw new SamplerInputError(
          request.logits ? 'logits' : 'probs',
          `a DeviceBuffer of device ${this.device.index}`,
          `one of device ${buffer.device.index}`,
        );
      }
      const proxy = { length: buffer.byteLength / 4 };
      resolved = resolveRequest(
        { ...request, logits: request.logits ? proxy : undefined, probs: request.probs ? proxy : undefined },
        { checkInputLength: false },
      );
      const needed = resolved.batch * resolved.vocab * 4;
      if (buffer.byteLength < needed) {
        throw new SamplerInputError(
          resolved.kind,
          `a DeviceBuffer of at least ${needed} bytes`,
          `one of ${buffer.byteLength} bytes`,
        );
      }
      resolved.input = buffer;
    } else {
      if (given !== undefined && !(given instanceof Float32Array)) {
        throw new SamplerInputError(
          request.logits ? 'logits' : 'probs',
          'a Float32Array or a DeviceBuffer',
          given,
        );
      }
      resolved = resolveRequest(request as SampleRequest);
    }
    const { batch, vocab, samples } = resolved;
    if (resolved.logprobs && resolved.logprobs.n > this.#modules.kernels.MAX_TOP_LOGPROBS) {
      throw new SamplerInputError(
        'logprobs',
        `at most ${this.#modules.kernels.MAX_TOP_LOGPROBS} on the GPU`,
        resolved.logprobs.n,
      );
    }
    if (this.#injectFailure) {
      this.#injectFailure = false;
      throw new this.#modules.runtime.HipError('cuLaunchKernel (injected)', 'INJECTED_FAILURE', 999);
    }

    const ws = this.#workspace;
    const stream = this.#stream;
    const rowBytes = vocab * 4;

    // 1. Per-row parameters: one host block, one copy.
    const kernels = this.#modules.kernels;
    const paramBytes = kernels.rowParameterBytes(batch);
    const outputBytes = batch * samples * 4 + batch;
    const inputBytes = batch * rowBytes;
    // Through the sampler's own pinned block when small and not page-locked already.
    const pinnedInput =
      !onDevice &&
      inputBytes <= PINNED_INPUT_BYTES &&
      !this.#userPinned.covers(resolved.input as Float32Array);
    const inputAt = Math.ceil((paramBytes + outputBytes) / 64) * 64;
    const host = this.#pinnedHost(pinnedInput ? inputAt + inputBytes : paramBytes + outputBytes);
    const paramBuffer = ws.get('params', paramBytes);
    kernels.writeRowParameters(host, batch, resolved);
    paramBuffer.writeAsync(new Uint8Array(host, 0, paramBytes), stream);

    // 2. Outputs for the whole batch.
    // Tokens and validity flags side by side, so that one copy brings both back.
    const outputs = ws.get('outputs', outputBytes);
    const rowStats = resolved.logprobs ? ws.get('rowStats', batch * kernels.ROW_STATS * 4) : undefined;
    const logprobs = resolved.logprobs ? ws.get('logprobs', batch * samples * 4) : undefined;
    const n = resolved.logprobs?.n ?? 0;
    const topTokens = n > 0 ? ws.get('topTokens', batch * n * 4) : undefined;
    const topLogprobs = n > 0 ? ws.get('topLogprobs', batch * n * 4) : undefined;

    // 3. Rows in chunks, so that host inputs and adjusted copies need at most STAGING_BYTES of
    //    device memory however large the batch; logits already on the device without
    //    adjustments go in one launch.
    const chunkRows =
      onDevice && !resolved.adjustments
        ? batch
        : Math.max(1, Math.min(batch, Math.floor(STAGING_BYTES / rowBytes)));
    if (this.#timing) this.#timing.start.record(stream);
    for (let first = 0; first < batch; first += chunkRows) {
      const rows = Math.min(chunkRows, batch - first);
      const bytes = rows * rowBytes;
      let input: DeviceRegion;
      if (onDevice) {
        input = this.#region(resolved.input as DeviceInput, first * rowBytes, bytes);
      } else {
        const staging = ws.get('input', chunkRows * rowBytes);
        let hostRows = (resolved.input as Float32Array).subarray(first * vocab, (first + rows) * vocab);
        if (pinnedInput) {
          // One chunk (inputBytes ≤ PINNED_INPUT_BYTES ≤ STAGING_BYTES): copy into the pinned block.
          const pinned = new Float32Array(host, inputAt, rows * vocab);
          pinned.set(hostRows);
          hostRows = pinned;
        }
        staging.writeAsync(hostRows, stream);
        input = this.#region(staging, 0, bytes);
      }
      let values = input;
      if (resolved.adjustments) {
        const adjusted = ws.get('adjusted', chunkRows * rowBytes);
        adjusted.copyFrom({ ...input, device: this.device }, bytes, stream);
        values = this.#region(adjusted, 0, bytes);
        this.#enqueueAdjustments(resolved, first, rows, values, stream);
      }
      const params = kernels.rowParameterRegions(paramBuffer, batch, first, rows);
      const tokenRegion = this.#region(outputs, first * samples * 4, rows * samples * 4);
      const validRegion = this.#region(outputs, batch * samples * 4 + first, rows);
      const stats = kernels.ROW_STATS * 4;
      const statsRegion = rowStats ? this.#region(rowStats, first * stats, rows * stats) : undefined;
      const splitBytes = this.kernels.sampleScratchBytes(rows, vocab);
      const launch: SampleLaunch = {
        input: values,
        batch: rows,
        vocab,
        kind: resolved.kind,
        params,
        filterOrder: resolved.filterOrder,
        samples,
        tokens: tokenRegion,
        valid: validRegion,
        ...(statsRegion ? { rowStats: statsRegion } : {}),
        ...(splitBytes > 0 ? { scratch: ws.get('split', splitBytes, stream) } : {}),
        stream,
      };
      for (let i = 0; i < this.#repeat; i++) this.kernels.sample(launch);
      // 4. Log-probabilities of the chunk.
      if (resolved.logprobs && statsRegion && logprobs) {
        const mode = resolved.logprobs.mode;
        const source = mode === 'raw' ? input : values;
        this.kernels.tokenLogprobs({
          values: source,
          batch: rows,
          vocab,
          kind: resolved.kind,
          tokens: tokenRegion,
          samples,
          rowStats: statsRegion,
          mode,
          out: this.#region(logprobs, first * samples * 4, rows * samples * 4),
          stream,
        });
        if (topTokens && topLogprobs) {
          this.kernels.topLogprobs({
            values: source,
            batch: rows,
            vocab,
            kind: resolved.kind,
            n,
            rowStats: statsRegion,
            tokens: tokenRegion,
            samples,
            mode,
            outTokens: this.#region(topTokens, first * n * 4, rows * n * 4),
            outLogprobs: this.#region(topLogprobs, first * n * 4, rows * n * 4),
            valid: validRegion,
            stream,
          });
        }
      }
    }
    if (this.#timing) {
      this.#timing.end.record(stream);
      this.#timed = true;
    }

    // 5. Results back to the host (ordered after the launches on the stream).
    const result = allocateResult(resolved);
    const landing = new Uint8Array(host, paramBytes, outputBytes);
    outputs.readAsync(landing, stream);
    if (logprobs && result.logprobs) logprobs.readAsync(result.logprobs, stream);
    if (topTokens && topLogprobs && result.topLogprobs) {
      topTokens.readAsync(result.topLogprobs.tokens, stream);
      topLogprobs.readAsync(result.topLogprobs.logprobs, stream);
    }
    return { request: resolved, result, landing };
  }

  #enqueueAdjustments(
    resolved: ResolvedRequest<unknown>,
    firstRow: number,
    batch: number,
    logits: DeviceRegion,
    stream: Stream,
  ): void {
    const adjustments = resolved.adjustments!;
    // Per row, one entry per distinct token touched: bias, seen in the prompt, output count.
    const rows: RowAdjustmentEntries[] = [];
    for (let row = firstRow; row < firstRow + batch; row++) {
      const tokens = new Map<number, TokenAdjustment>();
      const entry = (t: number) => {
        let e = tokens.get(t);
        if (!e) {
          e = { bias: 0, promptSeen: false, outputCount: 0 };
          tokens.set(t, e);
        }
        return e;
      };
      for (const [token, value] of adjustments.bias[row] ?? []) entry(token).bias += value;
      const prompt = adjustments.promptTokens[row];
      if (prompt) for (let j = 0; j < prompt.length; j++) entry(prompt[j]!).promptSeen = true;
      const output = adjustments.outputTokens[row];
      if (output) for (let j = 0; j < output.length; j++) entry(output[j]!).outputCount++;
      rows.push({
        tokens,
        repetition: adjustments.repetitionPenalty[row]!,
        frequency: adjustments.frequencyPenalty[row]!,
        presence: adjustments.presencePenalty[row]!,
      });
    }
    const table = new this.#modules.kernels.AdjustmentTable(rows);
    const buffer = this.#workspace.get('adjustments', table.bytes.byteLength);
    this.kernels.adjustLogits({ logits, vocab: resolved.vocab, table, buffer, stream });
  }

  #finish(pending: Pending): SampleResult {
    const { request, result, landing } = pending;
    const tokenBytes = result.tokens.byteLength;
    new Uint8Array(result.tokens.buffer).set(landing.subarray(0, tokenBytes));
    // Read in place: nothing reuses the landing block before this call returns.
    const validRaw = landing.subarray(tokenBytes, tokenBytes + request.batch);
    const status = this.#modules.kernels.ROW_STATUS;
    for (let row = 0; row < request.batch; row++) {
      if (validRaw[row] === status.blocksCouldNotMeet) {
        this.#workspace.drop('split');
        throw new KernelFailureError(
          `the GPU blocks sampling row ${row} could not meet (device over-subscribed); the row was not sampled`,
          row,
        );
      }
      if (validRaw[row] === status.invalidValues) {
        throw new SamplerInputError(
          request.kind,
          request.kind === 'logits' ? 'no NaN' : 'finite values ≥ 0',
          Number.NaN,
          row,
        );
      }
      result.valid[row] = validRaw[row] === status.sampled ? 1 : 0;
    }
    return result;
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#workspace.dispose();
    this.#pinned?.pin.dispose();
    this.#timing?.start.dispose();
    this.#timing?.end.dispose();
    this.#stream.dispose();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
