import type { Device } from './device.js';
import { HipArgumentError } from './errors.js';
import { type KernelArg, KernelArgPacker, type KernelArgType } from './kernel-args.js';
import { call, translate } from './native.js';
import { Resource } from './resource.js';
import type { Stream } from './stream.js';

/** A grid or block size: x, or [x, y?, z?]. */
export type Dim3 = number | readonly [number, number?, number?];

/** Per-function facts from the driver. */
export interface KernelAttributes {
  /** Most threads per block this kernel can be launched with. */
  maxThreadsPerBlock: number;
  /** Statically allocated shared memory per block, bytes. */
  staticSharedBytes: number;
  /** Local (spill and stack) memory per thread, bytes. */
  localBytes: number;
  /** Registers per thread. */
  registers: number;
}

/** A loaded code object (AMD) or cubin/fatbin/PTX (NVIDIA). */
export class Module extends Resource {
  /** The device the module is loaded on. */
  readonly device: Device;
  readonly #handle: bigint;
  readonly #kernels = new Map<string, Kernel>();

  /** @internal Use `device.loadModule(image)`. */
  constructor(device: Device, image: ArrayBufferView) {
    const native = device.activate();
    const handle = call(() => native.moduleLoad(image));
    super('Module', () => {
      device.activate();
      native.moduleUnload(handle);
    });
    this.device = device;
    this.#handle = handle;
  }

  /** @internal Throws DisposedError once the module is disposed. */
  assertUsable(): void {
    this.alive();
  }

  /** The kernel `name` (its exported, unmangled symbol); throws HipError when missing. */
  getFunction(name: string): Kernel {
    this.alive();
    let kernel = this.#kernels.get(name);
    if (!kernel) {
      const native = this.device.activate();
      const fn = call(() => native.moduleFunction(this.#handle, name));
      kernel = new Kernel(this, name, fn);
      this.#kernels.set(name, kernel);
    }
    return kernel;
  }
}

/** Writes `value` as x, y, z into `dims` from `at` (checked: positive 32-bit integers). */
function writeDim3(dims: Uint32Array, at: number, value: Dim3, what: string): void {
  const x = typeof value === 'number' ? value : value[0];
  const y = typeof value === 'number' ? 1 : (value[1] ?? 1);
  const z = typeof value === 'number' ? 1 : (value[2] ?? 1);
  if (!positiveU32(x) || !positiveU32(y) || !positiveU32(z)) {
    throw new HipArgumentError(
      `Expected positive integers for ${what} but received ${JSON.stringify(value)}`,
    );
  }
  dims[at] = x;
  dims[at + 1] = y;
  dims[at + 2] = z;
}

function positiveU32(v: number): boolean {
  return Number.isInteger(v) && v >= 1 && v <= 0xffffffff;
}

/** What a launch needs: grid and block sizes, dynamic shared memory, the stream, the arguments. */
export interface LaunchOptions {
  /** Blocks in the grid. */
  grid: Dim3;
  /** Threads per block. */
  block: Dim3;
  /** Dynamic shared memory per block, bytes (default 0). */
  sharedMemBytes?: number;
  /** The stream to launch on (default: the device's default stream). */
  stream?: Stream;
  /** The kernel's arguments, in order. */
  args: readonly KernelArg[];
}

/** A launch whose arguments are already packed: {@link Kernel.launchPacked}. */
export interface PackedLaunchOptions
  extends Pick<LaunchOptions, 'grid' | 'block' | 'sharedMemBytes' | 'stream'> {
  /** The kernel's arguments, written into the packer's bytes. */
  packer: KernelArgPacker;
}

/** A kernel function of a module. */
export class Kernel {
  /** The module the kernel belongs to. */
  readonly module: Module;
  /** Its symbol name. */
  readonly name: string;
  readonly #handle: bigint;
  readonly #dims = new Uint32Array(7);
  readonly #packers = new Map<string, KernelArgPacker>();

  /** @internal */
  constructor(module: Module, name: string, handle: bigint) {
    this.module = module;
    this.name = name;
    this.#handle = handle;
  }

  /** Registers, shared and local memory, and the largest block the kernel can run. */
  get attributes(): KernelAttributes {
    const native = this.module.device.activate();
    const get = (attribute: number) => call(() => native.functionAttribute(this.#handle, attribute));
    return { maxThreadsPerBlock: get(0), staticSharedBytes: get(1), localBytes: get(3), registers: get(4) };
  }

  /** Raises the dynamic shared-memory limit of this kernel (needed above 48 KiB on NVIDIA). */
  setMaxDynamicSharedMemory(bytes: number): void {
    const native = this.module.device.activate();
    call(() => native.setFunctionAttribute(this.#handle, 8, bytes));
  }

  /** Queues the kernel on `stream` (the device's default stream when omitted). */
  launch(options: LaunchOptions): void {
    const device = this.module.device;
    this.module.assertUsable();
    const stream = options.stream ?? device.defaultStream;
    device.assertSame(stream, 'a stream');
    for (const arg of options.args) {
      if (arg.type === 'pointer' && typeof arg.value !== 'bigint' && 'device' in arg.value) {
        device.assertSame(arg.value as unknown as { device: Device }, 'a buffer');
      }
    }
    const key = options.args.map((a) => a.type).join(',');
    let packer = this.#packers.get(key);
    if (!packer) {
      packer = new KernelArgPacker(options.args.map((a) => a.type as KernelArgType));
      this.#packers.set(key, packer);
    }
    packer.pack(options.args);
    this.#launchPacked(options, stream, packer);
  }

  /**
   * Queues the kernel with arguments already written into `options.packer` (one packer per
   * launch site, kept between launches: {@link KernelArgPacker.write} rewrites what changed).
   * The packer's types must be the kernel's parameters, as for {@link launch}; the caller has
   * checked that the device addresses in it are of this kernel's device.
   */
  launchPacked(options: PackedLaunchOptions): void {
    const device = this.module.device;
    this.module.assertUsable();
    const stream = options.stream ?? device.defaultStream;
    device.assertSame(stream, 'a stream');
    this.#launchPacked(options, stream, options.packer);
  }

  #launchPacked(
    options: Pick<LaunchOptions, 'grid' | 'block' | 'sharedMemBytes'>,
    stream: Stream,
    packer: KernelArgPacker,
  ): void {
    const dims = this.#dims;
    writeDim3(dims, 0, options.grid, 'grid');
    writeDim3(dims, 3, options.block, 'block');
    dims[6] = options.sharedMemBytes ?? 0;
    const native = this.module.device.activate();
    const handle = stream.handle;
    try {
      native.launch(this.#handle, dims, handle, packer.bytes, packer.offsets);
    } catch (error) {
      throw translate(error);
    }
  }
}
