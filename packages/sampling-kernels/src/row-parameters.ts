import { ROW_PARAMETERS, type RowParameterName } from './abi.js';
import { type DeviceRegion, subRegion } from './device-region.js';

/** Per-row sampling parameters, each a device array of `batch` elements (see {@link ROW_PARAMETERS}). */
export interface RowParameterBuffers extends Record<RowParameterName, DeviceRegion> {
  /** f32 */
  temperature: DeviceRegion;
  /** i32 */
  topK: DeviceRegion;
  /** f32 */
  topP: DeviceRegion;
  /** f32 */
  minP: DeviceRegion;
  /** u32: seed, low 32 bits */
  seedLo: DeviceRegion;
  /** u32: seed, high 32 bits */
  seedHi: DeviceRegion;
  /** u32: decode step, low 32 bits */
  stepLo: DeviceRegion;
  /** u32: decode step, high 32 bits */
  stepHi: DeviceRegion;
  /** u32: random stream */
  stream: DeviceRegion;
}

/** The host arrays of the per-row parameters, `batch` elements each, of the element types of `RfSampleParams`. */
export interface RowParameterArrays
  extends Record<RowParameterName, Float32Array | Int32Array | Uint32Array> {
  /** f32 */
  temperature: Float32Array;
  /** i32 */
  topK: Int32Array;
  /** f32 */
  topP: Float32Array;
  /** f32 */
  minP: Float32Array;
  /** u32 */
  seedLo: Uint32Array;
  /** u32 */
  seedHi: Uint32Array;
  /** u32 */
  stepLo: Uint32Array;
  /** u32 */
  stepHi: Uint32Array;
  /** u32 */
  stream: Uint32Array;
}

/** Every per-row parameter is a 4-byte element. */
const ELEMENT_BYTES = 4;

// The per-row parameters of a batch lie in one block, so that one copy takes them to the device:
// each parameter's `batch` elements after the previous one's, in ROW_PARAMETERS order.

/** Bytes of the per-row parameter block of `batch` rows. */
export function rowParameterBytes(batch: number): number {
  return ROW_PARAMETERS.length * batch * ELEMENT_BYTES;
}

/** Writes `arrays` (`batch` elements each) into `host` from byte 0 as the per-row parameter block. */
export function writeRowParameters(host: ArrayBuffer, batch: number, arrays: RowParameterArrays): void {
  // The views into `host` are kept per block and batch (a decode loop writes the same ones every
  // call); each has its source's element type, so that the bits are copied as they are.
  let kept = parameterViews.get(host);
  if (!kept || kept.batch !== batch) {
    kept = { batch, views: [] };
    parameterViews.set(host, kept);
  }
  for (let i = 0; i < ROW_PARAMETERS.length; i++) {
    const source = arrays[ROW_PARAMETERS[i]!];
    let view = kept.views[i];
    if (view === undefined || view.constructor !== elementView(source)) {
      view = new (elementView(source))(host, i * batch * ELEMENT_BYTES, batch);
      kept.views[i] = view;
    }
    view.set(source);
  }
}

/** The view type that copies `source`'s elements bit for bit. */
function elementView(
  source: Float32Array | Int32Array | Uint32Array,
): Float32ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor {
  if (source instanceof Float32Array) return Float32Array;
  if (source instanceof Int32Array) return Int32Array;
  return Uint32Array;
}

const parameterViews = new WeakMap<
  ArrayBuffer,
  { batch: number; views: Array<Float32Array | Int32Array | Uint32Array | undefined> }
>();

/**
 * The parameters of rows [first, first + rows) in `block`, the device copy of a per-row
 * parameter block of `batch` rows (each region carries `block`'s device, when it has one).
 * The same arguments again give the same (frozen) object.
 */
export function rowParameterRegions(
  block: DeviceRegion,
  batch: number,
  first: number,
  rows: number,
): RowParameterBuffers {
  // The last answer per block is kept: a decode loop asks the same every call. Reading
  // `block.address` first keeps a disposed buffer's error.
  const address = block.address;
  const last = lastRegions.get(block);
  if (
    last &&
    last.address === address &&
    last.batch === batch &&
    last.first === first &&
    last.rows === rows
  ) {
    return last.regions;
  }
  const regions = {} as RowParameterBuffers;
  ROW_PARAMETERS.forEach((name, i) => {
    regions[name] = subRegion(block, (i * batch + first) * ELEMENT_BYTES, rows * ELEMENT_BYTES);
  });
  Object.freeze(regions);
  lastRegions.set(block, { address, batch, first, rows, regions });
  return regions;
}

const lastRegions = new WeakMap<
  DeviceRegion,
  { address: bigint; batch: number; first: number; rows: number; regions: RowParameterBuffers }
>();
