export { DeviceBuffer, type DeviceRange } from './buffer.js';
export { type HipRuntimeConfig, readConfig } from './config.js';
export { Device, type DeviceInfo } from './device.js';
export {
  DisposedError,
  type DriverAttempt,
  HipArgumentError,
  HipError,
  HipRuntimeError,
  NoDeviceError,
  NoDriverError,
} from './errors.js';
export {
  type HasDeviceAddress,
  type KernelArg,
  KernelArgPacker,
  type KernelArgType,
  type TypedArg,
} from './kernel-args.js';
export { MappedHostMemory } from './mapped-memory.js';
export {
  type Dim3,
  Kernel,
  type KernelAttributes,
  type LaunchOptions,
  Module,
  type PackedLaunchOptions,
} from './module.js';
export type { DeviceFacts } from './native.js';
export { type AddonSource, addonPath, addonSource, PREBUILT_PLATFORMS, runtimePlatform } from './native.js';
export { CompileError, type CompileOptions, compileForArchitecture } from './rtc.js';
export { type DriverInfo, deviceCount, listDevices, openDevice, openDriver, probe } from './runtime.js';
export { Event, Stream } from './stream.js';
