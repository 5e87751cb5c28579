#!/usr/bin/env bash
# Runs on the GPU machine, in the repository root, after tooling/gpu-pack.sh here:
# unpacks node and the test and CLI modules from .gpu/ and puts them on PATH. Source it, then run
# `pnpm test:gpu` or `pnpm rocmforge …` as on any machine.
set -euo pipefail
mkdir -p /tmp/rocmforge-tools/bin
[ -x /tmp/rocmforge-tools/bin/node ] || { xz -dc .gpu/node.xz > /tmp/rocmforge-tools/bin/node && chmod +x /tmp/rocmforge-tools/bin/node; }
[ -d node_modules/vitest ] || tar -xJf .gpu/test-modules.tar.xz
# No pnpm there (the carry is limited to 64 MiB): a `pnpm` on PATH runs the root package's
# script (`pnpm [-s] SCRIPT ARGS…`), for this shell and for the commands tests start; the CLI
# runs from its bundle in .gpu/cli.
if ! command -v pnpm >/dev/null 2>&1; then
  cat > /tmp/rocmforge-tools/bin/pnpm <<'SHIM'
#!/usr/bin/env bash
while [ "${1:-}" = "-s" ] || [ "${1:-}" = "--silent" ]; do shift; done
if [ "${1:-}" = "rocmforge" ] && [ ! -f packages/cli/dist/bin.js ]; then
  shift
  exec node .gpu/cli/dist/cli.mjs "$@"
fi
script=$(node -p "require('./package.json').scripts[process.argv[1]] ?? ''" "${1:-}")
[ -n "$script" ] || { echo "pnpm shim: no script '${1:-}'" >&2; exit 1; }
shift
exec bash -c "$script \"\$@\"" pnpm "$@"
SHIM
  chmod +x /tmp/rocmforge-tools/bin/pnpm
fi
export PATH="/tmp/rocmforge-tools/bin:$PWD/node_modules/.bin:$PATH"
set +euo pipefail
