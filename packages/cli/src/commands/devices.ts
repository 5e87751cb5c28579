import { deviceCount, listDevices, NoDeviceError, NoDriverError, openDriver } from '@rocmforge/hip-runtime';
import { prebuiltFor, readManifest } from '@rocmforge/sampling-kernels';
import type { Command } from 'commander';
import pc from 'picocolors';
import { table as newTable } from '../table.js';

/** What `rocmforge devices --json` prints. */
export interface DevicesReport {
  /** Whether a GPU is usable (else the CPU backend is used). */
  available: boolean;
  /** Why no GPU is usable: the libraries tried and how each failed. */
  reason?: string;
  /** The driver in use: `cuda` or `hip`. */
  backend?: string;
  /** The driver's version number (e.g. 13000 for CUDA 13.0). */
  driverVersion?: number;
  /** Every device the driver sees, in index order. */
  devices: Array<{
    /** Device index (what `--device` and `devices` take). */
    index: number;
    /** Marketing name, e.g. `NVIDIA H100 80GB HBM3`. */
    name: string;
    /** `sm_90`, `gfx90a`, … */
    architecture: string;
    /** Device memory in bytes. */
    totalMemory: number;
    /** Free device memory in bytes, when the report was made. */
    freeMemory: number;
    /** Multiprocessors (NVIDIA SMs, AMD CUs). */
    multiprocessors: number;
    /** Threads per warp (32) or wavefront (64). */
    warpSize: number;
    /** The driver of this device: `cuda` or `hip`. */
    backend: string;
    /** The driver's version number. */
    driverVersion: number;
    /** Whether the sampling kernels load prebuilt for it or are compiled at run time. */
    kernels: 'prebuilt' | 'run-time compilation';
  }>;
}

/** Every GPU the runtime sees, or why none is usable (then the CPU backend is used). */
export async function devicesReport(): Promise<DevicesReport> {
  try {
    const driver = openDriver();
    const manifest = readManifest();
    const { openDevice } = await import('@rocmforge/hip-runtime');
    const devices = listDevices().map((d) => ({
      index: d.index,
      name: d.name,
      architecture: d.architecture,
      totalMemory: d.totalMemory,
      freeMemory: openDevice(d.index).memoryInfo().free,
      multiprocessors: d.multiprocessors,
      warpSize: d.warpSize,
      backend: d.backend,
      driverVersion: d.driverVersion,
      kernels: prebuiltFor(manifest, d.backend, d.architecture)
        ? ('prebuilt' as const)
        : ('run-time compilation' as const),
    }));
    if (devices.length === 0)
      return { available: false, reason: 'the driver reports no device', backend: driver.backend, devices };
    return { available: true, backend: driver.backend, driverVersion: driver.version, devices };
  } catch (error) {
    return { available: false, reason: (error as Error).message, devices: [] };
  }
}

const GiB = 2 ** 30;

/** Prints a devices report as a table, or the reason no GPU is usable. */
export function printDevices(report: DevicesReport): void {
  if (!report.available) {
    console.log(`${pc.yellow('No usable GPU')}: ${report.reason}`);
    console.log('The CPU backend will be used.');
    return;
  }
  const table = newTable([
    '#',
    'name',
    'arch',
    'memory free / total',
    'SMs',
    'warp',
    'backend',
    'driver',
    'kernels',
  ]);
  for (const d of report.devices) {
    table.push([
      d.index,
      d.name,
      d.architecture,
      `${(d.freeMemory / GiB).toFixed(1)} / ${(d.totalMemory / GiB).toFixed(1)} GiB`,
      d.multiprocessors,
      d.warpSize,
      d.backend,
      d.driverVersion,
      d.kernels,
    ]);
  }
  console.log(table.toString());
}

/**
 * Why no GPU is used, in one short line for `sample`, `bench` and their JSON, e.g.
 * `no GPU: no driver found; see rocmforge devices`. The whole story (every library tried, and
 * how each failed) is `rocmforge devices`'. `reason` is the sampler's, used when the driver and
 * a device are there (the kernels or the device failed): its first clause.
 */
export function noGpuLine(reason: string): string {
  return `no GPU: ${noGpuCause(reason)}; see rocmforge devices`;
}

function noGpuCause(reason: string): string {
  try {
    openDriver();
    if (deviceCount() === 0) return 'no device found';
  } catch (error) {
    if (error instanceof NoDriverError)
      return error.attempts.length > 0 ? 'no driver found' : 'the GPU addon is not built';
    if (error instanceof NoDeviceError) return 'no device found';
  }
  const clause = reason.split(' (')[0]!;
  return clause.length > 100 ? `${clause.slice(0, 99)}…` : clause;
}

/** Adds `rocmforge devices`. */
export function registerDevices(program: Command): void {
  program
    .command('devices')
    .description('list the GPUs the runtime sees, or why none is usable')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  rocmforge devices\n  rocmforge devices --json')
    .action(async (flags: { json?: true }) => {
      const report = await devicesReport();
      if (flags.json) console.log(JSON.stringify(report, null, 2));
      else printDevices(report);
    });
}
