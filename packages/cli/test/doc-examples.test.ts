// Every TypeScript example in the README files, docs/ and the packages' doc comments
// (@example) is extracted and run here, so that no example can rot. A trailing `// value`
// comment on a console.log line is the output the example promises; it is checked. Blocks
// fenced as ```ts gpu need a GPU: they run only where one is usable (the GPU machine).
// Every documented `pnpm -s rocmforge … --json` command is run exactly as written, and what it
// prints must be JSON.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { probe } from '@rocmforge/hip-runtime';
import { afterAll, describe, expect, it, vi } from 'vitest';

const root = join(import.meta.dirname, '..', '..', '..');
const scratch = join(import.meta.dirname, '.examples');

interface Example {
  where: string;
  code: string;
  gpu: boolean;
}

function markdownExamples(file: string): Example[] {
  const text = readFileSync(file, 'utf8');
  const out: Example[] = [];
  const fence = /```ts( gpu)?\n([\s\S]*?)```/g;
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    const line = text.slice(0, m.index).split('\n').length;
    out.push({ where: `${relative(root, file)}:${line}`, code: m[2]!, gpu: m[1] !== undefined });
  }
  return out;
}

function docCommentExamples(file: string): Example[] {
  const text = readFileSync(file, 'utf8');
  const out: Example[] = [];
  const block = /@example\n\s*\* ```ts( gpu)?\n([\s\S]*?)\n\s*\* ```/g;
  for (let m = block.exec(text); m; m = block.exec(text)) {
    const line = text.slice(0, m.index).split('\n').length;
    const code = m[2]!
      .split('\n')
      .map((l) => l.replace(/^\s*\* ?/, ''))
      .join('\n');
    out.push({ where: `${relative(root, file)}:${line}`, code, gpu: m[1] !== undefined });
  }
  return out;
}

function walk(dir: string, ext: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), ext) : e.name.endsWith(ext) ? [join(dir, e.name)] : [],
  );
}

const packages = ['hip-runtime', 'sampling-kernels', 'sampler', 'model-kjv', 'cli'];
const markdownFiles = [
  join(root, 'README.md'),
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(root, 'docs', f)),
  ...packages.map((p) => join(root, 'packages', p, 'README.md')),
];
const examples: Example[] = [
  ...markdownFiles.flatMap(markdownExamples),
  ...packages.flatMap((p) => walk(join(root, 'packages', p, 'src'), '.ts').flatMap(docCommentExamples)),
];
const gpuAvailable = probe().available;

mkdirSync(scratch, { recursive: true });
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('documentation examples', () => {
  it('finds examples in the README files, docs/ and doc comments', () => {
    expect(examples.length).toBeGreaterThanOrEqual(10);
  });

  it.each(
    examples.map((e, i) => [e.where, e, i] as const),
  )('%s runs and prints what it promises', async (_where, example, index) => {
    if (example.gpu && !gpuAvailable) return;
    const promised = example.code
      .split('\n')
      .filter((l) => /console\.log\(.*\/\/ /.test(l))
      .map((l) => l.slice(l.lastIndexOf('// ') + 3).trim());
    const file = join(scratch, `example-${index}.ts`);
    writeFileSync(file, `${example.code}\nexport {};\n`);
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      printed.push(args.map((a) => (typeof a === 'string' ? a : String(a))).join(' '));
    });
    try {
      await import(file);
    } finally {
      spy.mockRestore();
    }
    if (promised.length > 0) expect(printed.slice(0, promised.length)).toEqual(promised);
  });
});

interface ShellCommand {
  where: string;
  line: string;
}

/** The `rocmforge` command lines of the ```sh blocks (a trailing `# comment` removed). */
function documentedCommands(file: string): ShellCommand[] {
  const text = readFileSync(file, 'utf8');
  const out: ShellCommand[] = [];
  const fence = /```sh\n([\s\S]*?)```/g;
  for (let m = fence.exec(text); m; m = fence.exec(text)) {
    const first = text.slice(0, m.index).split('\n').length + 1;
    m[1]!.split('\n').forEach((raw, i) => {
      const line = raw.replace(/\s+#\s.*$/, '').trim();
      if (/^pnpm (-s )?rocmforge /.test(line))
        out.push({ where: `${relative(root, file)}:${first + i}`, line });
    });
  }
  return out;
}

const commands = markdownFiles.flatMap(documentedCommands);
// `--json` as a switch (not `bench --json FILE`): the command's standard output is its JSON.
const jsonCommands = commands.filter((c) => /\s--json(\s+--|$)/.test(c.line));
const needsGpu = (line: string) => /--gpu-sampler|--backend gpu|--devices|--compare-backends/.test(line);

describe('documented rocmforge commands', () => {
  it('are all written `pnpm -s rocmforge …`: pnpm’s banner would go to standard output first', () => {
    expect(commands.filter((c) => !c.line.startsWith('pnpm -s '))).toEqual([]);
  });

  it('include --json commands that run without a GPU', () => {
    expect(jsonCommands.filter((c) => !needsGpu(c.line)).length).toBeGreaterThanOrEqual(3);
  });

  it.each(jsonCommands.map((c) => [c.where, c] as const))('%s prints JSON as written', (_where, command) => {
    if (needsGpu(command.line) && !gpuAvailable) return;
    const r = spawnSync('sh', ['-c', command.line], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
    });
    expect(r.status, `${command.line}\n${r.stderr}`).toBe(0);
    expect(() => JSON.parse(r.stdout), r.stdout.slice(0, 200)).not.toThrow();
  });

  it('packages/cli/examples/logits.npy is what the README says: 2 × 1000 N(0, 3²) logits', async () => {
    const { syntheticLogits } = await import('@rocmforge/sampler');
    const { readNpy } = await import('../src/input-file.js');
    const matrix = readNpy(join(root, 'packages', 'cli', 'examples', 'logits.npy'));
    expect(matrix.shape).toEqual([2, 1000]);
    expect(matrix.data).toEqual(syntheticLogits(2000, 3, 1));
  });
});
