import { readConfig } from './config.js';
import { Device, type DeviceInfo } from './device.js';
import { type DriverAttempt, HipArgumentError, NoDeviceError, NoDriverError } from './errors.js';
import { call, loadAddon, type NativeAddon } from './native.js';

/** The driver that was opened: which vendor API, its version, and the libraries tried. */
export interface DriverInfo {
  /** Which driver was opened. */
  backend: 'hip' | 'cuda';
  /** The driver's version number (CUDA: 13000 for 13.0; HIP: its runtime version). */
  version: number;
  /** Every library tried, in order, with what happened. */
  attempts: readonly DriverAttempt[];
}

let opened: { native: NativeAddon; driver: DriverInfo } | undefined;
let failure: Error | undefined;
const devices = new Map<number, Device>();

/**
 * Opens the GPU driver once per process (`ROCMFORGE_BACKEND`, `ROCMFORGE_DRIVER_PATH`) and
 * returns what was opened; throws {@link NoDriverError} saying what was tried when none loads.
 */
export function openDriver(): DriverInfo {
  if (opened) return opened.driver;
  if (failure) throw failure;
  try {
    const native = loadAddon();
    const config = readConfig();
    const result = call(() => native.open(config.backend, config.driverPath));
    if (!result.backend) {
      throw new NoDriverError(`no usable GPU driver (ROCMFORGE_BACKEND=${config.backend})`, result.attempts);
    }
    opened = {
      native,
      driver: { backend: result.backend, version: result.version ?? 0, attempts: result.attempts },
    };
    return opened.driver;
  } catch (error) {
    failure = error as Error;
    throw error;
  }
}

/** The addon, with a driver open. */
export function nativeRuntime(): NativeAddon {
  openDriver();
  return opened!.native;
}

/** Number of devices the driver sees (after `HIP_VISIBLE_DEVICES` / `CUDA_VISIBLE_DEVICES`). */
export function deviceCount(): number {
  const native = nativeRuntime();
  return call(() => native.deviceCount());
}

/**
 * Every device the driver sees.
 *
 * @example
 * ```ts
 * import { listDevices, NoDriverError } from '@rocmforge/hip-runtime';
 * try {
 *   for (const d of listDevices()) console.log(d.index, d.name, d.architecture);
 * } catch (error) {
 *   if (error instanceof NoDriverError) console.log('no GPU here:', error.message);
 * }
 * ```
 */
export function listDevices(): DeviceInfo[] {
  const count = deviceCount();
  const list: DeviceInfo[] = [];
  for (let i = 0; i < count; i++) list.push(openDevice(i).info);
  return list;
}

/** Opens device `index` (one Device object per index per process). */
export function openDevice(index = 0): Device {
  if (!Number.isInteger(index) || index < 0) {
    throw new HipArgumentError(`Expected a device index ≥ 0 but received ${index}`);
  }
  const existing = devices.get(index);
  if (existing) return existing;
  const native = nativeRuntime();
  const count = call(() => native.deviceCount());
  if (index >= count) {
    throw new NoDeviceError(
      count === 0
        ? 'the driver reports no device'
        : `device ${index} does not exist (the driver sees ${count})`,
    );
  }
  const device = new Device(native, index, opened!.driver);
  devices.set(index, device);
  return device;
}

/** Whether a driver and at least one device can be opened, and if not, why. */
export function probe():
  | {
      /** A GPU is usable. */
      available: true;
      /** The driver opened. */
      driver: DriverInfo;
      /** How many devices it sees. */
      devices: number;
    }
  | {
      /** No GPU is usable. */
      available: false;
      /** Why: the driver libraries tried and how each failed, or that there is no device. */
      reason: string;
    } {
  try {
    const driver = openDriver();
    const count = deviceCount();
    if (count === 0) return { available: false, reason: 'the driver reports no device' };
    return { available: true, driver, devices: count };
  } catch (error) {
    return { available: false, reason: (error as Error).message };
  }
}
