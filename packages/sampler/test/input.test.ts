import type { Device } from '@rocmforge/hip-runtime';
import { ELEMENT_BYTES as KERNEL_ELEMENT_BYTES } from '@rocmforge/sampling-kernels';
import { describe, expect, it } from 'vitest';
import { SamplerInputError } from '../src/index.js';
import {
  CPU_INPUT,
  checkInput,
  type DeviceInput,
  ELEMENT_BYTES,
  type InputRule,
  onHost,
  resolveFor,
} from '../src/input.js';

// Host arrays and device buffers are told apart in one place, under each backend's rule.
describe('input rules', () => {
  const device = { index: 0 } as Device;
  const other = { index: 1 } as Device;
  const buffer = (on: Device, byteLength: number) =>
    ({ address: 0x1000n, byteLength, device: on }) as DeviceInput;
  const gpu: InputRule = { expected: 'a Float32Array, Uint16Array, Float16Array or DeviceBuffer', device };
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
      'Expected a Float32Array, Uint16Array or Float16Array (device buffers need the GPU backend) for logits but received a value of type object',
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
      /at least 24 bytes \(float32\) for logits but received 'one of 20 bytes'/,
    );
    expect(error(() => resolveFor({ logits: [1, 2] as never }, gpu))).toMatch(
      /Expected a Float32Array, Uint16Array, Float16Array or DeviceBuffer for logits/,
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

  it('half-precision input: a Uint16Array names its dtype, a DeviceBuffer holds 2 bytes per element', () => {
    const bits = new Uint16Array([0x3c00, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600]);
    for (const dtype of ['float16', 'bfloat16'] as const) {
      const host = resolveFor({ logits: bits, dtype, shape: [2, 3] }, CPU_INPUT);
      expect([host.input, host.dtype, host.batch, host.vocab]).toEqual([bits, dtype, 2, 3]);
      const onGpu = resolveFor({ probs: buffer(device, 12), dtype, shape: [2, 3] }, gpu);
      expect([onGpu.dtype, onGpu.kind]).toEqual([dtype, 'probs']);
      expect(error(() => resolveFor({ probs: buffer(device, 11), dtype, shape: [2, 3] }, gpu))).toBe(
        `Expected a DeviceBuffer of at least 12 bytes (${dtype}) for probs but received 'one of 11 bytes' of type string`,
      );
    }
    expect(resolveFor({ logits, shape: [2, 3] }, CPU_INPUT).dtype).toBe('float32');
    expect(resolveFor({ logits, dtype: 'float32', shape: [2, 3] }, CPU_INPUT).dtype).toBe('float32');
    expect(resolveFor({ logits: buffer(device, 24), shape: [2, 3] }, gpu).dtype).toBe('float32');
  });

  it('rejects a dtype that does not go with the array, naming dtype', () => {
    const bits = new Uint16Array(6);
    expect(error(() => resolveFor({ logits: bits, shape: [2, 3] }, CPU_INPUT))).toBe(
      "Expected 'float16' or 'bfloat16' with a Uint16Array for dtype but received undefined",
    );
    expect(error(() => resolveFor({ logits: bits, dtype: 'float32', shape: [2, 3] }, CPU_INPUT))).toBe(
      "Expected 'float16' or 'bfloat16' for a Uint16Array for dtype but received 'float32' of type string",
    );
    expect(error(() => resolveFor({ logits, dtype: 'bfloat16', shape: [2, 3] }, CPU_INPUT))).toBe(
      "Expected 'float32' for a Float32Array for dtype but received 'bfloat16' of type string",
    );
    expect(error(() => resolveFor({ logits, dtype: 'half' as never }, CPU_INPUT))).toBe(
      "Expected 'float32', 'float16' or 'bfloat16' for dtype but received 'half' of type string",
    );
    expect(error(() => resolveFor({ logits: new Int16Array(6) as never }, CPU_INPUT))).toMatch(
      /Uint16Array or Float16Array \(device buffers need the GPU backend\) for logits but received Int16Array/,
    );
  });

  const Float16 = (globalThis as { Float16Array?: new (values: number[]) => Float32Array }).Float16Array;
  it.skipIf(Float16 === undefined)('a Float16Array is read as float16, through its own bytes', () => {
    const halves = new Float16!([1, 2, 3, 4, 5, 6]);
    const resolved = resolveFor({ logits: halves as never, shape: [2, 3] }, CPU_INPUT);
    expect(resolved.dtype).toBe('float16');
    expect(resolved.input).toBeInstanceOf(Uint16Array);
    expect(resolved.input.buffer).toBe(halves.buffer);
    expect(resolved.input[0]).toBe(0x3c00);
    expect(error(() => resolveFor({ logits: halves as never, dtype: 'bfloat16' }, CPU_INPUT))).toMatch(
      /Expected 'float16' for a Float16Array for dtype/,
    );
  });

  // Node 20 has no Float16Array: a stand-in on globalThis takes the same path (its elements are
  // the bits, which is what the view reads).
  it.skipIf(Float16 !== undefined)(
    'a Float16Array (a stand-in where the runtime has none) is read as float16',
    () => {
      class StandIn extends Uint16Array {}
      const global = globalThis as { Float16Array?: unknown };
      global.Float16Array = StandIn;
      try {
        const halves = new StandIn([0x3c00, 0x4000, 0x4200]);
        const resolved = resolveFor({ logits: halves as never }, CPU_INPUT);
        expect([resolved.dtype, resolved.input.constructor, resolved.input.buffer]).toEqual([
          'float16',
          Uint16Array,
          halves.buffer,
        ]);
        expect(error(() => resolveFor({ logits: halves as never, dtype: 'bfloat16' }, CPU_INPUT))).toMatch(
          /Expected 'float16' for a Float16Array for dtype/,
        );
      } finally {
        delete global.Float16Array;
      }
    },
  );

  it('knows the element types the kernels read, at their sizes', () => {
    expect(ELEMENT_BYTES).toEqual(KERNEL_ELEMENT_BYTES);
  });
});
