#!/usr/bin/env bash
# The README's first command: installs pnpm if missing, installs dependencies, builds every
# package (the native addon and the kernels when cmake / nvcc / hipcc are present), then runs
# the main job: `rocmforge devices` and a quick benchmark on whatever this machine has.
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$want" ]; then
  echo "[setup] installing pnpm $want"
  npm install --global --loglevel=error "pnpm@$want"
fi
pnpm install --frozen-lockfile
pnpm build
if [ "${ROCMFORGE_SETUP_SKIP_MAIN:-}" != "1" ]; then
  pnpm --silent rocmforge devices
  pnpm --silent rocmforge bench --quick --repetitions 3
fi
