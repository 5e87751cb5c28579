import type { Device } from '@rocmforge/hip-runtime';
import { describe, expect, it } from 'vitest';
import { SamplerInputError } from '../src/index.js';
import { CPU_INPUT, checkInput, type DeviceInput, type InputRule, onHost, resolveFor } from '../src/input.js';

// Host arrays and device buffers are told apart in one place, under each backend's rule.
describe('input rules', () => {
  const device = { index: 0 } as Device;
  const other = { index: 1 } as Device;
  const buffer = (on: Device, byteLength: number) =>
    ({ address: 0x1000n, byteLength, device: on }) as DeviceInput;
  const gpu: InputRule = { expected: 'a Float32Array or a DeviceBuffer', device };
  const logits = new Float32Array([1, 2, 3, 4, 5, 6]);

  const error = (run: () => unknown) => {
    try {
      run();
    } catch (e) {
      expect(e).toBeInstanceOf(SamplerInputError);
      return (e as SamplerInputError).message;
    }
    throw new Error('expected a SamplerInputError');
  };

  it('the CPU takes host arrays only', () => {
    expect(resolveFor({ logits, shape: [2, 3] }, CPU_INPUT).batch).toBe(2);
    expect(error(() => resolveFor({ logits: buffer(device, 24), shape: [2, 3] }, CPU_INPUT))).toBe(
      'Expected a Float32Array (device buffers need the GPU backend) for logits but received a value of type object',
    );
    expect(error(() => resolveFor({ probs: [0.5, 0.5] as never }, CPU_INPUT))).toMatch(
      /for probs but received Array/,
    );
  });

  it("a GPU takes its own device's buffers, with a shape and enough bytes", () => {
    const resolved = resolveFor({ logits: buffer(device, 32), shape: [2, 3] }, gpu);
    expect(resolved.input).toEqual(buffer(device, 32));
    expect([resolved.batch, resolved.vocab, resolved.kind]).toEqual([2, 3, 'logits']);
    expect(error(() => resolveFor({ logits: buffer(device, 24) }, gpu))).toMatch(
      /\[batch, vocab\] with a DeviceBuffer input for shape/,
    );
    expect(error(() => resolveFor({ probs: buffer(other, 24), shape: [2, 3] }, gpu))).toBe(
      "Expected a DeviceBuffer of device 0 for probs but received 'one of device 1' of type string",
    );
    expect(error(() => resolveFor({ logits: buffer(device, 20), shape: [2, 3] }, gpu))).toMatch(
      /at least 24 bytes for logits but received 'one of 20 bytes'/,
    );
    expect(error(() => resolveFor({ logits: [1, 2] as never }, gpu))).toMatch(
      /Expected a Float32Array or a DeviceBuffer for logits/,
    );
  });

  it('brings a resolved request to the host side, or says why not', () => {
    const onGpu = resolveFor({ logits: buffer(device, 24), shape: [2, 3] }, gpu);
    expect(error(() => onHost(onGpu, CPU_INPUT))).toMatch(/device buffers need the GPU backend\) for logits/);
    const host = resolveFor({ logits, shape: [2, 3] }, gpu);
    expect(onHost(host, CPU_INPUT)).toBe(host);
    expect(() => checkInput('logits', buffer(device, 24), gpu)).not.toThrow();
    expect(() => checkInput('logits', buffer(other, 24), gpu)).toThrow(SamplerInputError);
  });
});
