// scripts/build-kernels.mjs on a copy of the package, with no kernel compiler on PATH: the
// committed binaries are reused when their build hash and file hash match, a changed source
// makes them stale, and ROCMFORGE_REBUILD_KERNELS=1 never throws a valid binary away.
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KernelManifest, packageRoot } from '../src/index.js';

const root = packageRoot();
let scratch = '';
let bin = '';

/** A copy of the package: what the script reads and writes, with the package's node_modules linked. */
function copyPackage(name: string): string {
  const dir = join(scratch, name);
  for (const part of ['scripts', 'kernels', 'prebuilt', 'dist'])
    cpSync(join(root, part), join(dir, part), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Runs the copy's build script with only `node` on PATH. */
function build(dir: string, env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [join(dir, 'scripts', 'build-kernels.mjs')], {
    encoding: 'utf8',
    env: { PATH: bin, ...env },
  });
  expect(result.status, result.stderr).toBe(0);
  return {
    output: `${result.stdout}${result.stderr}`,
    manifest: readFileSync(join(dir, 'prebuilt', 'manifest.json'), 'utf8'),
  };
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'rocmforge-build-kernels-'));
  bin = join(scratch, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('build-kernels', () => {
  const committed = readFileSync(join(root, 'prebuilt', 'manifest.json'), 'utf8');

  it('reuses the committed binaries when sources, flags and files match, leaving the manifest as it is', () => {
    const manifest = JSON.parse(committed) as KernelManifest & {
      binaries: { buildHash?: string; sha256?: string }[];
    };
    for (const binary of manifest.binaries) {
      expect(binary.buildHash, binary.file).toMatch(/^[0-9a-f]{16}$/);
      expect(binary.sha256, binary.file).toMatch(/^[0-9a-f]{64}$/);
    }
    const dir = copyPackage('unchanged');
    const { output, manifest: after } = build(dir);
    for (const binary of manifest.binaries) expect(output).toContain(`prebuilt/${binary.file} is up to date`);
    expect(output).not.toContain('wrote prebuilt/manifest.json');
    expect(after).toBe(committed);
  });

  it('keeps an up-to-date binary when a rebuild is forced but its compiler is missing', () => {
    const dir = copyPackage('forced');
    const { output, manifest } = build(dir, { ROCMFORGE_REBUILD_KERNELS: '1' });
    for (const binary of JSON.parse(committed).binaries as KernelManifest['binaries'])
      expect(output).toMatch(
        new RegExp(`ROCMFORGE_REBUILD_KERNELS=1 but \\w+ is not found: kept prebuilt/${binary.file}`),
      );
    expect(manifest).toBe(committed);
  });

  it('drops a binary whose file no longer matches its hash', () => {
    const dir = copyPackage('tampered');
    const manifest = JSON.parse(committed) as KernelManifest;
    const first = manifest.binaries[0]!;
    expect(first).toBeDefined();
    appendFileSync(join(dir, 'prebuilt', first.file), 'x');
    const { output, manifest: after } = build(dir);
    expect(output).toContain(`prebuilt/${first.file} is stale`);
    expect((JSON.parse(after) as KernelManifest).binaries.map((b) => b.file)).not.toContain(first.file);
  });

  it('trusts a manifest without build hashes by its source hash once, recording the hashes', () => {
    const dir = copyPackage('legacy');
    const legacy = JSON.parse(committed) as { binaries: Record<string, unknown>[] };
    for (const binary of legacy.binaries) {
      delete binary.buildHash;
      delete binary.sha256;
    }
    writeFileSync(join(dir, 'prebuilt', 'manifest.json'), `${JSON.stringify(legacy, null, 2)}\n`);
    const { output, manifest } = build(dir);
    expect(output).toMatch(/built from these sources \(manifest without build hashes\): hashes recorded/);
    expect(manifest).toBe(committed);
  });

  it('a changed source makes every binary stale: without compilers the manifest lists none', () => {
    const dir = copyPackage('changed');
    appendFileSync(join(dir, 'kernels', 'block.h'), '\n// changed\n');
    const { output, manifest } = build(dir);
    const after = JSON.parse(manifest) as KernelManifest;
    expect(after.binaries).toEqual([]);
    expect(after.sourceHash).not.toBe((JSON.parse(committed) as KernelManifest).sourceHash);
    expect(output).toMatch(/nvcc not found and prebuilt\/sampling\.cuda\.fatbin is stale/);
  });
});
