// Runs when @rocmforge/hip-runtime is installed as a dependency (npm and yarn run it; pnpm 10
// only once allowed: `pnpm approve-builds`). When an addon loads, nothing to do: the platform
// package's prebuilt one (an optional dependency chosen by os / cpu / libc), or an earlier
// build. Otherwise it builds the addon from source with cmake-js (scripts/build-native.mjs),
// or says what is missing. It never fails the install: without an addon the GPU entry points
// throw NoDriverError saying what to do, and @rocmforge/sampler uses its CPU backend.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// A checkout of the repository: `pnpm build` builds the addon.
if (existsSync(join(root, 'src'))) process.exit(0);

const runtime = createRequire(import.meta.url)('../dist/index.cjs');
try {
  runtime.addonSource();
  process.exit(0);
} catch {
  console.log(
    `[hip-runtime] no prebuilt addon loads on ${runtime.runtimePlatform()}: building it from source with cmake-js`,
  );
}
const { buildAddon } = await import('./build-native.mjs');
try {
  buildAddon(undefined);
} catch (error) {
  console.warn(
    `[hip-runtime] ${error.message}\n[hip-runtime] the GPU backends are unavailable until the addon is built (then: npm rebuild @rocmforge/hip-runtime); @rocmforge/sampler works on the CPU.`,
  );
}
