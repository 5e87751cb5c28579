import { singleInstanceBuild } from '../../tooling/tsup.shared.ts';

export default singleInstanceBuild();
