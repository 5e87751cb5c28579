import type { Device } from './device.js';
import { HipArgumentError } from './errors.js';
import { call } from './native.js';
import { Resource } from './resource.js';
import type { Stream } from './stream.js';

/** A range of device memory of one device (a DeviceBuffer is one). */
export interface DeviceRange {
  /** The device the memory belongs to. */
  readonly device: Device;
  /** Device address of the first byte. */
  readonly address: bigint;
  /** Bytes in the range. */
  readonly byteLength: number;
}

/**
 * Device memory. Copies are ordered on a stream (the device's default stream unless given);
 * the synchronous forms wait for it.
 */
export class DeviceBuffer extends Resource {
  /** The device the memory belongs to. */
  readonly device: Device;
  /** Size in bytes. */
  readonly byteLength: number;
  readonly #address: bigint;

  /** True for memory allocated elsewhere and wrapped by address (`device.wrapBuffer`): never freed here. */
  readonly wrapped: boolean;

  /** @internal Use `device.alloc(bytes)`, or `device.wrapBuffer(address, bytes)` for memory allocated elsewhere. */
  constructor(device: Device, byteLength: number, wrap?: bigint) {
    const native = device.activate();
    const address = wrap ?? call(() => native.malloc(byteLength));
    super(
      'DeviceBuffer',
      wrap === undefined
        ? () => {
            device.activate();
            native.free(address);
          }
        : () => {},
    );
    this.device = device;
    this.byteLength = byteLength;
    this.#address = address;
    this.wrapped = wrap !== undefined;
  }

  /** The device address (for kernel arguments). */
  get address(): bigint {
    this.alive();
    return this.#address;
  }

  #stream(stream: Stream | undefined): Stream {
    const s = stream ?? this.device.defaultStream;
    this.device.assertSame(s, 'a stream');
    return s;
  }

  #range(byteOffset: number, bytes: number): void {
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset + bytes > this.byteLength) {
      throw new HipArgumentError(
        `Expected ${bytes} bytes at offset ${byteOffset} to fit in a buffer of ${this.byteLength} bytes`,
      );
    }
  }

  /** Copies host → device without waiting (`data` must stay untouched until the stream reaches it). */
  writeAsync(data: ArrayBufferView, stream?: Stream, byteOffset = 0): void {
    this.#range(byteOffset, data.byteLength);
    const s = this.#stream(stream);
    const native = this.device.activate();
    call(() => native.copyHostToDevice(this.address + BigInt(byteOffset), data, s.handle));
  }

  /** Copies host → device and waits. */
  write(data: ArrayBufferView, byteOffset = 0): void {
    this.writeAsync(data, undefined, byteOffset);
    this.device.defaultStream.synchronize();
  }

  /** Copies device → host without waiting. */
  readAsync(into: ArrayBufferView, stream?: Stream, byteOffset = 0): void {
    this.#range(byteOffset, into.byteLength);
    const s = this.#stream(stream);
    const native = this.device.activate();
    call(() => native.copyDeviceToHost(into, this.address + BigInt(byteOffset), s.handle));
  }

  /** Copies device → host into `into` and waits; returns `into`. */
  read<T extends ArrayBufferView>(into: T, byteOffset = 0): T {
    this.readAsync(into, undefined, byteOffset);
    this.device.defaultStream.synchronize();
    return into;
  }

  /**
   * Copies `bytes` from `source` — a buffer, or a range of one (`{ device, address,
   * byteLength }`) — of the same device into this buffer, on `stream`.
   */
  copyFrom(source: DeviceBuffer | DeviceRange, bytes = source.byteLength, stream?: Stream): void {
    this.device.assertSame(source, 'a source buffer');
    this.#range(0, bytes);
    if (bytes > source.byteLength) {
      throw new HipArgumentError(
        `Expected at most ${source.byteLength} bytes from the source but was asked for ${bytes}`,
      );
    }
    const s = this.#stream(stream);
    const native = this.device.activate();
    call(() => native.copyDeviceToDevice(this.address, source.address, bytes, s.handle));
  }

  /** Sets every byte (or `bytes` of them) to `value`, on `stream`. */
  fill(value: number, bytes = this.byteLength, stream?: Stream): void {
    this.#range(0, bytes);
    const s = this.#stream(stream);
    const native = this.device.activate();
    call(() => native.memset(this.address, value & 0xff, bytes, s.handle));
  }
}
