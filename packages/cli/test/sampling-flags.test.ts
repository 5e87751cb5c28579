import { Command, Option } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../src/errors.js';
import {
  addBackendFlags,
  addSamplingFlags,
  backendOf,
  checkSamplingParameters,
  SAMPLING_FLAG_NAMES,
  samplingFlag,
  samplingRequest,
} from '../src/sampling-flags.js';

function parse(names: Parameters<typeof addSamplingFlags>[1], args: string[], defaults = {}) {
  const command = addSamplingFlags(
    new Command('t').exitOverride().configureOutput({ writeErr: () => {} }),
    names,
    defaults,
  );
  addBackendFlags(command);
  command.parse(args, { from: 'user' });
  return command.opts();
}

describe('the sampling flags', () => {
  it.each(SAMPLING_FLAG_NAMES)('%s: commander stores its flag under the request field’s name', (name) => {
    expect(new Option(samplingFlag(name)).attributeName()).toBe(name);
  });

  it('parse to the request fields’ types', () => {
    const flags = parse(SAMPLING_FLAG_NAMES, [
      '--temperature',
      '0.7',
      '--top-k',
      '50',
      '--top-p',
      '0.9',
      '--min-p',
      '0.05',
      '--filter-order',
      'joint',
      '--seed',
      '18446744073709551615',
      '--step',
      '3',
      '--samples',
      '2',
      '--logprobs',
      '5',
      '--repetition-penalty',
      '1.1',
    ]);
    expect(samplingRequest(flags)).toEqual({
      temperature: 0.7,
      topK: 50,
      topP: 0.9,
      minP: 0.05,
      filterOrder: 'joint',
      seed: 18446744073709551615n,
      step: 3n,
      samples: 2,
      logprobs: 5,
      repetitionPenalty: 1.1,
    });
  });

  it('a request holds the sampling fields that are set, and nothing else', () => {
    const flags = parse(['topK', 'seed', 'temperature'], ['--top-k', '5', '--gpu-sampler']);
    expect(flags).toMatchObject({ topK: 5, backend: 'auto', gpuSampler: true });
    expect(samplingRequest(flags)).toEqual({ topK: 5 });
    expect(backendOf({ backend: flags.backend, gpuSampler: flags.gpuSampler })).toBe('gpu');
    expect(backendOf({ backend: 'cpu' })).toBe('cpu');
  });

  it('defaults apply and help prints them, a bigint too', () => {
    const command = addSamplingFlags(new Command('t'), ['seed', 'topP'], { seed: 0n, topP: 0.95 });
    expect(command.helpInformation()).toMatch(/--seed <n>\s+random seed \(64-bit\) \(default: 0\)/);
    expect(command.helpInformation()).toMatch(/--top-p <p>\s+top-p \(1 = off\) \(default: 0\.95\)/);
    command.parse([], { from: 'user' });
    expect(samplingRequest(command.opts())).toEqual({ seed: 0n, topP: 0.95 });
  });

  it('a malformed value is commander’s usage error, naming the flag', () => {
    expect(() => parse(['topK'], ['--top-k', '1.5'])).toThrow(/--top-k must be an integer ≥ 0, got '1\.5'/);
    expect(() => parse(['filterOrder'], ['--filter-order', 'sideways'])).toThrow(
      /Allowed choices are topKFirst, joint/,
    );
  });
});

describe('checkSamplingParameters', () => {
  it('accepts what the sampler accepts', () => {
    expect(() =>
      checkSamplingParameters({ topP: 1, topK: 0, temperature: 0, seed: 2n ** 64n - 1n }),
    ).not.toThrow();
  });

  it.each([
    [{ topP: 0 }, /^--top-p: Expected .* for topP but received 0/],
    [{ temperature: -1 }, /^--temperature: Expected .* for temperature but received -1/],
    [{ minP: 2 }, /^--min-p: /],
    [{ repetitionPenalty: 0 }, /^--repetition-penalty: /],
  ])('rejects %j as a usage error naming the flag', (flags, message) => {
    let error: unknown;
    try {
      checkSamplingParameters(flags);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(EXIT.usage);
    expect((error as CliError).message).toMatch(message);
  });
});
