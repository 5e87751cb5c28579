// Each class carries a marker under a global symbol, and a static `isInstance` that looks for
// it: unlike `instanceof`, the check holds when an application has two copies of this package
// (an error from one copy is recognised by the other).
const SAMPLER_ERROR = Symbol.for('rocmforge.sampler.SamplerError');
const INPUT_ERROR = Symbol.for('rocmforge.sampler.SamplerInputError');
const BACKEND_UNAVAILABLE = Symbol.for('rocmforge.sampler.BackendUnavailableError');
const KERNEL_FAILURE = Symbol.for('rocmforge.sampler.KernelFailureError');
const DISPOSED = Symbol.for('rocmforge.sampler.SamplerDisposedError');
const UNSUPPORTED = Symbol.for('rocmforge.sampler.UnsupportedOnBackendError');

/** Whether `error` carries `marker`. */
function marked(error: unknown, marker: symbol): boolean {
  return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
}

/**
 * Every error the sampler throws is a {@link SamplerError}. Parameter and input problems are
 * {@link SamplerInputError}s with one message shape, naming the field, the row (for per-row
 * values), what was expected and what was received.
 */
export class SamplerError extends Error {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [SAMPLER_ERROR] = true;
  /** A stable machine-readable code, e.g. `ERR_SAMPLER_INPUT`. */
  readonly code: string;

  /** Whether `error` is a SamplerError, from this copy of the package or another. */
  static isInstance(error: unknown): error is SamplerError {
    return marked(error, SAMPLER_ERROR);
  }

  constructor(message: string, code = 'ERR_SAMPLER', options?: ErrorOptions) {
    super(message, options);
    this.name = 'SamplerError';
    this.code = code;
  }
}

/**
 * Bad input: a field with the wrong value or shape. `field` names the request field
 * (`logits`, `topP`, `seed`, …); `row` is the batch row for per-row values, else `undefined`.
 *
 * @example
 * ```ts
 * import { createSampler, SamplerInputError } from '@rocmforge/sampler';
 * const sampler = createSampler({ backend: 'cpu' });
 * try {
 *   sampler.sample({ logits: new Float32Array([1, 2]), topP: 1.5 });
 * } catch (error) {
 *   console.log(error instanceof SamplerInputError, (error as SamplerInputError).field);
 *   // true topP
 * }
 * ```
 */
export class SamplerInputError extends SamplerError {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [INPUT_ERROR] = true;

  /** Whether `error` is a SamplerInputError, from this copy of the package or another. */
  static override isInstance(error: unknown): error is SamplerInputError {
    return marked(error, INPUT_ERROR);
  }

  /** The request field at fault, e.g. `topP` or `logits`. */
  readonly field: string;
  /** The row at fault, when the problem is in one row. */
  readonly row: number | undefined;
  constructor(field: string, expected: string, received: unknown, row?: number) {
    const where = row === undefined ? field : `${field} (row ${row})`;
    super(`Expected ${expected} for ${where} but received ${describe(received)}`, 'ERR_SAMPLER_INPUT');
    this.name = 'SamplerInputError';
    this.field = field;
    this.row = row;
  }
}

/** The requested backend cannot be used (no GPU, no driver, no kernels for the device). */
export class BackendUnavailableError extends SamplerError {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [BACKEND_UNAVAILABLE] = true;

  /** Whether `error` is a BackendUnavailableError, from this copy of the package or another. */
  static override isInstance(error: unknown): error is BackendUnavailableError {
    return marked(error, BACKEND_UNAVAILABLE);
  }

  /** The backend asked for. */
  readonly backend: string;
  constructor(backend: string, reason: string, options?: ErrorOptions) {
    super(`The ${backend} backend is unavailable: ${reason}`, 'ERR_SAMPLER_BACKEND_UNAVAILABLE', options);
    this.name = 'BackendUnavailableError';
    this.backend = backend;
  }
}

/**
 * The GPU kernels reported a failure that the driver did not: the blocks sharing a row could not
 * all run at once (a device over-subscribed by other work), so the row was not sampled. The
 * sampler re-initialises its scratch; `auto` samplers continue on the CPU. Thrown under
 * `onInvalidRow: 'throw'`; under `'flag'` (the default) the row's status says
 * `RowStatus.blocksDidNotMeet` instead.
 */
export class KernelFailureError extends SamplerError {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [KERNEL_FAILURE] = true;

  /** Whether `error` is a KernelFailureError, from this copy of the package or another. */
  static override isInstance(error: unknown): error is KernelFailureError {
    return marked(error, KERNEL_FAILURE);
  }

  /** The first row that failed. */
  readonly row: number;
  constructor(message: string, row: number) {
    super(message, 'ERR_KERNEL_FAILURE');
    this.name = 'KernelFailureError';
    this.row = row;
  }
}

/**
 * The backend has no implementation of a request field or a method (the GPU backend for
 * typical-p, top-n-sigma, XTC, `filteredProbs`, `maskedLogits` and `verify`). Nothing failed: it
 * is not a device failure, and an `auto` sampler runs such requests on the CPU by design (see
 * docs/GPU_SAMPLER.md "Backends").
 */
export class UnsupportedOnBackendError extends SamplerError {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [UNSUPPORTED] = true;

  /** Whether `error` is an UnsupportedOnBackendError, from this copy of the package or another. */
  static override isInstance(error: unknown): error is UnsupportedOnBackendError {
    return marked(error, UNSUPPORTED);
  }

  /** The backend, e.g. `gpu`. */
  readonly backend: string;
  /** The request field or method it lacks, e.g. `typicalP` or `verify`. */
  readonly feature: string;
  constructor(backend: string, feature: string) {
    super(
      `The ${backend} backend does not implement ${feature} yet: use the cpu or auto backend`,
      'ERR_SAMPLER_UNSUPPORTED',
    );
    this.name = 'UnsupportedOnBackendError';
    this.backend = backend;
    this.feature = feature;
  }
}

/** A sampler used after `dispose()`. */
export class SamplerDisposedError extends SamplerError {
  /** @internal The marker {@link isInstance} looks for. */
  readonly [DISPOSED] = true;

  /** Whether `error` is a SamplerDisposedError, from this copy of the package or another. */
  static override isInstance(error: unknown): error is SamplerDisposedError {
    return marked(error, DISPOSED);
  }

  constructor() {
    super('This sampler has been disposed', 'ERR_SAMPLER_DISPOSED');
    this.name = 'SamplerDisposedError';
  }
}

function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint')
    return `${String(value)} of type ${typeof value}`;
  if (typeof value === 'string') return `'${value}' of type string`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value))
    return `${value.constructor.name} of length ${(value as Float32Array).length}`;
  if (Array.isArray(value)) return `Array of length ${value.length}`;
  return `a value of type ${typeof value}`;
}
