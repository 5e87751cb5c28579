#!/usr/bin/env bash
# Packs what the GPU machine needs beside the working tree into .gpu/ (ignored by git):
# this machine's node and a flat install of the test and CLI modules. Built outputs (the addon, the
# kernel binaries) travel as carried paths. See docs/DEVELOPING.md, "GPU runs".
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu
# This machine's node, without its symbol tables and at xz's strongest setting: the carry (tree
# included) is limited to 64 MiB, and node is the largest piece of it (99 MB → 22 MB; 24 MB
# unstripped at the default level).
node_id="$(node -p process.version) stripped xz-9e"
if [ ! -f .gpu/node.xz ] || [ "$(cat .gpu/node.txt 2>/dev/null)" != "$node_id" ]; then
  work=$(mktemp -d)
  cp "$(command -v node)" "$work/node" && strip "$work/node"
  xz -T2 -9e -c "$work/node" > .gpu/node.xz
  echo "$node_id" > .gpu/node.txt
  rm -rf "$work"
fi
# A flat node_modules for the GPU machine's tests: vitest, the CLI's registry dependencies and
# its engine (node-llama-cpp, CPU build), at the versions installed here. The engine's llama.cpp
# sources (only for building it) stay behind.
modules=$(node -e '
  const { dependencies = {}, optionalDependencies = {} } = require("./packages/cli/package.json");
  const names = ["vitest", ...Object.keys({ ...dependencies, ...optionalDependencies })]
    .filter((n) => !n.startsWith("@rocmforge/"));
  const fs = require("node:fs");
  const version = (n) => JSON.parse(fs.readFileSync(["packages/cli", "."].map((d) => `${d}/node_modules/${n}/package.json`).find(fs.existsSync), "utf8")).version;
  console.log(names.map((n) => `${n}@${version(n)}`).join(" "));')
if [ ! -f .gpu/test-modules.tar.xz ] || [ "$(cat .gpu/test-modules.txt 2>/dev/null)" != "$modules xz-9e" ]; then
  work=$(mktemp -d)
  # A hoisted (npm-like) install with the root's overrides, which leave out the engine's
  # CUDA / Vulkan / other-platform binaries.
  node -e '
    const [, dir, ...specs] = process.argv;
    const overrides = require("./package.json").pnpm?.overrides ?? {};
    const dependencies = Object.fromEntries(specs.map((s) => { const at = s.lastIndexOf("@"); return [s.slice(0, at), s.slice(at + 1)]; }));
    require("node:fs").writeFileSync(`${dir}/package.json`, JSON.stringify({ private: true, dependencies, pnpm: { overrides } }));' "$work" $modules
  (cd "$work" && pnpm install --config.node-linker=hoisted --config.ignore-scripts=true --reporter=silent >/dev/null)
  tar -C "$work" --exclude='node_modules/node-llama-cpp/llama/llama.cpp*' --exclude='*.bundle' --exclude='node_modules/.pnpm' \
    -cf - node_modules | xz -T2 -9e > .gpu/test-modules.tar.xz
  echo "$modules xz-9e" > .gpu/test-modules.txt
  rm -rf "$work"
fi
du -sh .gpu/*

# The CLI as one bundle for the GPU machine (it has no node_modules): .gpu/cli/dist/cli.mjs,
# with the addon, the kernel binaries and sources beside it where the packages look for them
# (one level up from the bundle). Run there as `node .gpu/cli/dist/cli.mjs devices`.
if [ -f packages/cli/dist/bin.js ]; then
  rm -rf .gpu/cli && mkdir -p .gpu/cli/dist .gpu/cli/build
  # esbuild as tsup installed it (pnpm does not hoist it to node_modules/.bin).
  esbuild=$(node -p "require.resolve('esbuild/bin/esbuild', { paths: [require.resolve('tsup')] })")
  "$esbuild" packages/cli/src/bin.ts --bundle --platform=node --format=esm --target=node20 \
    --outfile=.gpu/cli/dist/cli.mjs --log-level=warning --external:node-llama-cpp \
    --banner:js="import { createRequire as __rfRequire } from 'node:module'; const require = __rfRequire(import.meta.url);"
  # The host-path benchmark beside it (packages/sampler/bench/host-io.mjs, over the built sampler):
  # `node .gpu/cli/dist/host-io.mjs` there.
  "$esbuild" packages/sampler/bench/host-io.mjs --bundle --platform=node --format=esm --target=node20 \
    --outfile=.gpu/cli/dist/host-io.mjs --log-level=warning \
    --banner:js="import { createRequire as __rfRequire } from 'node:module'; const require = __rfRequire(import.meta.url);"
  cp -r packages/hip-runtime/build/Release .gpu/cli/build/ 2>/dev/null || true
  # The kernel binaries and sources as links: they travel in the tree already (64 MiB carry).
  ln -sfn ../../packages/sampling-kernels/prebuilt .gpu/cli/prebuilt
  ln -sfn ../../packages/sampling-kernels/kernels .gpu/cli/kernels
  # The bundled model, where the bundle looks for it (a link: the file travels in the tree).
  ln -sf ../../packages/model-kjv/kjv.gguf ../../packages/model-kjv/training.json .gpu/cli/
fi
