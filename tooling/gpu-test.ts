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
