import { Float16Array } from '@petamoriken/float16';

// A minimal GGUF (version 3) writer: typed metadata and float32 or float16 tensors, 32-byte
// aligned, as llama.cpp reads them.

/** A metadata value with the GGUF type it is written as. */
export interface GgufTyped<T extends string, V> {
  /** The GGUF value type; `[]` marks an array of that element type. */
  type: T;
  /** The value (an array's elements, for array types). */
  value: V;
}

/** Any metadata value the writer supports. */
export type GgufValue =
  | GgufTyped<'u32' | 'i32' | 'f32', number>
  | GgufTyped<'bool', boolean>
  | GgufTyped<'string', string>
  | GgufTyped<'u32[]' | 'i32[]' | 'f32[]', ArrayLike<number>>
  | GgufTyped<'string[]', readonly string[]>;

/** One tensor of a GGUF file. */
export interface GgufTensor {
  /** GGUF tensor name, e.g. `blk.0.attn_q.weight`. */
  name: string;
  /** Innermost dimension first (a row-major [rows, cols] matrix is [cols, rows]). */
  dims: number[];
  /** The values, row-major (converted when `type` is `f16`). */
  data: Float32Array;
  /** How the file stores it: float32 (default) or float16, rounded to nearest even. */
  type?: 'f32' | 'f16';
}

const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9 } as const;
const GGML_TYPE = { f32: 0, f16: 1 } as const;
const ALIGNMENT = 32;

class ByteWriter {
  readonly parts: Buffer[] = [];
  length = 0;
  push(b: Buffer): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  i32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeInt32LE(v);
    this.push(b);
  }
  bool(v: boolean): void {
    this.push(Buffer.from([v ? 1 : 0]));
  }
  f32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  u64(v: number): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad(): void {
    const extra = (ALIGNMENT - (this.length % ALIGNMENT)) % ALIGNMENT;
    if (extra) this.push(Buffer.alloc(extra));
  }
}

/**
 * A GGUF version 3 file: the metadata in order, then the tensors' descriptions and their data,
 * each aligned to 32 bytes. Tensor dimensions are given innermost first (GGUF's `ne` order).
 */
export function writeGguf(
  metadata: ReadonlyArray<[string, GgufValue]>,
  tensors: readonly GgufTensor[],
): Buffer {
  const w = new ByteWriter();
  w.push(Buffer.from('GGUF'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, entry] of metadata) {
    w.string(key);
    if (entry.type.endsWith('[]')) {
      const inner = entry.type.slice(0, -2) as 'u32' | 'i32' | 'f32' | 'string';
      const values = entry.value as ArrayLike<number | string>;
      w.u32(VALUE_TYPE.array);
      w.u32(VALUE_TYPE[inner]);
      w.u64(values.length);
      for (let i = 0; i < values.length; i++) {
        if (inner === 'string') w.string(values[i] as string);
        else w[inner](values[i] as number);
      }
    } else {
      const type = entry.type as 'u32' | 'i32' | 'f32' | 'bool' | 'string';
      w.u32(VALUE_TYPE[type]);
      if (type === 'string') w.string(entry.value as string);
      else if (type === 'bool') w.bool(entry.value as boolean);
      else w[type](entry.value as number);
    }
  }
  const payloads = tensors.map((t) => {
    const elements = t.dims.reduce((a, b) => a * b, 1);
    if (elements !== t.data.length)
      throw new RangeError(
        `tensor ${t.name}: dims [${t.dims}] hold ${elements} values, data has ${t.data.length}`,
      );
    const data = t.type === 'f16' ? new Float16Array(t.data) : t.data;
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  });
  let offset = 0;
  tensors.forEach((t, i) => {
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE[t.type ?? 'f32']);
    w.u64(offset);
    offset += Math.ceil(payloads[i]!.length / ALIGNMENT) * ALIGNMENT;
  });
  w.pad();
  for (const payload of payloads) {
    w.push(payload);
    w.pad();
  }
  return Buffer.concat(w.parts);
}
