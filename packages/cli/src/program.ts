import { writeFileSync } from 'node:fs';
import { modelPath as defaultModelPath } from '@rocmforge/model-kjv';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { printBench, runBench } from './commands/bench.js';
import { devicesReport, printDevices } from './commands/devices.js';
import { generate } from './commands/generate.js';
import { printSample, sampleFile } from './commands/sample.js';
import { CliError, EXIT } from './errors.js';
import { type ConvertOptions, convertLlama2c } from './llama2c.js';

function number(name: string, check: (v: number) => boolean, expected: string) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !check(v))
      throw new InvalidArgumentError(`${name} must be ${expected}, got '${value}'`);
    return v;
  };
}
const integer = (name: string, min = 0) =>
  number(name, (v) => Number.isInteger(v) && v >= min, `an integer ≥ ${min}`);
const finite = (name: string) => number(name, Number.isFinite, 'a number');
function bigintArgument(name: string) {
  return (value: string): bigint => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`${name} must be a non-negative integer, got '${value}'`);
    return BigInt(value);
  };
}
function shapeArgument(value: string): [number, number] {
  const parts = value.split(',').map((v) => Number(v.trim()));
  if (parts.length !== 2 || !parts.every((v) => Number.isInteger(v) && v > 0)) {
    throw new InvalidArgumentError(`--shape must be B,V with positive integers, got '${value}'`);
  }
  return parts as [number, number];
}
function list(value: string): number[] {
  return value.split(',').map((v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0)
      throw new InvalidArgumentError(`expected positive numbers, got '${value}'`);
    return n;
  });
}

function devicesArgument(value: string): 'all' | number[] {
  if (value === 'all') return 'all';
  const indices = value.split(',').map((v) => Number(v.trim()));
  if (!indices.every((v) => Number.isInteger(v) && v >= 0))
    throw new InvalidArgumentError(`--devices must be 'all' or GPU indices like 0,1, got '${value}'`);
  return indices;
}

function backendOption(): Option {
  return new Option('--backend <backend>', 'sampler backend').choices(['auto', 'cpu', 'gpu']).default('auto');
}

/** The `rocmforge` program; `run` parses and executes, returning the exit code. */
export function createProgram(): Command {
  const program = new Command('rocmforge')
    .description('Fast, exact LLM token sampling: GPU kernels and a CPU path behind one API.')
    .option('--verbose', 'print stack traces with errors')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(pc.red(text)) });

  program
    .command('devices')
    .description('list the GPUs the runtime sees, or why none is usable')
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  rocmforge devices\n  rocmforge devices --json')
    .action(async (options: { json?: boolean }) => {
      const report = await devicesReport();
      if (options.json) console.log(JSON.stringify(report, null, 2));
      else printDevices(report);
    });

  program
    .command('sample')
    .description('sample tokens from logits (or probabilities) in a .npy, .safetensors or raw float32 file')
    .argument('<file>', 'the logits file')
    .option('--tensor <name>', 'tensor name in a .safetensors file')
    .option('--shape <B,V>', 'shape of a raw float32 file', shapeArgument)
    .option('--probs', 'the file holds probabilities, not logits')
    .addOption(backendOption())
    .option('--gpu-sampler', 'same as --backend gpu')
    .option('--temperature <t>', 'temperature (0 = greedy)', finite('--temperature'))
    .option('--top-k <k>', 'top-k (0 = off)', integer('--top-k'))
    .option('--top-p <p>', 'top-p (1 = off)', finite('--top-p'))
    .option('--min-p <p>', 'min-p (0 = off)', finite('--min-p'))
    .addOption(
      new Option('--filter-order <order>', 'how top-k and top-p combine').choices(['topKFirst', 'joint']),
    )
    .option('--seed <n>', 'random seed (64-bit)', bigintArgument('--seed'))
    .option('--step <n>', 'decode step (64-bit)', bigintArgument('--step'))
    .option('--samples <n>', 'draws per row', integer('--samples', 1))
    .option(
      '--logprobs <n>',
      'also print log-probabilities: the sampled token and the top n',
      integer('--logprobs'),
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  rocmforge sample logits.npy --top-k 50 --top-p 0.9 --seed 1\n  rocmforge sample batch.safetensors --tensor logits --temperature 0.7 --json\n  rocmforge sample logits.bin --shape 4,32000 --gpu-sampler --logprobs 5',
    )
    .action((file: string, options: Record<string, unknown>) => {
      const report = sampleFile({
        file,
        ...(options as object),
        backend: options.gpuSampler ? 'gpu' : (options.backend as 'auto' | 'cpu' | 'gpu'),
      } as Parameters<typeof sampleFile>[0]);
      if (options.json)
        console.log(JSON.stringify(report, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2));
      else printSample(report);
    });

  program
    .command('bench')
    .description('benchmark the GPU and CPU samplers over batch × vocab × mode')
    .option('--quick', 'a small grid that runs in seconds')
    .addOption(backendOption())
    .option('--sigmas <list>', 'σ of the synthetic N(0, σ²) logits, comma-separated', list, [3])
    .option('--modes <list>', 'modes: plain,top-k,top-p,min-p,top-k+top-p', (v: string) => v.split(','))
    .option('--repetitions <n>', 'timed repetitions per case', integer('--repetitions', 1))
    .option('--device <n>', 'GPU index', integer('--device'))
    .option(
      '--devices <list>',
      "several GPUs ('all' or indices): one GPU against all of them on 10000 × 32000 and 4096 × 151936 host batches",
      devicesArgument,
    )
    .option('--json <file>', 'write every raw figure, the device and software versions to a JSON file')
    .option('--chart <file.svg>', 'draw time per call against batch size (log scales) as SVG')
    .addHelpText(
      'after',
      '\nExamples:\n  rocmforge bench --quick\n  rocmforge bench --sigmas 3,1 --json bench.json --chart bench.svg\n  rocmforge bench --devices all',
    )
    .action((options: Record<string, unknown>) => {
      const report = runBench({
        ...(options as object),
        progress: process.stderr.isTTY === true,
      } as Parameters<typeof runBench>[0]);
      printBench(report);
    });

  program
    .command('generate')
    .description('run a GGUF language model whose every next token is chosen by the rocmforge sampler')
    .option('--model <file.gguf>', 'the model (GGUF); default: the bundled KJV model (@rocmforge/model-kjv)')
    .option('--gguf <file.gguf>', 'same as --model')
    .requiredOption('--prompt <text>', 'the prompt')
    .option('--max-tokens <n>', 'tokens to generate at most', integer('--max-tokens', 1), 50)
    .option('--temperature <t>', 'temperature (0 = greedy)', finite('--temperature'), 0.8)
    .option('--top-k <k>', 'top-k (0 = off)', integer('--top-k'), 40)
    .option('--top-p <p>', 'top-p (1 = off)', finite('--top-p'), 0.95)
    .option('--min-p <p>', 'min-p (0 = off)', finite('--min-p'), 0)
    .option('--seed <n>', 'random seed (64-bit)', bigintArgument('--seed'), 0n)
    .option('--repetition-penalty <r>', 'repetition penalty (1 = off)', finite('--repetition-penalty'), 1)
    .addOption(backendOption())
    .option('--gpu-sampler', 'same as --backend gpu')
    .option('--stats', 'print tokens/s and the time per token in the model and in the sampler')
    .option('--compare-backends', 'run the same generation with the CPU and the GPU sampler and compare')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  rocmforge generate --prompt "And God said" --max-tokens 50 --seed 1\n  rocmforge generate --model stories260K.gguf --prompt "Once upon a time" --max-tokens 50 --seed 1\n  rocmforge generate --model m.gguf --prompt "Hello world" --temperature 0.7 --top-p 0.9 --top-k 50 --gpu-sampler --stats',
    )
    .action(async (options: Record<string, unknown>) => {
      const model = (options.model ?? options.gguf ?? defaultModelPath) as string;
      const base = { ...(options as object), model } as Parameters<typeof generate>[0];
      const backends = options.compareBackends
        ? (['cpu', 'gpu'] as const)
        : [options.gpuSampler ? 'gpu' : (options.backend as 'auto' | 'cpu' | 'gpu')];
      const runs = [];
      for (const backend of backends) {
        const streaming = !options.json && !options.compareBackends;
        const result = await generate({
          ...base,
          backend,
          ...(streaming
            ? {
                onReady: () => process.stdout.write(options.prompt as string),
                onText: (text: string) => process.stdout.write(text),
              }
            : {}),
        });
        if (streaming) process.stdout.write('\n');
        runs.push(result);
      }
      if (options.json) {
        console.log(JSON.stringify(runs.length === 1 ? runs[0] : runs, null, 2));
        return;
      }
      if (options.compareBackends) {
        const [cpu, gpu] = runs as [
          Awaited<ReturnType<typeof generate>>,
          Awaited<ReturnType<typeof generate>>,
        ];
        console.log(`${options.prompt}${cpu.text}`);
        console.log(
          `sampler per token (median): cpu ${cpu.samplerMsPerToken.toFixed(3)} ms, gpu ${gpu.samplerMsPerToken.toFixed(3)} ms (${(cpu.samplerMsPerToken / gpu.samplerMsPerToken).toFixed(1)}× )`,
        );
        console.log(`same text on both backends: ${cpu.text === gpu.text ? 'yes' : 'no'}`);
      }
      if (options.stats) {
        for (const r of runs) {
          console.log(
            `${r.tokens.length} tokens (${r.stoppedAt}), ${r.tokensPerSecond.toFixed(1)} tokens/s; per token (median): model ${r.modelMsPerToken.toFixed(3)} ms, sampler ${r.samplerMsPerToken.toFixed(3)} ms (${r.backend})`,
          );
        }
      }
    });

  program
    .command('convert-llama2c')
    .description('convert a llama2.c checkpoint and tokenizer into a GGUF file for generate')
    .argument('<model.bin>', 'llama2.c checkpoint')
    .argument('<tokenizer>', "llama2.c's tokenizer.bin, or a byte-level BPE tokenizer.json")
    .argument('<out.gguf>', 'the GGUF file to write')
    .option('--name <name>', 'the model name stored in the file')
    .addOption(new Option('--type <type>', 'how matrices are stored').choices(['f32', 'f16']).default('f32'))
    .addHelpText(
      'after',
      '\nExamples:\n  rocmforge convert-llama2c stories260K.bin tok512.bin stories260K.gguf\n  rocmforge convert-llama2c model.bin tokenizer.json model.gguf --type f16 --name "my model"',
    )
    .action((modelPath: string, tokenizerPath: string, out: string, options: ConvertOptions) => {
      writeFileSync(out, convertLlama2c(modelPath, tokenizerPath, options));
      console.log(`wrote ${out}`);
    });

  return program;
}

/** Runs the CLI with `argv` (user arguments only); returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (
        error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.exitCode === 0
      )
        return EXIT.ok;
      return EXIT.usage;
    }
    const verbose = argv.includes('--verbose');
    const message = error instanceof Error ? error.message : String(error);
    console.error(pc.red(`error: ${message.split('\n')[0]}`));
    if (verbose && error instanceof Error) console.error(error.stack);
    if (error instanceof CliError) return error.exitCode;
    // A parameter the sampler rejects is a usage error; bad values inside a file are not.
    const field = (error as { code?: string; field?: string }).field;
    if ((error as { code?: string }).code === 'ERR_SAMPLER_INPUT' && field !== 'logits' && field !== 'probs')
      return EXIT.usage;
    return EXIT.runtime;
  }
}
