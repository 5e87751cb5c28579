import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KernelArgPacker } from '@rocmforge/hip-runtime';
import { describe, expect, it } from 'vitest';
import {
  ABI_CONSTANTS,
  ABI_ENUMS,
  ABI_STRUCTS,
  ELEMENT_BYTES,
  ELEMENT_SUFFIX,
  KERNEL_PARAMS,
} from '../src/abi.js';
import { packageRoot } from '../src/index.js';
import { structLayout } from '../src/param-struct.js';

// kernels/abi.h read as the kernels' compiler reads it: enums, constants and parameter structs.
const headerPath = join(packageRoot(), 'kernels', 'abi.h');
// Block comments, then line continuations, then line comments (a line comment cannot end in a
// continuation inside a macro: abi.h's macros use block comments).
const header = readFileSync(headerPath, 'utf8')
  .replace(/\/\*[\s\S]*?\*\//g, ' ')
  .replace(/\\\n/g, ' ')
  .replace(/\/\/.*$/gm, '');

interface Header {
  enums: Map<string, { underlying: string; values: Map<string, number> }>;
  constants: Map<string, number>;
  structs: Map<string, Array<[name: string, type: string]>>;
}

function parseHeader(text: string): Header {
  const enums: Header['enums'] = new Map();
  for (const m of text.matchAll(/enum\s+(\w+)\s*:\s*([\w ]+?)\s*\{([^}]*)\};/g)) {
    const values = new Map<string, number>();
    for (const entry of m[3]!
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)) {
      const v = /^(\w+)\s*=\s*(\d+)$/.exec(entry);
      if (!v) throw new Error(`abi.h: enum ${m[1]}: cannot read '${entry}' (write NAME = number)`);
      values.set(v[1]!, Number(v[2]));
    }
    enums.set(m[1]!, { underlying: m[2]!, values });
  }
  const constants: Header['constants'] = new Map();
  for (const m of text.matchAll(/constexpr\s+unsigned\s+(\w+)\s*=\s*(\d+)\s*;/g))
    constants.set(m[1]!, Number(m[2]));
  // Field-list macros (`#define NAME fields…`, one line once continuations are joined), expanded
  // where a struct names them.
  const macros = new Map<string, string>();
  for (const m of text.matchAll(/^#define\s+(\w+)\s+(.*)$/gm)) macros.set(m[1]!, m[2]!);
  const expand = (body: string) => body.replace(/\b[A-Z][A-Z0-9_]*\b/g, (name) => macros.get(name) ?? name);
  const structs: Header['structs'] = new Map();
  for (const m of text.matchAll(/struct\s+(\w+)\s*\{([^}]*)\};/g)) {
    const fields = expand(m[2]!)
      .split(';')
      .map((f) => f.trim().replace(/\s+/g, ' '))
      .filter(Boolean)
      .map((f) => {
        const v = /^(.*?[\w*])\s*\b(\w+)$/.exec(f);
        if (!v) throw new Error(`abi.h: struct ${m[1]}: cannot read '${f}'`);
        return [v[2]!, v[1]!.replace(/\s+\*/g, '*')] as [string, string];
      });
    structs.set(m[1]!, fields);
  }
  // Everything at the top level must be one of the four shapes.
  const rest = text
    .replace(/enum\s+\w+\s*:[^{]*\{[^}]*\};/g, '')
    .replace(/constexpr\s+unsigned\s+\w+\s*=\s*\d+\s*;/g, '')
    .replace(/struct\s+\w+\s*\{[^}]*\};/g, '')
    .replace(/^#define\s+\w+\s+.*$/gm, '')
    .replace('#pragma once', '')
    .trim();
  if (rest !== '') throw new Error(`abi.h: cannot read '${rest.slice(0, 80)}'`);
  return { enums, constants, structs };
}

/** RfFooBar → FOO_BAR_ (the prefix of its values after RF_); RF_FOO_BAR_SOME_VALUE → someValue. */
function enumPrefix(name: string): string {
  return `RF_${name
    .replace(/^Rf/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toUpperCase()}_`;
}
function camel(screaming: string): string {
  return screaming.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

const parsed = parseHeader(header);

describe('kernels/abi.h and src/abi.ts', () => {
  it('declare the same enums, values named by the same rule', () => {
    expect([...parsed.enums.keys()].sort()).toEqual(Object.keys(ABI_ENUMS).sort());
    for (const [name, { underlying, values }] of parsed.enums) {
      expect(underlying, name).toBe('unsigned');
      const prefix = enumPrefix(name);
      const expected: Record<string, number> = {};
      for (const [value, number] of values) {
        expect(value.startsWith(prefix), `${value} starts with ${prefix}`).toBe(true);
        expect(expected[camel(value.slice(prefix.length))]).toBeUndefined();
        expected[camel(value.slice(prefix.length))] = number;
      }
      expect({ ...ABI_ENUMS[name as keyof typeof ABI_ENUMS] }, name).toEqual(expected);
    }
  });

  it('declare the same constants', () => {
    expect(Object.fromEntries(parsed.constants)).toEqual({ ...ABI_CONSTANTS });
  });

  it('declare the same parameter structs: field names, order and C types', () => {
    expect([...parsed.structs.keys()].sort()).toEqual(Object.keys(ABI_STRUCTS).sort());
    for (const [name, fields] of parsed.structs) {
      const mirror = ABI_STRUCTS[name as keyof typeof ABI_STRUCTS];
      expect(mirror.name).toBe(name);
      expect(Object.entries(mirror.fields), name).toEqual(fields);
    }
  });

  it('lay every struct out as the launch packs its fields', () => {
    for (const struct of Object.values(ABI_STRUCTS)) {
      const layout = structLayout(struct);
      const packer = new KernelArgPacker(layout.fields.map((f) => f.arg));
      expect([...packer.offsets], struct.name).toEqual(layout.fields.map((f) => f.offset));
      // The launch passes at least the struct's bytes.
      expect(packer.bytes.byteLength).toBeGreaterThanOrEqual(layout.bytes);
    }
  });

  // The compiler's own offsets and sizes: what the kernels read. CI has a host compiler (nvcc
  // needs one), so this runs there; a machine without one skips it.
  const compiler = ['c++', 'g++', 'clang++'].find(
    (c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0,
  );
  it.skipIf(compiler === undefined)('match the offsets, sizes and alignments of a C++ compiler', () => {
    const lines: string[] = [];
    for (const struct of Object.values(ABI_STRUCTS)) {
      lines.push(
        `  std::printf("%s %zu %zu\\n", "${struct.name}", sizeof(${struct.name}), alignof(${struct.name}));`,
      );
      for (const field of Object.keys(struct.fields)) {
        lines.push(
          `  std::printf("%s.%s %zu %zu\\n", "${struct.name}", "${field}", offsetof(${struct.name}, ${field}), sizeof(((${struct.name}*)0)->${field}));`,
        );
      }
    }
    for (const name of Object.keys(ABI_ENUMS))
      lines.push(`  std::printf("${name} %zu\\n", sizeof(${name}));`);
    const dir = mkdtempSync(join(tmpdir(), 'rocmforge-abi-'));
    try {
      const source = join(dir, 'probe.cc');
      writeFileSync(
        source,
        `#include <cstddef>\n#include <cstdio>\n#include "${headerPath}"\nint main() {\n${lines.join('\n')}\n}\n`,
      );
      const build = spawnSync(compiler!, ['-std=c++17', '-o', join(dir, 'probe'), source], {
        encoding: 'utf8',
      });
      expect(build.status, build.stderr).toBe(0);
      const run = spawnSync(join(dir, 'probe'), { encoding: 'utf8' });
      const facts = new Map(
        run.stdout
          .trim()
          .split('\n')
          .map((l) => {
            const [key, ...numbers] = l.split(' ');
            return [key!, numbers.map(Number)];
          }),
      );
      const size = { pointer: 8, i32: 4, u32: 4, f32: 4, u64: 8, f64: 8 };
      for (const struct of Object.values(ABI_STRUCTS)) {
        const layout = structLayout(struct);
        const [bytes, align] = facts.get(struct.name)!;
        expect(layout.bytes, struct.name).toBe(bytes);
        expect(align).toBe(Math.max(...layout.fields.map((f) => size[f.arg])));
        for (const field of layout.fields) {
          expect(facts.get(`${struct.name}.${field.name}`), `${struct.name}.${field.name}`).toEqual([
            field.offset,
            size[field.arg],
          ]);
        }
      }
      for (const name of Object.keys(ABI_ENUMS)) expect(facts.get(name), name).toEqual([4]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('element types', () => {
  it('are float32 (4 bytes) and the two half types (2 bytes), each with its entry points', () => {
    expect(Object.entries(ELEMENT_BYTES)).toEqual([
      ['float32', 4],
      ['float16', 2],
      ['bfloat16', 2],
    ]);
    for (const suffix of Object.values(ELEMENT_SUFFIX))
      for (const kernel of ['rf_sample', 'rf_sample_narrow', 'rf_token_logprobs', 'rf_top_logprobs'])
        expect(Object.keys(KERNEL_PARAMS)).toContain(`${kernel}${suffix}`);
  });
});
