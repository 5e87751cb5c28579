import { DisposedError, HipArgumentError, HipError, NoDeviceError } from '@rocmforge/hip-runtime';
import { KernelArgumentError, KernelsUnavailableError } from '@rocmforge/sampling-kernels';
import { describe, expect, it } from 'vitest';
import { isDeviceFailure } from '../src/device-failure.js';
import {
  KernelFailureError,
  SamplerDisposedError,
  SamplerInputError,
  UnsupportedOnBackendError,
} from '../src/index.js';

// The fallback policy of `auto`: the GPU failing moves a sampler to the CPU; a bug or a bad
// request does not (the CPU would not fix it, and a fallback would hide it).
describe('isDeviceFailure', () => {
  it.each([
    ['a failed driver call', new HipError('cuLaunchKernel', 'CUDA_ERROR_LAUNCH_FAILED', 719)],
    ['rows the kernels could not sample', new KernelFailureError('blocks did not meet', 0)],
  ])('%s is a device failure', (_what, error) => {
    expect(isDeviceFailure(error, HipError)).toBe(true);
  });

  it.each([
    ['ERR_HIP_ARGUMENT', new HipArgumentError('Expected a u32 for kernel argument 3 but received -1')],
    ['ERR_HIP_DISPOSED', new DisposedError('DeviceBuffer')],
    [
      'ERR_KERNEL_ARGUMENT',
      new KernelArgumentError('Expected at least 64 bytes for tokens but the buffer has 32'),
    ],
    ['ERR_HIP_NO_DEVICE', new NoDeviceError('no device 3')],
    ['ERR_KERNELS_UNAVAILABLE', new KernelsUnavailableError('no binary')],
    ['ERR_SAMPLER_INPUT', new SamplerInputError('topP', 'a number in (0, 1]', 2)],
    ['ERR_SAMPLER_DISPOSED', new SamplerDisposedError()],
    ['ERR_SAMPLER_UNSUPPORTED', new UnsupportedOnBackendError('gpu', 'typicalP')],
    ['a TypeError', new TypeError('x is not a function')],
  ])('%s is not', (_code, error) => {
    expect(isDeviceFailure(error, HipError)).toBe(false);
  });

  it('recognises a driver failure thrown by another copy of hip-runtime (its marker), never by a code prefix', () => {
    // What a second copy's HipError looks like from here: another class, the same global marker.
    const otherCopy = () =>
      Object.assign(new Error('cuLaunchKernel failed'), {
        [Symbol.for('rocmforge.hip-runtime.HipError')]: true,
      });
    expect(isDeviceFailure(otherCopy(), HipError)).toBe(true);
    expect(HipError.isInstance(otherCopy())).toBe(true);
    expect(HipError.isInstance(new HipArgumentError('x'))).toBe(false);
  });

  it('recognises driver failures by class, never by a code prefix', () => {
    const lookalike = Object.assign(new Error('cuLaunchKernel failed'), { code: 'ERR_HIP_DRIVER' });
    expect(isDeviceFailure(lookalike, HipError)).toBe(false);
    expect(isDeviceFailure(new HipError('cuMemcpy', 'CUDA_ERROR_UNKNOWN', 999), undefined)).toBe(false);
  });
});
