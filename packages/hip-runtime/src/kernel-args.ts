import { HipArgumentError } from './errors.js';

/** The kinds of kernel argument a launch packs. */
export type KernelArgType = 'pointer' | 'i32' | 'u32' | 'f32' | 'u64' | 'f64';

/** Something with a device address (a DeviceBuffer), or a raw address. */
export interface HasDeviceAddress {
  /** Device address of the first byte. */
  readonly address: bigint;
}

/** One kernel argument: its type and value. */
export type KernelArg =
  | TypedArg<'pointer', HasDeviceAddress | bigint>
  | TypedArg<'i32' | 'u32' | 'f32' | 'f64', number>
  | TypedArg<'u64', bigint | number>;

/** A kernel argument with the type it is packed as. */
export interface TypedArg<T extends KernelArgType, V> {
  /** How the argument is packed (its C type in the kernel's signature). */
  type: T;
  /** The value: a device address (or something holding one) for pointers. */
  value: V;
}

const SIZE: Record<KernelArgType, number> = { pointer: 8, i32: 4, u32: 4, f32: 4, u64: 8, f64: 8 };

/**
 * Packs kernel arguments into one buffer, each aligned to its own size as the C ABI lays
 * out parameters, with one offset per argument, so that a launch is one crossing into
 * native code. Reuse one packer per call site: `pack` writes into the same buffer every time.
 *
 * @example
 * ```ts
 * import { KernelArgPacker } from '@rocmforge/hip-runtime';
 * const packer = new KernelArgPacker(['pointer', 'u32', 'f32']);
 * const bytes = packer.pack([{ type: 'pointer', value: 0x1000n }, { type: 'u32', value: 7 }, { type: 'f32', value: 0.5 }]);
 * console.log(bytes.byteLength); // 16
 * ```
 */
export class KernelArgPacker {
  /** The parameter types, in order. */
  readonly types: readonly KernelArgType[];
  /** Byte offset of each parameter in `bytes` (C alignment). */
  readonly offsets: Uint32Array;
  /** The packed argument block the launch passes. */
  readonly bytes: Uint8Array;
  readonly #view: DataView;

  constructor(types: readonly KernelArgType[]) {
    this.types = types;
    const offsets: number[] = [];
    let offset = 0;
    for (const type of types) {
      const size = SIZE[type];
      if (size === undefined)
        throw new HipArgumentError(`Expected a kernel argument type but received '${type}'`);
      offset = Math.ceil(offset / size) * size;
      offsets.push(offset);
      offset += size;
    }
    this.offsets = Uint32Array.from(offsets);
    // The whole parameter block is padded to 8 bytes, as compilers pad it.
    this.bytes = new Uint8Array(Math.ceil(offset / 8) * 8);
    this.#view = new DataView(this.bytes.buffer);
  }

  /** Writes `args` into {@link bytes} (checking types, count and ranges) and returns it. */
  pack(args: readonly KernelArg[]): Uint8Array {
    if (args.length !== this.types.length) {
      throw new HipArgumentError(
        `Expected ${this.types.length} kernel arguments but received ${args.length}`,
      );
    }
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      const type = this.types[i]!;
      if (arg.type !== type) {
        throw new HipArgumentError(`Expected a ${type} for kernel argument ${i} but received a ${arg.type}`);
      }
      this.write(i, arg.value);
    }
    return this.bytes;
  }

  /**
   * Writes argument `index` into {@link bytes} as its declared type, with the checks of
   * {@link pack}, without building a {@link KernelArg}: a launcher that keeps one packer per
   * kernel rewrites only what it passes, and allocates nothing per launch.
   */
  write(index: number, value: KernelArg['value']): void {
    const type = this.types[index];
    const at = this.offsets[index];
    if (type === undefined || at === undefined) {
      throw new HipArgumentError(
        `Expected a kernel argument index in [0, ${this.types.length}) but received ${index}`,
      );
    }
    const view = this.#view;
    switch (type) {
      case 'pointer': {
        const address = typeof value === 'bigint' ? value : (value as HasDeviceAddress).address;
        view.setBigUint64(at, address, true);
        break;
      }
      case 'i32':
        checkInteger(value as number, -(2 ** 31), 2 ** 31 - 1, index, type);
        view.setInt32(at, value as number, true);
        break;
      case 'u32':
        checkInteger(value as number, 0, 2 ** 32 - 1, index, type);
        view.setUint32(at, value as number, true);
        break;
      case 'f32':
        view.setFloat32(at, value as number, true);
        break;
      case 'f64':
        view.setFloat64(at, value as number, true);
        break;
      case 'u64': {
        const big = typeof value === 'bigint' ? value : BigInt(value as number);
        if (big < 0n || big >= 1n << 64n) {
          throw new HipArgumentError(`Expected a u64 for kernel argument ${index} but received ${big}`);
        }
        view.setBigUint64(at, big, true);
        break;
      }
    }
  }
}

function checkInteger(value: number, min: number, max: number, index: number, type: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new HipArgumentError(`Expected an ${type} for kernel argument ${index} but received ${value}`);
  }
}
