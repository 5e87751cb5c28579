import { describe, expect, it } from 'vitest';
import { HipArgumentError, KernelArgPacker } from '../src/index.js';

describe('KernelArgPacker', () => {
  it('lays arguments out as the C ABI does, each aligned to its size', () => {
    const packer = new KernelArgPacker(['u32', 'pointer', 'f32', 'i32', 'u64', 'f64', 'u32']);
    expect([...packer.offsets]).toEqual([0, 8, 16, 20, 24, 32, 40]);
    expect(packer.bytes.byteLength).toBe(48);
    const bytes = packer.pack([
      { type: 'u32', value: 0xdeadbeef },
      { type: 'pointer', value: { address: 0x1122334455667788n } },
      { type: 'f32', value: 1.5 },
      { type: 'i32', value: -2 },
      { type: 'u64', value: 2n ** 63n + 1n },
      { type: 'f64', value: Math.PI },
      { type: 'u32', value: 3 },
    ]);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(0, true)).toBe(0xdeadbeef);
    expect(view.getBigUint64(8, true)).toBe(0x1122334455667788n);
    expect(view.getFloat32(16, true)).toBe(1.5);
    expect(view.getInt32(20, true)).toBe(-2);
    expect(view.getBigUint64(24, true)).toBe(2n ** 63n + 1n);
    expect(view.getFloat64(32, true)).toBe(Math.PI);
    expect(view.getUint32(40, true)).toBe(3);
  });

  it('rejects arguments of the wrong type, count or range with a typed error', () => {
    const packer = new KernelArgPacker(['i32', 'u32']);
    expect(() => packer.pack([{ type: 'i32', value: 1 }])).toThrow(HipArgumentError);
    expect(() =>
      packer.pack([
        { type: 'u32', value: 1 },
        { type: 'u32', value: 1 },
      ]),
    ).toThrow(/Expected a i32 for kernel argument 0/);
    expect(() =>
      packer.pack([
        { type: 'i32', value: 1.5 },
        { type: 'u32', value: 1 },
      ]),
    ).toThrow(HipArgumentError);
    expect(() =>
      packer.pack([
        { type: 'i32', value: 1 },
        { type: 'u32', value: -1 },
      ]),
    ).toThrow(HipArgumentError);
    expect(() => new KernelArgPacker(['i16' as never])).toThrow(HipArgumentError);
  });

  it('writes one argument in place with the checks of pack (write)', () => {
    const types = ['u32', 'pointer', 'f32', 'i32', 'u64', 'f64'] as const;
    const values = [7, 0x1000n, 0.25, -9, 2n ** 40n, Math.E] as const;
    const packed = new KernelArgPacker(types);
    const expected = packed.pack(types.map((type, i) => ({ type, value: values[i] }) as never)).slice();
    const written = new KernelArgPacker(types);
    for (const [i, value] of values.entries()) written.write(i, value);
    expect([...written.bytes]).toEqual([...expected]);
    written.write(0, 8);
    expect(new DataView(written.bytes.buffer).getUint32(0, true)).toBe(8);
    expect(() => written.write(3, 2 ** 31)).toThrow(
      'Expected an i32 for kernel argument 3 but received 2147483648',
    );
    expect(() => written.write(0, -1)).toThrow(HipArgumentError);
    expect(() => written.write(4, -1n)).toThrow('Expected a u64 for kernel argument 4 but received -1');
    expect(() => written.write(6, 1)).toThrow('Expected a kernel argument index in [0, 6) but received 6');
  });
});
