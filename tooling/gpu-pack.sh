#!/usr/bin/env bash
# Packs what the GPU machine needs beside the working tree into .gpu/ (ignored by git):
# this machine's node, a flat vitest install, and pnpm. Built outputs (the addon, the
# kernel binaries) travel as carried paths. See docs/DEVELOPING.md, "GPU runs".
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu
[ -f .gpu/node.xz ] || xz -T2 -c "$(command -v node)" > .gpu/node.xz
if [ ! -f .gpu/vitest-modules.tar.xz ]; then
  work=$(mktemp -d)
  version=$(node -p "require('./node_modules/vitest/package.json').version")
  (cd "$work" && echo '{"private":true}' > package.json &&
    npm install --no-audit --no-fund --loglevel=error "vitest@$version" >/dev/null)
  tar -C "$work" -cf - node_modules | xz -T2 -6 > .gpu/vitest-modules.tar.xz
  rm -rf "$work"
fi
if [ ! -f .gpu/pnpm.tgz ]; then
  (cd .gpu && npm pack --loglevel=error "pnpm@$(node -p "require('../package.json').packageManager.split('@')[1]" 2>/dev/null || echo 10)" >/dev/null && mv pnpm-*.tgz pnpm.tgz)
fi
du -sh .gpu/*

# The CLI as one bundle for the GPU machine (it has no node_modules): .gpu/cli/dist/cli.mjs,
# with the addon, the kernel binaries and sources beside it where the packages look for them
# (one level up from the bundle). Run there as `node .gpu/cli/dist/cli.mjs devices`.
if [ -f packages/cli/dist/bin.js ]; then
  rm -rf .gpu/cli && mkdir -p .gpu/cli/dist .gpu/cli/build
  node_modules/.bin/esbuild packages/cli/src/bin.ts --bundle --platform=node --format=esm --target=node20 \
    --outfile=.gpu/cli/dist/cli.mjs --log-level=warning --external:node-llama-cpp \
    --banner:js="import { createRequire as __rfRequire } from 'node:module'; const require = __rfRequire(import.meta.url);"
  cp -r packages/hip-runtime/build/Release .gpu/cli/build/ 2>/dev/null || true
  cp -r packages/sampling-kernels/prebuilt packages/sampling-kernels/kernels .gpu/cli/ 2>/dev/null || true
fi
