import type { BenchResult } from '@rocmforge/sampler';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { benchChart } from '../src/chart.js';

// The committed H100 grid's shape: 3 vocabularies × 5 modes × 2 backends = 30 series.
const results: BenchResult[] = [];
for (const vocab of [151_936, 32_000, 50_257])
  for (const mode of ['plain', 'top-k', 'top-p', 'min-p', 'top-k+top-p'])
    for (const batch of [1, 32, 512])
      results.push({
        batch,
        vocab,
        mode,
        sigma: 3,
        dtype: 'float32',
        bytes: batch * vocab * 4,
        gpu: {
          kernelMicroseconds: 20 + batch,
          gigabytesPerSecond: 1,
          hostOverheadMicroseconds: 1,
          endToEndMicroseconds: 1,
        },
        cpu: { microseconds: 300 * batch, microsecondsPerRow: 300, measuredRows: 8, repetitions: 5 },
      });

type Node = Record<string, unknown>;
const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' });

describe('benchChart', () => {
  const svg = benchChart(results, 'rocmforge bench — test');
  const root = parser.parse(svg).svg as Node;
  const width = Number(root.width);
  const height = Number(root.height);
  const texts = (root.text as Node[]).map((t): Node & { label: string } => ({
    ...t,
    label: String(t['#text']),
  }));

  it('is well-formed SVG', () => {
    expect(XMLValidator.validate(svg)).toBe(true);
  });

  it('fits every legend entry inside the picture (7.5 px per character at most)', () => {
    const legend = texts.filter((t) => /^(GPU|CPU) /.test(t.label));
    expect(legend).toHaveLength(30);
    for (const t of legend) {
      expect(Number(t.x) + 7.5 * t.label.length).toBeLessThanOrEqual(width);
      expect(Number(t.y)).toBeLessThanOrEqual(height);
    }
  });

  it('titles both axes with their units', () => {
    expect(texts.map((t) => t.label)).toContain('batch size (rows per call)');
    const y = texts.find((t) => t.label === 'time per call (µs, median)');
    expect(String(y?.transform)).toMatch(/^rotate\(-90 /);
  });

  it('says so when there is nothing to draw', () => {
    expect(benchChart([], 'empty')).toMatch(/no results/);
  });

  it('names the element type in the legend when the results hold several', () => {
    const mixed = results.slice(0, 3).flatMap((r) => [r, { ...r, dtype: 'bfloat16' as const }]);
    const names = benchChart(mixed, 't').match(/GPU plain \S+ \(V=151936/g) ?? [];
    expect(new Set(names)).toEqual(new Set(['GPU plain float32 (V=151936', 'GPU plain bfloat16 (V=151936']));
    expect(svg).toMatch(/GPU plain \(V=151936/);
  });
});
