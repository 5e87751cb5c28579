// The ES module entry: the CommonJS build, re-exported, so that import and require share one instance.
export * from '../dist/index.cjs';
