// Compiles kernels/sampling.hip for both vendors into prebuilt/, with a manifest
// (kernels, parameter layouts, targets, source hash) and each kernel's resource usage in the
// log. A missing compiler is skipped with a message; the device then compiles at run time.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BLOCK_THREADS, KERNEL_SIGNATURES, NARROW_BLOCK_THREADS } from '../dist/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kernels = join(root, 'kernels');
const prebuilt = join(root, 'prebuilt');
mkdirSync(prebuilt, { recursive: true });

export const NVIDIA_TARGETS = ['sm_80', 'sm_86', 'sm_89', 'sm_90'];
export const AMD_TARGETS = ['gfx906', 'gfx908', 'gfx90a', 'gfx1030'];
const source = join(kernels, 'sampling.hip');
const files = readdirSync(kernels)
  .filter((f) => /\.(hip|h)$/.test(f))
  .sort();
const hash = createHash('sha256');
for (const f of files) hash.update(f).update(readFileSync(join(kernels, f)));
const sourceHash = hash.digest('hex').slice(0, 16);

function have(tool) {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(tool, args, env = process.env) {
  const result = spawnSync(tool, args, { encoding: 'utf8', env });
  return { ok: result.status === 0, log: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}

const binaries = [];

if (have('nvcc')) {
  const gencode = NVIDIA_TARGETS.flatMap((t) => ['-gencode', `arch=compute_${t.slice(3)},code=${t}`]);
  // PTX of the newest target too, for chips newer than any listed (the driver JIT-compiles it).
  gencode.push('-gencode', 'arch=compute_90,code=compute_90');
  const file = 'sampling.cuda.fatbin';
  const { ok, log } = run('nvcc', [
    '--fatbin',
    '-std=c++17',
    '-O3',
    `-DRF_BLOCK=${BLOCK_THREADS}`,
    `-DRF_NARROW_BLOCK=${NARROW_BLOCK_THREADS}`,
    '-Xptxas',
    '-v',
    ...gencode,
    '-x',
    'cu',
    '-o',
    join(prebuilt, file),
    source,
  ]);
  if (!ok) {
    console.error(log);
    throw new Error('nvcc failed to compile the kernels');
  }
  const usage = log.split('\n').filter((l) => /Compiling entry|Used \d+ registers|spill/.test(l));
  let arch = '';
  for (const line of usage) {
    const fn = /Compiling entry function '(\w+)' for '(\w+)'/.exec(line);
    if (fn) arch = `${fn[2]} ${fn[1]}`;
    else if (arch.startsWith('sm_90'))
      console.log(`[kernels] ${arch}: ${line.replace(/ptxas info\s*:\s*/, '').trim()}`);
  }
  binaries.push({ vendor: 'cuda', file, targets: NVIDIA_TARGETS, ptx: 'compute_90' });
} else {
  console.warn(
    '[kernels] nvcc not found: skipping NVIDIA binaries (NVIDIA devices will compile the kernels at run time with NVRTC).',
  );
}

if (have('hipcc')) {
  const file = 'sampling.hip.hsaco';
  const env = { ...process.env, HIP_PLATFORM: 'amd' };
  const { ok, log } = run(
    'hipcc',
    [
      '--genco',
      '-std=c++17',
      '-O3',
      `-DRF_BLOCK=${BLOCK_THREADS}`,
      `-DRF_NARROW_BLOCK=${NARROW_BLOCK_THREADS}`,
      '-Rpass-analysis=kernel-resource-usage',
      ...AMD_TARGETS.map((t) => `--offload-arch=${t}`),
      '-x',
      'hip',
      '-o',
      join(prebuilt, file),
      source,
    ],
    env,
  );
  if (!ok) {
    console.error(log);
    throw new Error('hipcc failed to compile the kernels');
  }
  let name = '';
  for (const line of log.split('\n')) {
    const fn = /Function Name: (\w+)/.exec(line);
    if (fn) name = fn[1];
    const stat =
      /remark:\s+(VGPRs|SGPRs Spill|VGPRs Spill|ScratchSize \[bytes\/lane\]|LDS Size \[bytes\/block\]): (\d+)/.exec(
        line,
      );
    if (stat && name) console.log(`[kernels] hipcc ${name}: ${stat[1]} ${stat[2]}`);
  }
  binaries.push({ vendor: 'hip', file, targets: AMD_TARGETS });
} else {
  console.warn(
    '[kernels] hipcc not found: skipping AMD binaries (AMD devices will compile the kernels at run time with hipRTC).',
  );
}

const manifest = {
  sourceHash,
  source: 'kernels/sampling.hip',
  blockThreads: BLOCK_THREADS,
  kernels: Object.entries(KERNEL_SIGNATURES).map(([name, params]) => ({ name, params })),
  binaries,
};
writeFileSync(join(prebuilt, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(
  `[kernels] wrote prebuilt/manifest.json (${binaries.map((b) => b.vendor).join(', ') || 'no binaries'}; source ${sourceHash})`,
);
