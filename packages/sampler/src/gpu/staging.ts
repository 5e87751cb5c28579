import type { Device, DeviceBuffer, DeviceRange, Stream } from '@rocmforge/hip-runtime';
import type { DriverErrorClass } from '../device-failure.js';
import { type DeviceInput, ELEMENT_BYTES } from '../input.js';
import { PinnedRanges } from '../pinned.js';
import type { HostValues, ResolvedRequest } from '../request.js';
import type { DeviceWorkspace } from './workspace.js';

/** Device memory for host inputs (and adjusted copies) at most: larger batches go in chunks of rows. */
const STAGING_BYTES = 64 * 2 ** 20;
/**
 * Host inputs up to this size go through the sampler's page-locked block: a copy in memory,
 * then a truly asynchronous transfer, instead of the driver's synchronous staged copy from
 * pageable memory (about 35 µs for one row of 4096 logits on an H100 machine).
 */
const PINNED_INPUT_BYTES = 16 * 2 ** 20;

/**
 * When the kernels write a call's outputs (tokens and row statuses) straight into the sampler's
 * page-locked block, mapped into the device's address space, instead of into device memory
 * copied back: batches of at most `rows` rows that ask for no log-probabilities (whose kernels
 * read the tokens back). The parameters are always copied in (with small host inputs, in the
 * same copy): kernels that read them across the host link, every block of a row, lose more
 * time than the copy takes (H200: +8–13 µs of kernel time at 1–32 rows, docs/PERFORMANCE.md).
 */
export interface MappedLimits {
  /** Most rows whose outputs are written in place (0: always copied back). */
  rows: number;
}

/** The limits a sampler starts with (docs/PERFORMANCE.md, "Host path", "After (mapped)"). */
export const MAPPED_LIMITS: Readonly<MappedLimits> = { rows: 64 };

/** `bytes` bytes of `range` from `offset` on, as a range of its device. */
export function deviceRange(range: DeviceRange, offset: number, bytes: number): DeviceRange {
  return { address: range.address + BigInt(offset), byteLength: bytes, device: range.device };
}

/** One call's host side, laid out by {@link Staging.stage}. */
export interface StagedCall {
  /** The page-locked block: the per-row parameters from byte 0, small host rows after them, then the landing bytes. */
  readonly host: ArrayBuffer;
  /** Where the outputs are read from once the stream is done. */
  readonly landing: Uint8Array;
  /** Rows per chunk: every chunk but the last has this many. */
  readonly chunkRows: number;
  /** True when the kernels write the outputs into `landing` itself. */
  readonly mapped: boolean;
  /**
   * Copies the per-row parameters written into `host` from byte 0 (and the host rows staged in
   * the block, in the same copy) to the device, queued on the stream; returns where they lie
   * there (the parameters from byte 0). Called once, after the parameters are written.
   */
  parameters(): DeviceRange;
  /** Where the kernels write the outputs: `landing` itself when mapped, else a device buffer. */
  readonly outputs: DeviceRange;
  /** Brings the outputs into `landing`, queued on the stream after the launches (nothing when mapped). */
  readBack(): void;
  /** The device rows [first, first + rows) of the input (host rows copied there on the stream, after `parameters()`). */
  input(first: number, rows: number): DeviceRange;
}

/** The page-locked block and, when the device maps it, its device-side view. */
interface Block {
  readonly buffer: ArrayBuffer;
  /** The block as the device reaches it in place; undefined when it could only be pinned. */
  readonly mapped: DeviceRange | undefined;
  dispose(): void;
}

/**
 * The host side of the GPU sampler's calls: one page-locked block, mapped into the device's
 * address space, that holds the per-row parameters going in, for small host inputs a copy of
 * the rows (one copy then takes both to the device, truly asynchronously), and the outputs
 * coming back. Small calls without log-probabilities have the kernels write their tokens and
 * row statuses into the block itself (no copy back: one copy in, one launch, a poll); others
 * copy all their outputs back in one copy. Host rows past the block go to the device in chunks,
 * so that a batch of any size needs at most STAGING_BYTES of device memory for them; rows
 * page-locked by the caller are copied from where they are.
 */
export class Staging {
  /** Host ranges page-locked by the caller: copied to the device straight from there. */
  readonly userPinned = new PinnedRanges();
  /** When the kernels write the outputs in place; benchmarks and tests may change them. */
  limits: MappedLimits = { ...MAPPED_LIMITS };
  readonly #device: Device;
  readonly #workspace: DeviceWorkspace;
  readonly #driverError: DriverErrorClass;
  #block: Block | undefined;

  /** `driverError`: the class of failed driver calls (a device that cannot map the block only pins it). */
  constructor(device: Device, workspace: DeviceWorkspace, driverError: DriverErrorClass) {
    this.#device = device;
    this.#workspace = workspace;
    this.#driverError = driverError;
  }

  /** Lays out the host block of a call with `paramBytes` of parameters and `outputBytes` coming back. */
  stage(
    request: ResolvedRequest<HostValues | DeviceInput>,
    paramBytes: number,
    outputBytes: number,
    stream: Stream,
  ): StagedCall {
    const { batch, vocab } = request;
    const rowBytes = vocab * ELEMENT_BYTES[request.dtype];
    const source = request.input;
    const inputBytes = batch * rowBytes;
    const fromHost = ArrayBuffer.isView(source);
    // Through the block when small and not page-locked already: copied in with the parameters.
    const throughBlock = fromHost && inputBytes <= PINNED_INPUT_BYTES && !this.userPinned.covers(source);
    const inputAt = Math.ceil(paramBytes / 64) * 64;
    const uploadBytes = throughBlock ? inputAt + inputBytes : paramBytes;
    const landingAt = Math.ceil(uploadBytes / 64) * 64;
    const block = this.#grow(landingAt + outputBytes);
    const host = block.buffer;
    const mapped =
      block.mapped !== undefined && batch <= this.limits.rows && !request.logprobs ? block.mapped : undefined;
    if (throughBlock) {
      const rows =
        source instanceof Float32Array
          ? new Float32Array(host, inputAt, batch * vocab)
          : new Uint16Array(host, inputAt, batch * vocab);
      rows.set(source);
    }
    // Logits already on the device, or staged in the block, without adjustments go in one launch.
    // Adjusted rows are float32 copies (half rows too): counted at 4 bytes per element then.
    const chunkRowBytes = request.adjustments ? vocab * 4 : rowBytes;
    const chunkRows =
      (!fromHost || throughBlock) && !request.adjustments
        ? batch
        : Math.max(1, Math.min(batch, Math.floor(STAGING_BYTES / chunkRowBytes)));
    const workspace = this.#workspace;
    const landing = new Uint8Array(host, landingAt, outputBytes);
    const outputs = mapped
      ? deviceRange(mapped, landingAt, outputBytes)
      : workspace.get('outputs', outputBytes);
    const input = (first: number, rows: number): DeviceRange => {
      const bytes = rows * rowBytes;
      if (!fromHost) return deviceRange(source, first * rowBytes, bytes);
      // Staged rows are one chunk (inputBytes ≤ PINNED_INPUT_BYTES ≤ STAGING_BYTES), already copied.
      if (throughBlock)
        return deviceRange(workspace.get('params', uploadBytes), inputAt + first * rowBytes, bytes);
      const staging = workspace.get('input', chunkRows * rowBytes);
      staging.writeAsync(source.subarray(first * vocab, (first + rows) * vocab), stream);
      return deviceRange(staging, 0, bytes);
    };
    return {
      host,
      landing,
      chunkRows,
      mapped: mapped !== undefined,
      parameters: (): DeviceRange => {
        const upload = workspace.get('params', uploadBytes);
        upload.writeAsync(new Uint8Array(host, 0, uploadBytes), stream);
        return upload;
      },
      outputs,
      readBack: () => {
        if (!mapped) (outputs as DeviceBuffer).readAsync(landing, stream);
      },
      input,
    };
  }

  /** The page-locked block, of at least `bytes`, grown (and pinned again) on demand. */
  #grow(bytes: number): Block {
    if (this.#block && this.#block.buffer.byteLength >= bytes) return this.#block;
    this.#block?.dispose();
    this.#block = undefined;
    let size = 4096;
    while (size < bytes) size *= 2;
    const buffer = new ArrayBuffer(size);
    this.#block = this.#pin(buffer);
    return this.#block;
  }

  /**
   * Maps `buffer` for the device; where the driver cannot map it (a device without mapped
   * host memory), pins it only, and the calls copy both ways.
   */
  #pin(buffer: ArrayBuffer): Block {
    const view = new Uint8Array(buffer);
    let mapped: (DeviceRange & { dispose(): void }) | undefined;
    try {
      mapped = this.#device.mapHostMemory(view);
    } catch (error) {
      if (!this.#driverError.isInstance(error)) throw error;
    }
    if (mapped) return { buffer, mapped, dispose: () => mapped.dispose() };
    const pin = this.#device.pinHostMemory(view);
    return { buffer, mapped: undefined, dispose: () => pin.dispose() };
  }

  /** Unpins the block. */
  dispose(): void {
    this.#block?.dispose();
    this.#block = undefined;
  }
}
