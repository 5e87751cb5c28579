import { describe, expect, it } from 'vitest';
import { BENCH_MODES, defaultBenchGrid, runBenchmark, syntheticLogits } from '../src/benchmark.js';

describe('defaultBenchGrid', () => {
  it('the quick grid: two shapes at vocab 32000, every mode, per σ', () => {
    const cases = defaultBenchGrid({ quick: true, sigmas: [3, 1] });
    const modes = Object.keys(BENCH_MODES);
    expect(cases).toHaveLength(2 * 2 * modes.length);
    expect(new Set(cases.map((c) => `${c.batch}×${c.vocab}`))).toEqual(new Set(['1×32000', '8×32000']));
    expect(defaultBenchGrid({ quick: true, modes: ['top-p'] }).map((c) => c.mode)).toEqual([
      'top-p',
      'top-p',
    ]);
    expect(new Set(cases.map((c) => c.dtype))).toEqual(new Set(['float32']));
  });

  it('with shapes: those shapes instead of the grid, in the order given', () => {
    const cases = defaultBenchGrid({
      shapes: [
        [32, 151_936],
        [3, 7],
      ],
      modes: ['top-p'],
      sigmas: [3, 1],
    });
    expect(cases.map((c) => `${c.batch}×${c.vocab} σ${c.sigma}`)).toEqual([
      '32×151936 σ3',
      '3×7 σ3',
      '32×151936 σ1',
      '3×7 σ1',
    ]);
  });

  it('with dtypes: each mode in each element type, side by side', () => {
    const cases = defaultBenchGrid({
      quick: true,
      modes: ['plain', 'top-p'],
      dtypes: ['float32', 'bfloat16'],
    });
    expect(cases.slice(0, 4).map((c) => `${c.batch} ${c.mode} ${c.dtype}`)).toEqual([
      '1 plain float32',
      '1 plain bfloat16',
      '1 top-p float32',
      '1 top-p bfloat16',
    ]);
  });
});

describe('syntheticLogits', () => {
  it('is N(0, σ²) from a fixed seed: the same twice, another for another seed', () => {
    const a = syntheticLogits(20_000, 3, 7);
    expect(syntheticLogits(20_000, 3, 7)).toEqual(a);
    expect(syntheticLogits(20_000, 3, 8)).not.toEqual(a);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const sd = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(sd).toBeGreaterThan(2.9);
    expect(sd).toBeLessThan(3.1);
  });
});

describe('runBenchmark on the CPU', () => {
  it('reports time per call and per row, measured on cpuRows rows and scaled to the batch', () => {
    const { results, device } = runBenchmark({
      cases: [{ batch: 6, vocab: 500, mode: 'top-k+top-p', sigma: 3, dtype: 'float32' }],
      gpu: false,
      cpuRows: 2,
      repetitions: 3,
      cpuMilliseconds: 5,
    });
    expect(device).toBeUndefined();
    const [result] = results;
    expect(result!.gpu).toBeUndefined();
    expect(result!.bytes).toBe(6 * 500 * 4);
    const cpu = result!.cpu!;
    expect(cpu.measuredRows).toBe(2);
    expect(cpu.microseconds).toBeGreaterThan(0);
    expect(cpu.microsecondsPerRow * 6).toBeCloseTo(cpu.microseconds, 6);
    expect(cpu.repetitions).toBeGreaterThanOrEqual(3);
  });

  it('repeats short calls until they fill the time given, past the repetitions asked for', () => {
    const { results } = runBenchmark({
      cases: [{ batch: 1, vocab: 64, mode: 'plain', sigma: 3, dtype: 'float32' }],
      gpu: false,
      repetitions: 3,
      cpuMilliseconds: 40,
    });
    // A 64-element row takes microseconds: 40 ms holds far more than 3 calls.
    expect(results[0]!.cpu!.repetitions).toBeGreaterThan(50);
  });

  it('times at least the repetitions asked for, however long they take', () => {
    const { results } = runBenchmark({
      cases: [{ batch: 1, vocab: 64, mode: 'plain', sigma: 3, dtype: 'float32' }],
      gpu: false,
      repetitions: 7,
      cpuMilliseconds: 0,
    });
    // Spread over rounds of equal counts: 7 or a little more.
    expect(results[0]!.cpu!.repetitions).toBeGreaterThanOrEqual(7);
    expect(results[0]!.cpu!.repetitions).toBeLessThan(7 + 3);
  });

  it('measures half-precision cells at 2 bytes per element, from the same logits rounded', () => {
    const { results } = runBenchmark({
      cases: (['float32', 'float16', 'bfloat16'] as const).map((dtype) => ({
        batch: 2,
        vocab: 300,
        mode: 'top-k',
        sigma: 3,
        dtype,
      })),
      gpu: false,
      repetitions: 3,
      cpuMilliseconds: 3,
    });
    expect(results.map((r) => [r.dtype, r.bytes])).toEqual([
      ['float32', 2400],
      ['float16', 1200],
      ['bfloat16', 1200],
    ]);
    for (const r of results) expect(r.cpu!.microseconds).toBeGreaterThan(0);
  });
});
