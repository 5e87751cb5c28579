import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

// This file runs in its own worker: point the loader at a library that does not exist
// before anything opens the driver.
process.env.ROCMFORGE_DRIVER_PATH = '/nonexistent/libnothing.so';
process.env.ROCMFORGE_BACKEND = 'cuda';
const runtime = await import('../src/index.js');

describe('without a driver', () => {
  it('the addon is built and loads', () => {
    expect(existsSync(runtime.addonPath())).toBe(true);
  });

  it.each([
    ['openDriver', () => runtime.openDriver()],
    ['listDevices', () => runtime.listDevices()],
    ['deviceCount', () => runtime.deviceCount()],
    ['openDevice', () => runtime.openDevice(0)],
  ])('%s throws NoDriverError naming what was tried', (_name, fn) => {
    let thrown: unknown;
    try {
      fn();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(runtime.NoDriverError);
    const error = thrown as InstanceType<typeof runtime.NoDriverError>;
    expect(error.code).toBe('ERR_HIP_NO_DRIVER');
    expect(error.attempts.map((a) => a.path)).toEqual(['/nonexistent/libnothing.so']);
    expect(error.message).toMatch(/\/nonexistent\/libnothing\.so: .*No such file/);
  });

  it('the addon exports streamSynchronizeSpin, which needs an open driver', async () => {
    const { loadAddon } = await import('../src/native.js');
    const addon = loadAddon();
    expect(typeof addon.streamSynchronizeSpin).toBe('function');
    expect(() => addon.streamSynchronizeSpin(1n, 10)).toThrow(
      expect.objectContaining({ code: 'ERR_HIP_NO_DRIVER' }),
    );
  });

  it('probe reports the reason instead of throwing', () => {
    const result = runtime.probe();
    expect(result.available).toBe(false);
    if (!result.available) expect(result.reason).toMatch(/no usable GPU driver/);
  });

  it('rejects a bad device index before touching the driver', () => {
    expect(() => runtime.openDevice(-1)).toThrow(runtime.HipArgumentError);
  });

  it('rejects an unknown ROCMFORGE_BACKEND', () => {
    expect(() => runtime.readConfig({ ROCMFORGE_BACKEND: 'metal' })).toThrow(/ROCMFORGE_BACKEND/);
  });
});
