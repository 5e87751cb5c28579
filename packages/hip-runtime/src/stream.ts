import type { Device } from './device.js';
import { HipArgumentError } from './errors.js';
import { call, translate } from './native.js';
import { Resource } from './resource.js';

/** Longest poll {@link Stream.synchronize} accepts before waiting: one second. */
const MAX_SPIN_MICROSECONDS = 1_000_000;

/** An ordered queue of device work. */
export class Stream extends Resource {
  /** The device the stream belongs to. */
  readonly device: Device;
  readonly #handle: bigint;

  /** True for a stream created elsewhere and wrapped by handle (`device.wrapStream`): never destroyed here. */
  readonly wrapped: boolean;

  /** @internal Use `device.createStream()`, or `device.wrapStream(handle)` for one created elsewhere. */
  constructor(device: Device, wrap?: bigint) {
    const native = device.activate();
    const handle = wrap ?? call(() => native.streamCreate());
    super(
      'Stream',
      wrap === undefined
        ? () => {
            device.activate();
            native.streamDestroy(handle);
          }
        : () => {},
    );
    this.device = device;
    this.#handle = handle;
    this.wrapped = wrap !== undefined;
  }

  /** The driver handle (`hipStream_t` / `CUstream`), e.g. to hand to another engine. */
  get handle(): bigint {
    this.alive();
    return this.#handle;
  }

  /**
   * Makes the work queued on this stream from now on wait, on the device, for `work`: an event
   * (when it completes) or the work queued so far on another stream. The host does not wait.
   * Either may belong to another device, or have been created elsewhere and wrapped.
   *
   * @example
   * ```ts gpu
   * import { openDevice } from '@rocmforge/hip-runtime';
   * const device = openDevice(0);
   * const producer = device.createStream();
   * const consumer = device.createStream();
   * const buffer = device.alloc(16);
   * buffer.fill(7, 16, producer);
   * consumer.waitFor(producer); // the read below runs after the fill
   * const bytes = new Uint8Array(16);
   * buffer.readAsync(bytes, consumer);
   * consumer.synchronize();
   * console.log(bytes[15]); // 7
   * ```
   */
  waitFor(work: Event | Stream): void {
    // An event records; a stream does not (told apart by shape, so that handles of another copy
    // of this package work too).
    if ('record' in work) {
      const native = this.device.activate();
      call(() => native.streamWaitEvent(this.handle, work.handle));
      return;
    }
    const marker = work.device.createEvent();
    try {
      marker.record(work);
      this.waitFor(marker);
    } finally {
      // Destroying a recorded event is safe: the driver releases it once the wait is done.
      marker.dispose();
    }
  }

  /**
   * Blocks until all work queued so far is done. With `spinMicroseconds`, polls the stream for
   * up to that long first, then waits as without it: for short work whose end should be seen at
   * once (a polling thread notices it in well under a microsecond; the driver's own wait may
   * yield the thread or sleep), at the price of a busy processor while it polls.
   */
  synchronize(options: { spinMicroseconds?: number } = {}): void {
    const native = this.device.activate();
    const handle = this.handle;
    const spin = options.spinMicroseconds ?? 0;
    if (!(spin >= 0 && spin <= MAX_SPIN_MICROSECONDS)) {
      throw new HipArgumentError(
        `Expected spinMicroseconds in [0, ${MAX_SPIN_MICROSECONDS}] but received ${options.spinMicroseconds}`,
      );
    }
    try {
      if (spin > 0) native.streamSynchronizeSpin(handle, spin);
      else native.streamSynchronize(handle);
    } catch (error) {
      throw translate(error);
    }
  }

  /** Resolves when all work queued so far is done, without blocking the event loop. */
  async wait(): Promise<void> {
    const native = this.device.activate();
    const stack = new Error().stack;
    try {
      // The stream object stays referenced by this frame until the promise settles.
      await native.streamSynchronizeAsync(this.device.index, this.handle);
    } catch (error) {
      const translated = translate(error) as Error;
      if (stack)
        translated.stack = `${translated.name}: ${translated.message}\n${stack.split('\n').slice(1).join('\n')}`;
      throw translated;
    }
  }

  /** True when all work queued so far is done. */
  query(): boolean {
    const native = this.device.activate();
    return call(() => native.streamQuery(this.handle));
  }
}

/** A point in a stream, for timing and ordering. */
export class Event extends Resource {
  /** The device the event belongs to. */
  readonly device: Device;
  readonly #handle: bigint;

  /** True for an event created elsewhere and wrapped by handle (`device.wrapEvent`): never destroyed here. */
  readonly wrapped: boolean;

  /** @internal Use `device.createEvent()`, or `device.wrapEvent(handle)` for one created elsewhere. */
  constructor(device: Device, wrap?: bigint) {
    const native = device.activate();
    const handle = wrap ?? call(() => native.eventCreate());
    super(
      'Event',
      wrap === undefined
        ? () => {
            device.activate();
            native.eventDestroy(handle);
          }
        : () => {},
    );
    this.device = device;
    this.#handle = handle;
    this.wrapped = wrap !== undefined;
  }

  /** The driver handle (`hipEvent_t` / `CUevent`), e.g. to hand to another engine. */
  get handle(): bigint {
    this.alive();
    return this.#handle;
  }

  /** Records this event at the current end of `stream`. */
  record(stream: Stream): void {
    this.device.assertSame(stream, 'a stream');
    const native = this.device.activate();
    call(() => native.eventRecord(this.handle, stream.handle));
  }

  /** Blocks until the work recorded before this event is done. */
  synchronize(): void {
    const native = this.device.activate();
    call(() => native.eventSynchronize(this.handle));
  }

  /** Milliseconds from `start` to this event (both recorded and complete). */
  elapsedSince(start: Event): number {
    this.device.assertSame(start, 'an event');
    const native = this.device.activate();
    return call(() => native.eventElapsed(start.handle, this.handle));
  }
}
