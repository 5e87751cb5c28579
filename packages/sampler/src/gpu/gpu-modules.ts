// The GPU packages are optional peer dependencies. Their JavaScript is loaded once, when this
// module loads, so that createSampler stays synchronous: with `await import` in the ES module
// build and from the sources, with `require` in the CommonJS build, which cannot await at top
// level (tsup defines ROCMFORGE_COMMONJS there, tooling/tsup.shared.ts; both GPU packages
// are one instance whichever way they load). Nothing native happens here — the addon, the
// driver and the kernels load only when a GPU backend is asked for.
import { createRequire } from 'node:module';

declare const ROCMFORGE_COMMONJS: boolean | undefined;

type HipRuntime = typeof import('@rocmforge/hip-runtime');
type SamplingKernelsModule = typeof import('@rocmforge/sampling-kernels');

export type GpuModules = { runtime: HipRuntime; kernels: SamplingKernelsModule };

function notInstalled(error: unknown): Error {
  return new Error(
    `the GPU packages are not installed (${(error as Error).message.split('\n')[0]}); install @rocmforge/hip-runtime and @rocmforge/sampling-kernels`,
  );
}

async function importModules(): Promise<GpuModules | Error> {
  try {
    const [runtime, kernels] = await Promise.all([
      import('@rocmforge/hip-runtime'),
      import('@rocmforge/sampling-kernels'),
    ]);
    return { runtime, kernels };
  } catch (error) {
    return notInstalled(error);
  }
}

function requireModules(): GpuModules | Error {
  const require = createRequire(import.meta.url);
  try {
    return {
      runtime: require('@rocmforge/hip-runtime') as HipRuntime,
      kernels: require('@rocmforge/sampling-kernels') as SamplingKernelsModule,
    };
  } catch (error) {
    return notInstalled(error);
  }
}

const loaded =
  typeof ROCMFORGE_COMMONJS !== 'undefined' && ROCMFORGE_COMMONJS ? requireModules() : await importModules();

/** The GPU packages, or the reason they are unavailable. */
export function gpuModules(): GpuModules | Error {
  return loaded;
}
