// Builds the addon with cmake-js. The addon needs only a C++ compiler and Node's headers;
// when cmake or a compiler is missing the build says so and the package still builds its JS
// (the runtime then reports "addon not built" as a typed error).
import { spawnSync } from 'node:child_process';

const cmake = spawnSync('cmake', ['--version'], { stdio: 'ignore' });
if (cmake.status !== 0) {
  console.warn(
    '[hip-runtime] cmake not found: skipping the native addon (GPU backends will be unavailable).',
  );
  process.exit(0);
}
const result = spawnSync('pnpm', ['exec', 'cmake-js', 'compile', '--log-level', 'warn'], {
  stdio: 'inherit',
});
if (result.status !== 0) {
  console.error('[hip-runtime] the native addon failed to build');
  process.exit(result.status ?? 1);
}
