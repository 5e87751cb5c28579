import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Absolute path of the model file (GGUF version 3, llama architecture, float16 matrices). */
export const modelPath: string = fileURLToPath(new URL('../kjv.gguf', import.meta.url));

/** What the model is; the figures come from its training record (`training.json`). */
export interface ModelInfo {
  /** `general.name` in the GGUF file. */
  name: string;
  /** Trainable parameters (the input and output embeddings are one shared matrix). */
  parameters: number;
  /** Byte-level BPE vocabulary, `<|endoftext|>` (id 0) included. */
  vocabulary: number;
  /** Tokens of context the model was trained on. */
  context: number;
  /** Mean cross-entropy per token (nats) on the held-out chapters, at the kept checkpoint. */
  heldOutLoss: number;
  /** Where the text comes from. */
  corpus: string;
}

interface TrainingRecord {
  settings: { vocab: number; context: number };
  parameters: number;
  bestHeldOutLoss: number;
}

/** The model's facts, read from its training record. */
export function modelInfo(): ModelInfo {
  const record = JSON.parse(
    readFileSync(new URL('../training.json', import.meta.url), 'utf8'),
  ) as TrainingRecord;
  return {
    name: 'rocmforge KJV',
    parameters: record.parameters,
    vocabulary: record.settings.vocab,
    context: record.settings.context,
    heldOutLoss: record.bestHeldOutLoss,
    corpus: "King James Bible (1611, public domain), from Debian's bible-kjv-text",
  };
}

/** One prompt of the export check: PyTorch's token ids, last-position logits and greedy tokens. */
export interface ReferencePrompt {
  /** The prompt's text. */
  prompt: string;
  /** `<|endoftext|>` (0), then the prompt's tokens. */
  ids: number[];
  /** PyTorch's logits after the last id, computed from exactly the float16 weights in the file. */
  lastLogits: number[];
  /** PyTorch's greedy continuation: 24 token ids. */
  greedy: number[];
  /** The text of those 24 tokens. */
  greedyText: string;
}

/** The reference the GGUF export is checked against (see tooling/model/). */
export function referenceLogits(): ReferencePrompt[] {
  const json = JSON.parse(readFileSync(new URL('../reference.json', import.meta.url), 'utf8')) as {
    prompts: ReferencePrompt[];
  };
  return json.prompts;
}
