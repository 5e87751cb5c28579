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
