import { packageBuild } from '../../tooling/tsup.shared.ts';

export default packageBuild({
  entry: ['src/index.ts', 'src/bin.ts'],
  dts: { entry: 'src/index.ts' },
  // The engine behind `generate` is an optional dependency, loaded when the command runs.
  external: ['node-llama-cpp'],
});
