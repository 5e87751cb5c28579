import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KernelSourceName } from './abi.js';
import type { StructLayout } from './param-struct.js';

/** What scripts/build-kernels.mjs wrote: the kernels, their parameters, the binaries and their targets. */
export interface KernelManifest {
  /** Hash of the source and headers the binaries were built from (see `kernelSources`). */
  sourceHash: string;
  /** The main source file (kernels/sampling.hip), relative to the package. */
  source: string;
  /** RF_BLOCK the binaries were built with. */
  blockThreads: number;
  /** Every kernel with its parameter layout. */
  kernels: {
    /** Kernel symbol. */
    name: string;
    /** The source whose binary holds it (kernels/<source>.hip). */
    source?: KernelSourceName;
    /** Its one parameter: a struct of kernels/abi.h, passed by value, with every field's offset. */
    params: StructLayout;
  }[];
  /** One binary per vendor and source. */
  binaries: {
    /** Whose driver loads it. */
    vendor: 'cuda' | 'hip';
    /** The source it was built from (kernels/<source>.hip); absent: sampling. */
    source?: KernelSourceName;
    /** File name in prebuilt/. */
    file: string;
    /** Architectures with machine code in it (`sm_90`, `gfx90a`, …). */
    targets: string[];
    /** The virtual architecture of its PTX, which newer NVIDIA chips compile at load (`compute_90`). */
    ptx?: string;
  }[];
}

/** The package root (where kernels/ and prebuilt/ live), from src/ or dist/. */
export function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

/** The manifest of the prebuilt binaries, or undefined when the kernels were not built. */
export function readManifest(): KernelManifest | undefined {
  const path = join(packageRoot(), 'prebuilt', 'manifest.json');
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as KernelManifest;
}

/**
 * The prebuilt binary of `source` (default sampling) that runs on a device of `backend` and
 * `architecture`, if any. An NVIDIA
 * cubin runs on its own architecture and on later minor versions of the same major one (sm_80's
 * on sm_86 and sm_89), and the fatbin's PTX on any newer chip; AMD code objects run only on the
 * exact targets they were built for.
 */
export function prebuiltFor(
  manifest: KernelManifest | undefined,
  backend: 'cuda' | 'hip',
  architecture: string,
  source: KernelSourceName = 'sampling',
):
  | {
      /** Absolute path of the binary. */
      path: string;
      /** The architecture it was chosen for (`sm_90`, `sm_80` on an sm_86, `compute_90` for PTX, `gfx90a`). */
      target: string;
    }
  | undefined {
  if (!manifest) return undefined;
  const binary = manifest.binaries.find((b) => b.vendor === backend && (b.source ?? 'sampling') === source);
  if (!binary) return undefined;
  const path = join(packageRoot(), 'prebuilt', binary.file);
  if (!existsSync(path)) return undefined;
  if (binary.targets.includes(architecture)) return { path, target: architecture };
  if (backend === 'cuda') {
    const version = (arch: string) => Number.parseInt(arch.replace(/^(sm|compute)_/, ''), 10);
    const wanted = version(architecture);
    const sameMajor = binary.targets
      .filter((t) => Math.floor(version(t) / 10) === Math.floor(wanted / 10) && version(t) <= wanted)
      .sort((a, b) => version(b) - version(a));
    if (sameMajor[0]) return { path, target: sameMajor[0] };
    if (binary.ptx && wanted >= version(binary.ptx)) return { path, target: binary.ptx };
  }
  return undefined;
}
