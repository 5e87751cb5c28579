import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseNpy } from 'npyjs';
import { EXIT, InputFileError } from './errors.js';

/** A [batch, vocab] matrix read from a file, in its own element type. */
export interface LogitsMatrix {
  /** Row-major values, batch × vocab: float32, or the bits of float16 / bfloat16 values. */
  data: Float32Array | Uint16Array;
  /** What `data` holds (the sampler reads the half types as they are). */
  dtype: FileDtype;
  /** [batch, vocab]; a 1-D array is one row. */
  shape: [number, number];
}

function toMatrix(
  file: string,
  data: Float32Array | Uint16Array,
  dtype: FileDtype,
  shape: readonly number[],
): LogitsMatrix {
  if (shape.length === 1) return { data, dtype, shape: [1, shape[0]!] };
  if (shape.length === 2) return { data, dtype, shape: [shape[0]!, shape[1]!] };
  throw new InputFileError(file, `expected a 1-D or 2-D array but found shape [${shape.join(', ')}]`);
}

/** Element types a logits file may hold; the sampler takes all three as they are. */
export type FileDtype = 'float32' | 'float16' | 'bfloat16';

/**
 * `count` little-endian values of `dtype` from `bytes` at `offset`: float32 values, or the
 * 16-bit patterns of half values (copied, so that the array is aligned).
 */
function decodeValues(
  bytes: Buffer,
  offset: number,
  count: number,
  dtype: FileDtype,
): Float32Array | Uint16Array {
  const data = dtype === 'float32' ? new Float32Array(count) : new Uint16Array(count);
  new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + count * bytesOf(dtype)));
  return data;
}

/** Bytes per element of `dtype`. */
function bytesOf(dtype: FileDtype): number {
  return dtype === 'float32' ? 4 : 2;
}

/**
 * Checks that `file` is a regular file: a missing or unreadable one is an InputFileError, a
 * directory a usage error.
 */
export function checkRegularFile(file: string): void {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(file);
  } catch (error) {
    throw InputFileError.unreadable(file, error);
  }
  if (stat.isDirectory()) throw InputFileError.directory(file);
  if (!stat.isFile()) throw new InputFileError(file, 'not a regular file');
}

/** A whole file's bytes; see {@link checkRegularFile} for the errors. */
export function readBytes(file: string): Buffer {
  checkRegularFile(file);
  try {
    return readFileSync(file);
  } catch (error) {
    throw InputFileError.unreadable(file, error);
  }
}

/**
 * A .npy array of bfloat16 (ml_dtypes writes its dtype as the 2-byte void `<V2` / `|V2`, or
 * names it `bfloat16`), which npyjs does not read; undefined for any other dtype.
 */
function readBfloat16Npy(file: string, bytes: Buffer): LogitsMatrix | undefined {
  const major = bytes[6]!;
  const headerLength = major >= 2 ? bytes.readUInt32LE(8) : bytes.readUInt16LE(8);
  const start = major >= 2 ? 12 : 10;
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']*)'/.exec(header)?.[1];
  if (descr !== '<V2' && descr !== '|V2' && descr !== 'bfloat16' && descr !== '<bfloat16') return undefined;
  if (/'fortran_order':\s*True/.test(header)) {
    throw new InputFileError(file, 'Fortran-ordered arrays are not supported');
  }
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw new InputFileError(file, 'cannot be parsed as .npy (no shape)');
  const shape = shapeText
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d.length > 0)
    .map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLength;
  if (bytes.length - offset < count * 2) {
    throw new InputFileError(
      file,
      `truncated: ${Math.floor((bytes.length - offset) / 2)} of ${count} values`,
    );
  }
  return toMatrix(file, decodeValues(bytes, offset, count, 'bfloat16'), 'bfloat16', shape);
}

/** .npy: float32, float16 or bfloat16 (ml_dtypes), 1-D or 2-D, C order (read with npyjs). */
export function readNpy(file: string): LogitsMatrix {
  const bytes = readBytes(file);
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new InputFileError(file, 'not a .npy file (wrong magic)');
  }
  const bfloat16 = readBfloat16Npy(file, bytes);
  if (bfloat16) return bfloat16;
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let array: ReturnType<typeof parseNpy>;
  try {
    // float16 stays as its bits (npyjs would widen it).
    array = parseNpy(buffer as ArrayBuffer, { convertFloat16: false });
  } catch (error) {
    throw new InputFileError(file, `cannot be parsed as .npy (${(error as Error).message})`);
  }
  if (array.fortranOrder) throw new InputFileError(file, 'Fortran-ordered arrays are not supported');
  if (array.dtype !== 'f4' && array.dtype !== 'f2') {
    throw new InputFileError(
      file,
      `unsupported dtype ${array.dtype} (expected float32, float16 or bfloat16)`,
    );
  }
  const count = array.shape.reduce((a, b) => a * b, 1);
  const data = array.data as unknown as Float32Array | Uint16Array;
  if (data.length !== count) throw new InputFileError(file, `truncated: ${data.length} of ${count} values`);
  return toMatrix(file, data, array.dtype === 'f4' ? 'float32' : 'float16', array.shape);
}

/** .safetensors: the tensor `name` (or the only tensor), F32, F16 or BF16. */
export function readSafetensors(file: string, name: string | undefined): LogitsMatrix {
  const bytes = readBytes(file);
  if (bytes.length < 8) throw new InputFileError(file, 'truncated: no header');
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength <= 1 || headerLength > 100_000_000)
    throw new InputFileError(file, 'not a .safetensors file (bad header length)');
  if (8 + headerLength > bytes.length) {
    throw new InputFileError(
      file,
      `truncated: the header needs ${8 + headerLength} bytes but the file has ${bytes.length}`,
    );
  }
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(bytes.toString('utf8', 8, 8 + headerLength));
  } catch {
    throw new InputFileError(file, 'not a .safetensors file (header is not JSON)');
  }
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const chosen = name ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined)
    throw new InputFileError(
      file,
      `holds ${names.length} tensors; choose one with --tensor (${names.join(', ')})`,
      EXIT.usage,
    );
  const tensor = header[chosen];
  if (!tensor)
    throw new InputFileError(file, `has no tensor '${chosen}' (it has ${names.join(', ')})`, EXIT.usage);
  const [start, end] = tensor.data_offsets;
  const base = 8 + headerLength;
  if (base + end > bytes.length)
    throw new InputFileError(file, `truncated: tensor '${chosen}' runs past the end of the file`);
  const count = tensor.shape.reduce((a, b) => a * b, 1);
  const dtypes: Record<string, FileDtype> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
  const dtype = dtypes[tensor.dtype];
  if (dtype === undefined) {
    throw new InputFileError(
      file,
      `unsupported dtype ${tensor.dtype} for '${chosen}' (expected F32, F16 or BF16)`,
    );
  }
  if (end - start !== count * bytesOf(dtype)) {
    throw new InputFileError(
      file,
      `tensor '${chosen}' has ${end - start} bytes for ${count} ${dtype} values`,
    );
  }
  const data = decodeValues(bytes, base + start, count, dtype);
  return toMatrix(file, data, dtype, tensor.shape);
}

/** Raw little-endian values of `dtype` (float32 unless given) with an explicit shape. */
export function readRaw(file: string, shape: [number, number], dtype: FileDtype = 'float32'): LogitsMatrix {
  const bytes = readBytes(file);
  const expected = shape[0] * shape[1] * bytesOf(dtype);
  if (bytes.length !== expected) {
    throw new InputFileError(
      file,
      `has ${bytes.length} bytes but --shape ${shape.join(',')} of ${dtype} needs ${expected}`,
    );
  }
  return { data: decodeValues(bytes, 0, shape[0] * shape[1], dtype), dtype, shape };
}

/** Reads logits or probabilities by extension: .npy, .safetensors, or raw values with `shape` (and `dtype`). */
export function readLogitsFile(
  file: string,
  options: { tensor?: string; shape?: [number, number]; dtype?: FileDtype },
): LogitsMatrix {
  const ext = extname(file).toLowerCase();
  if (options.dtype !== undefined && (ext === '.npy' || ext === '.safetensors')) {
    throw new InputFileError(file, `--dtype is for raw files: ${ext} files name their own dtype`, EXIT.usage);
  }
  if (ext === '.npy') return readNpy(file);
  if (ext === '.safetensors') return readSafetensors(file, options.tensor);
  if (options.shape) return readRaw(file, options.shape, options.dtype);
  checkRegularFile(file);
  throw new InputFileError(
    file,
    'not .npy or .safetensors: for raw float32 give its shape with --shape B,V',
    EXIT.usage,
  );
}
