import type { Device, DeviceBuffer } from '@rocmforge/hip-runtime';
import { SamplerInputError } from './errors.js';
import type { ResolvedRequest, SampleRequest } from './request.js';
import { resolveCounted } from './resolve-request.js';

/** Logits or probabilities already on the device: a DeviceBuffer of the GPU sampler's device. */
export type DeviceInput = DeviceBuffer;

/** What a backend takes as `logits` / `probs`: host arrays, and on a GPU its own device's buffers. */
export interface InputRule {
  /** What its errors say it expected, e.g. `a Float32Array or a DeviceBuffer`. */
  readonly expected: string;
  /** The device whose DeviceBuffers it takes as they are; host arrays only when absent. */
  readonly device?: Device;
}

/** The CPU's rule: host arrays only. */
export const CPU_INPUT = {
  expected: 'a Float32Array (device buffers need the GPU backend)',
} as const satisfies InputRule;

/** Whether `input` is a device buffer (anything with a device address), as opposed to a host array. */
function onDevice(input: unknown): input is DeviceInput {
  return (
    typeof input === 'object' &&
    input !== null &&
    !(input instanceof Float32Array) &&
    typeof (input as DeviceInput).address === 'bigint'
  );
}

/**
 * Checks a request's input against `rule` and resolves the request (every parameter checked
 * once, here): the one place where a host array and a device buffer are told apart.
 */
export function resolveFor(
  request: SampleRequest<Float32Array | DeviceInput>,
  rule: InputRule & { readonly device?: undefined },
): ResolvedRequest<Float32Array>;
export function resolveFor(
  request: SampleRequest<Float32Array | DeviceInput>,
  rule: InputRule,
): ResolvedRequest<Float32Array | DeviceInput>;
export function resolveFor(
  request: SampleRequest<Float32Array | DeviceInput>,
  rule: InputRule,
): ResolvedRequest<Float32Array | DeviceInput> {
  const given = request?.logits ?? request?.probs;
  const field = request?.logits !== undefined ? 'logits' : 'probs';
  let resolved: ResolvedRequest<Float32Array | DeviceInput>;
  if (rule.device !== undefined && onDevice(given)) {
    if (request.shape === undefined) {
      throw new SamplerInputError('shape', '[batch, vocab] with a DeviceBuffer input', undefined);
    }
    if (given.device !== rule.device) {
      throw new SamplerInputError(
        field,
        `a DeviceBuffer of device ${rule.device.index}`,
        `one of device ${given.device.index}`,
      );
    }
    resolved = resolveCounted(request, () => given.byteLength / 4, false);
    const needed = resolved.batch * resolved.vocab * 4;
    if (given.byteLength < needed) {
      throw new SamplerInputError(
        resolved.kind,
        `a DeviceBuffer of at least ${needed} bytes`,
        `one of ${given.byteLength} bytes`,
      );
    }
  } else {
    if (given !== undefined) checkInput(field, given, rule);
    resolved = resolveCounted(request as SampleRequest, (input) => input.length, true);
  }
  return resolved;
}

/** Throws the typed error naming `field` unless `input` is what `rule` takes as it is. */
export function checkInput(field: string, input: unknown, rule: InputRule): void {
  if (input instanceof Float32Array) return;
  if (rule.device !== undefined && onDevice(input) && input.device === rule.device) return;
  throw new SamplerInputError(field, rule.expected, input);
}

/** A resolved request whose input is on the host, for a backend of host arrays only (`rule`). */
export function onHost(
  request: ResolvedRequest<Float32Array | DeviceInput>,
  rule: InputRule,
): ResolvedRequest<Float32Array> {
  checkInput(request.kind, request.input, rule);
  return request as ResolvedRequest<Float32Array>;
}
