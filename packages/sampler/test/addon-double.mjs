// A test double of hip-runtime's native addon (not a test; plain JavaScript so that
// bench/host-path.mjs can use it too): a device that looks like an H200, whose work is done at
// once. Device memory is host bytes at made-up addresses; host memory registered mapped gets a
// device address of its own that reaches the same bytes, as the driver's mapping does; copies
// and fills move bytes between them. The sampling kernel (`rf_sample*`) is simulated: each row
// gets the tokens (seedLo + stepLo + draw) mod vocab, read from wherever its parameters lie,
// and the status "sampled" — so a test sees which parameters reached it and where its outputs
// went. Every call is counted by name.
import { KERNEL_SIGNATURES } from '@rocmforge/sampling-kernels';

/** An H200 as the driver reports it. */
export const H200_FACTS = {
  name: 'test double',
  architecture: 'sm_90',
  totalMemory: 141e9,
  multiprocessors: 132,
  maxThreadsPerBlock: 1024,
  sharedMemoryPerBlock: 49152,
  sharedMemoryPerBlockOptin: 232448,
  warpSize: 32,
  l2CacheBytes: 62914560,
};

/** The bytes of an ArrayBuffer, typed array or DataView. */
function bytesOf(memory) {
  return ArrayBuffer.isView(memory)
    ? new Uint8Array(memory.buffer, memory.byteOffset, memory.byteLength)
    : new Uint8Array(memory);
}

/**
 * A fresh double. `options.mapping: false` makes `hostDevicePointer` fail as a driver that
 * cannot map host memory does (a driver error: code ERR_HIP_DRIVER). `options.kernel:
 * 'statuses'` has the simulated kernel write the row statuses only (for a benchmark of the
 * host path, where the simulation's own time should be next to nothing).
 * Returns `native` (the addon), `counts` (calls by name; clear it at will), `mapped` (the
 * host ranges registered mapped, with their device addresses) and `launches` (kernel name,
 * blocks and threads per block of every launch).
 */
export function addonDouble(options = {}) {
  const counts = new Map();
  let next = 0x7f0000000000n;
  const handle = () => {
    next += 0x1000n;
    return next;
  };
  /** Device memory and mapped host memory: { address, bytes }. */
  const ranges = [];
  const mapped = [];
  const functions = new Map();
  const at = (address, length) => {
    for (const r of ranges) {
      if (address >= r.address && address + BigInt(length) <= r.address + BigInt(r.bytes.byteLength)) {
        const offset = Number(address - r.address);
        return r.bytes.subarray(offset, offset + length);
      }
    }
    throw new Error(`test double: no memory at 0x${address.toString(16)} for ${length} bytes`);
  };
  const driverError = (call) =>
    Object.assign(new Error(`${call} failed: CUDA_ERROR_NOT_SUPPORTED (801)`), {
      code: 'ERR_HIP_DRIVER',
      call,
      driverName: 'CUDA_ERROR_NOT_SUPPORTED',
      driverCode: 801,
    });
  const u64 = (args, offset) => new DataView(args.buffer, args.byteOffset).getBigUint64(offset, true);
  const u32 = (args, offset) => new DataView(args.buffer, args.byteOffset).getUint32(offset, true);
  /** Every launch: the kernel's name, blocks (x) and threads per block (x). */
  const launches = [];
  const simulateSample = (name, dims, args, argOffsets) => {
    const fields = KERNEL_SIGNATURES[name].fields;
    const field = (n) => argOffsets[fields.findIndex((f) => f.name === n)];
    const parts = u32(args, field('parts'));
    const samples = u32(args, field('samples'));
    const vocab = u32(args, field('vocab'));
    const rows = dims[0] / parts;
    // A one-row launch may carry its parameters by value (oneRow; RfSampleParams.oneSeedLo …).
    const byValue = field('oneRow') !== undefined && u32(args, field('oneRow')) === 1;
    const word = (n, row) =>
      byValue
        ? u32(args, field(`one${n[0].toUpperCase()}${n.slice(1)}`))
        : new Uint32Array(at(u64(args, field(n)) + BigInt(row * 4), 4).slice().buffer)[0];
    const valid = at(u64(args, field('valid')), rows);
    if (options.kernel === 'statuses') {
      valid.fill(1);
      return;
    }
    const tokens = at(u64(args, field('tokens')), rows * samples * 4);
    const view = new DataView(tokens.buffer, tokens.byteOffset, tokens.byteLength);
    for (let row = 0; row < rows; row++) {
      const base = word('seedLo', row) + word('stepLo', row);
      for (let s = 0; s < samples; s++) view.setInt32((row * samples + s) * 4, (base + s) % vocab, true);
      valid[row] = 1;
    }
  };
  const functionsOf = {
    deviceInfo: () => H200_FACTS,
    makeCurrent: () => {},
    memoryInfo: () => ({ free: 140e9, total: 141e9 }),
    malloc: (bytes) => {
      const address = handle();
      next += BigInt(bytes);
      ranges.push({ address, bytes: new Uint8Array(bytes) });
      return address;
    },
    free: (address) => {
      const i = ranges.findIndex((r) => r.address === address);
      if (i >= 0) ranges.splice(i, 1);
    },
    copyHostToDevice: (dst, host) => {
      const from = bytesOf(host);
      at(dst, from.byteLength).set(from);
    },
    copyDeviceToHost: (host, src) => {
      const into = bytesOf(host);
      into.set(at(src, into.byteLength));
    },
    copyDeviceToDevice: (dst, src, bytes) => at(dst, bytes).set(at(src, bytes)),
    memset: (dst, value, bytes) => at(dst, bytes).fill(value),
    hostRegister: () => {},
    hostUnregister: (memory) => {
      const bytes = bytesOf(memory);
      const i = mapped.findIndex(
        (m) => m.bytes.buffer === bytes.buffer && m.bytes.byteOffset === bytes.byteOffset,
      );
      if (i >= 0) {
        ranges.splice(ranges.indexOf(mapped[i]), 1);
        mapped.splice(i, 1);
      }
    },
    hostDevicePointer: (memory) => {
      if (options.mapping === false) throw driverError('cuMemHostGetDevicePointer_v2');
      const bytes = bytesOf(memory);
      const address = handle();
      next += BigInt(bytes.byteLength);
      const range = { address, bytes };
      ranges.push(range);
      mapped.push(range);
      return address;
    },
    streamCreate: handle,
    streamDestroy: () => {},
    streamSynchronize: () => {},
    streamSynchronizeSpin: () => {},
    streamSynchronizeAsync: async () => {},
    streamQuery: () => true,
    streamWaitEvent: () => {},
    eventCreate: handle,
    eventDestroy: () => {},
    eventRecord: () => {},
    eventSynchronize: () => {},
    eventElapsed: () => 0.01,
    moduleLoad: handle,
    moduleUnload: () => {},
    moduleFunction: (_module, name) => {
      const fn = handle();
      functions.set(fn, name);
      return fn;
    },
    functionAttribute: () => 0,
    setFunctionAttribute: () => {},
    launch: (fn, dims, _stream, args, argOffsets) => {
      const name = functions.get(fn);
      // (Not in the host-path benchmark's mode: a list growing by a call's worth each call.)
      if (options.kernel !== 'statuses') launches.push({ name, grid: dims[0], block: dims[3] });
      if (name?.startsWith('rf_sample')) simulateSample(name, dims, args, argOffsets);
    },
  };
  const native = {};
  for (const [name, fn] of Object.entries(functionsOf)) {
    native[name] = (...args) => {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      return fn(...args);
    };
  }
  return { native, counts, mapped, launches };
}
