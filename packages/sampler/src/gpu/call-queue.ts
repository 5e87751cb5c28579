import { SamplerError } from '../errors.js';

/**
 * Runs asynchronous calls one after another (they share the sampler's staging memory) and
 * refuses a synchronous call while any is in flight.
 */
export class CallQueue {
  #inFlight = 0;
  #tail: Promise<unknown> = Promise.resolve();

  /** Throws ERR_SAMPLER_BUSY while an asynchronous call is queued or running. */
  assertIdle(): void {
    if (this.#inFlight > 0) {
      throw new SamplerError(
        'A sampleAsync call of this sampler is still in flight: await it before calling sample (or use a second sampler)',
        'ERR_SAMPLER_BUSY',
      );
    }
  }

  /** Runs `call` once every call queued before it has settled. */
  run<T>(call: () => Promise<T>): Promise<T> {
    this.#inFlight++;
    const run = async () => {
      try {
        return await call();
      } finally {
        this.#inFlight--;
      }
    };
    const result = this.#tail.then(run, run);
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
