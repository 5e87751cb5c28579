import { probe } from '@rocmforge/hip-runtime';
import { modelPath } from '@rocmforge/model-kjv';
import { afterEach, expect, it, vi } from 'vitest';
import { gpuSuite } from '../../../tooling/gpu-test.js';
import { generate } from '../src/commands/generate.js';
import { run } from '../src/program.js';

// `generate` with the GPU sampler, on the bundled model: the same checks as the CPU suite, and
// the same tokens as the CPU sampler for the same seed.
gpuSuite(probe)('rocmforge generate with the GPU sampler', () => {
  const options = {
    model: modelPath,
    prompt: 'And God said',
    maxTokens: 50,
    temperature: 0.8,
    topK: 40,
    topP: 0.95,
    minP: 0,
    repetitionPenalty: 1.1,
  };
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('50 seeded tokens: from the vocabulary, the same twice, different for another seed, same as the CPU', async () => {
    const a = await generate({ ...options, seed: 7n, backend: 'gpu' });
    const b = await generate({ ...options, seed: 7n, backend: 'gpu' });
    const c = await generate({ ...options, seed: 8n, backend: 'gpu' });
    const cpu = await generate({ ...options, seed: 7n, backend: 'cpu' });
    expect(a.backend).toBe('gpu');
    expect(a.tokens.length).toBeGreaterThan(5);
    for (const t of a.tokens) expect(Number.isInteger(t) && t > 0 && t < 4096).toBe(true);
    expect(a.text).toMatch(/\b(the|and|of|unto|LORD|God)\b/);
    expect(b.tokens).toEqual(a.tokens);
    expect(c.text).not.toBe(a.text);
    expect(cpu.backend).toBe('cpu');
    expect(cpu.tokens).toEqual(a.tokens);
  });

  it('--gpu-sampler and --compare-backends', async () => {
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => {
      lines.push(line);
    });
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const args = [
      'generate',
      '--prompt',
      'And the LORD said unto Moses,',
      '--max-tokens',
      '50',
      '--seed',
      '3',
    ];
    expect(await run([...args, '--gpu-sampler', '--stats'])).toBe(0);
    expect(await run([...args, '--compare-backends', '--stats'])).toBe(0);
    write.mockRestore();
    const out = lines.join('');
    console.info(out);
    expect(out).toMatch(/sampler [\d.]+ ms \(gpu\)/);
    expect(out).toMatch(/sampler per token \(median\): cpu [\d.]+ ms, gpu [\d.]+ ms/);
    expect(out).toMatch(/same text on both backends: yes/);
  });
});
