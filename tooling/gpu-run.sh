#!/usr/bin/env bash
# Runs on the GPU machine, in the repository root, after tooling/gpu-pack.sh here:
# unpacks node, vitest and pnpm from .gpu/ and puts them on PATH. Source it, then run
# `pnpm test:gpu` or `pnpm rocmforge …` as on any machine.
set -euo pipefail
mkdir -p /tmp/rocmforge-tools/bin
[ -x /tmp/rocmforge-tools/bin/node ] || { xz -dc .gpu/node.xz > /tmp/rocmforge-tools/bin/node && chmod +x /tmp/rocmforge-tools/bin/node; }
[ -d node_modules/vitest ] || tar -xJf .gpu/vitest-modules.tar.xz
if [ ! -d /tmp/rocmforge-tools/pnpm ]; then
  tar -xzf .gpu/pnpm.tgz -C /tmp/rocmforge-tools && mv /tmp/rocmforge-tools/package /tmp/rocmforge-tools/pnpm
  ln -sf /tmp/rocmforge-tools/pnpm/bin/pnpm.cjs /tmp/rocmforge-tools/bin/pnpm
fi
export PATH="/tmp/rocmforge-tools/bin:$PWD/node_modules/.bin:$PATH"
set +euo pipefail
