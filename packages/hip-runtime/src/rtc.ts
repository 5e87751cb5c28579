import type { Device } from './device.js';
import { HipRuntimeError } from './errors.js';
import { nativeRuntime } from './runtime.js';

/** Run-time compilation failed; `log` is the compiler's own output. */
export class CompileError extends HipRuntimeError {
  /** The compiler's log. */
  readonly log: string;
  constructor(message: string, log: string) {
    super(log ? `${message}\n${log}` : message, 'ERR_HIP_COMPILE');
    this.name = 'CompileError';
    this.log = log;
  }
}

/** Options of {@link compileForArchitecture}. */
export interface CompileOptions {
  /** File name the compiler reports in its messages. */
  name?: string;
  /** Headers the source includes by name (name → contents). */
  headers?: Record<string, string>;
  /** Extra compiler options (the target architecture is added for the device). */
  options?: string[];
  /** A compiler library to open instead of the usual names (`ROCMFORGE_RTC_PATH`). */
  libraryPath?: string;
}

/**
 * Compiles HIP/CUDA C++ for `device` at run time with NVRTC (NVIDIA) or hipRTC (AMD), both
 * opened with dlopen, and returns the binary for `device.loadModule`.
 */
export function compileForArchitecture(
  device: Device,
  source: string,
  options: CompileOptions = {},
): Uint8Array {
  const native = nativeRuntime();
  const { backend, architecture } = device.info;
  const target = backend === 'cuda' ? `--gpu-architecture=${architecture}` : `--offload-arch=${architecture}`;
  const headers = Object.entries(options.headers ?? {});
  const result = native.rtcCompile(
    backend,
    options.libraryPath ?? process.env.ROCMFORGE_RTC_PATH,
    source,
    options.name ?? 'program.hip',
    [target, ...(options.options ?? [])],
    headers.map(([name]) => name),
    headers.map(([, contents]) => contents),
  );
  if (!result.ok || !result.binary)
    throw new CompileError(`run-time compilation for ${architecture} failed`, result.log);
  return result.binary;
}
