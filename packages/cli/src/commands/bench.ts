import { writeFileSync } from 'node:fs';
import {
  BENCH_MODES,
  type BenchResult,
  defaultBenchGrid,
  type ElementType,
  type MultiGpuBenchResult,
  runBenchmark,
  runMultiGpuBenchmark,
} from '@rocmforge/sampler';
import { SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { devices, integer, oneOfEach, positiveNumbers, shapes } from '../arguments.js';
import { benchChart } from '../chart.js';
import { backendOption } from '../sampling-flags.js';
import { table as newTable } from '../table.js';
import { noGpuLine } from './devices.js';

/** `rocmforge bench` options, as parsed from the command line. */
export interface BenchCommandOptions {
  /** A small grid that runs in seconds (`--quick`). */
  quick?: boolean;
  /** Which backends to measure: `auto` (the GPU when usable, and the CPU), `cpu` or `gpu`. */
  backend: 'auto' | 'cpu' | 'gpu';
  /** σ of the synthetic N(0, σ²) logits, one grid per value. */
  sigmas: number[];
  /** Sampling modes to measure (keys of `BENCH_MODES`: `plain`, `top-k`, …, `verify`); default all. */
  modes?: string[];
  /** Element types of the logits (`float32`, `float16`, `bfloat16`); default float32 alone. */
  dtype?: ElementType[];
  /** `[batch, vocab]` shapes instead of the default grid's (`--shapes 32x151936,512x50257`). */
  shapes?: Array<[number, number]>;
  /** Timed repetitions per case (the median is reported); the CPU times at least this many calls. */
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
  /** Why no GPU was measured, when none was, in one line (`rocmforge devices` tells the whole story). */
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
    ...(options.dtype ? { dtypes: options.dtype } : {}),
    ...(options.shapes ? { shapes: options.shapes } : {}),
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
    onProgress: (done, total, c) => {
      bar?.setTotal(total);
      bar?.update(done, { case: `${c.batch}×${c.vocab} ${c.mode} ${c.dtype} σ=${c.sigma}` });
    },
  });
  bar?.stop();
  const report: BenchReport = {
    date: new Date().toISOString(),
    ...(run.device ? { device: run.device } : {}),
    ...(run.gpuError ? { gpuError: noGpuLine(run.gpuError) } : {}),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    results: run.results,
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  if (options.chart)
    writeFileSync(options.chart, benchChart(run.results, `rocmforge bench — ${run.device ?? 'CPU only'}`));
  return report;
}

/** Prints a bench report as a table, with only the columns of the backends that ran, and what its units mean. */
export function printBench(report: BenchReport): void {
  console.log(report.device ? `GPU: ${report.device}` : (report.gpuError ?? 'GPU: not measured'));
  if (report.multiGpu) {
    printMultiGpu(report);
    return;
  }
  const withGpu = report.results.some((r) => r.gpu);
  const withCpu = report.results.some((r) => r.cpu);
  const head = ['batch × vocab', 'mode', 'dtype', 'σ'];
  if (withGpu) head.push('GPU kernel µs/call', 'GB/s', 'host µs/call', 'end-to-end µs/call');
  if (withCpu) head.push('CPU µs/call', 'CPU µs/row');
  if (withGpu && withCpu) head.push('speed-up');
  const table = newTable(head);
  for (const r of report.results) {
    const line: Array<string | number> = [`${r.batch} × ${r.vocab}`, r.mode, r.dtype, r.sigma];
    if (withGpu)
      line.push(
        r.gpu ? r.gpu.kernelMicroseconds.toFixed(1) : '–',
        r.gpu ? r.gpu.gigabytesPerSecond.toFixed(0) : '–',
        r.gpu ? r.gpu.hostOverheadMicroseconds.toFixed(1) : '–',
        r.gpu ? r.gpu.endToEndMicroseconds.toFixed(0) : '–',
      );
    if (withCpu)
      line.push(
        r.cpu ? r.cpu.microseconds.toFixed(0) : '–',
        r.cpu ? r.cpu.microsecondsPerRow.toFixed(1) : '–',
      );
    if (withGpu && withCpu)
      line.push(r.gpu && r.cpu ? `${(r.cpu.microseconds / r.gpu.kernelMicroseconds).toFixed(1)}×` : '–');
    table.push(line);
  }
  console.log(table.toString());
  const notes = ['µs/call: one sample() call on the whole batch; µs/row: per call ÷ batch.'];
  if (withGpu)
    notes.push(
      'GPU kernel: device time, input already on the GPU; host: the rest of the call; end-to-end: from host memory, copy included.',
    );
  if (withCpu) {
    const rows = Math.max(...report.results.map((r) => r.cpu?.measuredRows ?? 0));
    notes.push(
      `CPU: CPU time after warm-up, median of the fastest of three rounds; measured on up to ${rows} rows, scaled to the batch.`,
    );
  }
  console.log(notes.join('\n'));
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

/** What `rocmforge bench` parses from its command line. */
type BenchFlags = Omit<BenchCommandOptions, 'progress'>;

/** Adds `rocmforge bench`. */
export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmark the GPU and CPU samplers over batch × vocab × mode')
    .option('--quick', 'a small grid that runs in seconds')
    .addOption(backendOption())
    .addOption(
      new Option('--sigmas <list>', 'σ of the synthetic N(0, σ²) logits, comma-separated')
        .argParser(positiveNumbers('--sigmas'))
        .default([3], '3'),
    )
    .option(
      '--modes <list>',
      `modes, comma-separated: ${Object.keys(BENCH_MODES).join(',')}`,
      oneOfEach('--modes', Object.keys(BENCH_MODES)),
    )
    .option(
      '--dtype <list>',
      'element types of the logits, comma-separated: float32,float16,bfloat16 (default float32)',
      oneOfEach('--dtype', ['float32', 'float16', 'bfloat16']),
    )
    .option(
      '--shapes <list>',
      'batch × vocab shapes instead of the default grid, like 32x151936,1x50257',
      shapes('--shapes'),
    )
    .option(
      '--repetitions <n>',
      'timed repetitions per case (the CPU times at least this many calls)',
      integer('--repetitions', 1),
    )
    .option('--device <n>', 'GPU index', integer('--device'))
    .option(
      '--devices <list>',
      "several GPUs ('all' or indices): one GPU against all of them on 10000 × 32000 and 4096 × 151936 host batches",
      devices,
    )
    .option('--json <file>', 'write every raw figure, the device and software versions to a JSON file')
    .option('--chart <file.svg>', 'draw time per call against batch size (log scales) as SVG')
    .addHelpText(
      'after',
      '\nExamples:\n  rocmforge bench --quick\n  rocmforge bench --sigmas 3,1 --json bench.json --chart bench.svg\n  rocmforge bench --dtype float32,bfloat16,float16\n  rocmforge bench --backend gpu --modes top-k+top-p,typical-p --shapes 32x151936,512x151936\n  rocmforge bench --devices all',
    )
    .action((flags: BenchFlags) => {
      printBench(runBench({ ...flags, progress: process.stderr.isTTY === true }));
    });
}
