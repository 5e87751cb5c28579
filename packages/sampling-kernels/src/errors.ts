/** The kernels cannot run on a device: no binary for its architecture and no run-time compiler. */
export class KernelsUnavailableError extends Error {
  /** Stable code for programs: `ERR_KERNELS_UNAVAILABLE`. */
  readonly code = 'ERR_KERNELS_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KernelsUnavailableError';
  }
}

/** A launcher was given buffers or sizes that do not fit the kernel. */
export class KernelArgumentError extends Error {
  /** Stable code for programs: `ERR_KERNEL_ARGUMENT`. */
  readonly code = 'ERR_KERNEL_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'KernelArgumentError';
  }
}
