import type { Device, Stream } from '@rocmforge/hip-runtime';
import { describe, expect, it } from 'vitest';
import { KernelTiming } from '../src/gpu/kernel-timing.js';

// The events around a call's launches, with a device whose events note what is recorded.
describe('KernelTiming', () => {
  const recorded: string[] = [];
  const event = (name: string) => ({
    record: () => recorded.push(name),
    elapsedSince: () => 0.5,
    dispose: () => recorded.push(`dispose ${name}`),
  });
  let created = 0;
  const device = {
    createEvent: () => event(created++ === 0 ? 'start' : 'end'),
  } as unknown as Device;
  const stream = {} as Stream;

  it('records nothing until enabled, around each call once enabled, and nothing once disabled', () => {
    const timing = new KernelTiming();
    timing.start(stream);
    timing.end(stream);
    expect(recorded).toEqual([]);
    expect(timing.milliseconds).toBeUndefined();
    timing.enable(device, 10);
    expect(timing.milliseconds).toBeUndefined();
    timing.start(stream);
    timing.end(stream);
    expect(recorded).toEqual(['start', 'end']);
    expect(timing.repeat).toBe(10);
    expect(timing.milliseconds).toBe(0.05);
    timing.disable();
    timing.start(stream);
    timing.end(stream);
    expect(recorded).toEqual(['start', 'end']);
    expect(timing.repeat).toBe(1);
    expect(timing.milliseconds).toBeUndefined();
    // Enabled again: the same events, no new ones.
    timing.enable(device, 1);
    timing.start(stream);
    timing.end(stream);
    expect(created).toBe(2);
    expect(timing.milliseconds).toBe(0.5);
    timing.dispose();
    expect(recorded.slice(-2)).toEqual(['dispose start', 'dispose end']);
  });
});
