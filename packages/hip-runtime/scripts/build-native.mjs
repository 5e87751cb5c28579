// Builds the native addon with cmake-js. It needs cmake, a C++20 compiler and Node's headers
// (node-api-headers, through cmake-js): no GPU SDK, the driver is opened at run time.
//
//   node scripts/build-native.mjs
//     This machine's addon in build/Release: `pnpm build` in the repository (without cmake or
//     a compiler it says so and the package still builds its JS), and the source build on
//     install (scripts/install.mjs) where no prebuilt addon fits.
//   node scripts/build-native.mjs --target linux-x64-gnu [--target linux-arm64-gnu]
//     The prebuilt addon of each platform package, with the toolchain of cmake/<target>.cmake
//     (cross-compiled where the target is not this machine) and ROCMFORGE_PORTABLE_GLIBC (old
//     glibc symbol versions), written to packages/hip-runtime-<target>/ and checked: the ELF
//     machine, and the newest glibc symbol version it needs.
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ADDON = 'rocmforge_hip_runtime.node';
/** The newest glibc symbol version a prebuilt addon may need (Node 20 itself needs 2.28). */
const MAX_GLIBC = [2, 17];
/** What each target's toolchain file names, for checks and messages. */
const TARGETS = {
  'linux-x64-gnu': {
    compiler: 'x86_64-linux-gnu-g++',
    elfMachine: 62,
    debianPackage: 'g++ (on x64) or g++-x86-64-linux-gnu',
  },
  'linux-arm64-gnu': {
    compiler: 'aarch64-linux-gnu-g++',
    elfMachine: 183,
    debianPackage: 'g++-aarch64-linux-gnu',
  },
};

function works(command, args = ['--version']) {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

/** Everything a build needs that this machine lacks, each with how to get it. */
export function missingForBuild(target) {
  const missing = [];
  const require = createRequire(import.meta.url);
  if (!works('cmake')) missing.push('cmake 3.15+ (Debian/Ubuntu: apt-get install cmake)');
  const compiler = target ? TARGETS[target].compiler : (process.env.CXX ?? 'c++');
  if (!works(compiler))
    missing.push(
      target
        ? `the C++ compiler ${compiler} (Debian/Ubuntu: apt-get install ${TARGETS[target].debianPackage})`
        : `a C++20 compiler (${compiler}; Debian/Ubuntu: apt-get install g++, or set CXX)`,
    );
  for (const dependency of ['cmake-js/package.json', 'node-addon-api']) {
    try {
      require.resolve(dependency);
    } catch {
      missing.push(`the npm package ${dependency.split('/')[0]} (a dependency of @rocmforge/hip-runtime)`);
    }
  }
  return missing;
}

/**
 * Builds the addon for `target` (undefined: this machine, into build/Release). Returns the
 * addon's path, or throws an Error naming what is missing or the build's output.
 */
export function buildAddon(target) {
  const missing = missingForBuild(target);
  if (missing.length > 0) throw new Error(`cannot build the native addon: missing ${missing.join('; ')}`);
  const started = Date.now();
  const out = target ? join(root, 'build', `prebuilt-${target}`) : join(root, 'build');
  const cmakeJs = join(
    dirname(createRequire(import.meta.url).resolve('cmake-js/package.json')),
    'bin',
    'cmake-js',
  );
  const args = [
    cmakeJs,
    'compile',
    '--log-level',
    'warn',
    '-d',
    root,
    '-O',
    out,
    '--parallel',
    String(availableParallelism()),
  ];
  if (target)
    args.push(
      `--CDCMAKE_TOOLCHAIN_FILE=${join(root, 'cmake', `${target}.cmake`)}`,
      '--CDROCMFORGE_PORTABLE_GLIBC=ON',
    );
  const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  if (result.status !== 0)
    throw new Error(
      `cmake-js failed to build the native addon:\n${result.stdout ?? ''}${result.stderr ?? ''}`,
    );
  const built = join(out, 'Release', ADDON);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  if (!target) {
    console.log(`[hip-runtime] built build/Release/${ADDON} in ${seconds} s`);
    return built;
  }
  const destination = join(root, '..', `hip-runtime-${target}`, ADDON);
  copyFileSync(built, destination);
  const needs = checkPrebuilt(destination, target);
  console.log(
    `[hip-runtime] built ${target} addon (${needs}) in ${seconds} s: packages/hip-runtime-${target}/${ADDON}`,
  );
  return destination;
}

/** Checks a prebuilt addon's ELF machine and glibc symbol versions; says what it needs. */
function checkPrebuilt(file, target) {
  const bytes = readFileSync(file);
  const machine = bytes.readUInt16LE(18);
  if (bytes.readUInt32BE(0) !== 0x7f454c46 || machine !== TARGETS[target].elfMachine)
    throw new Error(`${file} is not an ELF shared object for ${target} (machine ${machine})`);
  const readelf = spawnSync('readelf', ['-V', '--wide', file], { encoding: 'utf8' });
  if (readelf.status !== 0) return 'glibc versions not checked: readelf not found';
  const versions = [...readelf.stdout.matchAll(/Name: GLIBC_(\d+)\.(\d+)/g)].map((m) => [
    Number(m[1]),
    Number(m[2]),
  ]);
  const newest = versions.reduce((a, b) => (b[0] > a[0] || (b[0] === a[0] && b[1] > a[1]) ? b : a), [0, 0]);
  if (newest[0] > MAX_GLIBC[0] || (newest[0] === MAX_GLIBC[0] && newest[1] > MAX_GLIBC[1]))
    throw new Error(
      `${file} needs GLIBC_${newest.join('.')}, newer than the ${MAX_GLIBC.join('.')} the prebuilt addons promise (ROCMFORGE_PORTABLE_GLIBC did not take)`,
    );
  return `glibc ${newest.join('.')}+`;
}

// The command line: the repository build, or the platform packages' prebuilt addons.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const targets = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--target' ? [a] : []));
  for (const target of targets)
    if (!TARGETS[target]) {
      console.error(`[hip-runtime] unknown --target ${target}; known: ${Object.keys(TARGETS).join(', ')}`);
      process.exit(2);
    }
  if (targets.length === 0) {
    const missing = missingForBuild(undefined);
    if (missing.length > 0) {
      console.warn(
        `[hip-runtime] skipping the native addon (GPU backends will be unavailable): missing ${missing.join('; ')}`,
      );
      process.exit(0);
    }
  }
  try {
    if (targets.length === 0) buildAddon(undefined);
    for (const target of targets) buildAddon(target);
  } catch (error) {
    console.error(`[hip-runtime] ${error.message}`);
    process.exit(1);
  }
}
