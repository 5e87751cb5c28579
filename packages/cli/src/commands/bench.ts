import { writeFileSync } from 'node:fs';
import {
  type BenchResult,
  defaultBenchGrid,
  type MultiGpuBenchResult,
  runBenchmark,
  runMultiGpuBenchmark,
} from '@rocmforge/sampler';
import { SingleBar } from 'cli-progress';
import { benchChart } from '../chart.js';
import { table as newTable } from '../table.js';

/** `rocmforge bench` options, as parsed from the command line. */
export interface BenchCommandOptions {
  /** A small grid that runs in seconds (`--quick`). */
  quick?: boolean;
  /** Which backends to measure: `auto` (the GPU when usable, and the CPU), `cpu` or `gpu`. */
  backend: 'auto' | 'cpu' | 'gpu';
  /** σ of the synthetic N(0, σ²) logits, one grid per value. */
  sigmas: number[];
  /** Sampling modes to measure (`plain`, `top-k`, `top-p`, `min-p`, `top-k+top-p`); default all. */
  modes?: string[];
  /** Timed repetitions per case (the median is reported). */
  repetitions?: number;
  /** GPU index for the grid. */
  device?: number;
  /** Single- versus multi-GPU wall time for large host batches instead of the grid. */
  devices?: 'all' | number[];
  /** Path of the JSON report to write. */
  json?: string;
  /** Path of the SVG chart to write. */
  chart?: string;
  /** Show a progress bar on standard error. */
  progress: boolean;
}

/** What `rocmforge bench --json` writes: the run, the machine and every figure. */
export interface BenchReport {
  /** When the run started (ISO 8601). */
  date: string;
  /** The GPU measured (or GPUs, for `--devices`); absent on the CPU alone. */
  device?: string;
  /** Why no GPU was measured, when none was. */
  gpuError?: string;
  /** Node.js version. */
  node: string;
  /** `platform-arch` of the machine. */
  platform: string;
  /** One result per case of the grid (empty for `--devices`). */
  results: BenchResult[];
  /** With `--devices`: one device against all of them, per large batch. */
  multiGpu?: MultiGpuBenchResult[];
}

/** Runs the benchmark grid, writing the JSON report and the chart when asked. */
export function runBench(options: BenchCommandOptions): BenchReport {
  if (options.devices) return runDevicesBench(options, options.devices);
  const cases = defaultBenchGrid({
    quick: options.quick ?? false,
    sigmas: options.sigmas,
    ...(options.modes ? { modes: options.modes } : {}),
  });
  const bar = options.progress
    ? new SingleBar({ format: 'bench [{bar}] {value}/{total} {case}', hideCursor: true })
    : undefined;
  bar?.start(cases.length, 0, { case: '' });
  const run = runBenchmark({
    cases,
    gpu: options.backend === 'cpu' ? false : options.backend === 'gpu' ? true : undefined,
    cpu: options.backend !== 'gpu',
    ...(options.device !== undefined ? { device: options.device } : {}),
    repetitions: options.repetitions ?? (options.quick ? 5 : 20),
    cpuRows: options.quick ? 4 : 16,
    onProgress: (done, _total, c) =>
      bar?.update(done, { case: `${c.batch}×${c.vocab} ${c.mode} σ=${c.sigma}` }),
  });
  bar?.stop();
  const report: BenchReport = {
    date: new Date().toISOString(),
    ...(run.device ? { device: run.device } : {}),
    ...(run.gpuError ? { gpuError: run.gpuError } : {}),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    results: run.results,
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  if (options.chart)
    writeFileSync(options.chart, benchChart(run.results, `rocmforge bench — ${run.device ?? 'CPU only'}`));
  return report;
}

/** Prints a bench report as a table. */
export function printBench(report: BenchReport): void {
  console.log(
    report.device ? `GPU: ${report.device}` : `GPU: none${report.gpuError ? ` (${report.gpuError})` : ''}`,
  );
  if (report.multiGpu) {
    printMultiGpu(report);
    return;
  }
  const table = newTable([
    'batch × vocab',
    'mode',
    'σ',
    'GPU µs',
    'GB/s',
    'host µs',
    'end-to-end µs',
    'CPU µs',
    'speed-up',
  ]);
  for (const r of report.results) {
    table.push([
      `${r.batch} × ${r.vocab}`,
      r.mode,
      r.sigma,
      r.gpu ? r.gpu.kernelMicroseconds.toFixed(1) : '–',
      r.gpu ? r.gpu.gigabytesPerSecond.toFixed(0) : '–',
      r.gpu ? r.gpu.hostOverheadMicroseconds.toFixed(1) : '–',
      r.gpu ? r.gpu.endToEndMicroseconds.toFixed(0) : '–',
      r.cpu ? r.cpu.microseconds.toFixed(0) : '–',
      r.gpu && r.cpu ? `${(r.cpu.microseconds / r.gpu.kernelMicroseconds).toFixed(1)}×` : '–',
    ]);
  }
  console.log(table.toString());
}

function runDevicesBench(options: BenchCommandOptions, devices: 'all' | number[]): BenchReport {
  const run = runMultiGpuBenchmark({
    devices,
    ...(options.modes?.[0] ? { mode: options.modes[0] } : {}),
    ...(options.repetitions ? { repetitions: options.repetitions } : {}),
    ...(options.quick
      ? {
          shapes: [
            [1000, 32_000],
            [256, 151_936],
          ],
        }
      : {}),
    onProgress: (label) => {
      if (options.progress) process.stderr.write(`bench ${label}\n`);
    },
  });
  const report: BenchReport = {
    date: new Date().toISOString(),
    device: run.device,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    results: [],
    multiGpu: run.results,
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

function printMultiGpu(report: BenchReport): void {
  const table = newTable(['batch × vocab', 'mode', 'host memory', '1 GPU ms', 'all GPUs ms', 'speed-up']);
  for (const r of report.multiGpu ?? []) {
    for (const [memory, t] of [
      ['pageable', r.pageable],
      ['pinned', r.pinned],
    ] as const) {
      table.push([
        `${r.batch} × ${r.vocab}`,
        r.mode,
        memory,
        t.oneMs.toFixed(1),
        t.allMs.toFixed(1),
        `${(t.oneMs / t.allMs).toFixed(2)}×`,
      ]);
    }
  }
  console.log(table.toString());
}
