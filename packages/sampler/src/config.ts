/** The environment variables the sampler reads, in one typed place. */
export interface SamplerConfig {
  /** `ROCMFORGE_DEVICE`: the default GPU index. */
  device: number;
}

/** Reads {@link SamplerConfig} from the environment (default: `process.env`). */
export function readConfig(env: NodeJS.ProcessEnv = process.env): SamplerConfig {
  const raw = env.ROCMFORGE_DEVICE;
  const device = raw === undefined || raw === '' ? 0 : Number(raw);
  if (!Number.isInteger(device) || device < 0) {
    throw new TypeError(`Expected an integer ≥ 0 for ROCMFORGE_DEVICE but received '${raw}'`);
  }
  return { device };
}
