// Compiles each kernel source (kernels/sampling.hip, kernels/methods.hip: KERNEL_SOURCES) for both
// vendors into prebuilt/, one binary per source and vendor, with a manifest (kernels,
// parameter layouts, targets, hashes). The committed binaries are reused as they are when
// nothing that goes into them changed: each binary's `buildHash` covers the sources, the
// compiler flags and the targets, and its `sha256` the file itself. A changed input is rebuilt
// where its compiler exists; where it does not, its stale binary leaves the manifest (the
// device then compiles at run time). `ROCMFORGE_REBUILD_KERNELS=1` rebuilds everything. A
// manifest from before build hashes is trusted by its source hash once and given its hashes.
// One summary line per compiler; the per-kernel register / spill table goes to
// build/kernels-<vendor>.log, and to the console with `ROCMFORGE_KERNELS_VERBOSE=1`.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BLOCK_THREADS,
  KERNEL_SIGNATURES,
  KERNEL_SOURCES,
  kernelSource,
  NARROW_BLOCK_THREADS,
} from '../dist/index.cjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kernels = join(root, 'kernels');
const prebuilt = join(root, 'prebuilt');
const logs = join(root, 'build');
const manifestPath = join(prebuilt, 'manifest.json');
const forced = process.env.ROCMFORGE_REBUILD_KERNELS === '1';
const verbose = process.env.ROCMFORGE_KERNELS_VERBOSE === '1';

// A cubin runs on later minor versions of its major architecture (sm_80's on sm_86 and sm_89;
// src/manifest.ts picks it there), so one per major version is enough.
const NVIDIA_TARGETS = ['sm_80', 'sm_90'];
/** PTX of the newest target too, for chips newer than any listed (the driver JIT-compiles it). */
const NVIDIA_PTX = 'compute_90';
const AMD_TARGETS = ['gfx906', 'gfx908', 'gfx90a', 'gfx1030'];
const DEFINES = [
  '-std=c++17',
  '-O3',
  `-DRF_BLOCK=${BLOCK_THREADS}`,
  `-DRF_NARROW_BLOCK=${NARROW_BLOCK_THREADS}`,
];

/** Same hash as the package's `kernelSources().hash`: file names and contents of kernels/*.{hip,h}. */
function hashSources() {
  const hash = createHash('sha256');
  const files = readdirSync(kernels)
    .filter((f) => /\.(hip|h)$/.test(f))
    .sort();
  for (const f of files) hash.update(f).update(readFileSync(join(kernels, f)));
  return hash.digest('hex').slice(0, 16);
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');

/**
 * One compiler per vendor. `flags` is everything that shapes the binary (it goes into the
 * build hash); `diagnostics` only makes the compiler report resource usage.
 */
const compilers = [
  {
    vendor: 'cuda',
    tool: 'nvcc',
    extension: 'cuda.fatbin',
    targets: NVIDIA_TARGETS,
    ptx: NVIDIA_PTX,
    flags: [
      '--fatbin',
      ...DEFINES,
      ...NVIDIA_TARGETS.flatMap((t) => ['-gencode', `arch=compute_${t.slice(3)},code=${t}`]),
      '-gencode',
      `arch=${NVIDIA_PTX},code=${NVIDIA_PTX}`,
      // Compressed cubins and PTX (the driver inflates them at load): a third of the size.
      '-Xfatbin',
      '-compress-all',
      '-x',
      'cu',
    ],
    diagnostics: ['-Xptxas', '-v'],
    env: process.env,
    usage: nvccUsage,
    fallback: 'NVIDIA devices will compile the kernels at run time with NVRTC',
  },
  {
    vendor: 'hip',
    tool: 'hipcc',
    extension: 'hip.hsaco',
    targets: AMD_TARGETS,
    flags: ['--genco', ...DEFINES, ...AMD_TARGETS.map((t) => `--offload-arch=${t}`), '-x', 'hip'],
    diagnostics: ['-Rpass-analysis=kernel-resource-usage'],
    env: { ...process.env, HIP_PLATFORM: 'amd' },
    usage: hipccUsage,
    fallback: 'AMD devices will compile the kernels at run time with hipRTC',
  },
];

/** Every binary to build: each source with each compiler. */
const vendors = KERNEL_SOURCES.flatMap((name) =>
  compilers.map((c) => ({ ...c, source: name, file: `${name}.${c.extension}` })),
);

/** Per-kernel resource usage from `ptxas -v`: rows of the log, and the worst figures. */
function nvccUsage(log) {
  const rows = [];
  const builds = new Set();
  const spilling = new Set();
  let maxRegisters = 0;
  let kernel = '';
  for (const line of log.split('\n')) {
    const entry = /Compiling entry function '(\w+)' for '(\w+)'/.exec(line);
    if (entry) kernel = `${entry[2]} ${entry[1]}`;
    if (!kernel || !/Used \d+ registers|spill/.test(line)) continue;
    builds.add(kernel);
    const registers = /Used (\d+) registers/.exec(line);
    if (registers) maxRegisters = Math.max(maxRegisters, Number(registers[1]));
    const spill = /(\d+) bytes spill stores/.exec(line);
    if (spill && Number(spill[1]) > 0) spilling.add(kernel);
    rows.push(`${kernel}: ${line.replace(/ptxas info\s*:\s*/, '').trim()}`);
  }
  return {
    rows,
    summary: `at most ${maxRegisters} registers per thread, spill stores in ${spilling.size} of ${builds.size} kernel × architecture builds`,
  };
}

/** Per-kernel resource usage from hipcc's kernel-resource-usage remarks. */
function hipccUsage(log) {
  const rows = [];
  const kernels = new Set();
  const spilling = new Set();
  let maxVgprs = 0;
  let kernel = '';
  for (const line of log.split('\n')) {
    const fn = /Function Name: (\w+)/.exec(line);
    if (fn) kernel = fn[1];
    const stat =
      /remark:\s+(VGPRs|SGPRs Spill|VGPRs Spill|ScratchSize \[bytes\/lane\]|LDS Size \[bytes\/block\]): (\d+)/.exec(
        line,
      );
    if (!stat || !kernel) continue;
    kernels.add(kernel);
    const value = Number(stat[2]);
    if (stat[1] === 'VGPRs') maxVgprs = Math.max(maxVgprs, value);
    if (stat[1].endsWith('Spill') && value > 0) spilling.add(kernel);
    rows.push(`${kernel}: ${stat[1]} ${value}`);
  }
  return {
    rows,
    summary: `at most ${maxVgprs} VGPRs, register spills in ${spilling.size} of ${kernels.size} kernels`,
  };
}

function have(tool) {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

function readManifest() {
  if (!existsSync(manifestPath)) return undefined;
  try {
    return JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The committed binary is what its manifest entry says, built from these inputs. */
function upToDate(entry, buildHash) {
  if (!entry || entry.buildHash !== buildHash || !entry.sha256) return false;
  const path = join(prebuilt, entry.file);
  return existsSync(path) && sha256(readFileSync(path)) === entry.sha256;
}

/** Runs `tool` to completion, collecting its output. */
function run(tool, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (c) => chunks.push(c));
    child.stderr.on('data', (c) => chunks.push(c));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, log: Buffer.concat(chunks).toString('utf8') }));
  });
}

async function compile(v, buildHash) {
  const started = Date.now();
  const output = join(prebuilt, v.file);
  const source = join(kernels, `${v.source}.hip`);
  const { status, log } = await run(v.tool, [...v.flags, ...v.diagnostics, '-o', output, source], v.env);
  mkdirSync(logs, { recursive: true });
  const logPath = join(logs, `kernels-${v.source}-${v.vendor}.log`);
  writeFileSync(logPath, log);
  if (status !== 0) {
    console.error(log);
    throw new Error(`${v.tool} failed to compile kernels/${v.source}.hip (log: ${logPath})`);
  }
  const { rows, summary } = v.usage(log);
  if (verbose) for (const row of rows) console.log(`[kernels] ${v.tool} ${row}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const targets = [...v.targets, ...(v.ptx ? [v.ptx] : [])].join(' ');
  console.log(
    `[kernels] ${v.tool}: built prebuilt/${v.file} for ${targets} in ${seconds} s; ${summary} (per kernel: build/kernels-${v.source}-${v.vendor}.log)`,
  );
  return binaryEntry(v, buildHash, readFileSync(output));
}

function binaryEntry(v, buildHash, bytes) {
  return {
    vendor: v.vendor,
    source: v.source,
    file: v.file,
    targets: v.targets,
    ...(v.ptx ? { ptx: v.ptx } : {}),
    buildHash,
    sha256: sha256(bytes),
  };
}

mkdirSync(prebuilt, { recursive: true });
const sourceHash = hashSources();
const previous = readManifest();
// Both compilers run at once when both have work: each is mostly single-threaded.
const binaries = await Promise.all(
  vendors.map(async (v) => {
    const buildHash = createHash('sha256')
      .update(JSON.stringify({ sourceHash, source: v.source, flags: v.flags }))
      .digest('hex')
      .slice(0, 16);
    const committed = previous?.binaries?.find(
      (b) => b.vendor === v.vendor && (b.source ?? 'sampling') === v.source,
    );
    const fresh = upToDate(committed, buildHash);
    if (fresh && !forced) {
      console.log(
        `[kernels] ${v.tool}: prebuilt/${v.file} is up to date (build ${buildHash}), not recompiled (ROCMFORGE_REBUILD_KERNELS=1 forces it)`,
      );
      return committed;
    }
    // A manifest written before build hashes existed vouched for its binaries by the source
    // hash alone (same flags): taken at its word once, and given its hashes.
    if (!forced && committed && !committed.buildHash && previous.sourceHash === sourceHash) {
      const path = join(prebuilt, v.file);
      if (existsSync(path)) {
        console.log(
          `[kernels] ${v.tool}: prebuilt/${v.file} was built from these sources (manifest without build hashes): hashes recorded, not recompiled`,
        );
        return binaryEntry(v, buildHash, readFileSync(path));
      }
    }
    if (have(v.tool)) return compile(v, buildHash);
    if (fresh) {
      console.warn(
        `[kernels] ROCMFORGE_REBUILD_KERNELS=1 but ${v.tool} is not found: kept prebuilt/${v.file}, which is up to date.`,
      );
      return committed;
    }
    const why = committed
      ? `prebuilt/${v.file} is stale (sources, flags or file changed)`
      : 'no prebuilt binary';
    console.warn(`[kernels] ${v.tool} not found and ${why}: ${v.fallback}.`);
    return undefined;
  }),
).then((list) => list.filter((b) => b !== undefined));

const manifest = {
  sourceHash,
  source: 'kernels/sampling.hip',
  blockThreads: BLOCK_THREADS,
  kernels: Object.entries(KERNEL_SIGNATURES).map(([name, params]) => ({
    name,
    source: kernelSource(name),
    params,
  })),
  binaries,
};
const text = `${JSON.stringify(manifest, null, 2)}\n`;
// Rewritten only when it changes, so that an up-to-date build leaves the tracked file alone.
if (!existsSync(manifestPath) || readFileSync(manifestPath, 'utf8') !== text) {
  writeFileSync(manifestPath, text);
  console.log(
    `[kernels] wrote prebuilt/manifest.json (${binaries.map((b) => b.vendor).join(', ') || 'no binaries'}; source ${sourceHash})`,
  );
}
