import type { Device, DeviceBuffer } from '@rocmforge/hip-runtime';

/**
 * Named device buffers that grow on demand (to the next power of two) and are reused
 * between calls, so that a steady decode loop allocates nothing.
 */
export class DeviceWorkspace {
  readonly #device: Device;
  readonly #buffers = new Map<string, DeviceBuffer>();

  constructor(device: Device) {
    this.#device = device;
  }

  /** A buffer of at least `bytes` bytes for `name`. */
  get(name: string, bytes: number): DeviceBuffer {
    const existing = this.#buffers.get(name);
    if (existing && existing.byteLength >= bytes) return existing;
    existing?.dispose();
    let size = 256;
    while (size < bytes) size *= 2;
    const buffer = this.#device.alloc(size);
    this.#buffers.set(name, buffer);
    return buffer;
  }

  /** Bytes of device memory held. */
  get bytes(): number {
    let total = 0;
    for (const b of this.#buffers.values()) total += b.byteLength;
    return total;
  }

  dispose(): void {
    for (const b of this.#buffers.values()) b.dispose();
    this.#buffers.clear();
  }
}
