import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { compileForArchitecture, type Device } from '@rocmforge/hip-runtime';
import type { KernelSourceName } from './abi.js';
import { packageRoot } from './manifest.js';
import { BLOCK_THREADS, NARROW_BLOCK_THREADS } from './signatures.js';

/**
 * `ROCMFORGE_KERNELS_JIT=1` forces run-time compilation even where a prebuilt binary exists; so
 * does `ROCMFORGE_KERNELS_DIR` (the prebuilt binaries are of the package's own sources).
 */
export function jitForced(): boolean {
  return process.env.ROCMFORGE_KERNELS_JIT === '1' || kernelsDirectoryOverride() !== undefined;
}

/**
 * `ROCMFORGE_KERNELS_DIR`: a directory of kernel sources (`*.hip`, `*.h`) compiled at run time
 * instead of the package's kernels/ — for kernel development, to measure variants of the
 * sources side by side in one process or machine (docs/DEVELOPING.md, "Kernel variants").
 */
function kernelsDirectoryOverride(): string | undefined {
  const dir = process.env.ROCMFORGE_KERNELS_DIR;
  return dir === undefined || dir === '' ? undefined : dir;
}

/** Where compiled kernels are cached: `ROCMFORGE_CACHE_DIR`, else `$XDG_CACHE_HOME/rocmforge`, else ~/.cache/rocmforge. */
export function cacheDirectory(): string {
  const base =
    process.env.ROCMFORGE_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rocmforge');
  return join(base, 'kernels');
}

/**
 * The shipped kernel sources: one source file (kernels/`source`.hip, default sampling.hip) and the
 * headers, with the hash of every source and header (from `ROCMFORGE_KERNELS_DIR` when set).
 */
export function kernelSources(source: KernelSourceName = 'sampling'): {
  /** The source file's text. */
  source: string;
  /** The headers (every kernels/*.h), by file name. */
  headers: Record<string, string>;
  /** SHA-256 of every source and header: the key of the compiled-kernel cache and the manifest. */
  hash: string;
} {
  const dir = kernelsDirectoryOverride() ?? join(packageRoot(), 'kernels');
  const files = readdirSync(dir)
    .filter((f) => /\.(hip|h)$/.test(f))
    .sort();
  const hash = createHash('sha256');
  const headers: Record<string, string> = {};
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    hash.update(f).update(text);
    if (f.endsWith('.h')) headers[f] = text;
  }
  return {
    source: readFileSync(join(dir, `${source}.hip`), 'utf8'),
    headers,
    hash: hash.digest('hex').slice(0, 16),
  };
}

/**
 * Compiles one kernel source (default sampling.hip) for `device` with NVRTC / hipRTC, caching the
 * binary on disk keyed by source hash, source, backend and architecture; a cached binary is reused.
 */
export function compileForDevice(device: Device, which: KernelSourceName = 'sampling'): Uint8Array {
  const { backend, architecture } = device.info;
  const { source, headers, hash } = kernelSources(which);
  const dir = cacheDirectory();
  const cached = join(dir, `${hash}-${which}-${backend}-${architecture}.bin`);
  if (existsSync(cached)) return readFileSync(cached);
  const options =
    backend === 'cuda'
      ? [
          '--std=c++17',
          `-DRF_BLOCK=${BLOCK_THREADS}`,
          `-DRF_NARROW_BLOCK=${NARROW_BLOCK_THREADS}`,
          '-default-device',
        ]
      : ['-std=c++17', '-O3', `-DRF_BLOCK=${BLOCK_THREADS}`, `-DRF_NARROW_BLOCK=${NARROW_BLOCK_THREADS}`];
  const binary = compileForArchitecture(device, source, { name: `${which}.hip`, headers, options });
  mkdirSync(dir, { recursive: true });
  // Write then rename, so that a concurrent reader never sees half a file.
  const partial = `${cached}.${process.pid}.partial`;
  writeFileSync(partial, binary);
  renameSync(partial, cached);
  return binary;
}
