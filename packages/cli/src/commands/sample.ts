import { createSampler, RowStatus, type SampleRequest } from '@rocmforge/sampler';
import { type Command, Option } from 'commander';
import { shape } from '../arguments.js';
import { type FileDtype, readLogitsFile } from '../input-file.js';
import {
  addBackendFlags,
  addSamplingFlags,
  type BackendFlags,
  backendOf,
  type SamplingParameters,
  samplingRequest,
} from '../sampling-flags.js';
import { table as newTable } from '../table.js';
import { noGpuLine } from './devices.js';

/** `rocmforge sample` options: the file, how to read it, the backend, and the request's parameters. */
export interface SampleOptions extends Omit<SamplingParameters, 'repetitionPenalty'> {
  /** The logits file: `.npy`, `.safetensors` or raw values (float32, float16 or bfloat16). */
  file: string;
  /** Tensor name in a `.safetensors` file holding several. */
  tensor?: string;
  /** [batch, vocab] of a raw file. */
  shape?: [number, number];
  /** Element type of a raw file (default float32); .npy and .safetensors files name their own. */
  dtype?: FileDtype;
  /** The file holds probabilities, not logits. */
  probs?: boolean;
  /** Sampler backend: `auto`, `cpu` or `gpu`. */
  backend: 'auto' | 'cpu' | 'gpu';
}

/** What `rocmforge sample --json` prints: tokens (and log-probabilities) per row. */
export interface SampleReport {
  /** The file sampled. */
  file: string;
  /** Its [batch, vocab]. */
  shape: [number, number];
  /** The backend that sampled it. */
  backend: string;
  /** Why `auto` used the CPU, when it did, in one line (`rocmforge devices` tells the whole story). */
  fallbackReason?: string;
  /** One entry per row. */
  rows: Array<{
    /** Row index. */
    row: number;
    /** Whether the row was sampled (else its tokens are -1 and `status` says why). */
    valid: boolean;
    /** What happened to the row: `sampled`, `nothing to sample` (all -Infinity / all zero), `invalid values` (NaN logits; negative, NaN or infinite probabilities), `blocks did not meet` (GPU; sample again). */
    status: string;
    /** The drawn token ids. */
    tokens: number[];
    /** Log-probability of each drawn token. */
    logprobs?: number[];
    /** The n most likely tokens with their log-probabilities. */
    top?: Array<{
      /** Token id. */
      token: number;
      /** Its log-probability. */
      logprob: number;
    }>;
  }>;
}

/** Reads the file, samples it, and reports tokens (and log-probabilities) per row. */
export function sampleFile(options: SampleOptions): SampleReport {
  const matrix = readLogitsFile(options.file, {
    ...(options.tensor ? { tensor: options.tensor } : {}),
    ...(options.shape ? { shape: options.shape } : {}),
    ...(options.dtype ? { dtype: options.dtype } : {}),
  });
  const sampler = createSampler({ backend: options.backend, logger: null });
  try {
    const request: SampleRequest = {
      ...(options.probs ? { probs: matrix.data } : { logits: matrix.data }),
      dtype: matrix.dtype,
      shape: matrix.shape,
      ...samplingRequest(options),
    };
    const result = sampler.sample(request);
    const rows: SampleReport['rows'] = [];
    for (let r = 0; r < result.batch; r++) {
      const tokens = [...result.tokens.subarray(r * result.samples, (r + 1) * result.samples)];
      const row: SampleReport['rows'][number] = {
        row: r,
        valid: result.valid[r] === 1,
        status: statusText(result.status[r] ?? RowStatus.nothingToSample),
        tokens,
      };
      if (result.logprobs)
        row.logprobs = [...result.logprobs.subarray(r * result.samples, (r + 1) * result.samples)];
      if (result.topLogprobs) {
        const n = result.topLogprobs.n;
        row.top = Array.from({ length: n }, (_, j) => ({
          token: result.topLogprobs!.tokens[r * n + j]!,
          logprob: result.topLogprobs!.logprobs[r * n + j]!,
        }));
      }
      rows.push(row);
    }
    return {
      file: options.file,
      shape: matrix.shape,
      backend: sampler.backend,
      ...(sampler.fallbackReason ? { fallbackReason: noGpuLine(sampler.fallbackReason) } : {}),
      rows,
    };
  } finally {
    sampler.dispose();
  }
}

/** Prints a sample report as a table. */
export function printSample(report: SampleReport): void {
  const head = ['row', 'tokens'];
  const withLogprobs = report.rows.some((r) => r.logprobs);
  const withTop = report.rows.some((r) => r.top);
  if (withLogprobs) head.push('logprobs');
  if (withTop) head.push('top');
  const table = newTable(head);
  for (const r of report.rows) {
    const line: string[] = [String(r.row), r.valid ? r.tokens.join(' ') : r.status];
    if (withLogprobs) line.push(r.logprobs?.map((v) => v.toFixed(4)).join(' ') ?? '');
    if (withTop) line.push(r.top?.map((t) => `${t.token}:${t.logprob.toFixed(3)}`).join(' ') ?? '');
    table.push(line);
  }
  console.log(
    `${report.file} [${report.shape.join(' × ')}] on ${report.backend}${report.fallbackReason ? ` (${report.fallbackReason})` : ''}`,
  );
  console.log(table.toString());
}

/** What `rocmforge sample` parses from its command line. */
type SampleFlags = Omit<SampleOptions, 'file' | 'backend'> & BackendFlags & { json?: true };

/** Adds `rocmforge sample`. */
export function registerSample(program: Command): void {
  const command = program
    .command('sample')
    .description(
      'sample tokens from logits (or probabilities) in a .npy, .safetensors or raw file (float32, float16 or bfloat16)',
    )
    .argument('<file>', 'the logits file')
    .option('--tensor <name>', 'tensor name in a .safetensors file')
    .option('--shape <B,V>', 'shape of a raw file', shape)
    .addOption(
      new Option('--dtype <type>', 'element type of a raw file (default float32)').choices([
        'float32',
        'float16',
        'bfloat16',
      ]),
    )
    .option('--probs', 'the file holds probabilities, not logits');
  addBackendFlags(command);
  addSamplingFlags(command, [
    'temperature',
    'topK',
    'topP',
    'minP',
    'filterOrder',
    'typicalP',
    'topNSigma',
    'xtcProbability',
    'xtcThreshold',
    'seed',
    'step',
    'samples',
    'logprobs',
  ]);
  command
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  rocmforge sample logits.npy --top-k 50 --top-p 0.9 --seed 1\n  rocmforge sample batch.safetensors --tensor logits --temperature 0.7 --json\n  rocmforge sample logits.bin --shape 4,32000 --gpu-sampler --logprobs 5',
    )
    .action((file: string, flags: SampleFlags) => {
      const report = sampleFile({ ...flags, file, backend: backendOf(flags) });
      if (flags.json)
        console.log(JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
      else printSample(report);
    });
}

/** A row's status in words, as `sample` prints it. */
function statusText(code: number): string {
  switch (code) {
    case RowStatus.sampled:
      return 'sampled';
    case RowStatus.invalidValues:
      return 'invalid values';
    case RowStatus.blocksDidNotMeet:
      return 'blocks did not meet';
    default:
      return 'nothing to sample';
  }
}
