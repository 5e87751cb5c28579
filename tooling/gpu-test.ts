// GPU tests (`*.gpu.test.ts`) skip themselves when no GPU is usable; under `pnpm test:gpu`
// (ROCMFORGE_REQUIRE_GPU=1) a missing GPU is a failure instead, so a GPU run cannot pass by
// testing nothing.
import { describe } from 'vitest';

export function gpuSuite(probe: () => { available: boolean; reason?: string }) {
  const result = probe();
  if (!result.available && process.env.ROCMFORGE_REQUIRE_GPU === '1') {
    throw new Error(`pnpm test:gpu needs a GPU, but none is usable: ${result.reason}`);
  }
  return describe.skipIf(!result.available);
}

/**
 * The CPU-agreement cases this process runs: every one, or under ROCMFORGE_AGREEMENT_SHARD=i/n
 * every n-th from the i-th (round robin, so that each share mixes large and small vocabularies).
 * tooling/gpu-suite.sh `agree` runs n processes at once: the CPU references are the time, and
 * the GPU machine has a core for each.
 */
export function agreementShare<T>(cases: readonly T[]): T[] {
  const spec = process.env.ROCMFORGE_AGREEMENT_SHARD;
  if (spec === undefined || spec === '') return [...cases];
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const [i, n] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || i >= n) throw new Error(`ROCMFORGE_AGREEMENT_SHARD: expected i/n with i < n, got '${spec}'`);
  return cases.filter((_, k) => k % n === i);
}
