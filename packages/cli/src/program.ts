import { SamplerInputError } from '@rocmforge/sampler';
import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import packageJson from '../package.json' with { type: 'json' };
import { registerBench } from './commands/bench.js';
import { registerConvertLlama2c } from './commands/convert-llama2c.js';
import { registerDevices } from './commands/devices.js';
import { registerGenerate } from './commands/generate.js';
import { registerSample } from './commands/sample.js';
import { CliError, EXIT } from './errors.js';

/** The `rocmforge` program: each command registers itself; `run` parses and executes. */
export function createProgram(): Command {
  const program = new Command('rocmforge')
    .description('Fast, exact LLM token sampling: GPU kernels and a CPU path behind one API.')
    .version(packageJson.version, '-V, --version', 'print the version')
    .option('--verbose', 'print stack traces with errors')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(pc.red(text)) });
  registerDevices(program);
  registerSample(program);
  registerBench(program);
  registerGenerate(program);
  registerConvertLlama2c(program);
  return program;
}

/** Runs the CLI with `argv` (user arguments only); returns the exit code (see {@link EXIT}). */
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
    if (error instanceof SamplerInputError && error.field !== 'logits' && error.field !== 'probs')
      return EXIT.usage;
    return EXIT.runtime;
  }
}
