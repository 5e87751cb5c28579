#!/usr/bin/env bash
# The README's first command: installs pnpm if missing, installs dependencies, builds every
# package (the native addon with cmake when present; the kernels reuse the committed prebuilt/
# binaries unless their sources changed), then runs the main job: `rocmforge devices` and a
# quick benchmark on whatever this machine has. Ends with the time each step took.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
timings=()
# Runs a step and records how long it took.
step() {
  local name=$1 began=$SECONDS
  shift
  "$@"
  timings+=("$name $((SECONDS - began)) s")
}
want=$(node -p "require('./package.json').packageManager.split('@')[1]")
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$want" ]; then
  echo "[setup] installing pnpm $want"
  step "pnpm" npm install --global --loglevel=error "pnpm@$want"
fi
step "install" pnpm install --frozen-lockfile --prefer-offline
step "build" pnpm build
if [ "${ROCMFORGE_SETUP_SKIP_MAIN:-}" != "1" ]; then
  step "devices" pnpm --silent rocmforge devices
  step "bench" pnpm --silent rocmforge bench --quick --repetitions 3
fi
summary=$(IFS=,; echo "${timings[*]}")
echo "[setup] done in $((SECONDS - started)) s (${summary//,/, })"
