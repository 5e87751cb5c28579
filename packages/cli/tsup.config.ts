import { packageBuild } from '../../tooling/tsup.shared.ts';

// The engine behind `generate` is an optional dependency, loaded when the command runs.
const external = ['node-llama-cpp'];

export default [
  // The library: ESM and CommonJS with declarations (cleans dist/ but for the program's files).
  packageBuild({ external, clean: ['!bin.js', '!bin.js.map'] }),
  // The program: ESM only (it awaits at top level).
  packageBuild({ entry: ['src/bin.ts'], format: ['esm'], dts: false, clean: false, external }),
];
