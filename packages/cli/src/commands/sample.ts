import { createSampler, type SampleRequest } from '@rocmforge/sampler';
import { readLogitsFile } from '../input-file.js';
import { table as newTable } from '../table.js';

/** `rocmforge sample` options, as parsed from the command line. */
export interface SampleOptions {
  /** The logits file: `.npy`, `.safetensors` or raw float32. */
  file: string;
  /** Tensor name in a `.safetensors` file holding several. */
  tensor?: string;
  /** [batch, vocab] of a raw float32 file. */
  shape?: [number, number];
  /** The file holds probabilities, not logits. */
  probs?: boolean;
  /** Sampler backend: `auto`, `cpu` or `gpu`. */
  backend: 'auto' | 'cpu' | 'gpu';
  /** Temperature (0 = greedy). */
  temperature?: number;
  /** Top-k (0 = off). */
  topK?: number;
  /** Top-p (1 = off). */
  topP?: number;
  /** Min-p (0 = off). */
  minP?: number;
  /** How top-k and top-p combine (see `SampleRequest.filterOrder`). */
  filterOrder?: 'topKFirst' | 'joint';
  /** Random seed (64-bit). */
  seed?: bigint;
  /** Decode step (64-bit): part of each draw's random counter. */
  step?: bigint;
  /** Draws per row. */
  samples?: number;
  /** Also report the sampled token's log-probability and the top n. */
  logprobs?: number;
}

/** What `rocmforge sample --json` prints: tokens (and log-probabilities) per row. */
export interface SampleReport {
  /** The file sampled. */
  file: string;
  /** Its [batch, vocab]. */
  shape: [number, number];
  /** The backend that sampled it. */
  backend: string;
  /** Why `auto` used the CPU, when it did. */
  fallbackReason?: string;
  /** One entry per row. */
  rows: Array<{
    /** Row index. */
    row: number;
    /** Whether the row had a valid distribution (else its tokens are -1). */
    valid: boolean;
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
  });
  const sampler = createSampler({ backend: options.backend, logger: null });
  try {
    const request: SampleRequest = {
      [options.probs ? 'probs' : 'logits']: matrix.data,
      shape: matrix.shape,
      ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
      ...(options.topK !== undefined ? { topK: options.topK } : {}),
      ...(options.topP !== undefined ? { topP: options.topP } : {}),
      ...(options.minP !== undefined ? { minP: options.minP } : {}),
      ...(options.filterOrder ? { filterOrder: options.filterOrder } : {}),
      ...(options.seed !== undefined ? { seed: options.seed } : {}),
      ...(options.step !== undefined ? { step: options.step } : {}),
      ...(options.samples !== undefined ? { samples: options.samples } : {}),
      ...(options.logprobs !== undefined ? { logprobs: options.logprobs } : {}),
    };
    const result = sampler.sample(request);
    const rows: SampleReport['rows'] = [];
    for (let r = 0; r < result.batch; r++) {
      const tokens = [...result.tokens.subarray(r * result.samples, (r + 1) * result.samples)];
      const row: SampleReport['rows'][number] = { row: r, valid: result.valid[r] === 1, tokens };
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
      ...(sampler.fallbackReason ? { fallbackReason: sampler.fallbackReason } : {}),
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
    const line: string[] = [String(r.row), r.valid ? r.tokens.join(' ') : 'nothing to sample'];
    if (withLogprobs) line.push(r.logprobs?.map((v) => v.toFixed(4)).join(' ') ?? '');
    if (withTop) line.push(r.top?.map((t) => `${t.token}:${t.logprob.toFixed(3)}`).join(' ') ?? '');
    table.push(line);
  }
  console.log(
    `${report.file} [${report.shape.join(' × ')}] on ${report.backend}${report.fallbackReason ? ` (${report.fallbackReason})` : ''}`,
  );
  console.log(table.toString());
}
