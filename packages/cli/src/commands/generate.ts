import { closeSync, openSync, readSync } from 'node:fs';
import { createSampler, type Sampler } from '@rocmforge/sampler';
import { CliError, EXIT, InputFileError } from '../errors.js';

/** Options of {@link generate}; the CLI's `generate` flags. */
export interface GenerateOptions {
  /** Path of the GGUF model (the CLI defaults it to the bundled `@rocmforge/model-kjv`). */
  model: string;
  /** Text the generation continues; it must fit in the model's context. */
  prompt: string;
  /** Tokens to generate at most (fewer when the model ends the sequence). */
  maxTokens: number;
  /** Sampling temperature; 0 is greedy. */
  temperature: number;
  /** Keep the k most likely tokens (0 = off). */
  topK: number;
  /** Keep the smallest set of tokens whose probability reaches p (1 = off). */
  topP: number;
  /** Drop tokens below minP × the top probability (0 = off). */
  minP: number;
  /** Random seed: the same seed, model and options give the same text on either backend. */
  seed: bigint;
  /** Penalty on tokens of the prompt and the output so far (1 = off). */
  repetitionPenalty: number;
  /** Sampler backend: `auto` (the GPU when usable), `cpu` or `gpu`. */
  backend: 'auto' | 'cpu' | 'gpu';
  /** Called once the model is loaded, before the first token. */
  onReady?: () => void;
  /** Called with each piece of text as it is produced. */
  onText?: (text: string) => void;
}

/** What {@link generate} returns. */
export interface GenerateResult {
  /** The generated text (the prompt not included). */
  text: string;
  /** The generated token ids, end-of-sequence not included. */
  tokens: number[];
  /** The sampler backend that chose the tokens. */
  backend: string;
  /** Why generation stopped: the model's end-of-sequence token, or `maxTokens` reached. */
  stoppedAt: 'eos' | 'max-tokens';
  /**
   * Milliseconds per generated token in the model (evaluation, logits out) and in the sampler:
   * the median over the tokens, so that one-off costs (the JIT warming up, a garbage
   * collection) do not stand for the per-token cost.
   */
  modelMsPerToken: number;
  /** Median milliseconds per generated token in the sampler (see {@link modelMsPerToken}). */
  samplerMsPerToken: number;
  /** Generated tokens per second of wall time, model and sampler together. */
  tokensPerSecond: number;
}

type NodeLlamaCpp = typeof import('node-llama-cpp');
type Token = import('node-llama-cpp').Token;
type ControlledEvaluateInputItem = import('node-llama-cpp').ControlledEvaluateInputItem;

/** A GGUF file of a version llama.cpp reads (2 or 3), before the engine sees it. */
function checkGguf(path: string): void {
  let header: Buffer;
  try {
    const fd = openSync(path, 'r');
    header = Buffer.alloc(8);
    readSync(fd, header, 0, 8, 0);
    closeSync(fd);
  } catch (error) {
    throw InputFileError.unreadable(path, error);
  }
  if (header.toString('latin1', 0, 4) !== 'GGUF')
    throw new InputFileError(path, 'not a GGUF file (wrong magic)');
  const version = header.readUInt32LE(4);
  if (version !== 2 && version !== 3)
    throw new InputFileError(path, `not a GGUF file the engine reads (version ${version})`);
}

async function loadEngine(): Promise<NodeLlamaCpp> {
  try {
    return await import('node-llama-cpp');
  } catch {
    throw new CliError(
      'generate needs node-llama-cpp, an optional dependency of @rocmforge/cli: install it with `npm install node-llama-cpp@3.22.1 @node-llama-cpp/linux-x64@3.22.1` (or rerun `bash tooling/setup.sh` in the repository)',
      EXIT.runtime,
    );
  }
}

/**
 * Runs a GGUF language model with node-llama-cpp and chooses every next token with
 * @rocmforge/sampler: evaluate, take the last position's full logits, sample (penalties from
 * the generated history), feed the token back.
 */
export async function generate(options: GenerateOptions): Promise<GenerateResult> {
  checkGguf(options.model);
  const { getLlama, LlamaLogLevel } = await loadEngine();
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error, maxThreads: 1 });
  let model: Awaited<ReturnType<typeof llama.loadModel>>;
  try {
    model = await llama.loadModel({ modelPath: options.model });
  } catch (error) {
    throw new InputFileError(
      options.model,
      `not a model the engine can load (${(error as Error).message.split('\n')[0]})`,
    );
  }
  const sampler: Sampler = createSampler({ backend: options.backend, logger: null });
  const context = await model.createContext({ contextSize: Math.min(2048, model.trainContextSize) });
  try {
    const sequence = context.getSequence();
    const prompt = model.tokenize(options.prompt);
    const bos = model.tokens.bos;
    const eos = model.tokens.eos;
    let pending: Token[] = bos !== null ? [bos, ...prompt] : [...prompt];
    // Past the context the engine shifts it (drops the oldest tokens); a prompt must fit whole.
    if (pending.length >= context.contextSize)
      throw new CliError(
        `the prompt is ${pending.length} tokens; the model's context holds ${context.contextSize}`,
        EXIT.usage,
      );
    const generated: Token[] = [];
    let vocabulary = 0;
    let text = '';
    const modelMs: number[] = [];
    const samplerMs: number[] = [];
    let stoppedAt: GenerateResult['stoppedAt'] = 'max-tokens';
    options.onReady?.();
    const start = performance.now();
    for (let step = 0; step < options.maxTokens; step++) {
      const t0 = performance.now();
      const items: ControlledEvaluateInputItem[] = pending.map((token, i) =>
        i === pending.length - 1 ? [token, { generateNext: { logits: true } }] : token,
      );
      const results = await sequence.controlledEvaluate(items);
      const next = results[results.length - 1]?.next?.logits as Map<number, number> | undefined;
      if (!next) throw new CliError('the engine returned no logits');
      // The engine hands out the whole vocabulary as a map, the same ids every step: its size is
      // read once. Tokens it leaves out cannot be drawn.
      if (vocabulary === 0) for (const token of next.keys()) if (token >= vocabulary) vocabulary = token + 1;
      const logits = new Float32Array(vocabulary).fill(Number.NEGATIVE_INFINITY);
      for (const [token, value] of next) logits[token] = value;
      modelMs.push(performance.now() - t0);
      const request = {
        logits,
        temperature: options.temperature,
        topK: options.topK,
        topP: options.topP,
        minP: options.minP,
        seed: options.seed,
        step: prompt.length + step,
        repetitionPenalty: options.repetitionPenalty,
        promptTokens: prompt as number[],
        outputTokens: generated as number[],
      };
      // One untimed call first: the sampler's first call compiles code and allocates its
      // buffers, which is not per-token cost. Sampling is a pure function of the request.
      if (step === 0) sampler.sample(request);
      const t1 = performance.now();
      const { tokens } = sampler.sample(request);
      samplerMs.push(performance.now() - t1);
      const token = tokens[0]! as Token;
      if (token === eos) {
        stoppedAt = 'eos';
        break;
      }
      generated.push(token);
      const full = model.detokenize(generated);
      if (full.length > text.length) {
        options.onText?.(full.slice(text.length));
        text = full;
      }
      pending = [token];
    }
    const seconds = (performance.now() - start) / 1000;
    return {
      text,
      tokens: generated as number[],
      backend: sampler.backend,
      stoppedAt,
      modelMsPerToken: median(modelMs),
      samplerMsPerToken: median(samplerMs),
      tokensPerSecond: generated.length / seconds,
    };
  } finally {
    sampler.dispose();
    await context.dispose();
    await model.dispose();
  }
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
