import { describe, expect, it } from 'vitest';
import { ADJUST_LOGITS_PARAMS } from '../src/abi.js';
import { AdjustmentTable } from '../src/index.js';

describe('AdjustmentTable', () => {
  it('lays out offsets, entries and penalties in one block, regions named by the struct fields', () => {
    const table = new AdjustmentTable([
      {
        tokens: new Map([
          [7, { bias: 2.5, promptSeen: false, outputCount: 1 }],
          [3, { bias: 0, promptSeen: true, outputCount: 0 }],
        ]),
        repetition: 1.2,
        frequency: 0.5,
        presence: 0.25,
      },
      { tokens: new Map(), repetition: 1, frequency: 0, presence: 0 },
      {
        tokens: new Map([[9, { bias: -1, promptSeen: true, outputCount: 4 }]]),
        repetition: 2,
        frequency: 0,
        presence: 1,
      },
    ]);
    expect(table.rows).toBe(3);
    expect(table.entries).toBe(3);
    const regions = table.regions({ address: 0x1000n, byteLength: table.bytes.byteLength });
    const names = Object.keys(ADJUST_LOGITS_PARAMS.fields).filter((f) => f !== 'logits' && f !== 'vocab');
    expect(Object.keys(regions).sort()).toEqual(names.sort());
    const read = <T>(
      name: keyof typeof regions,
      Type: new (b: ArrayBufferLike, at: number, n: number) => T,
    ) => {
      const r = regions[name];
      return new Type(table.bytes.buffer, Number(r.address - 0x1000n), r.byteLength / 4);
    };
    expect([...read('offsets', Uint32Array)]).toEqual([0, 2, 2, 3]);
    expect([...read('entryToken', Int32Array)]).toEqual([7, 3, 9]);
    expect([...read('entryBias', Float32Array)]).toEqual([2.5, 0, -1]);
    expect([...read('entryPromptSeen', Uint32Array)]).toEqual([0, 1, 1]);
    expect([...read('entryOutputCount', Uint32Array)]).toEqual([1, 0, 4]);
    expect([...read('repetition', Float32Array)]).toEqual([Math.fround(1.2), 1, 2]);
    expect([...read('frequency', Float32Array)]).toEqual([0.5, 0, 0]);
    expect([...read('presence', Float32Array)]).toEqual([0.25, 0, 1]);
    const end = Math.max(...Object.values(regions).map((r) => Number(r.address - 0x1000n) + r.byteLength));
    expect(end).toBe(table.bytes.byteLength);
  });

  it('keeps one entry slot when no row has entries, so that every array has an address', () => {
    const table = new AdjustmentTable([{ tokens: new Map(), repetition: 1.5, frequency: 0, presence: 0 }]);
    const regions = table.regions({ address: 0n, byteLength: table.bytes.byteLength });
    expect(regions.entryToken.byteLength).toBe(4);
    expect(table.bytes.byteLength).toBe(2 * 4 + 16 + 3 * 4);
  });
});
