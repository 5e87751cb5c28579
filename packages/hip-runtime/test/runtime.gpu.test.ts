import { randomFillSync } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { gpuSuite } from '../../../tooling/gpu-test.js';
import {
  type Device,
  DisposedError,
  HipArgumentError,
  HipError,
  KernelArgPacker,
  openDevice,
  probe,
} from '../src/index.js';
import { loadAddon } from '../src/native.js';
import { compileTestKernel } from './compile-fixture.js';

gpuSuite(probe)('hip-runtime on a GPU', () => {
  let device: Device;
  beforeAll(() => {
    device = openDevice(0);
  });
  afterAll(() => device.synchronize());

  it('describes the device', () => {
    const info = device.info;
    console.log(`device 0: ${info.name} (${info.architecture}, ${info.backend} ${info.driverVersion})`);
    expect(info.name.length).toBeGreaterThan(0);
    expect(info.architecture).toMatch(/^(sm_\d+|gfx[0-9a-f]+)$/);
    expect(info.multiprocessors).toBeGreaterThan(0);
    expect([32, 64]).toContain(info.warpSize);
    expect(info.totalMemory).toBeGreaterThan(2 ** 30);
    const memory = device.memoryInfo();
    expect(memory.free).toBeGreaterThan(0);
    expect(memory.free).toBeLessThanOrEqual(memory.total);
  });

  it.each([
    1,
    4,
    1000,
    65_537,
    64 * 2 ** 20,
    1.125 * 2 ** 30,
  ])('round-trips %i random bytes bit-exactly', (bytes) => {
    const data = randomFillSync(new Uint8Array(bytes));
    using buffer = device.upload(data);
    const back = buffer.read(new Uint8Array(bytes));
    expect(Buffer.compare(Buffer.from(data.buffer, data.byteOffset, bytes), Buffer.from(back.buffer))).toBe(
      0,
    );
  });

  it('orders async copies on a stream, and device-to-device copies and fills', () => {
    using stream = device.createStream();
    const a = new Float32Array(1 << 20).map((_, i) => i);
    using first = device.alloc(a.byteLength);
    using second = device.alloc(a.byteLength);
    first.writeAsync(a, stream);
    second.copyFrom(first, a.byteLength, stream);
    first.fill(0, a.byteLength, stream);
    const fromSecond = new Float32Array(a.length);
    const fromFirst = new Float32Array(a.length);
    second.readAsync(fromSecond, stream);
    first.readAsync(fromFirst, stream);
    stream.synchronize();
    expect(fromSecond).toEqual(a);
    expect(fromFirst.every((v) => v === 0)).toBe(true);
    expect(stream.query()).toBe(true);
  });

  it('launches a kernel with every argument type; events time it', async () => {
    const module = device.loadModule(compileTestKernel(device.info));
    const kernel = module.getFunction('every_argument_type');
    const attributes = kernel.attributes;
    expect(attributes.maxThreadsPerBlock).toBeGreaterThan(0);
    expect(attributes.registers).toBeGreaterThan(0);
    const n = 100_003;
    const input = new Float32Array(n).map((_, i) => i * 0.25);
    using inBuffer = device.upload(input);
    using outBuffer = device.alloc(n * 4);
    using stream = device.createStream();
    using start = device.createEvent();
    using middle = device.createEvent();
    using end = device.createEvent();
    start.record(stream);
    const launch = () =>
      kernel.launch({
        grid: Math.ceil(n / 256),
        block: 256,
        stream,
        args: [
          { type: 'pointer', value: outBuffer },
          { type: 'pointer', value: inBuffer },
          { type: 'i32', value: -3 },
          { type: 'u32', value: 5 },
          { type: 'f32', value: 2 },
          { type: 'u64', value: 2n ** 40n + 7n },
          { type: 'f64', value: 0.5 },
          { type: 'u32', value: n },
        ],
      });
    launch();
    middle.record(stream);
    module
      .getFunction('spin')
      .launch({ grid: 1, block: 1, stream, args: [{ type: 'u64', value: 5_000_000n }] });
    end.record(stream);
    await stream.wait();
    const out = new Float32Array(n);
    outBuffer.read(out);
    const d = Number((2n ** 40n + 7n) % 1000n);
    for (let i = 0; i < n; i += 997) expect(out[i]).toBeCloseTo(input[i]! * 2 - 3 + 5 + d + 0.5, 3);
    const first = middle.elapsedSince(start);
    const total = end.elapsedSince(start);
    expect(first).toBeGreaterThan(0);
    expect(total).toBeGreaterThan(first);
  });

  it('synchronizes by polling first: done within the spin, or past it (then waiting)', () => {
    const module = device.loadModule(compileTestKernel(device.info));
    using stream = device.createStream();
    const a = new Float32Array(1 << 16).map((_, i) => i);
    using buffer = device.alloc(a.byteLength);
    const back = new Float32Array(a.length);
    buffer.writeAsync(a, stream);
    buffer.readAsync(back, stream);
    stream.synchronize({ spinMicroseconds: 1_000_000 });
    expect(back).toEqual(a);
    // Milliseconds of work against a 50 µs spin: the driver's wait finishes it.
    module
      .getFunction('spin')
      .launch({ grid: 1, block: 1, stream, args: [{ type: 'u64', value: 5_000_000n }] });
    back.fill(0);
    buffer.readAsync(back, stream);
    stream.synchronize({ spinMicroseconds: 50 });
    expect(stream.query()).toBe(true);
    expect(back).toEqual(a);
    expect(() => stream.synchronize({ spinMicroseconds: -1 })).toThrow(HipArgumentError);
  });

  it('launches with arguments packed once and rewritten in place (launchPacked)', () => {
    const module = device.loadModule(compileTestKernel(device.info));
    const kernel = module.getFunction('every_argument_type');
    const n = 1000;
    const input = new Float32Array(n).map((_, i) => i);
    using inBuffer = device.upload(input);
    using outBuffer = device.alloc(n * 4);
    const packer = new KernelArgPacker(['pointer', 'pointer', 'i32', 'u32', 'f32', 'u64', 'f64', 'u32']);
    for (const [i, value] of [outBuffer, inBuffer, -3, 5, 2, 7n, 0.5, n].entries()) packer.write(i, value);
    const out = new Float32Array(n);
    for (const scale of [2, 3]) {
      packer.write(4, scale);
      kernel.launchPacked({ grid: Math.ceil(n / 256), block: 256, packer });
      device.synchronize();
      outBuffer.read(out);
      for (let i = 0; i < n; i += 97) expect(out[i]).toBeCloseTo(i * scale - 3 + 5 + 7 + 0.5, 3);
    }
  });

  it('turns driver failures into typed errors and stays usable', () => {
    const module = device.loadModule(compileTestKernel(device.info));
    expect(() => module.getFunction('no_such_kernel')).toThrow(HipError);
    const huge = device.memoryInfo().total * 4;
    let oom: unknown;
    try {
      device.alloc(huge);
    } catch (error) {
      oom = error;
    }
    expect(oom).toBeInstanceOf(HipError);
    expect((oom as HipError).driverName).toMatch(/OUT_OF_MEMORY|OutOfMemory/i);
    expect((oom as HipError).call).toMatch(/Alloc|Malloc/i);
    using out = device.alloc(16);
    using input = device.alloc(16);
    expect(() =>
      module.getFunction('every_argument_type').launch({
        grid: 1,
        block: 4096,
        args: [
          { type: 'pointer', value: out },
          { type: 'pointer', value: input },
          { type: 'i32', value: 0 },
          { type: 'u32', value: 0 },
          { type: 'f32', value: 0 },
          { type: 'u64', value: 0n },
          { type: 'f64', value: 0 },
          { type: 'u32', value: 4 },
        ],
      }),
    ).toThrow(HipError);
    // Still usable afterwards.
    using again = device.upload(new Float32Array([1, 2, 3]));
    expect([...again.read(new Float32Array(3))]).toEqual([1, 2, 3]);
    expect(() => again.write(new Float32Array(5))).toThrow(HipArgumentError);
  });

  it('refuses disposed handles without crashing', () => {
    const buffer = device.alloc(64);
    buffer.dispose();
    buffer.dispose();
    expect(() => buffer.address).toThrow(DisposedError);
    expect(() => buffer.read(new Uint8Array(64))).toThrow(DisposedError);
  });

  it('pins host memory for async copies', () => {
    const host = new Float32Array(1 << 16).map((_, i) => i);
    using pinned = device.pinHostMemory(host);
    using buffer = device.alloc(host.byteLength);
    buffer.write(host);
    const back = buffer.read(new Float32Array(host.length));
    expect(back).toEqual(host);
    expect(pinned).toBeDefined();
  });

  it('maps host memory: kernels read and write it in place, each launch seeing what the host wrote last', () => {
    const module = device.loadModule(compileTestKernel(device.info));
    const kernel = module.getFunction('every_argument_type');
    const n = 4099;
    // The input and the output in one mapped block, the output at a 16-byte-aligned offset.
    const outAt = Math.ceil((n * 4) / 16) * 16;
    const host = new ArrayBuffer(outAt + n * 4);
    const input = new Float32Array(host, 0, n);
    const output = new Float32Array(host, outAt, n);
    const mapped = device.mapHostMemory(new Uint8Array(host));
    expect(mapped.device).toBe(device);
    expect(mapped.byteLength).toBe(host.byteLength);
    expect(mapped.bytes.buffer).toBe(host);
    using stream = device.createStream();
    const d = Number((2n ** 40n + 7n) % 1000n);
    for (const round of [1, 2, 3, 4]) {
      input.forEach((_, i) => {
        input[i] = i * round;
      });
      output.fill(Number.NaN);
      kernel.launch({
        grid: Math.ceil(n / 256),
        block: 256,
        stream,
        args: [
          { type: 'pointer', value: mapped.address + BigInt(outAt) },
          { type: 'pointer', value: mapped },
          { type: 'i32', value: -3 },
          { type: 'u32', value: 5 },
          { type: 'f32', value: 2 },
          { type: 'u64', value: 2n ** 40n + 7n },
          { type: 'f64', value: 0.5 },
          { type: 'u32', value: n },
        ],
      });
      stream.synchronize({ spinMicroseconds: 1000 });
      for (let i = 0; i < n; i++) {
        if (output[i] !== input[i]! * 2 - 3 + 5 + d + 0.5)
          throw new Error(`round ${round}, element ${i}: ${output[i]}`);
      }
    }
    // Copies reach it too, as a device range.
    using source = device.upload(new Float32Array(n).fill(6));
    device.wrapBuffer(mapped.address + BigInt(outAt), n * 4).copyFrom(source, n * 4, stream);
    stream.synchronize();
    expect(output.every((v) => v === 6)).toBe(true);
    mapped.dispose();
    mapped.dispose();
    expect(() => mapped.address).toThrow(DisposedError);
    // Unmapped, the memory can be mapped again.
    device.mapHostMemory(new Uint8Array(host)).dispose();
    expect(() => device.mapHostMemory(new Uint8Array(0))).toThrow(HipArgumentError);
  });

  it('10^5 allocate/free cycles leave device memory where it started', () => {
    device.synchronize();
    const before = device.memoryInfo().free;
    for (let i = 0; i < 100_000; i++) device.alloc(4096 + (i % 7) * 512).dispose();
    const after = device.memoryInfo().free;
    expect(Math.abs(after - before)).toBeLessThan(4 * 2 ** 20);
  });

  // Memory, streams and events made straight through the driver (the addon's raw calls, as
  // another engine would make them), wrapped by address and handle.
  it('wraps memory, a stream and an event made elsewhere: ordered by the event, never freed', () => {
    device.activate();
    const raw = loadAddon();
    const bytes = 64 * 2 ** 20;
    const address = raw.malloc(bytes);
    const producerHandle = raw.streamCreate();
    const eventHandle = raw.eventCreate();
    try {
      const buffer = device.wrapBuffer(address, bytes);
      const producer = device.wrapStream(producerHandle);
      const event = device.wrapEvent(eventHandle);
      expect([buffer.wrapped, producer.wrapped, event.wrapped, buffer.address]).toEqual([
        true,
        true,
        true,
        address,
      ]);
      // The producer: a long queue of fills of scratch memory, then the data, then its event.
      using scratch = device.alloc(bytes);
      const data = new Uint32Array(bytes / 4).map((_, i) => i * 2654435761);
      using source = device.upload(data);
      buffer.fill(0xff, bytes);
      device.synchronize();
      for (let i = 0; i < 50; i++) scratch.fill(i, bytes, producer);
      buffer.copyFrom(source, bytes, producer);
      event.record(producer);
      // The consumer waits on the device for the event (or the producer stream), not on the host.
      using consumer = device.createStream();
      for (const after of [event, producer]) {
        consumer.waitFor(after);
        const back = new Uint32Array(bytes / 4);
        buffer.readAsync(back, consumer);
        consumer.synchronize();
        // Bytes compared as bytes: toEqual on a 16M-element typed array builds an entry per
        // element (it ran the GPU machine's test worker out of heap).
        expect(Buffer.compare(Buffer.from(back.buffer), Buffer.from(data.buffer))).toBe(0);
      }
      // Disposing the wrappers frees and destroys nothing: the raw handles still work.
      buffer.dispose();
      producer.dispose();
      event.dispose();
      expect(() => buffer.address).toThrow(DisposedError);
      const check = new Uint32Array(4);
      device.activate();
      raw.copyDeviceToHost(check, address, producerHandle);
      raw.streamSynchronize(producerHandle);
      raw.eventSynchronize(eventHandle);
      expect([...check]).toEqual([...data.subarray(0, 4)]);
    } finally {
      device.activate();
      raw.eventDestroy(eventHandle);
      raw.streamDestroy(producerHandle);
      raw.free(address);
    }
    expect(() => device.wrapBuffer(0n, 16)).toThrow(HipArgumentError);
    expect(() => device.wrapBuffer(address, 0)).toThrow(HipArgumentError);
    expect(() => device.wrapEvent(0n)).toThrow(HipArgumentError);
  });
});
