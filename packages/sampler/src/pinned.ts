import { SamplerInputError } from './errors.js';
import type { HostValues } from './request.js';

/** A page-locked host array (see {@link Sampler.pinHostMemory}); dispose to release it. */
export interface PinnedHostMemory extends Disposable {
  /** Releases the page-locking (once; later calls do nothing). */
  dispose(): void;
}

/** Throws the typed error for anything but a non-empty Float32Array or Uint16Array (half values). */
export function checkPinnable(array: unknown): asserts array is HostValues {
  if (!(array instanceof Float32Array || array instanceof Uint16Array) || array.length === 0)
    throw new SamplerInputError('array', 'a non-empty Float32Array or Uint16Array', array);
}

/** A handle that releases through `release` once, however often it is disposed. */
export function pinHandle(release: () => void): PinnedHostMemory {
  let done = false;
  const dispose = () => {
    if (done) return;
    done = true;
    release();
  };
  return { dispose, [Symbol.dispose]: dispose };
}

/**
 * Page-locks `array` through `device` (portably: every device may copy from it) and records it
 * on each of `samplers`, which then copy from it directly; the handle forgets it on them, then
 * unpins.
 */
export function pinShared(
  array: HostValues,
  device: { pinHostMemory(array: HostValues): { dispose(): void } },
  samplers: ReadonlyArray<{ markPinned(array: HostValues): () => void }>,
): PinnedHostMemory {
  checkPinnable(array);
  const pin = device.pinHostMemory(array);
  const forget = samplers.map((s) => s.markPinned(array));
  return pinHandle(() => {
    for (const f of forget) f();
    pin.dispose();
  });
}

/** The host ranges a GPU sampler may copy from directly (page-locked by the user's pin). */
export class PinnedRanges {
  readonly #ranges = new Map<ArrayBufferLike, Array<[number, number]>>();

  /** Records `view`'s bytes; returns the function that forgets them. */
  add(view: HostValues): () => void {
    const range: [number, number] = [view.byteOffset, view.byteOffset + view.byteLength];
    const list = this.#ranges.get(view.buffer) ?? [];
    list.push(range);
    this.#ranges.set(view.buffer, list);
    return () => {
      const at = list.indexOf(range);
      if (at >= 0) list.splice(at, 1);
      if (list.length === 0) this.#ranges.delete(view.buffer);
    };
  }

  /** Whether every byte of `view` lies in one recorded range. */
  covers(view: HostValues): boolean {
    const list = this.#ranges.get(view.buffer);
    const end = view.byteOffset + view.byteLength;
    return list?.some(([b, e]) => b <= view.byteOffset && end <= e) ?? false;
  }
}
