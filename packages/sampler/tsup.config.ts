import { packageBuild } from '../../tooling/tsup.shared.ts';

export default packageBuild({ external: ['@rocmforge/hip-runtime', '@rocmforge/sampling-kernels'] });
