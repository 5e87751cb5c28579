// Every TypeScript example in the README files, docs/ and the packages' doc comments
// (@example) is extracted and run here, so that no example can rot. A trailing `// value`
// comment on a console.log line is the output the example promises; it is checked. Blocks
// fenced as ```ts gpu need a GPU: they run only where one is usable (the GPU machine).
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
const examples: Example[] = [
  ...markdownExamples(join(root, 'README.md')),
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .flatMap((f) => markdownExamples(join(root, 'docs', f))),
  ...packages.flatMap((p) => markdownExamples(join(root, 'packages', p, 'README.md'))),
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
