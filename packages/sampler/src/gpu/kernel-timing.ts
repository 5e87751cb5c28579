import type { Device, Event, Stream } from '@rocmforge/hip-runtime';

/** Device events around the launches of each call, once enabled (for benchmarks). */
export class KernelTiming {
  /** Sampling launches per call (the same result each time): their mean is the time reported. */
  repeat = 1;
  #events: { start: Event; end: Event } | undefined;
  #enabled = false;
  #timed = false;

  /** Records events from now on, with `repeat` launches per call. */
  enable(device: Device, repeat: number): void {
    this.#events ??= { start: device.createEvent(), end: device.createEvent() };
    this.repeat = repeat;
    this.#enabled = true;
  }

  /** Records no events from now on, and one launch per call (the events are kept for later). */
  disable(): void {
    this.#enabled = false;
    this.#timed = false;
    this.repeat = 1;
  }

  /** Marks the start of a call's launches on `stream`. */
  start(stream: Stream): void {
    if (this.#enabled) this.#events?.start.record(stream);
  }

  /** Marks their end. */
  end(stream: Stream): void {
    if (!this.#enabled || !this.#events) return;
    this.#events.end.record(stream);
    this.#timed = true;
  }

  /** Device time of one launch of the last call in ms, or undefined when not enabled or nothing ran. */
  get milliseconds(): number | undefined {
    if (!this.#enabled || !this.#events || !this.#timed) return undefined;
    return this.#events.end.elapsedSince(this.#events.start) / this.repeat;
  }

  /** Frees the events. */
  dispose(): void {
    this.#events?.start.dispose();
    this.#events?.end.dispose();
  }
}
