import { type Device, type DeviceBuffer, openDevice, probe } from '@rocmforge/hip-runtime';
import { afterAll, beforeAll, expect, it, onTestFinished } from 'vitest';
import { gpuSuite } from '../../../tooling/gpu-test.js';
import { referenceDistribution } from '../../../tooling/sampling-reference.js';
import { chiSquare, gaussianLogits } from '../../../tooling/statistics.js';
import { type RowParameterBuffers, SamplingKernels } from '../src/index.js';
import { NARROW_SPLIT_BLOCKS_PER_SM } from '../src/signatures.js';

/** Each filter alone, greedy, and top-k+top-p at T = 0.7: the settings under which the launch tests compare two ways of sampling the same rows. */
const FILTER_SETTINGS = [
  {},
  { temperature: 0 },
  { topK: 50 },
  { topP: 0.9 },
  { minP: 0.1 },
  { topK: 50, topP: 0.9, temperature: 0.7 },
];

gpuSuite(probe)('sampling kernels on a GPU', () => {
  let device: Device;
  let kernels: SamplingKernels;
  const owned: DeviceBuffer[] = [];
  const upload = (data: ArrayBufferView) => {
    const b = device.upload(data);
    owned.push(b);
    return b;
  };
  const alloc = (bytes: number) => {
    const b = device.alloc(bytes);
    owned.push(b);
    return b;
  };
  beforeAll(() => {
    device = openDevice(0);
    kernels = SamplingKernels.forDevice(device);
    console.log(`kernels for ${device.info.name}: ${kernels.origin} (${kernels.target})`);
  });
  afterAll(() => {
    for (const b of owned) b.dispose();
  });

  function params(
    batch: number,
    p: Partial<Record<keyof RowParameterBuffers, number>> & { seeds?: number[] },
  ): RowParameterBuffers {
    const f32 = (v: number) => upload(new Float32Array(batch).fill(v));
    const u32 = (v: number) => upload(new Uint32Array(batch).fill(v));
    return {
      temperature: f32(p.temperature ?? 1),
      topK: upload(new Int32Array(batch).fill(p.topK ?? 0)),
      topP: f32(p.topP ?? 1),
      minP: f32(p.minP ?? 0),
      seedLo: p.seeds ? upload(Uint32Array.from(p.seeds)) : u32(p.seedLo ?? 0),
      seedHi: u32(p.seedHi ?? 0),
      stepLo: u32(p.stepLo ?? 0),
      stepHi: u32(p.stepHi ?? 0),
      stream: upload(Uint32Array.from({ length: batch }, (_, i) => (p.stream ?? 0) + i)),
    };
  }

  it('softmax matches a float64 reference (relative error ≤ 1e-6, rows sum to 1)', () => {
    const batch = 4;
    const vocab = 50_257;
    const logits = gaussianLogits(batch * vocab, 3, 1);
    const temperature = Float32Array.from([1, 0.7, 2, 0]);
    const out = alloc(batch * vocab * 4);
    kernels.softmax({ logits: upload(logits), probs: out, batch, vocab, temperature: upload(temperature) });
    const probs = out.read(new Float32Array(batch * vocab));
    for (let r = 0; r < batch; r++) {
      const row = logits.subarray(r * vocab, (r + 1) * vocab);
      const max = row.reduce((m, v) => Math.max(m, v), -Infinity);
      const t = temperature[r]!;
      const w = Array.from(row, (v) => (t === 0 ? Number(v === max) : Math.exp((v - max) / t)));
      const z = w.reduce((a, b) => a + b, 0);
      let sum = 0;
      let worst = 0;
      for (let i = 0; i < vocab; i++) {
        const p = probs[r * vocab + i]!;
        const expected = w[i]! / z;
        sum += p;
        if (expected > 1e-30) worst = Math.max(worst, Math.abs(p - expected) / expected);
      }
      expect(Math.abs(sum - 1)).toBeLessThan(1e-6);
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it('prefix sum matches the CPU; the last element equals the total', () => {
    const batch = 3;
    const vocab = 262_144;
    const data = Float32Array.from({ length: batch * vocab }, (_, i) => ((i * 7919) % 1000) / 1000);
    const out = alloc(batch * vocab * 4);
    kernels.prefixSum({ input: upload(data), output: out, batch, vocab });
    const scan = out.read(new Float32Array(batch * vocab));
    for (let r = 0; r < batch; r++) {
      let running = 0;
      for (let i = 0; i < vocab; i++) {
        running += data[r * vocab + i]!;
        if (i % 4099 === 0 || i === vocab - 1)
          expect(Math.abs(scan[r * vocab + i]! - running) / Math.max(running, 1)).toBeLessThan(1e-6);
      }
    }
  });

  it("Philox on the device reproduces Random123's known answers", () => {
    // Counter (draw, stream, step lo, step hi), key (seed lo, seed hi).
    const vectors = [
      { c: [0, 0, 0, 0], k: [0, 0], out: [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8] },
      {
        c: [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff],
        k: [0xffffffff, 0xffffffff],
        out: [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
      },
      {
        c: [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
        k: [0xa4093822, 0x299f31d0],
        out: [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
      },
    ];
    for (const v of vectors) {
      const p = params(1, { seedLo: v.k[0], seedHi: v.k[1], stepLo: v.c[2], stepHi: v.c[3], stream: v.c[1] });
      const out = alloc(16);
      kernels.philox({ out, params: p, batch: 1, draw0: v.c[0]!, count: 1 });
      expect([...out.read(new Uint32Array(4))]).toEqual(v.out);
    }
  });

  const DRAWS_PER_ROW = 1000;
  const ROWS = 1000; // 10^6 draws in one launch
  const logits = gaussianLogits(64, 2, 7);
  const modes: Array<[string, Parameters<typeof referenceDistribution>[1]]> = [
    ['plain', {}],
    ['temperature 0.6', { temperature: 0.6 }],
    ['top-k 10', { topK: 10 }],
    ['top-p 0.8', { topP: 0.8 }],
    ['min-p 0.05', { minP: 0.05 }],
    ['top-k 20 + top-p 0.7, topKFirst', { topK: 20, topP: 0.7 }],
    ['top-k 20 + top-p 0.7, joint', { topK: 20, topP: 0.7, filterOrder: 'joint' }],
  ];
  // A zeroed split-row scratch for `sample` (the kernel keeps it zeroed between launches).
  const scratchFor = (batch: number, vocab: number) => {
    const bytes = kernels.sampleScratchBytes(batch, vocab);
    const b = alloc(Math.max(bytes, 16));
    b.fill(0);
    return b;
  };

  // Two layouts of the same 64-token distribution: 1000 rows of 64 (one block per row, 1000
  // draws each), and one row of 64 × SPREAD tokens with the 64 values spread out and -Infinity
  // between them (the row split over several blocks, 10^6 draws in the row).
  const SPREAD = 300;
  it.each(
    modes.flatMap(([name, mode]) => [
      [`${name}, a block per row`, mode, false] as const,
      [`${name}, one row split over blocks`, mode, true] as const,
    ]),
  )('%s: 10^6 draws in one launch follow the exact distribution (chi-square, α = 1e-3)', (_name, mode, split) => {
    const batch = split ? 1 : ROWS;
    const vocab = split ? logits.length * SPREAD : logits.length;
    const samples = split ? ROWS * DRAWS_PER_ROW : DRAWS_PER_ROW;
    const input = new Float32Array(batch * vocab).fill(split ? -Infinity : 0);
    if (split) {
      for (let j = 0; j < logits.length; j++) input[j * SPREAD] = logits[j]!;
    } else for (let r = 0; r < batch; r++) input.set(logits, r * vocab);
    if (split) expect(kernels.sampleParts(batch, vocab)).toBeGreaterThan(1);
    const tokens = alloc(batch * samples * 4);
    const valid = alloc(batch);
    kernels.sample({
      input: upload(input),
      batch,
      vocab,
      kind: 'logits',
      params: params(batch, {
        temperature: mode.temperature ?? 1,
        topK: mode.topK ?? 0,
        topP: mode.topP ?? 1,
        minP: mode.minP ?? 0,
        seedLo: 99,
      }),
      filterOrder: mode.filterOrder ?? 'topKFirst',
      samples,
      tokens,
      valid,
      ...(split ? { scratch: scratchFor(batch, vocab) } : {}),
    });
    const drawn = tokens.read(new Int32Array(batch * samples));
    if (split) {
      expect(drawn.every((t) => t % SPREAD === 0)).toBe(true);
      for (let i = 0; i < drawn.length; i++) drawn[i] = drawn[i]! / SPREAD;
    }
    const result = chiSquare(drawn, referenceDistribution(logits, mode), 1e-3);
    expect(result.outside).toBe(0);
    expect(result.statistic).toBeLessThan(result.critical);
    expect(valid.read(new Uint8Array(batch)).every((v) => v === 1)).toBe(true);
  });

  it('splits a row only when it is large and the batch leaves multiprocessors idle', () => {
    expect(kernels.sampleParts(1, 4096)).toBe(1);
    expect(kernels.sampleParts(1, 8192)).toBe(1);
    expect(kernels.sampleParts(1, 16_384)).toBe(8);
    const perSm = kernels.splitNarrow(1) ? NARROW_SPLIT_BLOCKS_PER_SM : 1;
    expect(kernels.sampleParts(1, 151_936)).toBe(Math.min(device.info.multiprocessors * perSm, 75));
    expect(kernels.sampleParts(device.info.multiprocessors, 151_936)).toBe(1);
  });

  it.each([
    'wide',
    'narrow',
  ] as const)('a row split over %s blocks gives the tokens and flags of one block per row (edge rows included)', (splitBlocks) => {
    const vocab = 65_536;
    const before = kernels.splitBlocks;
    kernels.splitBlocks = splitBlocks;
    onTestFinished(() => {
      kernels.splitBlocks = before;
    });
    expect(kernels.sampleNarrow(2, kernels.sampleParts(2, vocab), vocab)).toBe(splitBlocks === 'narrow');
    const special: Array<{ name: string; edit: (row: Float32Array) => void; kind?: 'probs' }> = [
      { name: 'NaN in the last chunk', edit: (r) => r.fill(Number.NaN, vocab - 3, vocab - 2) },
      { name: 'all -Infinity', edit: (r) => r.fill(-Infinity) },
      { name: '+Infinity in the last chunk', edit: (r) => r.fill(Infinity, vocab - 1) },
      {
        name: 'one-hot in the last chunk',
        edit: (r) => {
          r.fill(-Infinity);
          r[vocab - 5] = 0;
        },
      },
      { name: 'all-zero probabilities', edit: (r) => r.fill(0), kind: 'probs' },
      {
        name: 'probabilities',
        edit: (r) => r.set(r.map((_, i) => ((i * 7919) % 1000) / 1e6)),
        kind: 'probs',
      },
      { name: 'logits', edit: () => {} },
    ];
    const settings: Array<Partial<Record<keyof RowParameterBuffers, number>>> = [
      {},
      { temperature: 0 },
      { topK: 1 },
      { topK: 50 },
      { topP: 0.9 },
      { minP: 0.1 },
      { topK: 50, topP: 0.9, temperature: 0.7 },
    ];
    const samples = 512;
    let same = 0;
    let total = 0;
    for (const { name, edit, kind } of special) {
      for (const setting of settings) {
        const batch = 2;
        const x = gaussianLogits(batch * vocab, 3, 41);
        for (let r = 0; r < batch; r++) edit(x.subarray(r * vocab, (r + 1) * vocab));
        const input = upload(x);
        const run = (split: boolean) => {
          const tokens = alloc(batch * samples * 4);
          const valid = alloc(batch);
          kernels.sample({
            input,
            batch,
            vocab,
            kind: kind ?? 'logits',
            params: params(batch, { ...setting, seedLo: 17 }),
            filterOrder: 'topKFirst',
            samples,
            tokens,
            valid,
            ...(split ? { scratch: scratchFor(batch, vocab) } : {}),
          });
          return {
            tokens: tokens.read(new Int32Array(batch * samples)),
            valid: [...valid.read(new Uint8Array(batch))],
          };
        };
        const whole = run(false);
        const split = run(true);
        expect(split.valid, `${name} ${JSON.stringify(setting)}`).toEqual(whole.valid);
        for (let i = 0; i < whole.tokens.length; i++) {
          expect(split.tokens[i]).toBeGreaterThanOrEqual(whole.valid[Math.floor(i / samples)] === 1 ? 0 : -1);
          expect(split.tokens[i]).toBeLessThan(vocab);
          if (split.tokens[i] === whole.tokens[i]) same++;
          total++;
        }
      }
    }
    console.log(`split (${splitBlocks} blocks) vs whole rows: ${same} of ${total} draws identical`);
    // The two layouts sum in different orders: a draw may differ only at a rounding boundary.
    expect(same / total).toBeGreaterThanOrEqual(0.999);
  });

  it.each([
    false,
    true,
  ])('narrow blocks (many rows per multiprocessor) give the draws of full blocks (wholeRowsFourPerSm %s)', (four) => {
    const before = kernels.wholeRowsFourPerSm;
    kernels.wholeRowsFourPerSm = four;
    onTestFinished(() => {
      kernels.wholeRowsFourPerSm = before;
    });
    const sms = device.info.multiprocessors;
    const batch = 2 * sms + 7;
    const vocab = 32_000;
    expect(kernels.sampleNarrow(batch)).toBe(true);
    expect(kernels.sampleNarrow(sms)).toBe(false);
    expect(kernels.sampleNarrow(batch, 2)).toBe(false);
    // Rows never split (≤ MIN_SPLIT_VOCAB) take narrow blocks at every batch.
    expect(kernels.sampleNarrow(1, 1, 8192)).toBe(true);
    expect(kernels.sampleNarrow(1, 1, 8193)).toBe(false);
    const x = gaussianLogits(batch * vocab, 3, 77);
    x.fill(Number.NaN, 5 * vocab + 100, 5 * vocab + 101);
    x.fill(-Infinity, 6 * vocab, 7 * vocab);
    x.fill(-Infinity, 7 * vocab, 8 * vocab);
    x[7 * vocab + 123] = 1;
    const input = upload(x);
    let same = 0;
    let total = 0;
    for (const setting of FILTER_SETTINGS) {
      for (const samples of [1, 16, 64]) {
        const run = (chunk: number) => {
          const tokens = new Int32Array(batch * samples);
          const valid = new Uint8Array(batch);
          for (let first = 0; first < batch; first += chunk) {
            const rows = Math.min(chunk, batch - first);
            const t = alloc(rows * samples * 4);
            const v = alloc(rows);
            kernels.sample({
              input,
              inputOffset: first * vocab * 4,
              batch: rows,
              vocab,
              kind: 'logits',
              params: params(rows, { ...setting, seedLo: 5, stream: first }),
              filterOrder: 'topKFirst',
              samples,
              tokens: t,
              valid: v,
            });
            tokens.set(t.read(new Int32Array(rows * samples)), first * samples);
            valid.set(v.read(new Uint8Array(rows)), first);
          }
          return { tokens, valid: [...valid] };
        };
        const narrow = run(batch);
        const full = run(sms);
        expect(narrow.valid, JSON.stringify(setting)).toEqual(full.valid);
        expect(narrow.valid[5]).toBe(2);
        expect(narrow.valid[6]).toBe(0);
        for (let i = 0; i < full.tokens.length; i++) {
          expect(narrow.tokens[i]).toBeLessThan(vocab);
          if (narrow.tokens[i] === full.tokens[i]) same++;
          total++;
        }
        for (let j = 0; j < samples; j++) expect(narrow.tokens[7 * samples + j]).toBe(123);
      }
    }
    console.log(`narrow (four per SM: ${four}) vs full blocks: ${same} of ${total} draws identical`);
    expect(same / total).toBeGreaterThanOrEqual(0.999);
  });

  it('one row with its parameters by value (oneRow) gives the tokens of the same row with parameter arrays', () => {
    for (const vocab of [4096, 151_936]) {
      const x = upload(gaussianLogits(vocab, 3, 31));
      const samples = 64;
      for (const setting of [
        ...FILTER_SETTINGS,
        { topK: 50, topP: 0.9, seedHi: 3, stepLo: 12, stepHi: 1, stream: 9 },
      ]) {
        const values = {
          temperature: 1,
          topK: 0,
          topP: 1,
          minP: 0,
          seedLo: 7,
          seedHi: 0,
          stepLo: 0,
          stepHi: 0,
          stream: 0,
          ...setting,
        };
        const run = (byValue: boolean) => {
          const tokens = alloc(samples * 4);
          const valid = alloc(1);
          const common = {
            input: x,
            batch: 1,
            vocab,
            kind: 'logits',
            filterOrder: 'topKFirst',
            samples,
            tokens,
            valid,
          } as const;
          const scratch = scratchFor(1, vocab);
          if (byValue) {
            kernels.sample({
              ...common,
              scratch,
              oneRow: {
                temperature: Float32Array.of(values.temperature),
                topK: Int32Array.of(values.topK),
                topP: Float32Array.of(values.topP),
                minP: Float32Array.of(values.minP),
                seedLo: Uint32Array.of(values.seedLo),
                seedHi: Uint32Array.of(values.seedHi),
                stepLo: Uint32Array.of(values.stepLo),
                stepHi: Uint32Array.of(values.stepHi),
                stream: Uint32Array.of(values.stream),
              },
            });
          } else {
            kernels.sample({ ...common, scratch, params: params(1, values) });
          }
          return {
            tokens: [...tokens.read(new Int32Array(samples))],
            valid: [...valid.read(new Uint8Array(1))],
          };
        };
        expect(run(true), `${vocab} ${JSON.stringify(setting)}`).toEqual(run(false));
      }
    }
  });

  it('half-precision entry points (float16, bfloat16) give the tokens and statuses of the same values in float32', () => {
    // Values exactly representable in each type, so the float32 rows hold the same numbers.
    const halves = {
      // bfloat16: the top 16 bits of the float32.
      bfloat16: (x: Float32Array) => {
        const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
        const h = Uint16Array.from(bits, (b) => b >>> 16);
        return { h, f: new Float32Array(Uint32Array.from(h, (b) => b << 16).buffer) };
      },
      // IEEE half: the sign, the exponent clamped to normal halves (|x| ≥ 2^-14, else ±0), 10 bits of mantissa.
      float16: (x: Float32Array) => {
        const h = new Uint16Array(x.length);
        const f = new Float32Array(x.length);
        for (let i = 0; i < x.length; i++) {
          const v = x[i]!;
          const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
          const a = Math.abs(v);
          if (Number.isNaN(v)) {
            h[i] = 0x7e00;
            f[i] = Number.NaN;
          } else if (a === Infinity || a >= 65504) {
            h[i] = sign | 0x7c00;
            f[i] = sign ? -Infinity : Infinity;
          } else if (a < 2 ** -14) {
            h[i] = sign;
            f[i] = sign ? -0 : 0;
          } else {
            const e = Math.floor(Math.log2(a));
            const m = Math.min(1023, Math.floor((a / 2 ** e - 1) * 1024));
            h[i] = sign | ((e + 15) << 10) | m;
            f[i] = (sign ? -1 : 1) * (1 + m / 1024) * 2 ** e;
          }
        }
        return { h, f };
      },
    } as const;
    const sms = device.info.multiprocessors;
    let same = 0;
    let total = 0;
    for (const [dtype, convert] of Object.entries(halves) as Array<
      [keyof typeof halves, (typeof halves)['float16']]
    >) {
      // One row split over blocks, rows in one block each, and narrow blocks.
      for (const [batch, vocab] of [
        [1, 151_936],
        [sms, 32_003],
        [2 * sms + 3, 32_000],
      ] as const) {
        const x = gaussianLogits(batch * vocab, 3, 91);
        if (batch > 1) {
          x.fill(Number.NaN, vocab + 10, vocab + 11);
          x.fill(-Infinity, 2 * vocab, 3 * vocab);
          x[2 * vocab + 77] = 2;
        }
        const { h, f } = convert(x);
        const half = upload(h);
        const single = upload(f);
        for (const setting of [
          {},
          { temperature: 0 },
          { topK: 50 },
          { topP: 0.9 },
          { minP: 0.1 },
          { topK: 50, topP: 0.9, temperature: 0.7 },
        ]) {
          const samples = 8;
          const run = (input: DeviceBuffer, type: 'float32' | typeof dtype) => {
            const tokens = alloc(batch * samples * 4);
            const valid = alloc(batch);
            kernels.sample({
              input,
              dtype: type,
              batch,
              vocab,
              kind: 'logits',
              params: params(batch, { ...setting, seedLo: 3 }),
              filterOrder: 'topKFirst',
              samples,
              tokens,
              valid,
              scratch: scratchFor(batch, vocab),
            });
            return {
              tokens: tokens.read(new Int32Array(batch * samples)),
              valid: [...valid.read(new Uint8Array(batch))],
            };
          };
          const a = run(half, dtype);
          const b = run(single, 'float32');
          const where = `${dtype} ${batch}×${vocab} ${JSON.stringify(setting)}`;
          expect(a.valid, where).toEqual(b.valid);
          if (batch > 1) {
            expect(a.valid.slice(0, 3), where).toEqual([1, 2, 1]);
            for (let j = 0; j < samples; j++) expect(a.tokens[2 * samples + j], where).toBe(77);
          }
          for (let i = 0; i < a.tokens.length; i++) {
            expect(a.tokens[i]).toBeLessThan(vocab);
            expect(a.tokens[i]).toBeGreaterThanOrEqual(a.valid[Math.floor(i / samples)] === 1 ? 0 : -1);
            if (a.tokens[i] === b.tokens[i]) same++;
            total++;
          }
          if ('temperature' in setting) expect([...a.tokens], where).toEqual([...b.tokens]);
        }
        // Raw log-probabilities of the sampled tokens and the top 5, from the half rows.
        if (batch === sms) {
          const samples = 1;
          const tokens = alloc(batch * samples * 4);
          const valid = alloc(batch);
          const rowStats = alloc(batch * 6 * 4);
          kernels.sample({
            input: single,
            batch,
            vocab,
            kind: 'logits',
            params: params(batch, { seedLo: 9 }),
            filterOrder: 'topKFirst',
            samples,
            tokens,
            valid,
            rowStats,
          });
          const logprobs = (input: DeviceBuffer, type: 'float32' | typeof dtype) => {
            const out = alloc(batch * 4);
            kernels.tokenLogprobs({
              values: input,
              dtype: type,
              batch,
              vocab,
              kind: 'logits',
              tokens,
              samples,
              rowStats,
              mode: 'raw',
              out,
            });
            const topTokens = alloc(batch * 5 * 4);
            const topLogprobs = alloc(batch * 5 * 4);
            kernels.topLogprobs({
              values: input,
              dtype: type,
              batch,
              vocab,
              kind: 'logits',
              n: 5,
              rowStats,
              tokens,
              samples,
              mode: 'processed',
              outTokens: topTokens,
              outLogprobs: topLogprobs,
              valid,
            });
            return {
              token: out.read(new Float32Array(batch)),
              topTokens: [...topTokens.read(new Int32Array(batch * 5))],
              top: topLogprobs.read(new Float32Array(batch * 5)),
            };
          };
          const a = logprobs(half, dtype);
          const b = logprobs(single, 'float32');
          expect(a.topTokens).toEqual(b.topTokens);
          for (let i = 0; i < batch; i++) {
            if (Number.isNaN(b.token[i]!)) expect(a.token[i]).toBeNaN();
            else
              expect(Math.abs(a.token[i]! - b.token[i]!)).toBeLessThanOrEqual(
                1e-5 * Math.max(1, Math.abs(b.token[i]!)),
              );
          }
          for (let i = 0; i < a.top.length; i++) {
            if (Number.isFinite(b.top[i]!))
              expect(Math.abs(a.top[i]! - b.top[i]!)).toBeLessThanOrEqual(
                1e-5 * Math.max(1, Math.abs(b.top[i]!)),
              );
            else expect(a.top[i]).toBe(b.top[i]);
          }
        }
        // The widened copy is exact.
        const wide = alloc(batch * vocab * 4);
        kernels.widen({ input: half, dtype, output: wide, batch, vocab });
        const widened = wide.read(new Float32Array(batch * vocab));
        for (let i = 0; i < widened.length; i++) {
          if (!Object.is(widened[i], f[i]) && !(Number.isNaN(widened[i]!) && Number.isNaN(f[i]!)))
            throw new Error(`${dtype}: widened element ${i} is ${widened[i]}, expected ${f[i]}`);
        }
      }
    }
    console.log(`half vs float32 rows: ${same} of ${total} draws identical`);
    // Threads see the elements of a 16-byte load in different groupings (8 halves vs 4 floats),
    // so partial sums round differently: a draw may differ only at a rounding boundary.
    expect(same / total).toBeGreaterThanOrEqual(0.999);
  });

  it('edge rows: k = 1, k > vocab, p = 1, one-hot, uniform, all-zero probabilities, NaN, -Infinity', () => {
    const vocab = 8;
    const rows: Array<{
      x: number[];
      kind?: 'probs';
      topK?: number;
      topP?: number;
      expect: (t: number[], valid: number) => void;
    }> = [
      { x: [1, 5, 2, 5, 0, 0, 0, 0], topK: 1, expect: (t) => expect(new Set(t)).toEqual(new Set([1, 3])) },
      {
        x: [1, 5, 2, 0, 0, 0, 0, 0],
        topK: 100,
        expect: (t) => expect(t.every((v) => v >= 0 && v < vocab)).toBe(true),
      },
      {
        x: [-Infinity, -Infinity, 3, -Infinity, -Infinity, -Infinity, -Infinity, -Infinity],
        expect: (t) => expect(new Set(t)).toEqual(new Set([2])),
      },
      { x: [0, 0, 0, 0, 0, 0, 0, 0], topP: 1, expect: (t) => expect(new Set(t).size).toBe(8) },
      {
        x: [0, 0, 0, 0, 0, 0, 0, 0],
        kind: 'probs',
        expect: (t, valid) => expect([valid, ...new Set(t)]).toEqual([0, -1]),
      },
      {
        x: [0, Number.NaN, 0, 0, 0, 0, 0, 0],
        expect: (t, valid) => expect([valid, ...new Set(t)]).toEqual([2, -1]),
      },
      {
        x: new Array(8).fill(-Infinity),
        expect: (t, valid) => expect([valid, ...new Set(t)]).toEqual([0, -1]),
      },
    ];
    for (const row of rows) {
      const tokens = alloc(256 * 4);
      const valid = alloc(1);
      kernels.sample({
        input: upload(Float32Array.from(row.x)),
        batch: 1,
        vocab,
        kind: row.kind ?? 'logits',
        params: params(1, { topK: row.topK ?? 0, topP: row.topP ?? 1, seedLo: 5 }),
        filterOrder: 'topKFirst',
        samples: 256,
        tokens,
        valid,
      });
      const drawn = [...tokens.read(new Int32Array(256))];
      const flag = valid.read(new Uint8Array(1))[0]!;
      console.log(
        `edge row ${JSON.stringify(row.x.map(String))} kind ${row.kind ?? 'logits'}: valid ${flag}, tokens ${[...new Set(drawn)].join(',')}`,
      );
      row.expect(drawn, flag);
    }
  });

  it('a row whose blocks failed to meet (poisoned scratch) is flagged 3, not sampled silently', () => {
    const vocab = 65_536;
    const scratch = scratchFor(1, vocab);
    scratch.write(new Uint32Array([0, 0, 1, 0])); // RowScratch.poisoned
    const tokens = alloc(4 * 4);
    const valid = alloc(1);
    kernels.sample({
      input: upload(gaussianLogits(vocab, 3, 2)),
      batch: 1,
      vocab,
      kind: 'logits',
      params: params(1, { seedLo: 1 }),
      filterOrder: 'topKFirst',
      samples: 4,
      tokens,
      valid,
      scratch,
    });
    expect(valid.read(new Uint8Array(1))[0]).toBe(3);
  });

  it('vocab 262144: top-k + top-p, no id outside the kept set, deterministic across runs', () => {
    const vocab = 262_144;
    const batch = 4;
    const x = gaussianLogits(batch * vocab, 3, 3);
    const input = upload(x);
    const run = () => {
      const tokens = alloc(batch * 64 * 4);
      const valid = alloc(batch);
      kernels.sample({
        input,
        batch,
        vocab,
        kind: 'logits',
        params: params(batch, { topK: 50, topP: 0.9, seedLo: 1 }),
        filterOrder: 'topKFirst',
        samples: 64,
        tokens,
        valid,
      });
      return tokens.read(new Int32Array(batch * 64));
    };
    const first = run();
    expect([...run()]).toEqual([...first]);
    for (let r = 0; r < batch; r++) {
      const row = Array.from(x.subarray(r * vocab, (r + 1) * vocab));
      const fiftieth = [...row].sort((a, b) => b - a)[49]!;
      for (let s = 0; s < 64; s++) expect(row[first[r * 64 + s]!]!).toBeGreaterThanOrEqual(fiftieth);
    }
  });
});
