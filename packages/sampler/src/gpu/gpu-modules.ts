// The GPU packages are optional peer dependencies, loaded with `require` on first use: both
// ship CommonJS, and their ES module entries re-export that same instance, so this works from
// the sampler's ESM and CommonJS builds alike and createSampler stays synchronous. Nothing
// native happens here — the addon, the driver and the kernels load only when a GPU backend is
// asked for.
import { createRequire } from 'node:module';

type HipRuntime = typeof import('@rocmforge/hip-runtime');
type SamplingKernelsModule = typeof import('@rocmforge/sampling-kernels');

export type GpuModules = { runtime: HipRuntime; kernels: SamplingKernelsModule };

let loaded: GpuModules | Error | undefined;

function load(): GpuModules | Error {
  const require = createRequire(import.meta.url);
  try {
    return {
      runtime: require('@rocmforge/hip-runtime') as HipRuntime,
      kernels: require('@rocmforge/sampling-kernels') as SamplingKernelsModule,
    };
  } catch (error) {
    return new Error(
      `the GPU packages are not installed (${(error as Error).message.split('\n')[0]}); install @rocmforge/hip-runtime and @rocmforge/sampling-kernels`,
    );
  }
}

/** The GPU packages, or the reason they are unavailable. */
export function gpuModules(): GpuModules | Error {
  loaded ??= load();
  return loaded;
}
