import type { Device, DeviceBuffer, Stream } from '@rocmforge/hip-runtime';

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

  /**
   * A buffer of at least `bytes` bytes for `name`. With `zeroOn`, a newly allocated buffer is
   * zeroed on that stream (for scratch that kernels keep zeroed between launches).
   */
  get(name: string, bytes: number, zeroOn?: Stream): DeviceBuffer {
    const existing = this.#buffers.get(name);
    if (existing && existing.byteLength >= bytes) return existing;
    existing?.dispose();
    let size = 256;
    while (size < bytes) size *= 2;
    const buffer = this.#device.alloc(size);
    this.#buffers.set(name, buffer);
    if (zeroOn) buffer.fill(0, size, zeroOn);
    return buffer;
  }

  /** Frees the buffer of `name` (the next `get` allocates afresh). */
  drop(name: string): void {
    this.#buffers.get(name)?.dispose();
    this.#buffers.delete(name);
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
