// `pnpm test:gpu`: only the GPU tests of every package, failing when no GPU is found.
// Workspace packages resolve to their sources, so this runs on a machine that has the built
// addon and kernels but no node_modules of the packages (the GPU machine).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));
process.env.ROCMFORGE_REQUIRE_GPU = '1';

export default defineConfig({
  root,
  resolve: {
    alias: {
      '@rocmforge/hip-runtime': `${root}packages/hip-runtime/src/index.ts`,
      '@rocmforge/sampling-kernels': `${root}packages/sampling-kernels/src/index.ts`,
      '@rocmforge/sampler': `${root}packages/sampler/src/index.ts`,
      '@rocmforge/model-kjv': `${root}packages/model-kjv/src/index.ts`,
    },
  },
  test: {
    // The GPU tests, and the documentation examples (whose GPU examples run only here).
    include: ['packages/*/test/**/*.gpu.test.ts', 'packages/cli/test/doc-examples.test.ts'],
    setupFiles: [`${root}tooling/vitest.yield.ts`],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    env: { ROCMFORGE_REQUIRE_GPU: '1' },
    reporters: ['default', ['json', { outputFile: 'test-results.gpu.json' }]],
  },
});
