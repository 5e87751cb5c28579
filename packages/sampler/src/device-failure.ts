import { KernelFailureError } from './errors.js';

/** The error class of failed driver calls: the `HipError` of the hip-runtime the GPU backend loaded. */
export interface DriverErrorClass {
  /** Whether `error` is a failed driver call, thrown by any copy of hip-runtime (its marker). */
  isInstance(error: unknown): boolean;
}

/**
 * Whether `error` is the GPU failing (the fallback policy of `auto`), as opposed to a mistake the
 * CPU would not fix: a driver call that failed (a `HipError`, recognised by the marker its class's
 * `isInstance` looks for, whichever copy of hip-runtime threw it), or rows the kernels could not sample
 * (`KernelFailureError`, recognised by its marker). Argument errors (`ERR_HIP_ARGUMENT`,
 * `ERR_HIP_DISPOSED`, `ERR_KERNEL_ARGUMENT`) and input errors are not: they are bugs or bad
 * requests, and surface as they are.
 */
export function isDeviceFailure(error: unknown, driverError: DriverErrorClass | undefined): boolean {
  return KernelFailureError.isInstance(error) || (driverError?.isInstance(error) ?? false);
}
