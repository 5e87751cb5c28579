#!/usr/bin/env bash
# Runs on the GPU machine, in the repository root, after tooling/gpu-pack.sh here:
# unpacks node and the test and CLI modules from .gpu/ and puts them on PATH. Source it, then run
# `pnpm test:gpu` or `pnpm rocmforge …` as on any machine.
set -euo pipefail
mkdir -p /tmp/rocmforge-tools/bin
[ -x /tmp/rocmforge-tools/bin/node ] || { xz -dc .gpu/node.xz > /tmp/rocmforge-tools/bin/node && chmod +x /tmp/rocmforge-tools/bin/node; }
[ -d node_modules/vitest ] || tar -xJf .gpu/test-modules.tar.xz
# No pnpm there (the carry is limited to 64 MiB): `pnpm SCRIPT` runs the root package's script.
if ! command -v pnpm >/dev/null 2>&1; then
  pnpm() {
    local script
    script=$(node -p "require('./package.json').scripts[process.argv[1]] ?? ''" "$1")
    [ -n "$script" ] || { echo "pnpm shim: no script '$1'" >&2; return 1; }
    shift
    bash -c "$script \"\$@\"" pnpm "$@"
  }
fi
export PATH="/tmp/rocmforge-tools/bin:$PWD/node_modules/.bin:$PATH"
set +euo pipefail
