import { listDevices, openDriver } from '@rocmforge/hip-runtime';
import { prebuiltFor, readManifest } from '@rocmforge/sampling-kernels';
import pc from 'picocolors';
import { table as newTable } from '../table.js';

/** What `rocmforge devices --json` prints. */
export interface DevicesReport {
  available: boolean;
  reason?: string;
  backend?: string;
  driverVersion?: number;
  devices: Array<{
    index: number;
    name: string;
    architecture: string;
    totalMemory: number;
    freeMemory: number;
    multiprocessors: number;
    warpSize: number;
    backend: string;
    driverVersion: number;
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
