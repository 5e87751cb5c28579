import { readFileSync } from 'node:fs';
import {
  type Device,
  type DeviceBuffer,
  type Kernel,
  KernelArgPacker,
  type Module,
  type PackedLaunchOptions,
  type Stream,
} from '@rocmforge/hip-runtime';
import {
  type ChainFilterName,
  type ChainOutputName,
  ELEMENT_BYTES,
  ELEMENT_SUFFIX,
  type ElementTypeName,
  type FilterOrderName,
  type InputKindName,
  KERNEL_PARAMS,
  type KernelName,
  type KernelSourceName,
  kernelSource,
  type LogprobsModeName,
  MAX_ROW_PARTS,
  MAX_TOP_LOGPROBS,
  ROW_PARAMETERS,
  ROW_STATS,
  type RowParameterName,
  SPLIT_SCRATCH_BYTES,
} from './abi.js';
import type { AdjustmentTable } from './adjustment-table.js';
import { type DeviceRegion, need } from './device-region.js';
import { KernelArgumentError, KernelsUnavailableError } from './errors.js';
import { compileForDevice, jitForced } from './jit.js';
import { prebuiltFor, readManifest } from './manifest.js';
import { type StructValues, structPacker, writeStructArgs } from './param-struct.js';
import type { RowParameterArrays, RowParameterBuffers } from './row-parameters.js';
import {
  BLOCK_THREADS,
  MIN_PART_ELEMENTS,
  MIN_SPLIT_VOCAB,
  NARROW_BLOCK_THREADS,
  NARROW_MIN_ROWS_PER_SM,
  NARROW_SPLIT_BLOCKS_PER_SM,
  SPLIT_NARROW_MAX_ROWS,
} from './signatures.js';

/** The kernels whose structs begin with the per-row request (RF_ROW_REQUEST_FIELDS). */
type RowKernelName = Extract<KernelName, `rf_sample${string}` | `rf_chain${string}`>;

/** The buffers and sizes of one `rf_sample` launch. */
export interface SampleLaunch {
  /** [batch, vocab] of `dtype`: logits (kind 'logits') or probabilities. */
  input: DeviceRegion;
  /** The element type of `input` (default 'float32'): picks the kernel's entry point. */
  dtype?: ElementTypeName;
  /** Byte offset of the first row in `input` (default 0). */
  inputOffset?: number;
  /** Rows. */
  batch: number;
  /** Elements per row. */
  vocab: number;
  /** What `input` holds. */
  kind: InputKindName;
  /** Per-row parameters, one element per row each (unless `oneRow` is given). */
  params?: RowParameterBuffers;
  /**
   * A launch of one row (`batch` 1) may pass that row's parameters by value instead: element 0
   * of each array, carried in the launch's parameter struct, so that nothing is copied to the
   * device ahead of the kernel. Exactly one of `params` and `oneRow`.
   */
  oneRow?: RowParameterArrays;
  /** How top-k and top-p combine: top-p over the top-k set, or over all values. */
  filterOrder: FilterOrderName;
  /** Draws per row. */
  samples: number;
  /** i32 [batch, samples] out */
  tokens: DeviceRegion;
  /** u8 [batch] out: a {@link ROW_STATUS} per row. */
  valid: DeviceRegion;
  /** f32 [batch, {@link ROW_STATS}] out, for the log-probability kernels (optional); {@link ROW_STAT} names each. */
  rowStats?: DeviceRegion;
  /**
   * Split-row scratch of {@link SamplingKernels.sampleScratchBytes} bytes, zeroed once when
   * allocated (the kernel leaves it ready for the next launch). Without it each row is one block,
   * which leaves most of the chip idle at small batches.
   */
  scratch?: DeviceRegion;
  /** The stream to launch on (default: the device's default stream). */
  stream?: Stream;
}

/** The per-row filter parameters of `rf_chain` beyond the row parameters: f32 arrays of `batch` elements. */
export type ChainFilterBuffers = Record<ChainFilterName, DeviceRegion>;

/** The buffers and sizes of one `rf_chain` launch (kernels/methods.hip): one block per row. */
export interface ChainLaunch {
  /** [batch, vocab] of `dtype`: logits (kind 'logits') or probabilities. */
  input: DeviceRegion;
  /** The element type of `input` (default 'float32'): picks the kernel's entry point. */
  dtype?: ElementTypeName;
  /** Rows. */
  batch: number;
  /** Elements per row. */
  vocab: number;
  /** What `input` holds. */
  kind: InputKindName;
  /** Per-row parameters, one element per row each. */
  params: RowParameterBuffers;
  /** Typical-p, top-n-sigma and XTC's per-row parameters. */
  filters: ChainFilterBuffers;
  /** How top-k and top-p combine. */
  filterOrder: FilterOrderName;
  /** Draws per row (0: none); a verification draws one per target row. */
  samples: number;
  /** i32 [batch, samples] out (i32 [batch] when verifying), when anything is drawn. */
  tokens?: DeviceRegion;
  /** u8 [batch] out: a {@link ROW_STATUS} per row. */
  valid: DeviceRegion;
  /** f32 [batch, {@link ROW_STATS}] out, for the processed log-probability kernels (optional). */
  rowStats?: DeviceRegion;
  /** What `values` gets (default 'none'). */
  output?: ChainOutputName;
  /** f32 [batch, vocab] out, unless `output` is 'none'. */
  values?: DeviceRegion;
  /**
   * Speculative verification: the rows are target positions, `draft + 1` consecutive rows per
   * verified row (the launch's rows start at row `firstRow` of the whole target batch).
   */
  verify?: {
    /** Draft tokens per verified row (n ≥ 1). */
    draft: number;
    /** This launch's first row within the whole target batch. */
    firstRow: number;
    /** i32 [verified rows, n]. */
    draftTokens: DeviceRegion;
    /** f32 [verified rows, n, vocab]. */
    draftProbs: DeviceRegion;
    /** u8 [batch] out: {@link VERDICT} bits per target row. */
    verdicts: DeviceRegion;
  };
  /** The stream to launch on (default: the device's default stream). */
  stream?: Stream;
}

const loaded = new WeakMap<Device, SamplingKernels>();

/** Threads per block of rf_adjust_logits (a row's entries, one per thread). */
const ADJUST_THREADS = 256;

/** Threads per block of rf_widen_* (one block per row). */
const WIDEN_THREADS = 256;

/** Threads per block of the per-draw kernels (rf_philox, rf_uniform). */
const PER_ROW_THREADS = 256;
/** Their grid: x covers `count` draws of a row (the kernels loop past 65535 blocks), y the rows. */
function perRowGrid(count: number, batch: number): [number, number] {
  return [Math.min(Math.ceil(count / PER_ROW_THREADS), 65_535), batch];
}

/**
 * The sampling kernels loaded on one device, with one typed launcher per kernel: grid and
 * block are chosen here, arguments packed from the manifest's layouts. Loaded once per device.
 *
 * @example
 * ```ts gpu
 * import { openDevice } from '@rocmforge/hip-runtime';
 * import { SamplingKernels } from '@rocmforge/sampling-kernels';
 * const device = openDevice(0);
 * const kernels = SamplingKernels.forDevice(device);
 * // origin is 'prebuilt' (the package's binaries) or 'jit' (compiled at run time)
 * console.log(['prebuilt', 'jit'].includes(kernels.origin)); // true
 * ```
 */
export class SamplingKernels {
  /** The device the kernels are loaded on. */
  readonly device: Device;
  /** Where the code came from: the package's binaries, or run-time compilation. */
  readonly origin: 'prebuilt' | 'jit';
  /** The binary target used (e.g. sm_90, gfx90a, compute_90 for PTX). */
  readonly target: string;
  /** The loaded binaries by source: sampling's at once, the others when first used. */
  readonly #modules = new Map<KernelSourceName, Module>();
  readonly #kernels = new Map<KernelName, Kernel>();
  /** One argument packer per kernel, kept between launches (nothing allocated per launch). */
  readonly #packers = new Map<KernelName, KernelArgPacker>();
  readonly #launchOptions: PackedLaunchOptions = { grid: 1, block: 1, packer: new KernelArgPacker([]) };

  private constructor(device: Device, module: Module, origin: 'prebuilt' | 'jit', target: string) {
    this.device = device;
    this.#modules.set('sampling', module);
    this.origin = origin;
    this.target = target;
  }

  /** Loads (once) the kernels for `device`: prebuilt when available, else compiled at run time. */
  static forDevice(device: Device): SamplingKernels {
    const existing = loaded.get(device);
    if (existing) return existing;
    const { module, origin, target } = loadSource(device, 'sampling');
    const kernels = new SamplingKernels(device, module, origin, target);
    loaded.set(device, kernels);
    return kernels;
  }

  /** The kernel `name`, looked up once (its source's binary loaded on first use). */
  kernel(name: KernelName): Kernel {
    let kernel = this.#kernels.get(name);
    if (!kernel) {
      const source = kernelSource(name);
      let module = this.#modules.get(source);
      if (!module) {
        module = loadSource(this.device, source).module;
        this.#modules.set(source, module);
      }
      kernel = module.getFunction(name);
      this.#kernels.set(name, kernel);
    }
    return kernel;
  }

  #launch<N extends KernelName>(
    name: N,
    grid: number | [number, number],
    block: number,
    values: StructValues<(typeof KERNEL_PARAMS)[N]>,
    stream?: Stream,
    rows?: RowPointers,
  ): void {
    const struct = KERNEL_PARAMS[name];
    let packer = this.#packers.get(name);
    if (!packer) {
      packer = structPacker(struct);
      this.#packers.set(name, packer);
    }
    writeStructArgs(struct, values, packer, this.#checkRegion, rows);
    const kernel = this.kernel(name);
    this.#launchOptions.grid = grid;
    this.#launchOptions.block = block;
    this.#launchOptions.stream = stream;
    this.#launchOptions.packer = packer;
    kernel.launchPacked(this.#launchOptions);
  }

  /**
   * A launch of rf_sample or rf_chain: the struct's per-row parameter arrays (ROW_PARAMETERS)
   * come from `rows` by name, the other fields from `values`.
   */
  #launchRows<N extends RowKernelName>(
    name: N,
    grid: number,
    block: number,
    rows: RowPointers,
    values: Omit<StructValues<(typeof KERNEL_PARAMS)[N]>, RowParameterName>,
    stream?: Stream,
  ): void {
    this.#launch(name, grid, block, values as StructValues<(typeof KERNEL_PARAMS)[N]>, stream, rows);
  }

  /** Throws when a region that names its device names another device than the kernels'. */
  readonly #checkRegion = (region: DeviceRegion): void => {
    const device = (region as { readonly device?: Device }).device;
    if (device !== undefined) this.device.assertSame({ device }, 'a buffer');
  };

  /**
   * Which blocks split rows take: `'wide'` (the 1024-thread kernel, at most one block per
   * multiprocessor), `'narrow'` (rf_sample_split_narrow: 256 threads, up to
   * NARROW_SPLIT_BLOCKS_PER_SM per multiprocessor, so more parts per row), or `'auto'`: narrow
   * for batches of at most SPLIT_NARROW_MAX_ROWS rows, where a row's latency chain of block-wide
   * stages is the time (H200, 1 × 151936: top-k+top-p 43.7 µs wide, 27.7 narrow;
   * docs/PERFORMANCE.md, version 10). Both give the same thresholds; the draws may differ at a
   * rounding boundary, as whole and split rows do. Starts from `ROCMFORGE_SPLIT_BLOCKS`
   * (`narrow`, `wide`; default auto) — a development switch for measuring the two
   * (docs/DEVELOPING.md); set it before the first `sample` of a batch shape.
   */
  splitBlocks: 'wide' | 'narrow' | 'auto' = splitBlocksFromEnvironment();

  /**
   * A development switch, off until measured (docs/PERFORMANCE.md, version 10, "Next"): whole
   * rows on narrow blocks, in batches that fit four blocks per multiprocessor at once, take
   * rf_sample_split_narrow — compiled for four resident blocks (64 registers, no spills) —
   * instead of rf_sample_narrow (six resident, 40 registers, spills), which only batches of more
   * rows than that can fill (512 × 151936: 3.9 rows per multiprocessor). Starts from
   * `ROCMFORGE_WHOLE_ROWS_FOUR_PER_SM=1`.
   */
  wholeRowsFourPerSm = process.env.ROCMFORGE_WHOLE_ROWS_FOUR_PER_SM === '1';

  /**
   * Whether the split rows of a batch take narrow blocks (`splitBlocks`). By the batch's size
   * alone, never by what its rows ask: a row's blocks decide how its sums round, and a request
   * with its own seed must get the same tokens whatever else is in a batch of the same size.
   */
  splitNarrow(batch: number): boolean {
    if (this.splitBlocks !== 'auto') return this.splitBlocks === 'narrow';
    return batch <= SPLIT_NARROW_MAX_ROWS;
  }

  /**
   * Blocks per row for a batch: enough to fill the multiprocessors when the batch is small,
   * never more than fit on the chip at once (the blocks of a row wait for each other), nor
   * fewer than MIN_PART_ELEMENTS elements each. 1 when the batch alone fills the chip (half of
   * it or more, for wide blocks), or when the row is small (≤ MIN_SPLIT_VOCAB). Narrow split
   * blocks (`splitBlocks`) split the same batches into more parts.
   */
  sampleParts(batch: number, vocab: number): number {
    if (vocab <= MIN_SPLIT_VOCAB) return 1;
    const sms = this.device.info.multiprocessors;
    const rows = Math.max(1, batch);
    const most = Math.min(MAX_ROW_PARTS, Math.ceil(vocab / MIN_PART_ELEMENTS));
    if (Math.min(Math.floor(sms / rows), most) < 2) return 1;
    const perSm = this.splitNarrow(rows) ? NARROW_SPLIT_BLOCKS_PER_SM : 1;
    return Math.min(Math.floor((sms * perSm) / rows), most);
  }

  /**
   * Whether `sample` uses 256-thread blocks: split rows when `splitNarrow` says so; rows not
   * split, when there are at least NARROW_MIN_ROWS_PER_SM rows per multiprocessor, or
   * when rows are small enough never to be split (≤ MIN_SPLIT_VOCAB) at any batch: a row of a
   * few thousand elements is latency, not bandwidth, and a wide block's 32 warps each issue
   * every stage's fixed instructions (H200, 1 × 4096: top-k+top-p 22 µs in the kernel with 256
   * threads against 33 with 1024; docs/PERFORMANCE.md, version 9). One kernel for such rows at
   * every batch also keeps a row's token independent of the batch it came in.
   */
  sampleNarrow(batch: number, parts = 1, vocab = Number.POSITIVE_INFINITY): boolean {
    if (parts !== 1) return this.splitNarrow(batch);
    return vocab <= MIN_SPLIT_VOCAB || batch >= NARROW_MIN_ROWS_PER_SM * this.device.info.multiprocessors;
  }

  /**
   * The rf_sample instantiation of a launch (before its element-type suffix): the wide kernel,
   * or of the 256-thread ones (`sampleNarrow`) rf_sample_split_narrow for split rows and, with
   * `wholeRowsFourPerSm`, for whole rows whose blocks all fit at four per multiprocessor.
   */
  #sampleKernel(
    batch: number,
    parts: number,
    vocab: number,
  ): 'rf_sample' | 'rf_sample_narrow' | 'rf_sample_split_narrow' {
    if (!this.sampleNarrow(batch, parts, vocab)) return 'rf_sample';
    const fourPerSm =
      this.wholeRowsFourPerSm && batch <= NARROW_SPLIT_BLOCKS_PER_SM * this.device.info.multiprocessors;
    return parts > 1 || fourPerSm ? 'rf_sample_split_narrow' : 'rf_sample_narrow';
  }

  /** Bytes of scratch `sample` needs to split the rows of this batch (0 when it does not split). */
  sampleScratchBytes(batch: number, vocab: number): number {
    return this.sampleParts(batch, vocab) > 1 ? batch * SPLIT_SCRATCH_BYTES : 0;
  }

  /**
   * One launch for the whole [batch, vocab] matrix: every sampling mode, per-row parameters.
   * Rows are split over several blocks when `scratch` is given and the batch is small.
   */
  sample(launch: SampleLaunch): void {
    const { batch, vocab, samples } = launch;
    const parts = launch.scratch ? this.sampleParts(batch, vocab) : 1;
    if (launch.scratch && parts > 1) need(launch.scratch, batch * SPLIT_SCRATCH_BYTES, 'scratch');
    const dtype = launch.dtype ?? 'float32';
    need(launch.input, (launch.inputOffset ?? 0) + batch * vocab * ELEMENT_BYTES[dtype], 'input');
    need(launch.tokens, batch * samples * 4, 'tokens');
    need(launch.valid, batch, 'valid');
    if (launch.rowStats) need(launch.rowStats, batch * ROW_STATS * 4, 'rowStats');
    const one = launch.oneRow;
    const given = launch.params;
    if ((one === undefined) === (given === undefined))
      throw new KernelArgumentError('rf_sample: exactly one of params and oneRow');
    if (one && batch !== 1)
      throw new KernelArgumentError(`rf_sample: oneRow with a batch of ${batch} rows (1 only)`);
    if (given) for (const name in given) need(given[name as keyof RowParameterBuffers], batch * 4, name);
    const p: RowPointers = given ?? NO_ROW_BUFFERS;
    const input = launch.inputOffset
      ? launch.input.address + BigInt(launch.inputOffset)
      : launch.input.address;
    const kernel = this.#sampleKernel(batch, parts, vocab);
    this.#launchRows(
      `${kernel}${ELEMENT_SUFFIX[dtype]}`,
      batch * parts,
      kernel === 'rf_sample' ? BLOCK_THREADS : NARROW_BLOCK_THREADS,
      p,
      {
        input,
        vocab,
        kind: launch.kind,
        // Named one by one: a spread inside a literal takes V8's slow path (~1 µs a launch).
        filterOrder: launch.filterOrder,
        samples,
        tokens: launch.tokens,
        valid: launch.valid,
        rowStats: launch.rowStats ?? 0n,
        parts,
        scratch: parts > 1 && launch.scratch ? launch.scratch : 0n,
        oneRow: one ? 1 : 0,
        oneTemperature: one ? one.temperature[0]! : 0,
        oneTopK: one ? one.topK[0]! : 0,
        oneTopP: one ? one.topP[0]! : 0,
        oneMinP: one ? one.minP[0]! : 0,
        oneSeedLo: one ? one.seedLo[0]! : 0,
        oneSeedHi: one ? one.seedHi[0]! : 0,
        oneStepLo: one ? one.stepLo[0]! : 0,
        oneStepHi: one ? one.stepHi[0]! : 0,
        oneStream: one ? one.stream[0]! : 0,
      },
      launch.stream,
    );
  }

  /**
   * One launch of the filter chain (kernels/methods.hip, rf_chain) for a [batch, vocab] matrix:
   * typical-p, top-n-sigma and XTC with every other filter, then the draws, the filtered
   * distribution of each row (`output`), or the target positions of a speculative verification.
   * One block per row: narrow blocks (rf_chain_narrow) for batches of several rows per
   * multiprocessor. (Rows of ≤ MIN_SPLIT_VOCAB at any batch, as `sample` takes them, wait for
   * a GPU run of the filter chain's tests: docs/PERFORMANCE.md, "Next steps".)
   */
  chain(launch: ChainLaunch): void {
    const { batch, vocab, samples } = launch;
    const dtype = launch.dtype ?? 'float32';
    const output = launch.output ?? 'none';
    const verify = launch.verify;
    need(launch.input, batch * vocab * ELEMENT_BYTES[dtype], 'input');
    need(launch.valid, batch, 'valid');
    if (launch.tokens) need(launch.tokens, batch * (verify ? 1 : samples) * 4, 'tokens');
    else if (samples > 0 || verify)
      throw new KernelArgumentError('rf_chain draws tokens: give a tokens buffer');
    if (output !== 'none') {
      if (!launch.values) throw new KernelArgumentError(`rf_chain writes ${output}: give a values buffer`);
      need(launch.values, batch * vocab * 4, 'values');
    }
    if (launch.rowStats) need(launch.rowStats, batch * ROW_STATS * 4, 'rowStats');
    const p = launch.params;
    for (const name of Object.keys(p)) need(p[name as keyof RowParameterBuffers], batch * 4, name);
    const f = launch.filters;
    for (const name of Object.keys(f)) need(f[name as ChainFilterName], batch * 4, name);
    if (verify) {
      if (!Number.isInteger(verify.draft) || verify.draft < 1) {
        throw new KernelArgumentError(`Expected a draft of at least 1 token but received ${verify.draft}`);
      }
      const verified = Math.ceil((verify.firstRow + batch) / (verify.draft + 1));
      need(verify.draftTokens, verified * verify.draft * 4, 'draftTokens');
      need(verify.draftProbs, verified * verify.draft * vocab * 4, 'draftProbs');
      need(verify.verdicts, batch, 'verdicts');
    }
    const narrow = this.sampleNarrow(batch);
    this.#launchRows(
      `${narrow ? 'rf_chain_narrow' : 'rf_chain'}${ELEMENT_SUFFIX[dtype]}`,
      batch,
      narrow ? NARROW_BLOCK_THREADS : BLOCK_THREADS,
      p,
      {
        input: launch.input,
        vocab,
        kind: launch.kind,
        filterOrder: launch.filterOrder,
        typicalP: f.typicalP,
        topNSigma: f.topNSigma,
        xtcProbability: f.xtcProbability,
        xtcThreshold: f.xtcThreshold,
        samples: verify ? 1 : samples,
        tokens: launch.tokens ?? 0n,
        valid: launch.valid,
        rowStats: launch.rowStats ?? 0n,
        output,
        values: launch.values ?? 0n,
        draft: verify?.draft ?? 0,
        firstRow: verify?.firstRow ?? 0,
        draftTokens: verify?.draftTokens ?? 0n,
        draftProbs: verify?.draftProbs ?? 0n,
        verdicts: verify?.verdicts ?? 0n,
      },
      launch.stream,
    );
  }

  /** probs = softmax(logits / T) per row (T per row, f32 [batch]). */
  softmax(a: {
    logits: DeviceRegion;
    probs: DeviceRegion;
    batch: number;
    vocab: number;
    temperature: DeviceRegion;
    stream?: Stream;
  }): void {
    need(a.logits, a.batch * a.vocab * 4, 'logits');
    need(a.probs, a.batch * a.vocab * 4, 'probs');
    need(a.temperature, a.batch * 4, 'temperature');
    const { logits, probs, vocab, temperature } = a;
    this.#launch('rf_softmax', a.batch, BLOCK_THREADS, { logits, probs, vocab, temperature }, a.stream);
  }

  /** Inclusive prefix sum of each row. */
  prefixSum(a: {
    input: DeviceRegion;
    output: DeviceRegion;
    batch: number;
    vocab: number;
    stream?: Stream;
  }): void {
    need(a.input, a.batch * a.vocab * 4, 'input');
    need(a.output, a.batch * a.vocab * 4, 'output');
    const { input, output, vocab } = a;
    this.#launch('rf_prefix_sum', a.batch, BLOCK_THREADS, { input, output, vocab }, a.stream);
  }

  /** Raw Philox words (u32 [batch, count, 4]) for draws draw0 … of each row's (seed, step, stream). */
  philox(a: {
    out: DeviceRegion;
    params: RowParameterBuffers;
    batch: number;
    draw0: number;
    count: number;
    stream?: Stream;
  }): void {
    need(a.out, a.batch * a.count * 16, 'out');
    this.#launch(
      'rf_philox',
      perRowGrid(a.count, a.batch),
      PER_ROW_THREADS,
      { out: a.out, ...randomKey(a.params), draw0: a.draw0, count: a.count },
      a.stream,
    );
  }

  /** The 53-bit uniforms (f64 [batch, count]) the sampler draws. */
  uniform(a: {
    out: DeviceRegion;
    params: RowParameterBuffers;
    batch: number;
    count: number;
    stream?: Stream;
  }): void {
    need(a.out, a.batch * a.count * 8, 'out');
    this.#launch(
      'rf_uniform',
      perRowGrid(a.count, a.batch),
      PER_ROW_THREADS,
      { out: a.out, ...randomKey(a.params), count: a.count },
      a.stream,
    );
  }

  /**
   * Logit bias and penalties, in place, for the rows of `table` (kernels/sampling.hip,
   * rf_adjust_logits): copies the table into `buffer` on `stream`, then launches.
   */
  adjustLogits(a: {
    /** f32 [table.rows, vocab], adjusted in place. */
    logits: DeviceRegion;
    /** Elements per row. */
    vocab: number;
    /** The rows' entries and penalties. */
    table: AdjustmentTable;
    /** Device memory of at least `table.bytes.byteLength` bytes that the table is copied to. */
    buffer: DeviceBuffer;
    /** The stream to copy and launch on (default: the device's default stream). */
    stream?: Stream;
  }): void {
    const { table, vocab } = a;
    need(a.logits, table.rows * vocab * 4, 'logits');
    need(a.buffer, table.bytes.byteLength, 'buffer');
    a.buffer.writeAsync(table.bytes, a.stream);
    this.#launch(
      'rf_adjust_logits',
      table.rows,
      ADJUST_THREADS,
      { logits: a.logits, vocab, ...table.regions(a.buffer) },
      a.stream,
    );
  }

  /** Float32 copies of half-precision rows (exact), for the paths that adjust logits in place. */
  widen(a: {
    /** [batch, vocab] of `dtype`. */
    input: DeviceRegion;
    /** Byte offset of the first row in `input` (default 0). */
    inputOffset?: number;
    dtype: Exclude<ElementTypeName, 'float32'>;
    /** f32 [batch, vocab] out. */
    output: DeviceRegion;
    batch: number;
    vocab: number;
    stream?: Stream;
  }): void {
    const offset = a.inputOffset ?? 0;
    need(a.input, offset + a.batch * a.vocab * ELEMENT_BYTES[a.dtype], 'input');
    need(a.output, a.batch * a.vocab * 4, 'output');
    this.#launch(
      `rf_widen${ELEMENT_SUFFIX[a.dtype]}`,
      a.batch,
      WIDEN_THREADS,
      { input: a.input.address + BigInt(offset), output: a.output, vocab: a.vocab },
      a.stream,
    );
  }

  /** Log-probability of each sampled token: raw (of `values` = the inputs) or processed (`values` = adjusted logits). */
  tokenLogprobs(a: {
    values: DeviceRegion;
    /** The element type of `values` (default 'float32'). */
    dtype?: ElementTypeName;
    batch: number;
    vocab: number;
    kind: InputKindName;
    tokens: DeviceRegion;
    samples: number;
    rowStats: DeviceRegion;
    mode: LogprobsModeName;
    out: DeviceRegion;
    stream?: Stream;
  }): void {
    need(a.out, a.batch * a.samples * 4, 'out');
    this.#launch(
      `rf_token_logprobs${ELEMENT_SUFFIX[a.dtype ?? 'float32']}`,
      a.batch,
      BLOCK_THREADS,
      {
        values: a.values,
        vocab: a.vocab,
        kind: a.kind,
        tokens: a.tokens,
        samples: a.samples,
        rowStats: a.rowStats,
        mode: a.mode,
        out: a.out,
      },
      a.stream,
    );
  }

  /** The n most probable tokens per row with their raw or processed log-probabilities. */
  topLogprobs(a: {
    values: DeviceRegion;
    /** The element type of `values` (default 'float32'). */
    dtype?: ElementTypeName;
    batch: number;
    vocab: number;
    kind: InputKindName;
    n: number;
    rowStats: DeviceRegion;
    /** The sampled tokens (i32 [batch, samples]); the first of a T = 0 row is its argmax. */
    tokens: DeviceRegion;
    samples: number;
    mode: LogprobsModeName;
    outTokens: DeviceRegion;
    outLogprobs: DeviceRegion;
    valid: DeviceRegion;
    stream?: Stream;
  }): void {
    if (!Number.isInteger(a.n) || a.n < 1 || a.n > MAX_TOP_LOGPROBS) {
      throw new KernelArgumentError(
        `Expected an n in [1, ${MAX_TOP_LOGPROBS}] for top log-probabilities but received ${a.n}`,
      );
    }
    need(a.outTokens, a.batch * a.n * 4, 'outTokens');
    need(a.outLogprobs, a.batch * a.n * 4, 'outLogprobs');
    this.#launch(
      `rf_top_logprobs${ELEMENT_SUFFIX[a.dtype ?? 'float32']}`,
      a.batch,
      BLOCK_THREADS,
      {
        values: a.values,
        vocab: a.vocab,
        kind: a.kind,
        n: a.n,
        rowStats: a.rowStats,
        tokens: a.tokens,
        samples: a.samples,
        mode: a.mode,
        outTokens: a.outTokens,
        outLogprobs: a.outLogprobs,
        valid: a.valid,
      },
      a.stream,
    );
  }
}

/**
 * The binary of kernels/`source`.hip for `device`: prebuilt when the package has one for its
 * architecture (and `ROCMFORGE_KERNELS_JIT` is not set), else compiled at run time.
 */
function loadSource(
  device: Device,
  source: KernelSourceName,
): { module: Module; origin: 'prebuilt' | 'jit'; target: string } {
  const { backend, architecture } = device.info;
  const prebuilt = jitForced() ? undefined : prebuiltFor(readManifest(), backend, architecture, source);
  if (prebuilt) {
    return {
      module: device.loadModule(readFileSync(prebuilt.path)),
      origin: 'prebuilt',
      target: prebuilt.target,
    };
  }
  let image: Uint8Array;
  try {
    image = compileForDevice(device, source);
  } catch (cause) {
    throw new KernelsUnavailableError(
      `no prebuilt kernels/${source}.hip for ${backend} ${architecture} and run-time compilation failed: ${(cause as Error).message}`,
      { cause },
    );
  }
  return { module: device.loadModule(image), origin: 'jit', target: architecture };
}

/** The seed, step and stream arrays of the per-row parameters (the random generator's key and counter). */
function randomKey(p: RowParameterBuffers) {
  return { seedLo: p.seedLo, seedHi: p.seedHi, stepLo: p.stepLo, stepHi: p.stepHi, stream: p.stream };
}

function splitBlocksFromEnvironment(): 'wide' | 'narrow' | 'auto' {
  const value = process.env.ROCMFORGE_SPLIT_BLOCKS;
  return value === 'narrow' || value === 'wide' ? value : 'auto';
}

/** The per-row parameter pointers of a launch: device arrays, or null (0n). */
type RowPointers = Readonly<Record<RowParameterName, DeviceRegion | bigint>>;

/** The per-row pointers of a launch that carries its one row's parameters by value: null. */
const NO_ROW_BUFFERS = Object.fromEntries(ROW_PARAMETERS.map((name) => [name, 0n])) as RowPointers;
