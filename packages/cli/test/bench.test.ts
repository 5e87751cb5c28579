import type { BenchResult } from '@rocmforge/sampler';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type BenchReport, printBench } from '../src/commands/bench.js';

const gpu = {
  kernelMicroseconds: 50,
  gigabytesPerSecond: 400,
  hostOverheadMicroseconds: 30,
  endToEndMicroseconds: 200,
};
const cpu = { microseconds: 8000, microsecondsPerRow: 250, measuredRows: 4, repetitions: 40 };
const cell = {
  batch: 32,
  vocab: 32_000,
  mode: 'top-p',
  sigma: 3,
  dtype: 'float32' as const,
  bytes: 32 * 32_000 * 4,
};

function printed(results: BenchResult[], machine: Partial<BenchReport> = {}): string {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => {
    lines.push(line);
  });
  printBench({ date: '', node: '', platform: '', results, ...machine });
  return lines.join('\n');
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('printBench', () => {
  it('GPU and CPU: every column, with its unit, and the speed-up', () => {
    const out = printed([{ ...cell, gpu, cpu }], { device: 'NVIDIA H100 (sm_90)' });
    expect(out.split('\n')[0]).toBe('GPU: NVIDIA H100 (sm_90)');
    expect(out).toMatch(
      /GPU kernel µs\/call │ GB\/s │ host µs\/call │ end-to-end µs\/call │ CPU µs\/call │ CPU µs\/row │ speed-up/,
    );
    expect(out).toMatch(/│ 50\.0 +│ 400 +│ 30\.0 +│ 200 +│ 8000 +│ 250\.0 +│ 160\.0× +│/);
    expect(out).toMatch(/GPU kernel: device time/);
    expect(out).toMatch(
      /CPU: CPU time after warm-up, median of the fastest of three rounds; measured on up to 4 rows/,
    );
  });

  it('the CPU alone: no GPU column, and the one-line reason', () => {
    const out = printed([{ ...cell, cpu }], { gpuError: 'no GPU: no driver found; see rocmforge devices' });
    expect(out.split('\n')[0]).toBe('no GPU: no driver found; see rocmforge devices');
    expect(out).not.toMatch(/GPU kernel|GB\/s|host µs|end-to-end|speed-up|–/);
  });

  it('the GPU alone: no CPU column', () => {
    const out = printed([{ ...cell, gpu }], { device: 'NVIDIA H100 (sm_90)' });
    expect(out).toMatch(/GPU kernel µs\/call/);
    expect(out).not.toMatch(/CPU µs|speed-up|CPU: CPU time|–/);
  });

  it('names the element type of each cell', () => {
    const out = printed([
      { ...cell, cpu },
      { ...cell, dtype: 'bfloat16', bytes: cell.bytes / 2, cpu },
    ]);
    expect(out).toMatch(/batch × vocab │ mode +│ dtype +│ σ/);
    expect(out).toMatch(/32 × 32000 +│ top-p +│ float32 +│ 3/);
    expect(out).toMatch(/32 × 32000 +│ top-p +│ bfloat16 +│ 3/);
  });
});
