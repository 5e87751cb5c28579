import { describe, expect, it } from 'vitest';
import {
  BackendUnavailableError,
  KernelFailureError,
  SamplerDisposedError,
  SamplerError,
  SamplerInputError,
} from '../src/index.js';

// isInstance recognises an error by a marker under a global symbol, so that an error thrown by a
// second copy of the package (another class object with the same marker) is recognised too.
describe('error classes', () => {
  const copyOf = (name: string) => {
    const error = new Error('from another copy');
    for (const marker of ['SamplerError', name])
      Object.assign(error, { [Symbol.for(`rocmforge.sampler.${marker}`)]: true });
    return error;
  };
  const classes = [
    ['SamplerInputError', SamplerInputError, new SamplerInputError('topP', 'a number', 2)],
    ['BackendUnavailableError', BackendUnavailableError, new BackendUnavailableError('gpu', 'no device')],
    ['KernelFailureError', KernelFailureError, new KernelFailureError('blocks did not meet', 3)],
    ['SamplerDisposedError', SamplerDisposedError, new SamplerDisposedError()],
  ] as const;

  it.each(
    classes,
  )('%s: isInstance by marker, also across copies, and not for its siblings', (name, Class, error) => {
    expect(Class.isInstance(error)).toBe(true);
    expect(SamplerError.isInstance(error)).toBe(true);
    expect(Class.isInstance(copyOf(name))).toBe(true);
    expect(SamplerError.isInstance(copyOf(name))).toBe(true);
    expect(Class.isInstance(new SamplerError('plain'))).toBe(false);
    expect(Class.isInstance(new Error('other'))).toBe(false);
    expect(Class.isInstance({ code: error.code })).toBe(false);
    for (const [other, , sibling] of classes)
      if (other !== name) expect(Class.isInstance(sibling)).toBe(false);
  });

  it('SamplerError.isInstance refuses what is not one', () => {
    expect(SamplerError.isInstance(new SamplerError('x'))).toBe(true);
    for (const value of [undefined, null, 'ERR_SAMPLER', new Error('x'), { code: 'ERR_SAMPLER_INPUT' }])
      expect(SamplerError.isInstance(value)).toBe(false);
  });
});
