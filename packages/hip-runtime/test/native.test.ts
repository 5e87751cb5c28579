// The addon loader and the platform packages: the packed package in a node_modules of its own,
// with and without a platform package, loaded with require and import in child processes (the
// loader keeps what it found for the life of a process), and the install script's source build.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addonPath, PREBUILT_PLATFORMS, runtimePlatform } from '../src/index.js';

const packageRoot = join(import.meta.dirname, '..');
const packages = join(packageRoot, '..');
const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as {
  version: string;
  optionalDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};
let scratch = '';
/** The environment of the child processes, without the NODE_PATH that pnpm's shims set (it reaches the workspace). */
const { NODE_PATH: _nodePath, ...env } = process.env;

/** A node_modules with the packed package and its dependencies, and optionally a platform package. */
function install(name: string, platformPackage?: { version: string; addon: boolean }): string {
  const modules = join(scratch, name, 'node_modules');
  const target = join(modules, '@rocmforge', 'hip-runtime');
  mkdirSync(target, { recursive: true });
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tgz'))!;
  const untar = spawnSync('tar', ['-xzf', join(scratch, tarball), '-C', target, '--strip-components=1']);
  expect(untar.status).toBe(0);
  for (const dependency of Object.keys(manifest.dependencies))
    symlinkSync(realpathSync(join(packageRoot, 'node_modules', dependency)), join(modules, dependency));
  if (platformPackage) {
    const dir = join(modules, '@rocmforge', `hip-runtime-${runtimePlatform()}`);
    mkdirSync(dir);
    const own = JSON.parse(
      readFileSync(join(packages, `hip-runtime-${runtimePlatform()}`, 'package.json'), 'utf8'),
    );
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...own, version: platformPackage.version }));
    if (platformPackage.addon) copyFileSync(addonPath(), join(dir, 'rocmforge_hip_runtime.node'));
  }
  return join(scratch, name);
}

/** Runs `code` with node in `dir` (CommonJS, or an ES module with `module`). */
function node(dir: string, code: string, module = false) {
  const args = module ? ['--input-type=module', '-e', code] : ['-e', code];
  const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env });
  return { status: result.status, output: `${result.stdout}${result.stderr}`.trim() };
}

const SOURCE = "const r = require('@rocmforge/hip-runtime'); console.log(JSON.stringify(r.addonSource()))";
const FAILURE =
  "const r = require('@rocmforge/hip-runtime'); try { r.openDriver() } catch (e) { console.log(e.code); console.log(e.message) }";

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'rocmforge-hip-runtime-native-'));
  const pack = spawnSync('pnpm', ['pack', '--pack-destination', scratch], {
    cwd: packageRoot,
    encoding: 'utf8',
  });
  expect(pack.status, pack.stderr).toBe(0);
}, 60_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('platform packages', () => {
  it('each prebuilt platform has a package with matching os / cpu / libc and version, a toolchain and a literal require', () => {
    const loader = readFileSync(join(packageRoot, 'src', 'native.ts'), 'utf8');
    const folders = readdirSync(packages).filter((f) => f.startsWith('hip-runtime-'));
    expect(folders.map((f) => f.slice('hip-runtime-'.length)).sort()).toEqual([...PREBUILT_PLATFORMS].sort());
    expect(Object.keys(manifest.optionalDependencies).sort()).toEqual(
      PREBUILT_PLATFORMS.map((p) => `@rocmforge/hip-runtime-${p}`).sort(),
    );
    for (const platform of PREBUILT_PLATFORMS) {
      const name = `@rocmforge/hip-runtime-${platform}`;
      const pkg = JSON.parse(readFileSync(join(packages, `hip-runtime-${platform}`, 'package.json'), 'utf8'));
      const [os, cpu, libc] = platform.split('-');
      expect(pkg.name).toBe(name);
      expect(pkg.version, name).toBe(manifest.version);
      expect([pkg.os, pkg.cpu, pkg.libc], name).toEqual([[os], [cpu], [libc === 'gnu' ? 'glibc' : libc]]);
      expect(pkg.exports['.'], name).toBe('./rocmforge_hip_runtime.node');
      expect(existsSync(join(packageRoot, 'cmake', `${platform}.cmake`)), `cmake/${platform}.cmake`).toBe(
        true,
      );
      expect(loader, name).toContain(`case '${platform}':`);
      expect(
        loader.match(new RegExp(`nodeRequire(\\.resolve)?\\('${name}(/package\\.json)?'\\)`, 'g'))?.length,
        name,
      ).toBe(3);
    }
  });

  it('names this machine as the packages do', () => {
    expect(runtimePlatform()).toMatch(new RegExp(`^${process.platform}-${process.arch}(-gnu|-musl)?$`));
  });
});

describe('the addon loader, as installed', () => {
  it('without a build or a platform package: NoDriverError naming what was tried and the possible solutions', () => {
    const dir = install('none');
    const { output } = node(dir, FAILURE);
    const platform = runtimePlatform();
    expect(output).toContain('ERR_HIP_NO_DRIVER');
    expect(output).toContain(`not available for ${platform}`);
    expect(output).toMatch(/build\/Release\/rocmforge_hip_runtime\.node: not built/);
    expect(output).toContain(`@rocmforge/hip-runtime-${platform}: not installed`);
    expect(output).toContain('Possible solutions:');
    expect(output).toContain(`npm install @rocmforge/hip-runtime-${platform}@${manifest.version}`);
    expect(output).toContain('pnpm approve-builds');
    expect(output).not.toContain('In the repository');
  });

  it('loads the platform package of the same version, with require and with import', () => {
    const dir = install('prebuilt', { version: manifest.version, addon: true });
    const { output } = node(dir, SOURCE);
    expect(JSON.parse(output)).toMatchObject({ origin: 'prebuilt', platform: runtimePlatform() });
    const imported = node(
      dir,
      "const r = await import('@rocmforge/hip-runtime'); console.log(r.addonSource().origin, r.probe().available === false || r.probe().available === true)",
      true,
    );
    expect(imported.output).toBe('prebuilt true');
  });

  it('refuses a platform package of another version, saying so', () => {
    const dir = install('mismatch', { version: '0.0.1', addon: true });
    const { output } = node(dir, FAILURE);
    expect(output).toContain(`version 0.0.1 does not match @rocmforge/hip-runtime ${manifest.version}`);
  });

  it('says when the platform package is there without its addon file', () => {
    const dir = install('empty', { version: manifest.version, addon: false });
    expect(node(dir, FAILURE).output).toContain('installed without its addon file');
  });

  it('the install script does nothing when an addon loads, and builds one from source when none does', () => {
    const prebuilt = install('install-prebuilt', { version: manifest.version, addon: true });
    const script = join('node_modules', '@rocmforge', 'hip-runtime', 'scripts', 'install.mjs');
    const quiet = spawnSync(process.execPath, [script], { cwd: prebuilt, encoding: 'utf8', env });
    expect(quiet.status).toBe(0);
    expect(`${quiet.stdout}${quiet.stderr}`).toBe('');

    const bare = install('install-source');
    const built = spawnSync(process.execPath, [script], { cwd: bare, encoding: 'utf8', env });
    expect(built.status, built.stderr).toBe(0);
    expect(built.stdout).toContain('building it from source with cmake-js');
    expect(built.stdout).toMatch(/built build\/Release\/rocmforge_hip_runtime\.node/);
    expect(JSON.parse(node(bare, SOURCE).output)).toMatchObject({ origin: 'build' });
  }, 300_000);
});
