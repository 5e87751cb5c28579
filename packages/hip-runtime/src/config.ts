/** The environment variables this package reads, in one typed place. */
export interface HipRuntimeConfig {
  /** `ROCMFORGE_BACKEND`: `hip`, `cuda` or `auto` (default). */
  backend: 'hip' | 'cuda' | 'auto';
  /** `ROCMFORGE_DRIVER_PATH`: a driver library to open instead of the usual names. */
  driverPath: string | undefined;
}

/** Reads {@link HipRuntimeConfig} from the environment (default: `process.env`). */
export function readConfig(env: NodeJS.ProcessEnv = process.env): HipRuntimeConfig {
  const backend = (env.ROCMFORGE_BACKEND ?? 'auto').toLowerCase();
  if (backend !== 'hip' && backend !== 'cuda' && backend !== 'auto') {
    throw new TypeError(`Expected 'hip', 'cuda' or 'auto' for ROCMFORGE_BACKEND but received '${backend}'`);
  }
  return { backend, driverPath: env.ROCMFORGE_DRIVER_PATH || undefined };
}
