import { KernelArgPacker } from '@rocmforge/hip-runtime';
import { describe, expect, it } from 'vitest';
import { SAMPLE_PARAMS, TOP_LOGPROBS_PARAMS } from '../src/abi.js';
import { KernelArgumentError } from '../src/index.js';
import {
  type StructValues,
  structArgs,
  structLayout,
  structPacker,
  writeStructArgs,
} from '../src/param-struct.js';

const region = (address: bigint) => ({ address, byteLength: 64 });

function sampleValues(): StructValues<typeof SAMPLE_PARAMS> {
  return {
    input: region(0x1000n),
    vocab: 32000,
    kind: 'probs',
    temperature: region(0x2000n),
    topK: region(0x2100n),
    topP: region(0x2200n),
    minP: region(0x2300n),
    seedLo: region(0x2400n),
    seedHi: region(0x2500n),
    stepLo: region(0x2600n),
    stepHi: region(0x2700n),
    stream: region(0x2800n),
    filterOrder: 'joint',
    samples: 3,
    tokens: region(0x3000n),
    valid: region(0x3100n),
    rowStats: 0n,
    parts: 4,
    scratch: region(0x4000n),
    oneRow: 0,
    oneTemperature: 0,
    oneTopK: 0,
    oneTopP: 0,
    oneMinP: 0,
    oneSeedLo: 0,
    oneSeedHi: 0,
    oneStepLo: 0,
    oneStepHi: 0,
    oneStream: 0,
  };
}

describe('parameter structs', () => {
  it('lay out fields in declaration order at C alignment', () => {
    const layout = structLayout(SAMPLE_PARAMS);
    expect(layout.struct).toBe('RfSampleParams');
    const at = Object.fromEntries(layout.fields.map((f) => [f.name, f.offset]));
    expect(at).toMatchObject({ input: 0, vocab: 8, kind: 12, temperature: 16, stream: 80, filterOrder: 88 });
    expect(at).toMatchObject({ samples: 92, tokens: 96, rowStats: 112, parts: 120, scratch: 128 });
    expect(at).toMatchObject({
      oneRow: 136,
      oneTemperature: 140,
      oneTopK: 144,
      oneSeedLo: 156,
      oneStream: 172,
    });
    expect(layout.bytes).toBe(176);
  });

  it('pack launch arguments by field name, enums by their names', () => {
    const args = structArgs(SAMPLE_PARAMS, sampleValues());
    const byName = Object.fromEntries(structLayout(SAMPLE_PARAMS).fields.map((f, i) => [f.name, args[i]]));
    expect(byName.kind).toEqual({ type: 'u32', value: 1 });
    expect(byName.filterOrder).toEqual({ type: 'u32', value: 1 });
    expect(byName.vocab).toEqual({ type: 'u32', value: 32000 });
    expect(byName.rowStats).toEqual({ type: 'pointer', value: 0n });
    expect(byName.scratch).toEqual({ type: 'pointer', value: region(0x4000n) });
    const logits = structArgs(SAMPLE_PARAMS, { ...sampleValues(), kind: 'logits', filterOrder: 'topKFirst' });
    expect(logits[2]).toEqual({ type: 'u32', value: 0 });
  });

  it('name the struct and field of a bad value', () => {
    const badKind = { ...sampleValues(), kind: 'toString' } as never;
    expect(() => structArgs(SAMPLE_PARAMS, badKind)).toThrow(KernelArgumentError);
    expect(() => structArgs(SAMPLE_PARAMS, badKind)).toThrow(
      "Expected one of 'logits', 'probs' for RfSampleParams.kind but received toString",
    );
    const { tokens: _, ...missing } = sampleValues();
    expect(() => structArgs(SAMPLE_PARAMS, missing as never)).toThrow(/RfSampleParams\.tokens/);
    const mode = {
      values: 0n,
      vocab: 1,
      kind: 'logits',
      n: 1,
      rowStats: 0n,
      tokens: 0n,
      samples: 1,
      mode: 1,
      outTokens: 0n,
      outLogprobs: 0n,
      valid: 0n,
    } as never;
    expect(() => structArgs(TOP_LOGPROBS_PARAMS, mode)).toThrow(
      "Expected one of 'raw', 'processed' for RfTopLogprobsParams.mode but received 1",
    );
  });

  it('write into a kept packer exactly what structArgs packs, with the same errors', () => {
    const packer = structPacker(SAMPLE_PARAMS);
    const regions: unknown[] = [];
    writeStructArgs(SAMPLE_PARAMS, sampleValues(), packer, (r) => regions.push(r));
    const expected = new KernelArgPacker(packer.types).pack(structArgs(SAMPLE_PARAMS, sampleValues()));
    expect([...packer.bytes]).toEqual([...expected]);
    // Every region given is seen (the launcher checks its device); raw addresses are not.
    expect(regions).toHaveLength(13);
    const badKind = { ...sampleValues(), kind: 'toString' } as never;
    expect(() => writeStructArgs(SAMPLE_PARAMS, badKind, packer, () => {})).toThrow(
      "Expected one of 'logits', 'probs' for RfSampleParams.kind but received toString",
    );
    const badVocab = { ...sampleValues(), vocab: -1 };
    expect(() => writeStructArgs(SAMPLE_PARAMS, badVocab, packer, () => {})).toThrow(
      'Expected an u32 for kernel argument 1 but received -1',
    );
    expect(() => new KernelArgPacker(packer.types).pack(structArgs(SAMPLE_PARAMS, badVocab))).toThrow(
      'Expected an u32 for kernel argument 1 but received -1',
    );
  });
});
