import { describe, expect, it } from 'vitest';
import { SAMPLE_PARAMS } from '../src/abi.js';
import {
  ROW_PARAMETERS,
  type RowParameterArrays,
  rowParameterBytes,
  rowParameterRegions,
  writeRowParameters,
} from '../src/index.js';

describe('the per-row parameter block', () => {
  const batch = 3;
  const arrays: RowParameterArrays = {
    temperature: Float32Array.of(0.5, 1, 0),
    topK: Int32Array.of(0, 50, -0),
    topP: Float32Array.of(0.9, 1, 0.5),
    minP: Float32Array.of(0, 0.1, 0),
    seedLo: Uint32Array.of(1, 2, 0xffffffff),
    seedHi: Uint32Array.of(0, 0, 7),
    stepLo: Uint32Array.of(5, 6, 7),
    stepHi: Uint32Array.of(0, 1, 0),
    stream: Uint32Array.of(10, 11, 12),
  };

  it('names every per-row pointer of RfSampleParams, with its element type', () => {
    const element = {
      'const float*': Float32Array,
      'const int*': Int32Array,
      'const unsigned*': Uint32Array,
    };
    for (const name of ROW_PARAMETERS)
      expect(arrays[name].constructor, name).toBe(element[SAMPLE_PARAMS.fields[name]]);
    expect(rowParameterBytes(batch)).toBe(ROW_PARAMETERS.length * batch * 4);
  });

  it('writes each parameter after the previous one and finds a chunk of rows in it', () => {
    const host = new ArrayBuffer(rowParameterBytes(batch));
    writeRowParameters(host, batch, arrays);
    const base = 0x10000n;
    const chunk = rowParameterRegions({ address: base, byteLength: host.byteLength }, batch, 1, 2);
    expect(Object.keys(chunk)).toEqual([...ROW_PARAMETERS]);
    for (const name of ROW_PARAMETERS) {
      const region = chunk[name];
      expect(region.byteLength).toBe(8);
      const Type = arrays[name].constructor as Float32ArrayConstructor;
      const got = new Type(host, Number(region.address - base), 2);
      expect([...got], name).toEqual([...arrays[name].subarray(1, 3)]);
    }
  });

  it('keeps the device of the block on every region', () => {
    const device = { index: 0 };
    const block = { address: 0n, byteLength: rowParameterBytes(batch), device };
    const regions = rowParameterRegions(block, batch, 0, batch);
    expect((regions.topK as unknown as { device: unknown }).device).toBe(device);
  });

  it('gives the same regions for the same block and rows, new ones when anything changes', () => {
    let address = 0x20000n;
    const block = {
      get address() {
        if (address < 0n) throw new Error('disposed');
        return address;
      },
      byteLength: rowParameterBytes(batch),
    };
    const first = rowParameterRegions(block, batch, 0, 2);
    expect(rowParameterRegions(block, batch, 0, 2)).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const other = rowParameterRegions(block, batch, 1, 2);
    expect(other).not.toBe(first);
    expect(other.topK.address).toBe(first.topK.address + 4n);
    address = 0x40000n;
    expect(rowParameterRegions(block, batch, 1, 2).temperature.address).toBe(0x40004n);
    // A buffer disposed since still fails as it did, never answered from what was kept.
    address = -1n;
    expect(() => rowParameterRegions(block, batch, 1, 2)).toThrow('disposed');
  });

  it('writes again into the same block with other batches and element types, bit for bit', () => {
    const host = new ArrayBuffer(rowParameterBytes(batch));
    writeRowParameters(host, batch, arrays);
    const twoRows = Object.fromEntries(ROW_PARAMETERS.map((name) => [name, arrays[name].slice(0, 2)]));
    writeRowParameters(host, 2, twoRows as never);
    expect([...new Float32Array(host, 0, 2)]).toEqual([...arrays.temperature.subarray(0, 2)]);
    expect([...new Int32Array(host, 8, 2)]).toEqual([...arrays.topK.subarray(0, 2)]);
    // A temperature given as raw bits (u32) is copied as bits, not converted.
    const bits = new Uint32Array([0x3f800000, 0x7fc00001]);
    writeRowParameters(host, 2, { ...twoRows, temperature: bits } as never);
    expect([...new Uint32Array(host, 0, 2)]).toEqual([0x3f800000, 0x7fc00001]);
  });
});
