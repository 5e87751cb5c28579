// Each class carries a marker under a global symbol, and a static `isInstance` that looks for
// it: unlike `instanceof`, the check holds when an application has two copies of this package.
const UNAVAILABLE = Symbol.for('rocmforge.sampling-kernels.KernelsUnavailableError');
const ARGUMENT = Symbol.for('rocmforge.sampling-kernels.KernelArgumentError');

/** Whether `error` carries `marker`. */
function marked(error: unknown, marker: symbol): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
}

/** The kernels cannot run on a device: no binary for its architecture and no run-time compiler. */
export class KernelsUnavailableError extends Error {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [UNAVAILABLE] = true;
  /** Stable code for programs: `ERR_KERNELS_UNAVAILABLE`. */
  readonly code = 'ERR_KERNELS_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KernelsUnavailableError';
  }

  /** Whether `error` is a KernelsUnavailableError, from this copy of the package or another. */
  static isInstance(error: unknown): error is KernelsUnavailableError {
    return marked(error, UNAVAILABLE);
  }
}

/** A launcher was given buffers, sizes or values that do not fit the kernel: a bug of the caller. */
export class KernelArgumentError extends Error {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [ARGUMENT] = true;
  /** Stable code for programs: `ERR_KERNEL_ARGUMENT`. */
  readonly code = 'ERR_KERNEL_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'KernelArgumentError';
  }

  /** Whether `error` is a KernelArgumentError, from this copy of the package or another. */
  static isInstance(error: unknown): error is KernelArgumentError {
    return marked(error, ARGUMENT);
  }
}
