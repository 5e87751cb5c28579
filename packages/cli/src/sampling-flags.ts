import { type FilterOrder, resolveRequest, type SampleRequest, SamplerInputError } from '@rocmforge/sampler';
import { type Command, Option } from 'commander';
import { finite, integer, unsigned64 } from './arguments.js';
import { CliError, EXIT } from './errors.js';

/** The {@link SampleRequest} fields the commands take from flags (`topK` from `--top-k`, …). */
export type SamplingFlagName =
  | 'temperature'
  | 'topK'
  | 'topP'
  | 'minP'
  | 'filterOrder'
  | 'typicalP'
  | 'topNSigma'
  | 'xtcProbability'
  | 'xtcThreshold'
  | 'seed'
  | 'step'
  | 'samples'
  | 'logprobs'
  | 'repetitionPenalty';

/** Sampling parameters as flags give them: fields of {@link SampleRequest}, one value for every row. */
export type SamplingParameters = Pick<SampleRequest, SamplingFlagName>;

/** A flag's spelling, its help, and how its text becomes the request field's value. */
type FlagSpec<T> = {
  flags: string;
  description: string;
} & ({ parse: (value: string) => T } | { choices: readonly T[] });

// Every sampling flag, declared once. The flag's name spells the field (commander turns
// `--top-k` into `topK`; a test checks it), and its parsed value has the field's type.
const SAMPLING_FLAGS: { [K in SamplingFlagName]: FlagSpec<NonNullable<SampleRequest[K]>> } = {
  temperature: {
    flags: '--temperature <t>',
    description: 'temperature (0 = greedy)',
    parse: finite('--temperature'),
  },
  topK: { flags: '--top-k <k>', description: 'top-k (0 = off)', parse: integer('--top-k') },
  topP: { flags: '--top-p <p>', description: 'top-p (1 = off)', parse: finite('--top-p') },
  minP: { flags: '--min-p <p>', description: 'min-p (0 = off)', parse: finite('--min-p') },
  filterOrder: {
    flags: '--filter-order <order>',
    description: 'how top-k and top-p combine',
    choices: ['topKFirst', 'joint'] satisfies FilterOrder[],
  },
  typicalP: { flags: '--typical-p <p>', description: 'typical-p (1 = off)', parse: finite('--typical-p') },
  topNSigma: {
    flags: '--top-n-sigma <n>',
    description: 'top-n-sigma: keep logits ≥ max − n·σ (0 = off)',
    parse: finite('--top-n-sigma'),
  },
  xtcProbability: {
    flags: '--xtc-probability <p>',
    description: 'XTC: chance per step of removing the top choices (0 = off)',
    parse: finite('--xtc-probability'),
  },
  xtcThreshold: {
    flags: '--xtc-threshold <p>',
    description: 'XTC: probability from which a token is a top choice (default 0.1)',
    parse: finite('--xtc-threshold'),
  },
  seed: { flags: '--seed <n>', description: 'random seed (64-bit)', parse: unsigned64('--seed') },
  step: { flags: '--step <n>', description: 'decode step (64-bit)', parse: unsigned64('--step') },
  samples: { flags: '--samples <n>', description: 'draws per row', parse: integer('--samples', 1) },
  logprobs: {
    flags: '--logprobs <n>',
    description: 'also print log-probabilities: the sampled token and the top n',
    parse: integer('--logprobs'),
  },
  repetitionPenalty: {
    flags: '--repetition-penalty <r>',
    description: 'repetition penalty (1 = off)',
    parse: finite('--repetition-penalty'),
  },
};

/** The command-line flag of a sampling field: `--top-k` for `topK`. */
export function samplingFlag(name: SamplingFlagName): string {
  return SAMPLING_FLAGS[name].flags.split(' ')[0]!;
}

/** Every sampling field that has a flag, in the order their flags are listed in help. */
export const SAMPLING_FLAG_NAMES = Object.keys(SAMPLING_FLAGS) as SamplingFlagName[];

/**
 * Adds the sampling flags `names` to `command`, in that order, with the command's defaults
 * (shown in help; a default of the sampler's own is better left out).
 */
export function addSamplingFlags<K extends SamplingFlagName>(
  command: Command,
  names: readonly K[],
  defaults: Partial<Pick<SamplingParameters, K>> = {},
): Command {
  for (const name of names) {
    const spec: FlagSpec<unknown> = SAMPLING_FLAGS[name];
    const option = new Option(spec.flags, spec.description);
    if ('choices' in spec) option.choices(spec.choices as readonly string[]);
    else option.argParser(spec.parse);
    const value = defaults[name];
    // Shown as written: commander's JSON rendering of a default cannot print a bigint.
    if (value !== undefined) option.default(value, String(value));
    command.addOption(option);
  }
  return command;
}

/** The sampling fields of a command's parsed flags, as a request's parameters (unset ones left out). */
export function samplingRequest(flags: Partial<SamplingParameters>): Partial<SamplingParameters> {
  const request: Partial<SamplingParameters> = {};
  for (const name of SAMPLING_FLAG_NAMES) {
    if (flags[name] !== undefined) Object.assign(request, { [name]: flags[name] });
  }
  return request;
}

/**
 * Checks sampling parameters as the sampler will, before any work: a value the sampler would
 * reject is a usage error (exit 2) naming the flag.
 */
export function checkSamplingParameters(flags: Partial<SamplingParameters>): void {
  try {
    resolveRequest({ logits: new Float32Array(1), ...samplingRequest(flags) });
  } catch (error) {
    if (!(error instanceof SamplerInputError)) throw error;
    const name = SAMPLING_FLAG_NAMES.find((n) => n === error.field);
    const where = name ? `${samplingFlag(name)}: ` : '';
    throw new CliError(`${where}${error.message}`, EXIT.usage, { cause: error });
  }
}

/** The `--backend` and `--gpu-sampler` flags, as parsed. */
export interface BackendFlags {
  /** `auto`, `cpu` or `gpu`. */
  backend: 'auto' | 'cpu' | 'gpu';
  /** Same as `--backend gpu` (and it wins over `--backend`). */
  gpuSampler?: true;
}

/** The sampler backend option alone (`bench` has no `--gpu-sampler`). */
export function backendOption(): Option {
  return new Option('--backend <backend>', 'sampler backend').choices(['auto', 'cpu', 'gpu']).default('auto');
}

/** Adds `--backend` and `--gpu-sampler`; read them back with {@link backendOf}. */
export function addBackendFlags(command: Command): Command {
  return command.addOption(backendOption()).option('--gpu-sampler', 'same as --backend gpu');
}

/** The backend the flags ask for: `--gpu-sampler` wins over `--backend`. */
export function backendOf(flags: BackendFlags): BackendFlags['backend'] {
  return flags.gpuSampler ? 'gpu' : flags.backend;
}
