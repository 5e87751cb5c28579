import { DisposedError, HipArgumentError, HipError } from '@rocmforge/hip-runtime';
import { KernelArgumentError } from '@rocmforge/sampling-kernels';
import { describe, expect, it } from 'vitest';
import { gaussianLogits } from '../../../tooling/statistics.js';
import { AutoSampler, type GpuBackend } from '../src/auto-sampler.js';
import { CpuSampler, KernelFailureError, type ResolvedRequest, SamplerInputError } from '../src/index.js';

// `auto` with a stand-in GPU (a CPU sampler that fails on demand): which failures move it to the
// CPU for good, and which surface as they are.
function fakeGpu(failWith: () => Error | undefined) {
  const cpu = new CpuSampler();
  const calls = { resolved: 0, sampled: 0, disposed: 0, methods: 0 };
  const method =
    <R>(run: () => R) =>
    (): R => {
      calls.methods++;
      const error = failWith();
      if (error) throw error;
      return run();
    };
  const gpu = {
    backend: 'gpu',
    fallbackReason: undefined,
    memoryBytes: 0,
    resolve: (request: never) => {
      calls.resolved++;
      return cpu.resolve(request);
    },
    sampleResolved: (request: ResolvedRequest) => {
      calls.sampled++;
      const error = failWith();
      if (error) throw error;
      return cpu.sampleResolved(request);
    },
    sampleResolvedAsync: async (request: ResolvedRequest) => gpu.sampleResolved(request),
    sample: () => {
      throw new Error('auto resolves once, then samples the resolved request');
    },
    sampleAsync: () => {
      throw new Error('auto resolves once, then samples the resolved request');
    },
    filteredProbs: (r: never) => method(() => cpu.filteredProbs(r))(),
    maskedLogits: (r: never) => method(() => cpu.maskedLogits(r))(),
    verify: (r: never) => method(() => cpu.verify(r))(),
    pinHostMemory: (array: Float32Array) => cpu.pinHostMemory(array),
    injectFailure: () => {},
    dispose: () => {
      calls.disposed++;
    },
    [Symbol.dispose]: () => {},
  };
  return { gpu: gpu as unknown as GpuBackend, calls };
}

const logits = gaussianLogits(4 * 300, 2, 8);
const request = { logits, shape: [4, 300] as const, topK: 20, topP: 0.9, seed: 3, samples: 5 };
const expected = new CpuSampler().sample(request).tokens;

describe('AutoSampler', () => {
  it.each([
    ['a failed driver call', () => new HipError('cuLaunchKernel', 'CUDA_ERROR_LAUNCH_FAILED', 719)],
    ['rows the kernels could not sample', () => new KernelFailureError('blocks did not meet', 1)],
  ])('%s: moves to the CPU for good, with the request resolved once', async (_what, make) => {
    for (const asynchronous of [false, true]) {
      const warnings: string[] = [];
      const { gpu, calls } = fakeGpu(make);
      const auto = new AutoSampler(gpu, { warn: (m) => warnings.push(m) }, HipError);
      const result = asynchronous ? await auto.sampleAsync(request) : auto.sample(request);
      expect([...result.tokens]).toEqual([...expected]);
      expect(auto.backend).toBe('cpu');
      expect(auto.fallbackReason).toMatch(/^the GPU failed mid-run: /);
      expect(warnings).toHaveLength(1);
      expect(calls).toEqual({ resolved: 1, sampled: 1, disposed: 1, methods: 0 });
      expect([...auto.sample(request).tokens]).toEqual([...expected]);
      expect(calls.sampled).toBe(1);
    }
  });

  it.each([
    ['ERR_HIP_ARGUMENT', () => new HipArgumentError('Expected a u32 for kernel argument 3 but received -1')],
    ['ERR_HIP_DISPOSED', () => new DisposedError('DeviceBuffer')],
    [
      'ERR_KERNEL_ARGUMENT',
      () => new KernelArgumentError('Expected at least 64 bytes for tokens but the buffer has 32'),
    ],
    ['ERR_SAMPLER_INPUT', () => new SamplerInputError('logits', 'no NaN', Number.NaN, 2)],
  ])('%s: surfaces as it is, and the sampler stays on the GPU', async (code, make) => {
    for (const asynchronous of [false, true]) {
      const warnings: string[] = [];
      let fail = true;
      const { gpu } = fakeGpu(() => (fail ? make() : undefined));
      const auto = new AutoSampler(gpu, { warn: (m) => warnings.push(m) }, HipError);
      const call = async () => (asynchronous ? await auto.sampleAsync(request) : auto.sample(request));
      await expect(call()).rejects.toMatchObject({ code });
      expect(auto.backend).toBe('gpu');
      expect(auto.fallbackReason).toBeUndefined();
      expect(warnings).toHaveLength(0);
      fail = false;
      expect([...(await call()).tokens]).toEqual([...expected]);
    }
  });

  it('bad requests are rejected by the resolution, before the GPU is asked', () => {
    const { gpu, calls } = fakeGpu(() => undefined);
    const auto = new AutoSampler(gpu, null, HipError);
    expect(() => auto.sample({ ...request, topP: 2 })).toThrow(SamplerInputError);
    expect(calls.sampled).toBe(0);
    expect(auto.backend).toBe('gpu');
  });

  const extra = { ...request, typicalP: 0.8, xtcProbability: 0.5 };
  const probsRequest = { logits: logits.subarray(0, 300), topK: 5 };
  const verifyRequest = {
    logits: logits.subarray(0, 600),
    shape: [1, 1, 300] as const,
    draftTokens: [4],
    draftProbs: new Float32Array(300).fill(1),
    seed: 2,
  };

  it('sends typical-p, top-n-sigma, XTC, filtered distributions and verification to the GPU', () => {
    const { gpu, calls } = fakeGpu(() => undefined);
    const warnings: string[] = [];
    const auto = new AutoSampler(gpu, { warn: (m) => warnings.push(m) }, HipError);
    const cpu = new CpuSampler();
    expect([...auto.sample(extra).tokens]).toEqual([...cpu.sample(extra).tokens]);
    expect(calls.sampled).toBe(1);
    expect(auto.filteredProbs(probsRequest)).toEqual(cpu.filteredProbs(probsRequest));
    expect(auto.maskedLogits(probsRequest)).toEqual(cpu.maskedLogits(probsRequest));
    expect(auto.verify(verifyRequest)).toEqual(cpu.verify(verifyRequest));
    expect(calls.methods).toBe(3);
    expect(auto.backend).toBe('gpu');
    expect(auto.fallbackReason).toBeUndefined();
    expect(warnings).toEqual([]);
  });

  it.each([
    ['filteredProbs', (a: AutoSampler) => a.filteredProbs(probsRequest)],
    ['maskedLogits', (a: AutoSampler) => a.maskedLogits(probsRequest)],
    ['verify', (a: AutoSampler) => a.verify(verifyRequest)],
  ] as const)('%s: a failed GPU call moves to the CPU for good, with the same answer', (_name, call) => {
    const { gpu, calls } = fakeGpu(() => new HipError('cuLaunchKernel', 'CUDA_ERROR_LAUNCH_FAILED', 719));
    const warnings: string[] = [];
    const auto = new AutoSampler(gpu, { warn: (m) => warnings.push(m) }, HipError);
    const expectedAnswer = call(new AutoSampler(fakeGpu(() => undefined).gpu, null, HipError));
    expect(call(auto)).toEqual(expectedAnswer);
    expect(auto.backend).toBe('cpu');
    expect(warnings).toHaveLength(1);
    expect(calls).toMatchObject({ methods: 1, disposed: 1 });
    expect(call(auto)).toEqual(expectedAnswer);
    expect(calls.methods).toBe(1);
  });

  it('a request error in filteredProbs surfaces as it is, on the GPU', () => {
    const { gpu } = fakeGpu(() => undefined);
    const auto = new AutoSampler(gpu, null, HipError);
    expect(() => auto.filteredProbs({ ...probsRequest, topP: 2 })).toThrow(SamplerInputError);
    expect(auto.backend).toBe('gpu');
  });
});
