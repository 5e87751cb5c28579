import type { Device, DeviceBuffer, DeviceRange, Stream } from '@rocmforge/hip-runtime';
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

/** `bytes` bytes of `buffer` from `offset` on, as a range of its device. */
export function deviceRange(buffer: DeviceBuffer, offset: number, bytes: number): DeviceRange {
  return { address: buffer.address + BigInt(offset), byteLength: bytes, device: buffer.device };
}

/** One call's host side, laid out by {@link Staging.stage}. */
export interface StagedCall {
  /** The page-locked block: the per-row parameters from byte 0, then the landing bytes. */
  readonly host: ArrayBuffer;
  /** Where the outputs come back to (in `host`, after the parameters). */
  readonly landing: Uint8Array;
  /** Rows per chunk: every chunk but the last has this many. */
  readonly chunkRows: number;
  /** The device rows [first, first + rows) of the input, copied there on the stream if on the host. */
  input(first: number, rows: number): DeviceRange;
}

/**
 * The host side of the GPU sampler's calls: one page-locked block that holds the per-row
 * parameters going in, the tokens and row statuses coming back and, for small host inputs, a
 * copy of the rows (so that their transfer is asynchronous too); and the copy of host rows to
 * the device in chunks, so that a batch of any size needs at most STAGING_BYTES of device
 * memory. Rows page-locked by the caller are copied from where they are.
 */
export class Staging {
  /** Host ranges page-locked by the caller: copied to the device straight from there. */
  readonly userPinned = new PinnedRanges();
  readonly #device: Device;
  readonly #workspace: DeviceWorkspace;
  #pinned: { buffer: ArrayBuffer; pin: { dispose(): void } } | undefined;

  constructor(device: Device, workspace: DeviceWorkspace) {
    this.#device = device;
    this.#workspace = workspace;
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
    // Through the block when small and not page-locked already.
    const throughBlock = fromHost && inputBytes <= PINNED_INPUT_BYTES && !this.userPinned.covers(source);
    const inputAt = Math.ceil((paramBytes + outputBytes) / 64) * 64;
    const host = this.#block(throughBlock ? inputAt + inputBytes : paramBytes + outputBytes);
    // Logits already on the device without adjustments go in one launch.
    // Adjusted rows are float32 copies (half rows too): counted at 4 bytes per element then.
    const chunkRowBytes = request.adjustments ? vocab * 4 : rowBytes;
    const chunkRows =
      !fromHost && !request.adjustments
        ? batch
        : Math.max(1, Math.min(batch, Math.floor(STAGING_BYTES / chunkRowBytes)));
    const input = (first: number, rows: number): DeviceRange => {
      const bytes = rows * rowBytes;
      if (!fromHost) return deviceRange(source, first * rowBytes, bytes);
      const staging = this.#workspace.get('input', chunkRows * rowBytes);
      let rowsOnHost = source.subarray(first * vocab, (first + rows) * vocab);
      if (throughBlock) {
        // One chunk (inputBytes ≤ PINNED_INPUT_BYTES ≤ STAGING_BYTES): copy into the block.
        const pinned =
          rowsOnHost instanceof Float32Array
            ? new Float32Array(host, inputAt, rows * vocab)
            : new Uint16Array(host, inputAt, rows * vocab);
        pinned.set(rowsOnHost);
        rowsOnHost = pinned;
      }
      staging.writeAsync(rowsOnHost, stream);
      return deviceRange(staging, 0, bytes);
    };
    return { host, landing: new Uint8Array(host, paramBytes, outputBytes), chunkRows, input };
  }

  /** The page-locked block, of at least `bytes`, grown (and pinned again) on demand. */
  #block(bytes: number): ArrayBuffer {
    if (this.#pinned && this.#pinned.buffer.byteLength >= bytes) return this.#pinned.buffer;
    this.#pinned?.pin.dispose();
    let size = 4096;
    while (size < bytes) size *= 2;
    const buffer = new ArrayBuffer(size);
    this.#pinned = { buffer, pin: this.#device.pinHostMemory(new Uint8Array(buffer)) };
    return buffer;
  }

  /** Unpins the block. */
  dispose(): void {
    this.#pinned?.pin.dispose();
    this.#pinned = undefined;
  }
}
