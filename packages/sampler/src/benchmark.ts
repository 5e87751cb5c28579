import { CpuSampler } from './cpu/cpu-sampler.js';
import { GpuSampler } from './gpu/gpu-sampler.js';
import { MultiGpuSampler } from './gpu/multi-gpu-sampler.js';
import { narrowToHalf, widenHalf } from './half-values.js';
import { type DeviceInput, ELEMENT_BYTES } from './input.js';
import type { ElementType, HostValues, SampleRequest } from './request.js';

/**
 * A benchmark mode: a request's parameters, and the Sampler method it times (`sample` unless
 * named). `verify` takes a cell's rows as target positions: rows of n + 1 = 4 positions (fewer
 * when the cell has fewer rows), each draft the target's own distribution, so that every draft
 * is accepted and every position is verified (the most work a call can do).
 */
export type BenchMode = Partial<SampleRequest> & {
  /** The Sampler method timed (default `sample`). */
  method?: 'sample' | 'filteredProbs' | 'verify';
};

/** A sampling mode as the benchmark names it. */
export const BENCH_MODES: Record<string, BenchMode> = {
  plain: {},
  'top-k': { topK: 50 },
  'top-p': { topP: 0.9 },
  'min-p': { minP: 0.1 },
  'top-k+top-p': { topK: 50, topP: 0.9 },
  'typical-p': { typicalP: 0.9 },
  'top-n-sigma': { topNSigma: 1 },
  xtc: { xtcProbability: 1, xtcThreshold: 0.1 },
  'filtered-probs': { topK: 50, topP: 0.9, method: 'filteredProbs' },
  verify: { method: 'verify' },
};

/**
 * The call one case times: `sample`, `filteredProbs` or `verify` on `rows` rows of `part` (of the
 * mode's dtype; `verify` takes float32 host rows, so half rows are widened for it first), by
 * `sampler` (either backend). `verify`'s drafts are computed once, with `setup` (a CPU sampler).
 */
function benchCall(
  sampler: CpuSampler | GpuSampler,
  setup: CpuSampler,
  bench: BenchMode,
  part: HostValues | DeviceInput,
  rows: number,
  vocab: number,
): (step: number) => void {
  const { method, ...mode } = bench;
  // Built once and its step changed per call: an object spread per call would be timed too.
  const request = { ...mode, logits: part, shape: [rows, vocab] as [number, number], seed: 1, step: 0 };
  if (method === 'filteredProbs') {
    return (step) => {
      request.step = step;
      sampler.filteredProbs(request as SampleRequest);
    };
  }
  if (method !== 'verify') {
    return (step) => {
      request.step = step;
      sampler.sample(request as SampleRequest);
    };
  }
  const { dtype = 'float32', probs: _probs, ...verifyMode } = mode;
  if (!(part instanceof Float32Array || part instanceof Uint16Array)) {
    throw new Error('verify is measured from host rows');
  }
  const float32 =
    part instanceof Float32Array
      ? part
      : widenHalf(
          part,
          dtype as Exclude<ElementType, 'float32'>,
          0,
          part.length,
          new Float32Array(part.length),
        );
  const draft = Math.min(3, rows - 1);
  const positions = draft + 1;
  const verifyRows = Math.floor(rows / positions);
  const target = float32.subarray(0, verifyRows * positions * vocab);
  const probs = setup.filteredProbs({
    ...verifyMode,
    logits: target,
    shape: [verifyRows * positions, vocab],
  }).values;
  const draftProbs = new Float32Array(verifyRows * draft * vocab);
  const draftTokens: number[] = [];
  for (let b = 0; b < verifyRows; b++) {
    for (let j = 0; j < draft; j++) {
      const at = (b * positions + j) * vocab;
      const q = probs.subarray(at, at + vocab);
      draftProbs.set(q, (b * draft + j) * vocab);
      let best = 0;
      for (let i = 1; i < vocab; i++) if (q[i]! > q[best]!) best = i;
      draftTokens.push(best);
    }
  }
  const verify = {
    ...verifyMode,
    logits: target,
    shape: [verifyRows, draft, vocab] as [number, number, number],
    draftTokens,
    draftProbs,
    seed: 1,
    step: 0,
  };
  return (step) => {
    verify.step = step;
    sampler.verify(verify);
  };
}

/** One cell of the benchmark grid. */
export interface BenchCase {
  /** Rows per call. */
  batch: number;
  /** Elements per row. */
  vocab: number;
  /** A key of {@link BENCH_MODES}. */
  mode: string;
  /** σ of the synthetic N(0, σ²) logits. */
  sigma: number;
  /** Element type of the logits (the float32 ones rounded to nearest for the half types). */
  dtype: ElementType;
}

/** The grid of the GPU-backend issue: batch 1–512 at vocab 151936 and 10000 × 32000. */
export function defaultBenchGrid(
  options: {
    quick?: boolean;
    sigmas?: number[];
    modes?: string[];
    dtypes?: ElementType[];
    /** `[batch, vocab]` shapes measured instead of the grid's own. */
    shapes?: Array<[number, number]>;
  } = {},
): BenchCase[] {
  const shapes: Array<[number, number]> = options.shapes
    ? options.shapes
    : options.quick
      ? [
          [1, 32_000],
          [8, 32_000],
        ]
      : [
          [1, 151_936],
          [32, 151_936],
          [128, 151_936],
          [512, 151_936],
          [10_000, 32_000],
          // GPT-2's vocabulary is not a multiple of 4: its time per byte should match 151936's.
          [1, 50_257],
          [32, 50_257],
          [512, 50_257],
        ];
  const modes = options.modes ?? Object.keys(BENCH_MODES);
  const cases: BenchCase[] = [];
  const dtypes = options.dtypes ?? ['float32'];
  for (const sigma of options.sigmas ?? [3]) {
    for (const [batch, vocab] of shapes) {
      for (const mode of modes) for (const dtype of dtypes) cases.push({ batch, vocab, mode, sigma, dtype });
    }
  }
  return cases;
}

/** The figures of one cell; `gpu` and `cpu` are absent for a backend that was not run. */
export interface BenchResult extends BenchCase {
  /** Bytes one pass over the input moves (batch × vocab × bytes per element). */
  bytes: number;
  /** The GPU backend's figures (absent when no GPU was measured). */
  gpu?: {
    /** Kernel time by device events (median of means over 10 back-to-back launches), input already on the device. */
    kernelMicroseconds: number;
    /** bytes / kernel time. */
    gigabytesPerSecond: number;
    /** Median wall time of one `sample` call with the input on the device (no timing events), minus the kernel time. */
    hostOverheadMicroseconds: number;
    /** Median wall time of one `sample` call from a host array (copy included). */
    endToEndMicroseconds: number;
  };
  /** The CPU backend's figures. */
  cpu?: {
    /**
     * CPU time (the process's user + system time: waiting for the processor is not counted) of
     * one call on the whole batch: the median of the fastest of three rounds of timed calls,
     * after warm-up calls; measured on up to `cpuRows` rows and scaled to the batch.
     */
    microseconds: number;
    /** The same per row: `microseconds / batch`. */
    microsecondsPerRow: number;
    /** Rows actually sampled for `microseconds`. */
    measuredRows: number;
    /** Timed calls in all rounds (after the untimed warm-up calls). */
    repetitions: number;
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Most timed calls of one case: enough for a stable median of calls of a few microseconds. */
const MAX_TIMED_CALLS = 2000;
/**
 * Untimed calls before timing, when they fit in the time given: V8 needs tens of calls of a
 * code path before its optimised code runs (measured: the first calls of a 1 × 32000 top-k are
 * 100× slower than the 20th).
 */
const WARM_UP_CALLS = 20;

/**
 * Rounds of CPU timing over the whole grid. On a shared machine the processor can be slower
 * for seconds at a time (other work on it or beside it: one case measured 1.8× slower in one
 * run than in the next, in CPU time); a case's figure is the median of its fastest round, and
 * its rounds are spread over the run.
 */
const CPU_ROUNDS = 3;

/**
 * CPU times (µs) of `call`. First untimed warm-up calls: at least 2, and `warmUpCalls` or a
 * quarter of `milliseconds` whichever comes later, unless they already took all of
 * `milliseconds`. Then timed calls until there are `repetitions` of them and they took
 * `milliseconds` in all (at most {@link MAX_TIMED_CALLS}). Every budget is CPU time, not wall
 * time: on a busy machine the process waits longer for the processor, and it must still make
 * the same calls (a wall-time budget cut the warm-up short there, and the JIT was still
 * compiling when timing began). `step` numbers the calls.
 */
function timeCalls(
  call: (step: number) => void,
  options: { warmUpCalls: number; repetitions: number; milliseconds: number },
): number[] {
  const budget = options.milliseconds * 1000;
  let step = 0;
  const start = process.cpuUsage();
  for (;;) {
    call(step++);
    const { user, system } = process.cpuUsage(start);
    const spent = user + system;
    if (step < 2) continue;
    if (spent >= budget) break;
    if (step >= options.warmUpCalls && spent >= budget / 4) break;
  }
  const times: number[] = [];
  let spent = 0;
  while (times.length < options.repetitions || (spent < budget && times.length < MAX_TIMED_CALLS)) {
    const before = process.cpuUsage();
    call(step++);
    const { user, system } = process.cpuUsage(before);
    times.push(user + system);
    spent += user + system;
  }
  return times;
}

/** N(0, σ²) logits from a fixed seed (xorshift + Box–Muller): the benchmark's input, and the tests'. */
export function syntheticLogits(length: number, sigma: number, seed = 1): Float32Array {
  let state = (seed * 2654435761) >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return (state + 0.5) / 4294967296;
  };
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = sigma * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  }
  return out;
}

/** What {@link runBenchmark} measures and how. */
export interface BenchOptions {
  /** The cells to measure, in order (see {@link defaultBenchGrid}). */
  cases: BenchCase[];
  /** Run the GPU backend (default: when one is usable). */
  gpu?: boolean;
  /** Run the CPU backend (default true). */
  cpu?: boolean;
  /** GPU index (default 0). */
  device?: number;
  /** Timed repetitions per case (median reported); the CPU times at least this many calls, over its rounds. */
  repetitions?: number;
  /** Rows the CPU measures per case at most (its time is scaled to the batch). */
  cpuRows?: number;
  /**
   * Milliseconds of CPU time the timed CPU calls of a case take at least, over its three rounds
   * (default 200): short calls are repeated until they fill it, so that a median is not a
   * handful of calls that one scheduler hiccup moves. Before the first round, untimed warm-up
   * calls (20, and a quarter of the round's time) let the JIT compile the case's code path.
   */
  cpuMilliseconds?: number;
  /** Called before each case (and each later CPU round of it) and once at the end. */
  onProgress?: (done: number, total: number, current: BenchCase) => void;
}

/** Back-to-back launches per kernel-time measurement (see GpuSampler.lastKernelMilliseconds). */
const KERNEL_REPEAT = 10;
/**
 * Milliseconds of back-to-back calls of the first GPU case before anything is timed: an idle GPU
 * runs its first kernels at a lower clock, and three warm-up calls left the first cell of a run
 * 5–10 µs off (H200, 1 × 4096 plain: 13.7 and 23.9 µs in two runs of the same code).
 */
const GPU_WARM_UP_MS = 250;

/** Measures every case; see {@link BenchResult} for what each figure means. */
export function runBenchmark(options: BenchOptions): {
  /** One result per case, in order. */
  results: BenchResult[];
  /** The GPU measured, `name (architecture)`; absent when none was. */
  device?: string;
  /** Why no GPU was measured. */
  gpuError?: string;
} {
  const repetitions = options.repetitions ?? 20;
  const cpuRows = options.cpuRows ?? 32;
  const cpuMilliseconds = options.cpuMilliseconds ?? 200;
  let gpu: GpuSampler | undefined;
  let gpuError: string | undefined;
  if (options.gpu !== false) {
    try {
      gpu = GpuSampler.create(options.device ?? 0);
      gpu.enableTiming();
    } catch (error) {
      gpuError = (error as Error).message;
      if (options.gpu === true) throw error;
    }
  }
  const cpu = options.cpu === false ? undefined : new CpuSampler();
  // Verify's drafts are the target's own filtered distributions, computed on the CPU.
  const setup = cpu ?? new CpuSampler();
  const results: BenchResult[] = [];
  // The current shape's logits, in each element type asked for (dropped when the shape changes).
  const inputs = new Map<string, HostValues>();
  let inputShape = '';
  // Per case: the CPU's input rows (a copy: the batch's logits are dropped when the shape
  // changes) and the timed calls of each round.
  const cpuCases: Array<{ rows: number; call: (step: number) => void; rounds: number[][] }> = [];
  const timeCpu = (index: number, warmUpCalls: number) => {
    const { call, rounds } = cpuCases[index]!;
    rounds.push(
      timeCalls(call, {
        warmUpCalls,
        repetitions: Math.ceil(repetitions / CPU_ROUNDS),
        milliseconds: cpuMilliseconds / CPU_ROUNDS,
      }),
    );
  };
  const total = options.cases.length * (cpu ? CPU_ROUNDS : 1);
  let done = 0;
  for (const c of options.cases) {
    options.onProgress?.(done, total, c);
    const key = `${c.batch}x${c.vocab}x${c.sigma}`;
    if (key !== inputShape) {
      inputs.clear();
      inputShape = key;
    }
    let float32 = inputs.get('float32') as Float32Array | undefined;
    if (!float32) {
      float32 = syntheticLogits(c.batch * c.vocab, c.sigma, c.batch + c.vocab);
      inputs.set('float32', float32);
    }
    const { dtype } = c;
    let logits = inputs.get(dtype);
    if (!logits) {
      logits = dtype === 'float32' ? float32 : narrowToHalf(float32, dtype);
      inputs.set(dtype, logits);
    }
    const mode = { ...BENCH_MODES[c.mode], dtype };
    const result: BenchResult = { ...c, bytes: c.batch * c.vocab * ELEMENT_BYTES[dtype] };
    if (gpu) {
      using onDevice = gpu.device.upload(logits);
      // From the device (verify: from the host, as it takes host rows), and from the host.
      const fromDevice = benchCall(
        gpu,
        setup,
        mode,
        mode.method === 'verify' ? logits : onDevice,
        c.batch,
        c.vocab,
      );
      const fromHost =
        mode.method === 'verify' ? fromDevice : benchCall(gpu, setup, mode, logits, c.batch, c.vocab);
      const warmUntil = performance.now() + (results.length === 0 ? GPU_WARM_UP_MS : 0);
      for (let i = 0; i < 3 || performance.now() < warmUntil; i++) fromDevice(i);
      const kernel: number[] = [];
      gpu.enableTiming({ repeat: KERNEL_REPEAT });
      for (let i = 0; i < Math.max(3, Math.floor(repetitions / 4)); i++) {
        fromDevice(i);
        kernel.push(gpu.lastKernelMilliseconds! * 1000);
      }
      // The wall time without timing events: two event records per call are the benchmark's.
      gpu.disableTiming();
      const wall: number[] = [];
      for (let i = 0; i < repetitions; i++) {
        const start = performance.now();
        fromDevice(i);
        wall.push((performance.now() - start) * 1000);
      }
      const endToEnd: number[] = [];
      for (let i = 0; i < Math.max(3, Math.floor(repetitions / 2)); i++) {
        const start = performance.now();
        fromHost(i);
        endToEnd.push((performance.now() - start) * 1000);
      }
      const kernelMicroseconds = median(kernel);
      result.gpu = {
        kernelMicroseconds,
        gigabytesPerSecond: result.bytes / (kernelMicroseconds * 1e3),
        hostOverheadMicroseconds: Math.max(0, median(wall) - kernelMicroseconds),
        endToEndMicroseconds: median(endToEnd),
      };
    }
    if (cpu) {
      const rows = Math.min(c.batch, cpuRows);
      const part = logits.slice(0, rows * c.vocab);
      cpuCases.push({ rows, call: benchCall(cpu, setup, mode, part, rows, c.vocab), rounds: [] });
      timeCpu(results.length, WARM_UP_CALLS);
    }
    results.push(result);
    done++;
  }
  if (cpu) {
    for (let round = 1; round < CPU_ROUNDS; round++) {
      for (let i = 0; i < options.cases.length; i++) {
        options.onProgress?.(done, total, options.cases[i]!);
        // The code is compiled by now: two calls bring the input back into the caches.
        timeCpu(i, 2);
        done++;
      }
    }
    results.forEach((result, i) => {
      const { rows, rounds } = cpuCases[i]!;
      const perRow = Math.min(...rounds.map(median)) / rows;
      result.cpu = {
        microseconds: perRow * result.batch,
        microsecondsPerRow: perRow,
        measuredRows: rows,
        repetitions: rounds.reduce((n, times) => n + times.length, 0),
      };
    });
  }
  options.onProgress?.(done, total, options.cases[options.cases.length - 1]!);
  const device = gpu ? `${gpu.device.info.name} (${gpu.device.info.architecture})` : undefined;
  gpu?.dispose();
  return { results, ...(device ? { device } : {}), ...(gpuError ? { gpuError } : {}) };
}

/** Wall times of one `sample` call on one device and sharded over all of them. */
export interface MultiGpuTimes {
  /** On the first device alone, ms. */
  oneMs: number;
  /** Sharded over every device, ms. */
  allMs: number;
}

/** One shape of the multi-GPU benchmark, timed on one device and sharded over several. */
export interface MultiGpuBenchResult {
  /** Rows of the host batch. */
  batch: number;
  /** Elements per row. */
  vocab: number;
  /** A key of {@link BENCH_MODES}. */
  mode: string;
  /** Devices of the sharded run. */
  devices: number[];
  /** Wall milliseconds of one `sample` call (median) from ordinary, pageable host memory. */
  pageable: MultiGpuTimes;
  /** The same from memory page-locked with `pinHostMemory`. */
  pinned: MultiGpuTimes;
}

/**
 * Single- versus multi-GPU wall time of one `sample` call on a host batch (`rocmforge bench
 * --devices`): from ordinary (pageable) memory, and from memory pinned with
 * `pinHostMemory`, where the shards are copied to their devices at the same time.
 */
export function runMultiGpuBenchmark(options: {
  /** The devices of the sharded run (`'all'` or indices); the single run uses the first. */
  devices: 'all' | readonly number[];
  /** [batch, vocab] pairs (default 10000 × 32000 and 4096 × 151936). */
  shapes?: ReadonlyArray<[number, number]>;
  /** A key of {@link BENCH_MODES} (default `top-k+top-p`). */
  mode?: string;
  /** Timed calls per measurement (median; default 5). */
  repetitions?: number;
  /** Called before each measurement with what it measures. */
  onProgress?: (label: string) => void;
}): {
  /** One result per shape. */
  results: MultiGpuBenchResult[];
  /** `count × name (architecture)` of the devices. */
  device: string;
} {
  const shapes = options.shapes ?? [
    [10_000, 32_000],
    [4096, 151_936],
  ];
  const mode = options.mode ?? 'top-k+top-p';
  const repetitions = options.repetitions ?? 5;
  const all = MultiGpuSampler.create(options.devices);
  const one = new MultiGpuSampler([GpuSampler.create(all.shards[0]!.device.index)]);
  const results: MultiGpuBenchResult[] = [];
  try {
    for (const [batch, vocab] of shapes) {
      const logits = syntheticLogits(batch * vocab, 3, batch + vocab);
      const request = {
        ...(BENCH_MODES[mode] ?? {}),
        logits,
        shape: [batch, vocab] as [number, number],
        seed: 1,
      };
      const time = (sampler: MultiGpuSampler, label: string) => {
        options.onProgress?.(`${batch}×${vocab} ${label}`);
        sampler.sample({ ...request, step: 0 });
        const times: number[] = [];
        for (let i = 1; i <= repetitions; i++) {
          const start = performance.now();
          sampler.sample({ ...request, step: i });
          times.push(performance.now() - start);
        }
        return median(times);
      };
      const pageable = {
        oneMs: time(one, '1 GPU, pageable'),
        allMs: time(all, `${all.shards.length} GPUs, pageable`),
      };
      const pinned = { oneMs: 0, allMs: 0 };
      {
        using _pin = one.pinHostMemory(logits);
        pinned.oneMs = time(one, '1 GPU, pinned');
      }
      {
        using _pin = all.pinHostMemory(logits);
        pinned.allMs = time(all, `${all.shards.length} GPUs, pinned`);
      }
      results.push({ batch, vocab, mode, devices: all.shards.map((s) => s.device.index), pageable, pinned });
    }
    const info = all.shards[0]!.device.info;
    return { results, device: `${all.shards.length} × ${info.name} (${info.architecture})` };
  } finally {
    one.dispose();
    all.dispose();
  }
}
