// One vitest configuration shape for every package: CPU tests (`*.test.ts`) and GPU tests
// (`*.gpu.test.ts`, which skip themselves when no GPU is found) run together under
// `pnpm test`; each run writes a JSON report that `.ci/run` sums into its closing line.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export function packageTestConfig(options: { testTimeout?: number } = {}) {
  return defineConfig({
    test: {
      include: ['test/**/*.test.ts'],
      setupFiles: [fileURLToPath(new URL('./vitest.yield.ts', import.meta.url))],
      testTimeout: options.testTimeout ?? 60_000,
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    },
  });
}
