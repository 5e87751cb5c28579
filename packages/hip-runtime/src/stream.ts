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

  /** @internal Use `device.createStream()`. */
  constructor(device: Device) {
    const native = device.activate();
    const handle = call(() => native.streamCreate());
    super('Stream', () => {
      device.activate();
      native.streamDestroy(handle);
    });
    this.device = device;
    this.#handle = handle;
  }

  /** @internal The driver handle. */
  get handle(): bigint {
    this.alive();
    return this.#handle;
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

  /** @internal Use `device.createEvent()`. */
  constructor(device: Device) {
    const native = device.activate();
    const handle = call(() => native.eventCreate());
    super('Event', () => {
      device.activate();
      native.eventDestroy(handle);
    });
    this.device = device;
    this.#handle = handle;
  }

  /** @internal The driver handle. */
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
