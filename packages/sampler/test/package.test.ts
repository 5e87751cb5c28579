// The package as a user gets it: `pnpm pack`, then `npm install` of the tarball alone in an
// empty folder (no GPU packages, no workspace). `require` and `import` both load it, and the
// README's example compiles in a `tsc --init` project (strict, noUncheckedIndexedAccess,
// verbatimModuleSyntax) as an ES module and, through `import … = require`, as CommonJS, and
// both compiled programs print what the README promises.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const packageRoot = join(import.meta.dirname, '..');
const readme = readFileSync(join(packageRoot, '..', '..', 'README.md'), 'utf8');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
let scratch = '';
/** The environment of the child processes, without the NODE_PATH that pnpm's shims set (it reaches the workspace). */
const { NODE_PATH: _nodePath, ...env } = process.env;
let project = '';
let tarball = '';

/** Runs a command to completion; a failure shows its output. */
function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env });
  const output = `${result.stdout}${result.stderr}`;
  expect(result.status, `${command} ${args.join(' ')}\n${output}`).toBe(0);
  return output.trim();
}

/** The first `ts` block of the README's "The sampler alone" section. */
function readmeExample(): string {
  const section = readme.slice(readme.indexOf('## The sampler alone'));
  const block = /```ts\n([\s\S]*?)```/.exec(section);
  expect(block, 'README.md has a ts example under "The sampler alone"').not.toBeNull();
  return block![1]!;
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'rocmforge-sampler-package-'));
  run('pnpm', ['pack', '--pack-destination', scratch], packageRoot);
  const packed = readdirSync(scratch).find((f) => f.endsWith('.tgz'));
  expect(packed).toBeDefined();
  tarball = join(scratch, packed!);
  project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    `${JSON.stringify({ name: 'user', private: true, type: 'module' })}\n`,
  );
  run(
    'npm',
    [
      'install',
      '--offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      '--cache',
      join(scratch, 'npm-cache'),
      tarball,
    ],
    project,
  );
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the packed @rocmforge/sampler, installed alone', () => {
  it('ships both builds with their types, and no sources or tests', () => {
    const installed = join(project, 'node_modules', '@rocmforge', 'sampler');
    const dist = readdirSync(join(installed, 'dist'));
    for (const file of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) expect(dist).toContain(file);
    expect(readdirSync(installed).sort()).toEqual(['README.md', 'dist', 'package.json']);
  });

  it('loads with require and with import, the same API both ways', () => {
    const names = run(
      'node',
      ['-e', "console.log(Object.keys(require('@rocmforge/sampler')).sort().join())"],
      project,
    );
    const imported = run(
      'node',
      [
        '--input-type=module',
        '-e',
        "console.log(Object.keys(await import('@rocmforge/sampler')).sort().join())",
      ],
      project,
    );
    expect(names).toContain('createSampler');
    expect(imported).toBe(names);
  });

  it('compiles the README example under tsc --init defaults, as ESM and as CommonJS, and runs both', () => {
    run('node', [tsc, '--init'], project);
    const config = readFileSync(join(project, 'tsconfig.json'), 'utf8');
    expect(config).toMatch(/"strict": true/);
    expect(config).toMatch(/"noUncheckedIndexedAccess": true/);
    const example = readmeExample();
    const importLine = "import { createSampler } from '@rocmforge/sampler';";
    expect(example).toContain(importLine);
    writeFileSync(join(project, 'example.ts'), example);
    writeFileSync(
      join(project, 'example-require.cts'),
      example.replace(
        importLine,
        "import rocmforge = require('@rocmforge/sampler');\nconst { createSampler } = rocmforge;",
      ),
    );
    expect(run('node', [tsc, '-p', '.'], project)).toBe('');
    const promised = /\/\/ (.+)\s*$/.exec(example.trim().split('\n').at(-1)!)![1]!;
    expect(run('node', ['example.js'], project)).toBe(promised);
    expect(run('node', ['example-require.cjs'], project)).toBe(promised);
  });
});
