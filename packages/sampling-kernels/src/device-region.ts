import { KernelArgumentError } from './errors.js';

/** A range of device memory: a DeviceBuffer, or a part of one. */
export interface DeviceRegion {
  /** Device address of the first byte. */
  readonly address: bigint;
  /** Bytes in the region. */
  readonly byteLength: number;
}

/** Throws KernelArgumentError naming `name` when `region` holds fewer than `bytes` bytes. */
export function need(region: DeviceRegion, bytes: number, name: string): void {
  if (region.byteLength < bytes) {
    throw new KernelArgumentError(
      `Expected at least ${bytes} bytes for ${name} but the buffer has ${region.byteLength}`,
    );
  }
}

/**
 * `bytes` bytes of `region` from `offset` on. The part keeps the region's device, when it names
 * one (a DeviceBuffer does), so that a launch can check that it belongs to the kernel's device.
 */
export function subRegion<R extends DeviceRegion>(region: R, offset: number, bytes: number): DeviceRegion {
  const device = (region as { readonly device?: unknown }).device;
  const address = region.address + BigInt(offset);
  return device === undefined
    ? { address, byteLength: bytes }
    : ({ address, byteLength: bytes, device } as DeviceRegion);
}
