import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// The recipe under tooling/model/ (docs/MODEL.md): the corpus step runs wherever Debian's
// `bible` program is installed (CI installs bible-kjv); the training script needs PyTorch and a
// GPU, so here it is only parsed.
const root = join(import.meta.dirname, '..', '..', '..');
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

describe('the model recipe (tooling/model)', () => {
  it.skipIf(!has('bible'))('prepare-corpus writes every verse of the KJV, one per line', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'rocmforge-corpus-')), 'corpus.txt');
    const r = spawnSync(process.execPath, [join(root, 'tooling/model/prepare-corpus.mjs'), out], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1189 chapters, 31102 verses/);
    const text = readFileSync(out, 'utf8');
    expect(text.startsWith('In the beginning God created the heaven and the earth.\n')).toBe(true);
    expect(text.trimEnd().endsWith('The grace of our Lord Jesus Christ be with you all. Amen.')).toBe(true);
    expect(text).not.toMatch(/^\s*\d+ /m);
  });

  it.skipIf(!has('python3'))('train.py parses', () => {
    const parse = 'import ast, sys; ast.parse(open(sys.argv[1]).read())';
    const r = spawnSync('python3', ['-c', parse, join(root, 'tooling/model/train.py')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  });
});
