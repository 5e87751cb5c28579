import type { DeviceRange } from './buffer.js';
import type { Device } from './device.js';
import { call } from './native.js';
import { Resource } from './resource.js';

/**
 * Host memory that kernels of one device read and write in place: page-locked (portably, as
 * {@link Device.pinHostMemory} does) and mapped into the device's address space. It is a
 * {@link DeviceRange}: its `address` goes wherever a kernel takes a device pointer, and no copy
 * moves the bytes either way.
 *
 * What the host wrote before a launch is what the kernel reads; what the kernel wrote is in
 * `bytes` once its stream is synchronized (or queried done), not before. Every access from the
 * device crosses the host link (PCIe: ~1 µs of latency, tens of GB/s at best), so it suits
 * small parameters and results; a large input read more than once is better copied.
 *
 * @example
 * ```ts gpu
 * import { openDevice } from '@rocmforge/hip-runtime';
 * const device = openDevice(0);
 * const host = new Uint32Array(1024);
 * using mapped = device.mapHostMemory(host);
 * // `mapped` goes where a kernel takes a device buffer; `host` holds what the kernel wrote
 * // once its stream is synchronized.
 * console.log(mapped.address > 0n, mapped.byteLength); // true 4096
 * ```
 */
export class MappedHostMemory extends Resource implements DeviceRange {
  /** The device whose kernels reach the memory through {@link address}. */
  readonly device: Device;
  /** The host bytes (the view given to `mapHostMemory`, as bytes). */
  readonly bytes: Uint8Array;
  /** Bytes in the range. */
  readonly byteLength: number;
  readonly #address: bigint;

  /** @internal Use `device.mapHostMemory(view)`. */
  constructor(device: Device, view: ArrayBufferView) {
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const native = device.activate();
    call(() => native.hostRegister(bytes, true));
    let address: bigint;
    try {
      address = call(() => native.hostDevicePointer(bytes));
    } catch (error) {
      call(() => native.hostUnregister(bytes));
      throw error;
    }
    super('MappedHostMemory', () => {
      device.activate();
      native.hostUnregister(bytes);
    });
    this.device = device;
    this.bytes = bytes;
    this.byteLength = bytes.byteLength;
    this.#address = address;
  }

  /** The device address of the first byte (for kernel arguments). */
  get address(): bigint {
    this.alive();
    return this.#address;
  }
}
