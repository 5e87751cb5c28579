/**
 * A minimal GGUF (version 3) writer: typed metadata and float32 tensors, 32-byte aligned, as
 * llama.cpp reads them. Tensor dimensions are given innermost first (GGUF's `ne` order).
 */
export type GgufValue =
  | { type: 'u32' | 'i32' | 'f32'; value: number }
  | { type: 'string'; value: string }
  | { type: 'u32[]' | 'i32[]' | 'f32[]'; value: ArrayLike<number> }
  | { type: 'string[]'; value: readonly string[] };

export interface GgufTensor {
  name: string;
  /** Innermost dimension first (a row-major [rows, cols] matrix is [cols, rows]). */
  dims: number[];
  data: Float32Array;
}

const VALUE_TYPE = { u32: 4, i32: 5, f32: 6, string: 8, array: 9 } as const;
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
      const type = entry.type as 'u32' | 'i32' | 'f32' | 'string';
      w.u32(VALUE_TYPE[type]);
      if (type === 'string') w.string(entry.value as string);
      else w[type](entry.value as number);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    w.string(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(0); // GGML_TYPE_F32
    w.u64(offset);
    offset += Math.ceil(t.data.byteLength / ALIGNMENT) * ALIGNMENT;
  }
  w.pad();
  for (const t of tensors) {
    w.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    w.pad();
  }
  return Buffer.concat(w.parts);
}
