// One tsup configuration shape for every package: ESM for Node 20 with declarations.
import { defineConfig, type Options } from 'tsup';

export function packageBuild(options: Partial<Options> = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    ...options,
  });
}
