import { readFileSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { float16ToFloat32, parse as parseNpy } from 'npyjs';
import { EXIT, InputFileError } from './errors.js';

/** A [batch, vocab] float32 matrix read from a file. */
export interface LogitsMatrix {
  /** Row-major values, batch × vocab. */
  data: Float32Array;
  /** [batch, vocab]; a 1-D array is one row. */
  shape: [number, number];
}

function toMatrix(file: string, data: Float32Array, shape: readonly number[]): LogitsMatrix {
  if (shape.length === 1) return { data, shape: [1, shape[0]!] };
  if (shape.length === 2) return { data, shape: [shape[0]!, shape[1]!] };
  throw new InputFileError(file, `expected a 1-D or 2-D array but found shape [${shape.join(', ')}]`);
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

/** .npy: float32 or float16, 1-D or 2-D, C order (read with npyjs). */
export function readNpy(file: string): LogitsMatrix {
  const bytes = readBytes(file);
  if (bytes.length < 10 || bytes.toString('latin1', 0, 6) !== '\x93NUMPY') {
    throw new InputFileError(file, 'not a .npy file (wrong magic)');
  }
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  let array: ReturnType<typeof parseNpy>;
  try {
    array = parseNpy(buffer as ArrayBuffer);
  } catch (error) {
    throw new InputFileError(file, `cannot be parsed as .npy (${(error as Error).message})`);
  }
  if (array.fortranOrder) throw new InputFileError(file, 'Fortran-ordered arrays are not supported');
  if (array.dtype !== 'f4' && array.dtype !== 'f2') {
    throw new InputFileError(file, `unsupported dtype ${array.dtype} (expected float32 or float16)`);
  }
  const count = array.shape.reduce((a, b) => a * b, 1);
  const data =
    array.data instanceof Float32Array
      ? array.data
      : Float32Array.from(array.data as unknown as ArrayLike<number>);
  if (data.length !== count) throw new InputFileError(file, `truncated: ${data.length} of ${count} values`);
  return toMatrix(file, data, array.shape);
}

/** .safetensors: the tensor `name` (or the only tensor), F32 or F16. */
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
  let data: Float32Array;
  if (tensor.dtype === 'F32') {
    if (end - start !== count * 4)
      throw new InputFileError(
        file,
        `tensor '${chosen}' has ${end - start} bytes for ${count} float32 values`,
      );
    data = new Float32Array(count);
    new Uint8Array(data.buffer).set(bytes.subarray(base + start, base + end));
  } else if (tensor.dtype === 'F16') {
    if (end - start !== count * 2)
      throw new InputFileError(
        file,
        `tensor '${chosen}' has ${end - start} bytes for ${count} float16 values`,
      );
    data = new Float32Array(count);
    for (let i = 0; i < count; i++) data[i] = float16ToFloat32(bytes.readUInt16LE(base + start + 2 * i));
  } else {
    throw new InputFileError(file, `unsupported dtype ${tensor.dtype} for '${chosen}' (expected F32 or F16)`);
  }
  return toMatrix(file, data, tensor.shape);
}

/** Raw little-endian float32 with an explicit shape. */
export function readRaw(file: string, shape: [number, number]): LogitsMatrix {
  const bytes = readBytes(file);
  const expected = shape[0] * shape[1] * 4;
  if (bytes.length !== expected) {
    throw new InputFileError(
      file,
      `has ${bytes.length} bytes but --shape ${shape.join(',')} needs ${expected}`,
    );
  }
  const data = new Float32Array(shape[0] * shape[1]);
  new Uint8Array(data.buffer).set(bytes);
  return { data, shape };
}

/** Reads logits or probabilities by extension: .npy, .safetensors, or raw float32 with `shape`. */
export function readLogitsFile(
  file: string,
  options: { tensor?: string; shape?: [number, number] },
): LogitsMatrix {
  const ext = extname(file).toLowerCase();
  if (ext === '.npy') return readNpy(file);
  if (ext === '.safetensors') return readSafetensors(file, options.tensor);
  if (options.shape) return readRaw(file, options.shape);
  checkRegularFile(file);
  throw new InputFileError(
    file,
    'not .npy or .safetensors: for raw float32 give its shape with --shape B,V',
    EXIT.usage,
  );
}
