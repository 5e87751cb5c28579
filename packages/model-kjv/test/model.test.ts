import { readFileSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { modelInfo, modelPath, referenceLogits } from '../src/index.js';

describe('@rocmforge/model-kjv', () => {
  it('ships a GGUF v3 file of at most 25 MB', () => {
    const bytes = readFileSync(modelPath);
    expect(bytes.toString('latin1', 0, 4)).toBe('GGUF');
    expect(bytes.readUInt32LE(4)).toBe(3);
    // 9 tensors per layer (6 layers), the embedding (shared with the output) and the final norm.
    expect(Number(bytes.readBigUInt64LE(8))).toBe(6 * 9 + 2);
    expect(statSync(modelPath).size).toBeLessThanOrEqual(25 * 1024 * 1024);
  });

  it('describes itself from its training record', () => {
    const info = modelInfo();
    expect(info.vocabulary).toBe(4096);
    expect(info.context).toBe(512);
    expect(info.parameters).toBeGreaterThan(5e6);
    expect(info.heldOutLoss).toBeGreaterThan(0);
  });

  it('carries PyTorch reference logits for the export check', () => {
    const prompts = referenceLogits();
    expect(prompts.length).toBeGreaterThanOrEqual(3);
    for (const p of prompts) {
      expect(p.ids[0]).toBe(0);
      expect(p.lastLogits).toHaveLength(4096);
      expect(p.lastLogits.every(Number.isFinite)).toBe(true);
      expect(p.greedy.length).toBeGreaterThan(0);
    }
  });
});
