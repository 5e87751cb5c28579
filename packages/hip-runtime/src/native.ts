import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HipError, NoDriverError } from './errors.js';

/** Device facts as the addon reads them, one driver attribute at a time. */
export interface DeviceFacts {
  /** Marketing name, e.g. `NVIDIA H100 80GB HBM3`. */
  name: string;
  /** `gfx90a`, `gfx1030`, `sm_90`, … */
  architecture: string;
  /** Device memory in bytes. */
  totalMemory: number;
  /** Multiprocessors (NVIDIA SMs, AMD CUs). */
  multiprocessors: number;
  /** Most threads one block may have. */
  maxThreadsPerBlock: number;
  /** Shared memory a block gets without opting in, bytes. */
  sharedMemoryPerBlock: number;
  /** Shared memory a block may opt in to, bytes. */
  sharedMemoryPerBlockOptin: number;
  /** 32 on NVIDIA and RDNA, 64 on CDNA. */
  warpSize: number;
  /** L2 cache size in bytes. */
  l2CacheBytes: number;
}

/** The addon's functions (native/addon.cc); handles are BigInts. */
export interface NativeAddon {
  open(
    preference: string,
    path: string | undefined,
  ): {
    backend?: 'hip' | 'cuda';
    version?: number;
    attempts: { path: string; outcome: string }[];
  };
  deviceCount(): number;
  deviceInfo(index: number): DeviceFacts;
  makeCurrent(index: number): void;
  memoryInfo(): { free: number; total: number };
  malloc(bytes: number): bigint;
  free(ptr: bigint): void;
  copyHostToDevice(dst: bigint, host: ArrayBufferView, stream: bigint): void;
  copyDeviceToHost(host: ArrayBufferView, src: bigint, stream: bigint): void;
  copyDeviceToDevice(dst: bigint, src: bigint, bytes: number, stream: bigint): void;
  memset(dst: bigint, value: number, bytes: number, stream: bigint): void;
  hostRegister(memory: ArrayBufferView | ArrayBuffer): void;
  hostUnregister(memory: ArrayBufferView | ArrayBuffer): void;
  streamCreate(): bigint;
  streamDestroy(stream: bigint): void;
  streamSynchronize(stream: bigint): void;
  streamSynchronizeAsync(device: number, stream: bigint): Promise<void>;
  streamQuery(stream: bigint): boolean;
  eventCreate(): bigint;
  eventDestroy(event: bigint): void;
  eventRecord(event: bigint, stream: bigint): void;
  eventSynchronize(event: bigint): void;
  eventElapsed(start: bigint, end: bigint): number;
  moduleLoad(image: ArrayBufferView): bigint;
  moduleUnload(module: bigint): void;
  moduleFunction(module: bigint, name: string): bigint;
  functionAttribute(fn: bigint, attribute: number): number;
  setFunctionAttribute(fn: bigint, attribute: number, value: number): void;
  launch(fn: bigint, dims: Uint32Array, stream: bigint, args: Uint8Array, offsets: Uint32Array): void;
  rtcCompile(
    backend: 'cuda' | 'hip',
    path: string | undefined,
    source: string,
    name: string,
    options: string[],
    headerNames: string[],
    headerSources: string[],
  ): { ok: boolean; log: string; binary?: Uint8Array };
}

let addon: NativeAddon | undefined;
let loadError: Error | undefined;

/** Where the built addon lives, relative to this file (dist/ or src/). */
export function addonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', 'build', 'Release', 'rocmforge_hip_runtime.node');
}

/** Loads the addon once; throws NoDriverError when it is not built or cannot load. */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  const path = addonPath();
  if (!existsSync(path)) {
    loadError = new NoDriverError(
      `the native addon is not built (${path} is missing); run 'pnpm build' with cmake and a C++ compiler installed`,
    );
    throw loadError;
  }
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
    return addon;
  } catch (cause) {
    loadError = new NoDriverError(`the native addon failed to load: ${(cause as Error).message}`);
    throw loadError;
  }
}

/** Calls into the addon, turning its driver errors into HipError with the caller's stack. */
export function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw translate(error);
  }
}

export function translate(error: unknown): unknown {
  const e = error as { code?: string; call?: string; driverName?: string; driverCode?: number };
  if (
    e &&
    e.code === 'ERR_HIP_DRIVER' &&
    e.call &&
    e.driverName !== undefined &&
    e.driverCode !== undefined
  ) {
    return new HipError(e.call, e.driverName, e.driverCode, { cause: error });
  }
  return error;
}
