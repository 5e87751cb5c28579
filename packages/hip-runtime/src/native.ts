import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type DriverAttempt, HipError, NoDriverError } from './errors.js';

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
  /** Page-locks `memory` for every device; `mapped` also maps it for kernels ({@link hostDevicePointer}). */
  hostRegister(memory: ArrayBufferView | ArrayBuffer, mapped?: boolean): void;
  hostUnregister(memory: ArrayBufferView | ArrayBuffer): void;
  /** The current device's address of `memory`'s first byte, host memory registered mapped. */
  hostDevicePointer(memory: ArrayBufferView | ArrayBuffer): bigint;
  streamCreate(): bigint;
  streamDestroy(stream: bigint): void;
  streamSynchronize(stream: bigint): void;
  streamSynchronizeAsync(device: number, stream: bigint): Promise<void>;
  streamSynchronizeSpin(stream: bigint, spinMicroseconds: number): void;
  streamQuery(stream: bigint): boolean;
  eventCreate(): bigint;
  eventDestroy(event: bigint): void;
  eventRecord(event: bigint, stream: bigint): void;
  eventSynchronize(event: bigint): void;
  eventElapsed(start: bigint, end: bigint): number;
  streamWaitEvent(stream: bigint, event: bigint): void;
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

/** Where the addon that loaded came from (see {@link addonSource}). */
export interface AddonSource {
  /** The `.node` file. */
  path: string;
  /**
   * `build`: this package's own build in `build/Release` (`pnpm build` in the repository, or
   * the source build on install); `prebuilt`: the platform package's (`@rocmforge/hip-runtime-<platform>`).
   */
  origin: 'build' | 'prebuilt';
  /** The platform it was chosen for: `linux-x64-gnu`, `linux-arm64-gnu`, … */
  platform: string;
}

/** The platforms with a prebuilt addon package (each is a literal `require` in `platformPackage`). */
export const PREBUILT_PLATFORMS = ['linux-x64-gnu', 'linux-arm64-gnu'] as const;

const nodeRequire = createRequire(import.meta.url);
let addon: NativeAddon | undefined;
let source: AddonSource | undefined;
let loadError: Error | undefined;

/** Where this package's own build of the addon lives (`pnpm build`, or the source build on install). */
export function addonPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return join(here, '..', 'build', 'Release', 'rocmforge_hip_runtime.node');
}

/**
 * The glibc version this process runs on, from Node's diagnostic report (which has it only on
 * glibc: undefined on musl and off Linux). The GPU test machine carries no dependencies of
 * this package, so this stays in Node's own API.
 */
function glibcVersion(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  // Skips the report's network section where Node has the switch (22.13+): it can be slow.
  (process.report as { excludeNetwork?: boolean }).excludeNetwork = true;
  const report = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return report.header?.glibcVersionRuntime;
}

/** This process's platform as the platform packages name it: `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`. */
export function runtimePlatform(): string {
  if (process.platform !== 'linux') return `${process.platform}-${process.arch}`;
  return `linux-${process.arch}-${glibcVersion() ? 'gnu' : 'musl'}`;
}

/** A platform package, reached through literal names that bundlers and file tracers can follow. */
interface PlatformPackage {
  /** Its package.json (throws when the package is not installed). */
  manifest(): { version: string };
  /** Its addon file (throws when the file is missing). */
  file(): string;
  /** Loads its addon. */
  load(): NativeAddon;
}

/** The platform package of `platform`, or undefined where none is published. */
function platformPackage(platform: string): PlatformPackage | undefined {
  switch (platform) {
    case 'linux-x64-gnu':
      return {
        manifest: () => nodeRequire('@rocmforge/hip-runtime-linux-x64-gnu/package.json'),
        file: () => nodeRequire.resolve('@rocmforge/hip-runtime-linux-x64-gnu'),
        load: () => nodeRequire('@rocmforge/hip-runtime-linux-x64-gnu'),
      };
    case 'linux-arm64-gnu':
      return {
        manifest: () => nodeRequire('@rocmforge/hip-runtime-linux-arm64-gnu/package.json'),
        file: () => nodeRequire.resolve('@rocmforge/hip-runtime-linux-arm64-gnu'),
        load: () => nodeRequire('@rocmforge/hip-runtime-linux-arm64-gnu'),
      };
    default:
      return undefined;
  }
}

/** The first line of an error, for one attempt's outcome. */
function firstLine(error: unknown): string {
  return String((error as Error).message ?? error).split('\n')[0] ?? '';
}

/** The message when no addon loads: what was tried, then what the user can do about it. */
function unavailable(platform: string, attempts: readonly DriverAttempt[]): NoDriverError {
  const name = `@rocmforge/hip-runtime-${platform}`;
  const prebuilt = (PREBUILT_PLATFORMS as readonly string[]).includes(platform);
  const glibc = glibcVersion();
  const libc = process.platform !== 'linux' ? '' : glibc ? `, glibc ${glibc}` : ', musl';
  const lines = [
    `the native addon of @rocmforge/hip-runtime is not available for ${platform} (Node.js ${process.version}${libc}).`,
    'Tried:',
    ...attempts.map((a) => `- ${a.path}: ${a.outcome}`),
    'Possible solutions:',
    ...(existsSync(join(dirname(addonPath()), '..', '..', 'src', 'native.ts'))
      ? ['- In the repository: `pnpm build` (needs cmake and a C++20 compiler).']
      : []),
    ...(prebuilt
      ? [
          `- Install the prebuilt addon, an optional dependency: \`npm install ${name}@${ownVersion()}\` (it is left out by --omit=optional / --no-optional, and by a lockfile made on another platform).`,
        ]
      : [`- No prebuilt addon exists for ${platform} (prebuilt: ${PREBUILT_PLATFORMS.join(', ')}).`]),
    '- Build it from source on install (needs cmake 3.15+ and a C++20 compiler): `npm rebuild @rocmforge/hip-runtime`; pnpm 10 runs no dependency build scripts until allowed: `pnpm approve-builds`, then `pnpm rebuild @rocmforge/hip-runtime`.',
    ...(process.platform === 'linux'
      ? []
      : ['- The GPU backends need Linux: the HIP and CUDA drivers are opened with dlopen there.']),
  ];
  return new NoDriverError(lines.join('\n'));
}

/**
 * Loads the addon once and says where it came from: this package's own build first (the
 * repository's `pnpm build`, or the source build on install), then the platform package's
 * prebuilt addon, whose version must be this package's. Throws {@link NoDriverError} naming
 * what was tried and what to do when none loads.
 */
export function addonSource(): AddonSource {
  loadAddon();
  return source!;
}

/** Loads the addon once; throws NoDriverError when none is built or installed, or none loads. */
export function loadAddon(): NativeAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  const platform = runtimePlatform();
  const attempts: DriverAttempt[] = [];
  const own = addonPath();
  if (existsSync(own)) {
    try {
      addon = nodeRequire(own) as NativeAddon;
      source = { path: own, origin: 'build', platform };
      return addon;
    } catch (cause) {
      attempts.push({ path: own, outcome: `failed to load: ${firstLine(cause)}` });
    }
  } else {
    attempts.push({ path: own, outcome: 'not built' });
  }
  const name = `@rocmforge/hip-runtime-${platform}`;
  const prebuilt = platformPackage(platform);
  let version: string | undefined;
  if (!prebuilt) {
    attempts.push({ path: name, outcome: 'no such package' });
  } else {
    try {
      version = prebuilt.manifest().version;
    } catch (cause) {
      attempts.push({ path: name, outcome: `not installed (${firstLine(cause)})` });
    }
  }
  if (prebuilt && version !== undefined) {
    if (version !== ownVersion()) {
      attempts.push({
        path: name,
        outcome: `version ${version} does not match @rocmforge/hip-runtime ${ownVersion()}; install the same version of both`,
      });
    } else {
      try {
        addon = prebuilt.load();
        source = { path: prebuilt.file(), origin: 'prebuilt', platform };
        return addon;
      } catch (cause) {
        const missing = (cause as { code?: string }).code === 'MODULE_NOT_FOUND';
        attempts.push({
          path: name,
          outcome: missing
            ? `installed without its addon file (${firstLine(cause)})`
            : `failed to load: ${firstLine(cause)}`,
        });
      }
    }
  }
  loadError = unavailable(platform, attempts);
  throw loadError;
}

/** This package's version, which the platform package's must equal ('latest' where its package.json is not beside it, as in a bundle). */
function ownVersion(): string {
  try {
    return (nodeRequire('../package.json') as { version: string }).version;
  } catch {
    return 'latest';
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
