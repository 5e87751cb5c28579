import { DisposedError } from './errors.js';

// Backstop for handles the caller forgot to dispose: the release closure holds only the raw
// handle, never the wrapper, so the wrapper can be collected.
const registry = new FinalizationRegistry<() => void>((release) => {
  try {
    release();
  } catch {
    // The process may be tearing the driver down; nothing useful to report from a finalizer.
  }
});

/** A driver handle with an explicit, idempotent `dispose()` (and `using` support). */
export abstract class Resource implements Disposable {
  #release: (() => void) | undefined;
  readonly #what: string;

  protected constructor(what: string, release: () => void) {
    this.#what = what;
    this.#release = release;
    registry.register(this, release, this);
  }

  /** True once `dispose()` has run. */
  get disposed(): boolean {
    return this.#release === undefined;
  }

  /** Throws DisposedError when used after `dispose()`. */
  protected alive(): void {
    if (this.#release === undefined) throw new DisposedError(this.#what);
  }

  /** Releases the driver handle now. Safe to call more than once. */
  dispose(): void {
    const release = this.#release;
    if (release === undefined) return;
    this.#release = undefined;
    registry.unregister(this);
    release();
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }
}
