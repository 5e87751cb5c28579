import type { Device, DeviceBuffer } from '@rocmforge/hip-runtime';
import { SamplerInputError } from './errors.js';
import type { ElementType, HostInput, HostValues, ResolvedRequest, SampleRequest } from './request.js';
import { checkElementType, resolveCounted } from './resolve-request.js';

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
  expected: 'a Float32Array, Uint16Array or Float16Array (device buffers need the GPU backend)',
} as const satisfies InputRule;

/** Every element type, with its bytes per element. */
export const ELEMENT_BYTES: Readonly<Record<ElementType, number>> = { float32: 4, float16: 2, bfloat16: 2 };

/** Whether `input` is a device buffer (anything with a device address), as opposed to a host array. */
function onDevice(input: unknown): input is DeviceInput {
  return (
    typeof input === 'object' &&
    input !== null &&
    !ArrayBuffer.isView(input) &&
    typeof (input as DeviceInput).address === 'bigint'
  );
}

/** Whether the runtime has `Float16Array` and `input` is one. */
function isFloat16Array(input: unknown): boolean {
  const type = (globalThis as { Float16Array?: abstract new (...args: never[]) => unknown }).Float16Array;
  return type !== undefined && input instanceof type;
}

/**
 * The element type of `input` (a host array, or a device buffer) under the request's `dtype`;
 * throws the typed error naming `dtype` when they do not go together. Host arrays that are
 * neither Float32Array, Uint16Array nor Float16Array give undefined (the caller says why not).
 */
function elementTypeOf(input: unknown, dtype: unknown): ElementType | undefined {
  const given = checkElementType(dtype);
  const expect = (type: ElementType | undefined, what: string, allowed: readonly ElementType[]) => {
    if (given === undefined || allowed.includes(given)) return given ?? type;
    const names = allowed.map((t) => `'${t}'`).join(' or ');
    throw new SamplerInputError('dtype', `${names} for ${what}`, given);
  };
  if (input instanceof Float32Array) return expect('float32', 'a Float32Array', ['float32']);
  if (isFloat16Array(input)) return expect('float16', 'a Float16Array', ['float16']);
  if (input instanceof Uint16Array) {
    if (given === undefined) {
      throw new SamplerInputError('dtype', "'float16' or 'bfloat16' with a Uint16Array", undefined);
    }
    return expect(undefined, 'a Uint16Array', ['float16', 'bfloat16']);
  }
  if (onDevice(input)) return given ?? 'float32';
  return undefined;
}

/**
 * Checks a request's input against `rule` and resolves the request (every parameter checked
 * once, here): the one place where a host array and a device buffer are told apart.
 */
export function resolveFor(
  request: SampleRequest<HostInput | DeviceInput>,
  rule: InputRule & { readonly device?: undefined },
): ResolvedRequest<HostValues>;
export function resolveFor(
  request: SampleRequest<HostInput | DeviceInput>,
  rule: InputRule,
): ResolvedRequest<HostValues | DeviceInput>;
export function resolveFor(
  request: SampleRequest<HostInput | DeviceInput>,
  rule: InputRule,
): ResolvedRequest<HostValues | DeviceInput> {
  const given = request?.logits ?? request?.probs;
  const field = request?.logits !== undefined ? 'logits' : 'probs';
  const dtype = given === undefined ? undefined : elementTypeOf(given, request.dtype);
  let resolved: ResolvedRequest<HostValues | DeviceInput>;
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
    const bytes = ELEMENT_BYTES[dtype!];
    resolved = resolveCounted(request as SampleRequest<DeviceInput>, () => given.byteLength / bytes, false);
    const needed = resolved.batch * resolved.vocab * bytes;
    if (given.byteLength < needed) {
      throw new SamplerInputError(
        resolved.kind,
        `a DeviceBuffer of at least ${needed} bytes (${dtype})`,
        `one of ${given.byteLength} bytes`,
      );
    }
  } else {
    if (given !== undefined) checkInput(field, given, rule);
    // A Float16Array is read through a Uint16Array view of its bytes (the same bits).
    const view = isFloat16Array(given) ? hostBits(given!) : given;
    const host = (view === given ? request : { ...request, [field]: view }) as SampleRequest<HostValues>;
    resolved = resolveCounted(host, (input) => input.length, true);
  }
  if (dtype !== undefined) resolved.dtype = dtype;
  return resolved;
}

/** The 16-bit elements of a Float16Array, as a Uint16Array over the same bytes. */
function hostBits(array: HostInput | DeviceInput): Uint16Array {
  const view = array as ArrayBufferView;
  return new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
}

/** Throws the typed error naming `field` unless `input` is what `rule` takes as it is. */
export function checkInput(field: string, input: unknown, rule: InputRule): void {
  if (input instanceof Float32Array || input instanceof Uint16Array || isFloat16Array(input)) return;
  if (rule.device !== undefined && onDevice(input) && input.device === rule.device) return;
  throw new SamplerInputError(field, rule.expected, input);
}

/** A resolved request whose input is on the host, for a backend of host arrays only (`rule`). */
export function onHost(
  request: ResolvedRequest<HostValues | DeviceInput>,
  rule: InputRule,
): ResolvedRequest<HostValues> {
  checkInput(request.kind, request.input, rule);
  return request as ResolvedRequest<HostValues>;
}
