import { DeviceBuffer } from './buffer.js';
import { HipArgumentError } from './errors.js';
import { MappedHostMemory } from './mapped-memory.js';
import { Module } from './module.js';
import { call, type DeviceFacts, type NativeAddon } from './native.js';
import type { DriverInfo } from './runtime.js';
import { Event, Stream } from './stream.js';

/** What a device is: read from the driver one attribute at a time (see native/addon.cc). */
export interface DeviceInfo extends DeviceFacts {
  /** Device index. */
  index: number;
  /** The driver: HIP (AMD) or CUDA (NVIDIA). */
  backend: 'hip' | 'cuda';
  /** The driver's version number (e.g. 13000 for CUDA 13.0). */
  driverVersion: number;
}

let current = -1;

/**
 * One GPU. Everything allocated or loaded through a Device belongs to it; handles of two
 * devices cannot be mixed.
 */
export class Device {
  /** Device index, as the driver numbers devices. */
  readonly index: number;
  /** What the driver reports about the device. */
  readonly info: DeviceInfo;
  readonly #native: NativeAddon;
  #defaultStream: Stream | undefined;

  /** @internal Use `openDevice(index)`. */
  constructor(native: NativeAddon, index: number, driver: DriverInfo) {
    this.#native = native;
    this.index = index;
    const facts = call(() => native.deviceInfo(index));
    this.info = { index, backend: driver.backend, driverVersion: driver.version, ...facts };
  }

  /** @internal Makes this device current on the JS thread before a driver call. */
  activate(): NativeAddon {
    if (current !== this.index) {
      call(() => this.#native.makeCurrent(this.index));
      current = this.index;
    }
    return this.#native;
  }

  /** Free and total device memory in bytes. */
  memoryInfo(): {
    /** Free bytes now. */
    free: number;
    /** Total bytes. */
    total: number;
  } {
    const native = this.activate();
    return call(() => native.memoryInfo());
  }

  /** Allocates `bytes` of device memory. */
  alloc(bytes: number): DeviceBuffer {
    if (!Number.isSafeInteger(bytes) || bytes <= 0) {
      throw new HipArgumentError(`Expected a positive integer byte count but received ${bytes}`);
    }
    return new DeviceBuffer(this, bytes);
  }

  /** Allocates a buffer and uploads `data` into it. */
  upload(data: ArrayBufferView): DeviceBuffer {
    const buffer = this.alloc(Math.max(data.byteLength, 1));
    buffer.write(data);
    return buffer;
  }

  /**
   * Memory of this device that something else allocated (another engine, another native addon),
   * by its address and length, as a DeviceBuffer that does not own it: it is never freed here,
   * and `dispose()` only retires the wrapper. Using it after its owner freed it is the caller's
   * error (the driver may fault, or the memory may belong to someone else by then).
   *
   * The memory must be usable from this device's primary context: hip-runtime makes each
   * device's primary context current (HIP has no other; on CUDA it is the context the CUDA
   * runtime, PyTorch and other frameworks share, which is what lets them exchange pointers).
   * Memory allocated in a private CUDA context (`cuCtxCreate`) is not. Order the reads after
   * the producer's writes with `stream.waitFor(event)` (the sampler's `after` option).
   *
   * @example
   * ```ts gpu
   * import { openDevice } from '@rocmforge/hip-runtime';
   * const device = openDevice(0);
   * const owned = device.upload(new Float32Array([1, 2, 3, 4]));
   * // An engine would hand over its own pointer; here one of ours stands in for it.
   * const view = device.wrapBuffer(owned.address, owned.byteLength);
   * console.log(view.wrapped, view.read(new Float32Array(4))[3]); // true 4
   * view.dispose(); // the memory stays
   * owned.dispose();
   * ```
   */
  wrapBuffer(address: bigint, byteLength: number): DeviceBuffer {
    if (typeof address !== 'bigint' || address <= 0n || address >= 1n << 64n) {
      throw new HipArgumentError(
        `Expected a device address (a bigint in (0, 2^64)) but received ${String(address)}`,
      );
    }
    if (!Number.isSafeInteger(byteLength) || byteLength <= 0) {
      throw new HipArgumentError(`Expected a positive integer byte count but received ${byteLength}`);
    }
    return new DeviceBuffer(this, byteLength, address);
  }

  /**
   * A stream of this device created elsewhere (`hipStream_t` / `CUstream`, as a bigint; 0n is
   * the legacy default stream), as a Stream that does not own it: never destroyed here. Using
   * it after its owner destroyed it is the caller's error.
   */
  wrapStream(handle: bigint): Stream {
    if (typeof handle !== 'bigint' || handle < 0n || handle >= 1n << 64n) {
      throw new HipArgumentError(
        `Expected a stream handle (a bigint in [0, 2^64)) but received ${String(handle)}`,
      );
    }
    return new Stream(this, handle);
  }

  /**
   * An event created elsewhere (`hipEvent_t` / `CUevent`, as a bigint), as an Event that does
   * not own it: never destroyed here. Using it after its owner destroyed it is the caller's
   * error. Pass it as the sampler's `after` to order sampling after the producer's work.
   */
  wrapEvent(handle: bigint): Event {
    if (typeof handle !== 'bigint' || handle <= 0n || handle >= 1n << 64n) {
      throw new HipArgumentError(
        `Expected an event handle (a bigint in (0, 2^64)) but received ${String(handle)}`,
      );
    }
    return new Event(this, handle);
  }

  /** A new stream on this device. */
  createStream(): Stream {
    return new Stream(this);
  }

  /** This device's stream used by synchronous copies (created on first use). */
  get defaultStream(): Stream {
    if (!this.#defaultStream || this.#defaultStream.disposed) this.#defaultStream = new Stream(this);
    return this.#defaultStream;
  }

  /** A new timing event on this device. */
  createEvent(): Event {
    return new Event(this);
  }

  /** Loads a code object / cubin / fatbin / PTX image. */
  loadModule(image: ArrayBufferView): Module {
    return new Module(this, image);
  }

  /**
   * Page-locks the memory of `view` (for fast, truly asynchronous copies) until the returned
   * handle is disposed. The registration is portable: copies to every device of the process
   * see the range as page-locked. The view must stay alive and unmoved as long as it is
   * registered.
   */
  pinHostMemory(view: ArrayBufferView): Disposable & {
    /** Unregisters the memory (once; later calls do nothing). */
    dispose(): void;
  } {
    const native = this.activate();
    call(() => native.hostRegister(view));
    let done = false;
    const dispose = () => {
      if (done) return;
      done = true;
      const n = this.activate();
      call(() => n.hostUnregister(view));
    };
    return { dispose, [Symbol.dispose]: dispose };
  }

  /**
   * Page-locks the memory of `view` and maps it into this device's address space until the
   * returned {@link MappedHostMemory} is disposed: kernels read and write it in place through
   * its `address`, with no copy either way. The view must stay alive and unmoved, and must not
   * overlap memory pinned or mapped already.
   */
  mapHostMemory(view: ArrayBufferView): MappedHostMemory {
    if (view.byteLength === 0) {
      throw new HipArgumentError(
        'Expected host memory of at least one byte to map but received an empty view',
      );
    }
    return new MappedHostMemory(this, view);
  }

  /** Waits until all work queued on this device's default stream is done. */
  synchronize(): void {
    this.defaultStream.synchronize();
  }

  /** @internal Throws when `other` belongs to another device. */
  assertSame(other: { device: Device }, what: string): void {
    if (other.device !== this) {
      throw new HipArgumentError(
        `Expected ${what} of device ${this.index} but received one of device ${other.device.index}`,
      );
    }
  }
}
