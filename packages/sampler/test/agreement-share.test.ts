import { afterEach, describe, expect, it } from 'vitest';
import { agreementShare } from '../../../tooling/gpu-test.js';

// tooling/gpu-suite.sh `agree` runs the GPU agreement cases in n processes at once, each taking
// agreementShare's part: together the parts must be every case, each once.
describe('agreementShare (ROCMFORGE_AGREEMENT_SHARD)', () => {
  const before = process.env.ROCMFORGE_AGREEMENT_SHARD;
  afterEach(() => {
    if (before === undefined) delete process.env.ROCMFORGE_AGREEMENT_SHARD;
    else process.env.ROCMFORGE_AGREEMENT_SHARD = before;
  });
  const cases = Array.from({ length: 71 }, (_, i) => `case ${i}`);

  it('takes every case without a shard', () => {
    delete process.env.ROCMFORGE_AGREEMENT_SHARD;
    expect(agreementShare(cases)).toEqual(cases);
  });

  it('splits the cases round robin: the shares cover each case exactly once', () => {
    const seen: string[] = [];
    for (let i = 0; i < 16; i++) {
      process.env.ROCMFORGE_AGREEMENT_SHARD = `${i}/16`;
      const share = agreementShare(cases);
      expect(share.length).toBe(i < 71 % 16 ? 5 : 4);
      seen.push(...share);
    }
    expect(seen.sort()).toEqual([...cases].sort());
  });

  it('refuses a shard it cannot read', () => {
    for (const bad of ['16/16', '1', 'a/b', '-1/4']) {
      process.env.ROCMFORGE_AGREEMENT_SHARD = bad;
      expect(() => agreementShare(cases)).toThrow(/ROCMFORGE_AGREEMENT_SHARD/);
    }
  });
});
