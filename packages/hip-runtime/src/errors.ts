// Markers under global symbols, looked for by the static `isInstance` methods: unlike
// `instanceof`, the check holds when an application has two copies of this package (the
// sampler recognises a driver failure from whichever copy threw it).
const HIP_RUNTIME_ERROR = Symbol.for('rocmforge.hip-runtime.HipRuntimeError');
const HIP_ERROR = Symbol.for('rocmforge.hip-runtime.HipError');

/** Whether `error` carries `marker`. */
function marked(error: unknown, marker: symbol): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
}

/** Base class of every error this package throws. */
export class HipRuntimeError extends Error {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [HIP_RUNTIME_ERROR] = true;

  /** Whether `error` is a HipRuntimeError, from this copy of the package or another. */
  static isInstance(error: unknown): error is HipRuntimeError {
    return marked(error, HIP_RUNTIME_ERROR);
  }

  /** Stable code for programs: `ERR_HIP_DRIVER`, `ERR_HIP_NO_DRIVER`, `ERR_HIP_NO_DEVICE`, `ERR_HIP_DISPOSED`, `ERR_HIP_ARGUMENT`, … */
  readonly code: string;
  constructor(message: string, code: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HipRuntimeError';
    this.code = code;
  }
}

/**
 * A driver call failed: `driverCode` and `driverName` are the driver's own (e.g. 2,
 * `CUDA_ERROR_OUT_OF_MEMORY`), `call` the function that failed (e.g. `cuMemAlloc_v2`).
 */
export class HipError extends HipRuntimeError {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [HIP_ERROR] = true;

  /** Whether `error` is a failed driver call (a HipError), from this copy of the package or another. */
  static override isInstance(error: unknown): error is HipError {
    return marked(error, HIP_ERROR);
  }

  /** The driver's numeric error code. */
  readonly driverCode: number;
  /** The driver's error name, e.g. `CUDA_ERROR_OUT_OF_MEMORY`. */
  readonly driverName: string;
  /** The driver function that failed, e.g. `cuMemAlloc_v2`. */
  readonly call: string;
  constructor(call: string, driverName: string, driverCode: number, options?: ErrorOptions) {
    super(`${call} failed: ${driverName} (${driverCode})`, 'ERR_HIP_DRIVER', options);
    this.name = 'HipError';
    this.driverCode = driverCode;
    this.driverName = driverName;
    this.call = call;
  }
}

/** One library the loader tried, and what happened. */
export interface DriverAttempt {
  /** The library name or path tried. */
  path: string;
  /** Why it could not be used (or `ok`). */
  outcome: string;
}

/** No GPU driver could be opened (or the native addon is not built); `attempts` says what was tried. */
export class NoDriverError extends HipRuntimeError {
  /** Every library tried, in order. */
  readonly attempts: readonly DriverAttempt[];
  constructor(reason: string, attempts: readonly DriverAttempt[] = []) {
    const tried = attempts.map((a) => `${a.path}: ${a.outcome}`).join('; ');
    super(tried ? `${reason} (tried ${tried})` : reason, 'ERR_HIP_NO_DRIVER');
    this.name = 'NoDriverError';
    this.attempts = attempts;
  }
}

/** A driver loaded but has no device with the index asked for (or none at all). */
export class NoDeviceError extends HipRuntimeError {
  constructor(message: string) {
    super(message, 'ERR_HIP_NO_DEVICE');
    this.name = 'NoDeviceError';
  }
}

/** A handle was used after `dispose()`. */
export class DisposedError extends HipRuntimeError {
  constructor(what: string) {
    super(`${what} has been disposed`, 'ERR_HIP_DISPOSED');
    this.name = 'DisposedError';
  }
}

/** Bad arguments: a size, an index, a kernel argument, or handles of different devices mixed. */
export class HipArgumentError extends HipRuntimeError {
  constructor(message: string) {
    super(message, 'ERR_HIP_ARGUMENT');
    this.name = 'HipArgumentError';
  }
}
