import { closeSync, openSync, readSync } from 'node:fs';
import { modelPath as bundledModel } from '@rocmforge/model-kjv';
import { createSampler, type SampleRequest, type Sampler } from '@rocmforge/sampler';
import type { Command } from 'commander';
import { integer } from '../arguments.js';
import { CliError, EXIT, InputFileError } from '../errors.js';
import { checkRegularFile } from '../input-file.js';
import {
  addBackendFlags,
  addSamplingFlags,
  type BackendFlags,
  backendOf,
  checkSamplingParameters,
  samplingRequest,
} from '../sampling-flags.js';

/**
 * Options of {@link generate}; the CLI's `generate` flags. The sampling parameters are the
 * sampler's (unset ones take the sampler's defaults; the CLI's defaults are temperature 0.8,
 * top-k 40, top-p 0.95, seed 0).
 */
export interface GenerateOptions
  extends Pick<
    SampleRequest,
    | 'temperature'
    | 'topK'
    | 'topP'
    | 'minP'
    | 'typicalP'
    | 'topNSigma'
    | 'xtcProbability'
    | 'xtcThreshold'
    | 'seed'
    | 'repetitionPenalty'
  > {
  /** Path of the GGUF model (the CLI defaults it to the bundled `@rocmforge/model-kjv`). */
  model: string;
  /** Text the generation continues; it must fit in the model's context. */
  prompt: string;
  /** Tokens to generate at most (fewer when the model ends the sequence). */
  maxTokens: number;
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
  checkRegularFile(path);
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
  // Flags first: a bad value fails before seconds of model loading and before any output.
  checkSamplingParameters(options);
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
      const request: SampleRequest = {
        logits,
        ...samplingRequest(options),
        step: prompt.length + step,
        promptTokens: prompt as number[],
        outputTokens: generated as number[],
        // One row, the model's own: broken logits are an error here, not a flagged row.
        onInvalidRow: 'throw',
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

/** What `rocmforge generate` parses from its command line. */
type GenerateFlags = Omit<GenerateOptions, 'model' | 'backend' | 'onReady' | 'onText'> &
  BackendFlags & {
    model?: string;
    gguf?: string;
    stats?: true;
    compareBackends?: true;
    json?: true;
  };

/** Adds `rocmforge generate`: streams the text, or prints JSON, statistics, a CPU/GPU comparison. */
export function registerGenerate(program: Command): void {
  const command = program
    .command('generate')
    .description('run a GGUF language model whose every next token is chosen by the rocmforge sampler')
    .option('--model <file.gguf>', 'the model (GGUF); default: the bundled KJV model (@rocmforge/model-kjv)')
    .option('--gguf <file.gguf>', 'same as --model')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--max-tokens <n>', 'tokens to generate at most', integer('--max-tokens', 1), 50);
  addSamplingFlags(
    command,
    [
      'temperature',
      'topK',
      'topP',
      'minP',
      'typicalP',
      'topNSigma',
      'xtcProbability',
      'xtcThreshold',
      'seed',
      'repetitionPenalty',
    ],
    { temperature: 0.8, topK: 40, topP: 0.95, minP: 0, seed: 0n, repetitionPenalty: 1 },
  );
  addBackendFlags(command);
  command
    .option('--stats', 'print tokens/s and the time per token in the model and in the sampler')
    .option('--compare-backends', 'run the same generation with the CPU and the GPU sampler and compare')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  rocmforge generate --prompt "And God said" --max-tokens 50 --seed 1\n  rocmforge generate --model stories260K.gguf --prompt "Once upon a time" --max-tokens 50 --seed 1\n  rocmforge generate --model m.gguf --prompt "Hello world" --temperature 0.7 --top-p 0.9 --top-k 50 --gpu-sampler --stats',
    )
    .action(async (flags: GenerateFlags) => {
      const model = flags.model ?? flags.gguf ?? bundledModel;
      const backends = flags.compareBackends ? (['cpu', 'gpu'] as const) : [backendOf(flags)];
      const streaming = !flags.json && !flags.compareBackends;
      const runs: GenerateResult[] = [];
      for (const backend of backends) {
        runs.push(
          await generate({
            ...flags,
            model,
            backend,
            ...(streaming
              ? {
                  onReady: () => process.stdout.write(flags.prompt),
                  onText: (text: string) => process.stdout.write(text),
                }
              : {}),
          }),
        );
        if (streaming) process.stdout.write('\n');
      }
      if (flags.json) {
        console.log(JSON.stringify(runs.length === 1 ? runs[0] : runs, null, 2));
        return;
      }
      if (flags.compareBackends) printComparison(flags.prompt, runs[0]!, runs[1]!);
      if (flags.stats) for (const r of runs) printStats(r);
    });
}

function printComparison(prompt: string, cpu: GenerateResult, gpu: GenerateResult): void {
  console.log(`${prompt}${cpu.text}`);
  console.log(
    `sampler per token (median): cpu ${cpu.samplerMsPerToken.toFixed(3)} ms, gpu ${gpu.samplerMsPerToken.toFixed(3)} ms (${(cpu.samplerMsPerToken / gpu.samplerMsPerToken).toFixed(1)}× )`,
  );
  console.log(`same text on both backends: ${cpu.text === gpu.text ? 'yes' : 'no'}`);
}

function printStats(r: GenerateResult): void {
  console.log(
    `${r.tokens.length} tokens (${r.stoppedAt}), ${r.tokensPerSecond.toFixed(1)} tokens/s; per token (median): model ${r.modelMsPerToken.toFixed(3)} ms, sampler ${r.samplerMsPerToken.toFixed(3)} ms (${r.backend})`,
  );
}
