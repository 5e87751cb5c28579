import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNEL_PARAMS, KERNEL_SOURCES, type KernelName, kernelSource } from '../src/abi.js';
import {
  jitForced,
  KERNEL_SIGNATURES,
  kernelSources,
  packageRoot,
  prebuiltFor,
  readManifest,
} from '../src/index.js';

const sources = Object.fromEntries(
  KERNEL_SOURCES.map((name) => [name, readFileSync(join(packageRoot(), 'kernels', `${name}.hip`), 'utf8')]),
);

/** The parameter list of each extern "C" kernel, read from the HIP sources, with the source that declares it. */
function kernelParameters(): Map<string, { parameters: string; source: string }> {
  const out = new Map<string, { parameters: string; source: string }>();
  for (const [name, text] of Object.entries(sources)) {
    const kernel = /RF_KERNEL void (?:\w+(?:\([\w, ]+\))? )?(rf_\w+)\(([^)]*)\)/g;
    for (let m = kernel.exec(text); m; m = kernel.exec(text))
      out.set(m[1]!, { parameters: m[2]!.replace(/\s+/g, ' ').trim(), source: name });
  }
  return out;
}

describe('kernel manifest and signatures', () => {
  it('every kernel in the HIP source takes its parameter struct of kernels/abi.h by value, and nothing else', () => {
    const parsed = kernelParameters();
    expect([...parsed.keys()].sort()).toEqual(Object.keys(KERNEL_PARAMS).sort());
    for (const [name, struct] of Object.entries(KERNEL_PARAMS)) {
      expect(parsed.get(name)?.parameters, name).toMatch(new RegExp(`^RF_PARAMS ${struct.name} \\w+$`));
      // The launchers look each kernel up in its own source's binary.
      expect(parsed.get(name)?.source, name).toBe(kernelSource(name as KernelName));
    }
    for (const [name, layout] of Object.entries(KERNEL_SIGNATURES))
      expect(layout.struct).toBe(KERNEL_PARAMS[name as keyof typeof KERNEL_PARAMS].name);
  });

  it('the build wrote a manifest for this source with binaries for both vendors where their compilers exist', () => {
    const manifest = readManifest();
    expect(manifest).toBeDefined();
    expect(manifest!.sourceHash).toBe(kernelSources().hash);
    expect(manifest!.kernels.map((k) => k.name).sort()).toEqual(Object.keys(KERNEL_SIGNATURES).sort());
    for (const { name, source, params } of manifest!.kernels) {
      expect(params, name).toEqual(KERNEL_SIGNATURES[name as keyof typeof KERNEL_SIGNATURES]);
      expect(source, name).toBe(kernelSource(name as KernelName));
    }
    for (const binary of manifest!.binaries) expect(binary.targets.length).toBeGreaterThan(0);
    // One binary per source for each vendor that has one.
    for (const vendor of new Set(manifest!.binaries.map((b) => b.vendor)))
      expect(
        manifest!.binaries.filter((b) => b.vendor === vendor).map((b) => b.source),
        vendor,
      ).toEqual([...KERNEL_SOURCES]);
  });

  it('chooses a prebuilt binary by architecture: exact for AMD; for NVIDIA the same major version, else PTX for newer chips', () => {
    const manifest = {
      sourceHash: 'x',
      source: 'kernels/sampling.hip',
      blockThreads: 512,
      kernels: [],
      binaries: [
        { vendor: 'cuda' as const, file: 'manifest.json', targets: ['sm_80', 'sm_90'], ptx: 'compute_90' },
        { vendor: 'hip' as const, file: 'manifest.json', targets: ['gfx90a'] },
      ],
    };
    expect(prebuiltFor(manifest, 'cuda', 'sm_90')?.target).toBe('sm_90');
    expect(prebuiltFor(manifest, 'cuda', 'sm_100')?.target).toBe('compute_90');
    expect(prebuiltFor(manifest, 'cuda', 'sm_75')).toBeUndefined();
    // A cubin runs on later minor versions of its major architecture.
    expect(prebuiltFor(manifest, 'cuda', 'sm_86')?.target).toBe('sm_80');
    expect(prebuiltFor(manifest, 'cuda', 'sm_89')?.target).toBe('sm_80');
    expect(prebuiltFor(manifest, 'hip', 'gfx90a')?.target).toBe('gfx90a');
    expect(prebuiltFor(manifest, 'hip', 'gfx942')).toBeUndefined();
    expect(prebuiltFor(undefined, 'hip', 'gfx90a')).toBeUndefined();
    // Each source has binaries of its own; an entry without a source is sampling.hip's.
    const both = {
      ...manifest,
      binaries: [
        ...manifest.binaries,
        {
          vendor: 'cuda' as const,
          source: 'methods' as const,
          file: 'sampling.hip.hsaco',
          targets: ['sm_90'],
        },
      ],
    };
    expect(prebuiltFor(both, 'cuda', 'sm_90', 'methods')?.path).toMatch(/sampling\.hip\.hsaco$/);
    expect(prebuiltFor(both, 'cuda', 'sm_90')?.path).toMatch(/manifest\.json$/);
    expect(prebuiltFor(both, 'hip', 'gfx90a', 'methods')).toBeUndefined();
  });

  it('ships the headers the run-time compiler needs, and hashes them with the sources', () => {
    const { headers, hash } = kernelSources();
    expect(kernelSources('methods').source).toBe(sources.methods);
    expect(kernelSources('methods').hash).toBe(hash);
    expect(Object.keys(headers).sort()).toEqual([
      'abi.h',
      'block.h',
      'draw.h',
      'elements.h',
      'philox.h',
      'portability.h',
      'row_split.h',
      'select.h',
      'spread.h',
      'weights.h',
    ]);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    for (const text of Object.values(sources))
      for (const include of text.matchAll(/#include "([^"]+)"/g)) expect(headers[include[1]!]).toBeDefined();
  });

  it('ROCMFORGE_KERNELS_DIR: a variant of the sources, compiled at run time, hashed as itself', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rf-kernels-'));
    const before = process.env.ROCMFORGE_KERNELS_DIR;
    try {
      cpSync(join(packageRoot(), 'kernels'), dir, { recursive: true });
      process.env.ROCMFORGE_KERNELS_DIR = dir;
      // A copy: the same sources, the same hash; the prebuilt binaries are not used for it.
      expect(kernelSources().hash).toBe(readManifest()!.sourceHash);
      expect(jitForced()).toBe(true);
      writeFileSync(join(dir, 'select.h'), `${readFileSync(join(dir, 'select.h'), 'utf8')}\n// a variant\n`);
      expect(kernelSources().hash).not.toBe(readManifest()!.sourceHash);
      expect(kernelSources().headers['select.h']).toMatch(/a variant/);
    } finally {
      if (before === undefined) delete process.env.ROCMFORGE_KERNELS_DIR;
      else process.env.ROCMFORGE_KERNELS_DIR = before;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(kernelSources().hash).toBe(readManifest()!.sourceHash);
  });
});
