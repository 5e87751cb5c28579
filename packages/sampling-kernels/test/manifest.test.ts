import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KERNEL_PARAMS } from '../src/abi.js';
import { KERNEL_SIGNATURES, kernelSources, packageRoot, prebuiltFor, readManifest } from '../src/index.js';

const source = readFileSync(join(packageRoot(), 'kernels', 'sampling.hip'), 'utf8');

/** The parameter list of each extern "C" kernel, read from the HIP source. */
function kernelParameters(): Map<string, string> {
  const out = new Map<string, string>();
  const kernel = /RF_KERNEL void (?:\w+(?:\([\w, ]+\))? )?(rf_\w+)\(([^)]*)\)/g;
  for (let m = kernel.exec(source); m; m = kernel.exec(source))
    out.set(m[1]!, m[2]!.replace(/\s+/g, ' ').trim());
  return out;
}

describe('kernel manifest and signatures', () => {
  it('every kernel in the HIP source takes its parameter struct of kernels/abi.h by value, and nothing else', () => {
    const parsed = kernelParameters();
    expect([...parsed.keys()].sort()).toEqual(Object.keys(KERNEL_PARAMS).sort());
    for (const [name, struct] of Object.entries(KERNEL_PARAMS))
      expect(parsed.get(name), name).toMatch(new RegExp(`^RF_PARAMS ${struct.name} \\w+$`));
    for (const [name, layout] of Object.entries(KERNEL_SIGNATURES))
      expect(layout.struct).toBe(KERNEL_PARAMS[name as keyof typeof KERNEL_PARAMS].name);
  });

  it('the build wrote a manifest for this source with binaries for both vendors where their compilers exist', () => {
    const manifest = readManifest();
    expect(manifest).toBeDefined();
    expect(manifest!.sourceHash).toBe(kernelSources().hash);
    expect(manifest!.kernels.map((k) => k.name).sort()).toEqual(Object.keys(KERNEL_SIGNATURES).sort());
    for (const { name, params } of manifest!.kernels)
      expect(params, name).toEqual(KERNEL_SIGNATURES[name as keyof typeof KERNEL_SIGNATURES]);
    for (const binary of manifest!.binaries) expect(binary.targets.length).toBeGreaterThan(0);
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
  });

  it('ships the headers the run-time compiler needs, and hashes them with the source', () => {
    const { headers, hash } = kernelSources();
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
    for (const include of source.matchAll(/#include "([^"]+)"/g)) expect(headers[include[1]!]).toBeDefined();
  });
});
