// The GPU packages are optional peer dependencies. Their JavaScript is imported once, when
// this module loads, so that createSampler stays synchronous; nothing native happens here —
// the addon, the driver and the kernels load only when a GPU backend is asked for.
type HipRuntime = typeof import('@rocmforge/hip-runtime');
type SamplingKernelsModule = typeof import('@rocmforge/sampling-kernels');

export type GpuModules = { runtime: HipRuntime; kernels: SamplingKernelsModule };

async function load(): Promise<GpuModules | Error> {
  try {
    const [runtime, kernels] = await Promise.all([
      import('@rocmforge/hip-runtime'),
      import('@rocmforge/sampling-kernels'),
    ]);
    return { runtime, kernels };
  } catch (error) {
    return new Error(
      `the GPU packages are not installed (${(error as Error).message.split('\n')[0]}); install @rocmforge/hip-runtime and @rocmforge/sampling-kernels`,
    );
  }
}

const loaded = await load();

/** The GPU packages, or the reason they are unavailable. */
export function gpuModules(): GpuModules | Error {
  return loaded;
}
