import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSampler } from '@rocmforge/sampler';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { dump } from 'npyjs';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../src/program.js';

const bin = join(import.meta.dirname, '..', 'dist', 'bin.js');
const dir = mkdtempSync(join(tmpdir(), 'rocmforge-cli-'));
// No GPU driver in these tests, whatever the machine: the CPU path is what is checked here.
const env = { ...process.env, ROCMFORGE_DRIVER_PATH: '/nonexistent/libnothing.so', NO_COLOR: '1' };

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const logits = Float32Array.from({ length: 3 * 40 }, (_, i) => Math.sin(i * 1.7) * 4);
const npy = join(dir, 'logits.npy');
writeFileSync(npy, Buffer.from(dump(logits, [3, 40])));
const raw = join(dir, 'logits.bin');
writeFileSync(raw, Buffer.from(logits.buffer));

function safetensors(tensors: Record<string, { dtype: string; shape: number[]; data: Uint8Array }>): Buffer {
  let offset = 0;
  const header: Record<string, unknown> = {};
  const parts: Uint8Array[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    parts.push(t.data);
    offset += t.data.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...parts]);
}
const st = join(dir, 'logits.safetensors');
writeFileSync(
  st,
  safetensors({
    logits: { dtype: 'F32', shape: [3, 40], data: new Uint8Array(logits.buffer) },
    other: { dtype: 'F32', shape: [1], data: new Uint8Array(4) },
  }),
);

const expected = createSampler({ backend: 'cpu' }).sample({
  logits,
  shape: [3, 40],
  topK: 5,
  topP: 0.9,
  seed: 7n,
  samples: 2,
});
const expectedRows = [0, 1, 2].map((r) => [...expected.tokens.subarray(r * 2, r * 2 + 2)]);

// Every command the program registers, so that a new one is covered without a change here.
const commands = createProgram().commands.map((c) => c.name());
const version = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')).version;

describe('rocmforge: help, version and usage errors of every command', () => {
  it('registers every command', () => {
    expect(commands).toEqual(['devices', 'sample', 'bench', 'generate', 'convert-llama2c']);
  });

  // The program, then each command: [what the test name says, the command's arguments].
  const each: Array<[string, string[]]> = [
    ['rocmforge', []],
    ...commands.map((c): [string, string[]] => [`rocmforge ${c}`, [c]]),
  ];

  it.each(each)('%s: --help and help print its help and exit 0', (name, command) => {
    for (const args of [
      [...command, '--help'],
      ['help', ...command],
    ]) {
      const r = cli(...args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: ${name} `));
      expect(r.stderr).toBe('');
    }
  });

  it.each(each)('%s --version prints the version and exits 0', (_name, command) => {
    const r = cli(...command, '--version');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });

  it.each(each)('%s --bogus is a usage error (exit 2)', (_name, command) => {
    // Required arguments and options given, so that the unknown flag is the only fault.
    const required: Record<string, string[]> = {
      sample: [npy],
      generate: ['--prompt', 'x'],
      'convert-llama2c': ['a.bin', 'b.bin', 'c.gguf'],
    };
    const r = cli(...command, ...(required[command[0] ?? ''] ?? []), '--bogus');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--bogus'/);
    expect(r.stdout).toBe('');
  });

  it.each([
    ['a missing argument', ['sample'], /missing required argument 'file'/],
    ['a missing required option', ['generate'], /required option '--prompt <text>' not specified/],
    ['an unknown command', ['bogus'], /unknown command 'bogus'/],
    ['a bad choice', ['sample', npy, '--backend', 'tpu'], /Allowed choices are auto, cpu, gpu/],
    ['an unknown bench mode', ['bench', '--modes', 'plain,top-q'], /--modes takes plain, .*; got 'top-q'/],
    [
      'a bad bench shape',
      ['bench', '--shapes', '32x151936,4x0'],
      /--shapes must be shapes like .*, got '4x0'/,
    ],
    [
      'a seed past 64 bits',
      ['sample', npy, '--seed', String(2n ** 64n)],
      /--seed must be an integer in \[0, 2\^64\)/,
    ],
  ])('%s is a usage error (exit 2)', (_name, args, message) => {
    const r = cli(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

describe('rocmforge CLI', () => {
  it('devices with no driver prints the reason, says the CPU will be used, and exits 0', () => {
    const r = cli('devices');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/No usable GPU.*\/nonexistent\/libnothing\.so/);
    expect(r.stdout).toMatch(/CPU backend will be used/);
    const json = JSON.parse(cli('devices', '--json').stdout);
    expect(json.available).toBe(false);
  });

  it.each([
    ['.npy', [npy]],
    ['.safetensors', [st, '--tensor', 'logits']],
    ['raw float32', [raw, '--shape', '3,40']],
  ])('sample reads %s and gives the sampler library’s tokens for the same seed', (_name, args) => {
    const r = cli(
      'sample',
      ...(args as string[]),
      '--top-k',
      '5',
      '--top-p',
      '0.9',
      '--seed',
      '7',
      '--samples',
      '2',
      '--backend',
      'cpu',
      '--json',
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.shape).toEqual([3, 40]);
    expect(report.rows.map((row: { tokens: number[] }) => row.tokens)).toEqual(expectedRows);
  });

  it('sample takes --typical-p, --top-n-sigma, --xtc-probability and --xtc-threshold as the library does', () => {
    const flags = [
      '--typical-p',
      '0.7',
      '--top-n-sigma',
      '2',
      '--xtc-probability',
      '0.5',
      '--xtc-threshold',
      '0.05',
    ];
    const r = cli('sample', npy, ...flags, '--seed', '7', '--samples', '4', '--backend', 'cpu', '--json');
    expect(r.code).toBe(0);
    const library = createSampler({ backend: 'cpu' }).sample({
      logits,
      shape: [3, 40],
      typicalP: 0.7,
      topNSigma: 2,
      xtcProbability: 0.5,
      xtcThreshold: 0.05,
      seed: 7n,
      samples: 4,
    });
    const rows = JSON.parse(r.stdout).rows.map((row: { tokens: number[] }) => row.tokens);
    expect(rows).toEqual([0, 1, 2].map((i) => [...library.tokens.subarray(i * 4, i * 4 + 4)]));
    const bad = cli('sample', npy, '--typical-p', '0', '--backend', 'cpu');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/typicalP/);
  });

  it('sample reports a row it could not sample by its status and samples the others', () => {
    const bad = Float32Array.from({ length: 3 * 40 }, (_, i) => (i % 40) / 10);
    bad[45] = Number.NaN;
    bad.fill(Number.NEGATIVE_INFINITY, 80, 120);
    const file = write('bad-rows.npy', Buffer.from(dump(bad, [3, 40])));
    const r = cli('sample', file, '--seed', '3', '--backend', 'cpu', '--json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout).rows as Array<{ valid: boolean; status: string; tokens: number[] }>;
    expect(rows.map((row) => row.status)).toEqual(['sampled', 'invalid values', 'nothing to sample']);
    expect(rows.map((row) => row.valid)).toEqual([true, false, false]);
    expect(rows[1]!.tokens).toEqual([-1]);
    const table = cli('sample', file, '--seed', '3', '--backend', 'cpu');
    expect(table.stdout).toMatch(/invalid values/);
    expect(table.stdout).toMatch(/nothing to sample/);
  });

  describe('half-precision files (passed to the sampler as they are)', () => {
    // Values every half type holds exactly (k/8 in [-4, 4]), so that each file gives the tokens
    // of the same float32 logits.
    const exact = Float32Array.from({ length: 3 * 40 }, (_, i) => Math.round(Math.sin(i * 1.7) * 32) / 8);
    const bf16 = Buffer.alloc(exact.length * 2);
    const f16 = Buffer.alloc(exact.length * 2);
    const bits = new Uint32Array(exact.buffer);
    const f16Of = (v: number) => {
      // k/8 with |k| ≤ 32: sign, exponent and 10 mantissa bits, built by hand (no rounding needed).
      if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
      const sign = v < 0 ? 0x8000 : 0;
      const a = Math.abs(v);
      const e = Math.floor(Math.log2(a));
      return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
    };
    for (let i = 0; i < exact.length; i++) {
      bf16.writeUInt16LE(bits[i]! >>> 16, 2 * i);
      f16.writeUInt16LE(f16Of(exact[i]!), 2 * i);
    }
    const tokensOf = (args: string[]) => {
      const r = cli(
        'sample',
        ...args,
        '--top-k',
        '5',
        '--seed',
        '11',
        '--samples',
        '3',
        '--backend',
        'cpu',
        '--json',
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      return JSON.parse(r.stdout).rows.map((row: { tokens: number[] }) => row.tokens);
    };
    const reference = () => {
      const file = write('exact.npy', Buffer.from(dump(exact, [3, 40])));
      return tokensOf([file]);
    };

    it('.safetensors F16 and BF16 give the tokens of the same values in F32', () => {
      const want = reference();
      for (const [dtype, data] of [
        ['F16', f16],
        ['BF16', bf16],
      ] as const) {
        const file = write(
          `half-${dtype}.safetensors`,
          safetensors({ logits: { dtype, shape: [3, 40], data } }),
        );
        expect(tokensOf([file])).toEqual(want);
      }
    });

    // A version-1 .npy file of 3 × 40 two-byte elements of numpy type `descr`.
    const npy16 = (descr: string, data: Buffer) => {
      let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (3, 40), }`;
      header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64);
      header += '\n';
      const head = Buffer.alloc(10);
      head.write('\x93NUMPY', 'latin1');
      head[6] = 1;
      head.writeUInt16LE(header.length, 8);
      return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
    };

    it('.npy bfloat16 (ml_dtypes writes its dtype as <V2) gives the tokens of float32', () => {
      expect(tokensOf([write('half.npy', npy16('<V2', bf16))])).toEqual(reference());
    });

    it('.npy float16 (<f2) gives the tokens of float32', () => {
      expect(tokensOf([write('half-f2.npy', npy16('<f2', f16))])).toEqual(reference());
    });

    it('raw files take --dtype; a .npy or .safetensors file with --dtype is a usage error', () => {
      const want = reference();
      expect(tokensOf([write('half.bf16', bf16), '--shape', '3,40', '--dtype', 'bfloat16'])).toEqual(want);
      expect(tokensOf([write('half.f16', f16), '--shape', '3,40', '--dtype', 'float16'])).toEqual(want);
      const short = cli('sample', write('short.f16', f16), '--shape', '3,40');
      expect(short.code).toBe(1);
      expect(short.stderr).toMatch(/needs 480/);
      const both = cli('sample', npy, '--dtype', 'float16');
      expect(both.code).toBe(2);
      expect(both.stderr).toMatch(/--dtype is for raw files/);
      expect(cli('sample', write('x.bin', f16), '--shape', '3,40', '--dtype', 'float8').code).toBe(2);
    });
  });

  it('sample prints a table with log-probabilities', () => {
    const r = cli('sample', npy, '--seed', '1', '--logprobs', '2', '--backend', 'cpu');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/row.*tokens.*logprobs.*top/s);
  });

  it('sample on auto without a GPU says why in one short line; devices tells the whole story', () => {
    const line = 'no GPU: no driver found; see rocmforge devices';
    const table = cli('sample', npy, '--seed', '1');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toBe(`${npy} [3 × 40] on cpu (${line})`);
    const json = cli('sample', npy, '--seed', '1', '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ backend: 'cpu', fallbackReason: line });
    expect(cli('devices').stdout).toMatch(/tried \/nonexistent\/libnothing\.so/);
  });

  const bad: Array<[string, () => string[], RegExp, number]> = [
    ['a missing file', () => [join(dir, 'missing.npy')], /missing\.npy: cannot be read/, 1],
    [
      'a wrong magic',
      () => [write('bad.npy', Buffer.from('not numpy at all'))],
      /bad\.npy: not a \.npy file/,
      1,
    ],
    [
      'a truncated .npy',
      () => [write('short.npy', readFileSync(npy).subarray(0, 200))],
      /short\.npy: (truncated|cannot be parsed)/,
      1,
    ],
    [
      'an unsupported dtype',
      () => [write('ints.npy', Buffer.from(dump(new Int32Array(4), [4])))],
      /ints\.npy: unsupported dtype i4/,
      1,
    ],
    [
      'a 3-D array',
      () => [write('cube.npy', Buffer.from(dump(new Float32Array(8), [2, 2, 2])))],
      /cube\.npy: expected a 1-D or 2-D array/,
      1,
    ],
    [
      'a raw file not matching --shape',
      () => [raw, '--shape', '4,40'],
      /logits\.bin: has 480 bytes but --shape 4,40 of float32 needs 640/,
      1,
    ],
    [
      'a raw file without --shape',
      () => [raw],
      /logits\.bin: not \.npy or \.safetensors: for raw float32 give its shape with --shape B,V/,
      2,
    ],
    ['a directory', () => [dir], /: is a directory; give a file/, 2],
    ['a directory named .npy', () => [mkdir('dir.npy')], /dir\.npy: is a directory; give a file/, 2],
    ['an unknown tensor', () => [st, '--tensor', 'nope'], /has no tensor 'nope'/, 2],
    ['several tensors and no --tensor', () => [st], /holds 2 tensors; choose one with --tensor/, 2],
    [
      'a truncated .safetensors',
      () => [write('cut.safetensors', readFileSync(st).subarray(0, 120))],
      /cut\.safetensors: truncated/,
      1,
    ],
    [
      'a bad safetensors header',
      () => [write('junk.safetensors', Buffer.from('\x08\x00\x00\x00\x00\x00\x00\x00{garbage'))],
      /not a \.safetensors file/,
      1,
    ],
    ['a bad parameter', () => [npy, '--top-p', '1.5'], /topP/, 2],
    ['a malformed number', () => [npy, '--top-k', 'many'], /--top-k must be an integer/, 2],
  ];
  it.each(bad)('sample rejects %s with one clear line', (_name, args, message, code) => {
    const r = cli('sample', ...args(), '--backend', 'cpu');
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('bench --shapes --json on the CPU writes a well-formed report and an SVG chart', () => {
    const json = join(dir, 'bench.json');
    const svg = join(dir, 'bench.svg');
    const r = cli(
      'bench',
      '--quick',
      '--shapes',
      '1x32000,8x16000',
      '--repetitions',
      '2',
      '--modes',
      'plain,top-k+top-p',
      '--dtype',
      'float32,bfloat16',
      '--json',
      json,
      '--chart',
      svg,
    );
    expect(r.code).toBe(0);
    // No GPU: one short line why, and no GPU columns; the units are in the headers.
    expect(r.stdout.split('\n')[0]).toBe('no GPU: no driver found; see rocmforge devices');
    expect(r.stdout).toMatch(/batch × vocab\s*│ mode\s*│ dtype\s*│ σ\s*│ CPU µs\/call\s*│ CPU µs\/row\s*│/);
    expect(r.stdout).toMatch(/8 × 16000\s*│ top-k\+top-p\s*│ bfloat16\s*│ 3/);
    expect(r.stdout).not.toMatch(/GPU kernel|GB\/s|speed-up|–/);
    expect(r.stdout).toMatch(/µs\/call: one sample\(\) call on the whole batch; µs\/row: per call ÷ batch/);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    expect(report.node).toBe(process.version);
    expect(report.gpuError).toBe('no GPU: no driver found; see rocmforge devices');
    expect(report.results.length).toBe(8);
    for (const result of report.results) {
      expect(result.cpu.microseconds).toBeGreaterThan(0);
      expect(result.cpu.microsecondsPerRow * result.batch).toBeCloseTo(result.cpu.microseconds, 6);
      expect(result.bytes).toBe(result.batch * result.vocab * (result.dtype === 'float32' ? 4 : 2));
    }
    expect(report.results.map((result: { dtype: string }) => result.dtype).slice(0, 2)).toEqual([
      'float32',
      'bfloat16',
    ]);
    const text = readFileSync(svg, 'utf8');
    expect(XMLValidator.validate(text)).toBe(true);
    expect(new XMLParser().parse(text).svg).toBeDefined();
  });

  it('bench --devices: a bad list is a usage error; with no GPU, one line saying why', () => {
    const bad = cli('bench', '--devices', '0,x');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--devices must be 'all' or GPU indices like 0,1, got '0,x'/);
    const none = cli('bench', '--devices', 'all');
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toMatch(/gpu backend is unavailable/);
  });
});

function write(name: string, data: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

function mkdir(name: string): string {
  const path = join(dir, name);
  mkdirSync(path, { recursive: true });
  return path;
}
