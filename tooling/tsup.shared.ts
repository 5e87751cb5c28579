// One tsup configuration shape for every package, ESM and CommonJS for Node 20 with
// declarations (`.d.ts` beside `.js`, `.d.cts` beside `.cjs`). `shims` gives the CommonJS
// build an `import.meta.url`: packages find their files and addons relative to themselves.
// ROCMFORGE_COMMONJS is `true` in the CommonJS build and `false` in the ESM one (undefined
// when the sources run as they are), for the one place that cannot be written for both: the
// sampler's top-level loading of its optional GPU packages (await import / require).
import { defineConfig, type Options } from 'tsup';

/** ESM (`dist/index.js`) and CommonJS (`dist/index.cjs`) builds of `src/index.ts`. */
export function packageBuild(options: Partial<Options> = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    shims: true,
    sourcemap: true,
    clean: true,
    // Errors only: a build's console is for what went wrong (and the kernels' summary lines).
    silent: true,
    target: 'node20',
    esbuildOptions(esbuild, { format }) {
      esbuild.define = { ...esbuild.define, ROCMFORGE_COMMONJS: String(format === 'cjs') };
    },
    ...options,
  });
}

/**
 * For packages that hold process-wide state (the native addon, loaded modules, classes whose
 * instances cross package boundaries): the same two builds, but under Node both `import` and
 * `require` reach the CommonJS one, through the ES module wrapper `esm/index.js` that
 * re-exports it, so that a process has one instance however it loads the package. Bundlers
 * take the ESM build through the `module` condition (a bundle holds one copy anyway, and
 * keeps `import.meta.url` relative to itself).
 */
export function singleInstanceBuild(options: Partial<Options> = {}) {
  return packageBuild(options);
}
