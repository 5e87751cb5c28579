import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dump } from 'npyjs';
import { describe, expect, it } from 'vitest';
import { readLogitsFile } from '../src/input-file.js';

// Half-precision files are read as their 16-bit patterns, named by dtype: the sampler takes them
// as they are (no float32 copy).
describe('readLogitsFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rocmforge-input-'));
  const bits = Uint16Array.from([0x3f80, 0xc000, 0x4040, 0x0000, 0x7f80, 0x3e80]);
  const bytes = Buffer.from(bits.buffer);
  const file = (name: string, data: Buffer | Uint8Array) => {
    const path = join(dir, name);
    writeFileSync(path, data);
    return path;
  };
  const npyHeader = (descr: string, shape: string) => {
    let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
    header += ' '.repeat((64 - ((10 + header.length + 1) % 64)) % 64);
    header += '\n';
    const head = Buffer.alloc(10);
    head.write('\x93NUMPY', 'latin1');
    head[6] = 1;
    head.writeUInt16LE(header.length, 8);
    return Buffer.concat([head, Buffer.from(header, 'latin1')]);
  };
  const safetensors = (dtype: string) => {
    const header = Buffer.from(JSON.stringify({ x: { dtype, shape: [2, 3], data_offsets: [0, 12] } }));
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(header.length));
    return Buffer.concat([length, header, bytes]);
  };

  it.each([
    [
      'raw bfloat16',
      'x.bf16',
      bytes,
      { shape: [2, 3] as [number, number], dtype: 'bfloat16' as const },
      'bfloat16',
    ],
    [
      'raw float16',
      'x.f16',
      bytes,
      { shape: [2, 3] as [number, number], dtype: 'float16' as const },
      'float16',
    ],
    ['.safetensors BF16', 'bf.safetensors', safetensors('BF16'), {}, 'bfloat16'],
    ['.safetensors F16', 'f.safetensors', safetensors('F16'), {}, 'float16'],
    [
      '.npy <V2 (ml_dtypes bfloat16)',
      'bf.npy',
      Buffer.concat([npyHeader('<V2', '(2, 3)'), bytes]),
      {},
      'bfloat16',
    ],
    ['.npy <f2', 'f.npy', Buffer.concat([npyHeader('<f2', '(2, 3)'), bytes]), {}, 'float16'],
  ])('%s: the bits, as a Uint16Array with its dtype', (_name, name, data, options, dtype) => {
    const matrix = readLogitsFile(file(name, data), options);
    expect(matrix.dtype).toBe(dtype);
    expect(matrix.data).toBeInstanceOf(Uint16Array);
    expect([...matrix.data]).toEqual([...bits]);
    expect(matrix.shape).toEqual([2, 3]);
  });

  it('float32 stays float32', () => {
    const values = Float32Array.of(1, -2, 3);
    const matrix = readLogitsFile(file('x.npy', Buffer.from(dump(values, [3]))), {});
    expect([matrix.dtype, matrix.data, matrix.shape]).toEqual(['float32', values, [1, 3]]);
  });
});
