#!/usr/bin/env bash
# Here, before tooling/gpu-pack.sh: packs the kernel sources of other branches (or commits) into
# .gpu/variants/NAME/, so that one GPU call measures them beside main's sources —
# `bash tooling/gpu-suite.sh variants` there compiles each with NVRTC (ROCMFORGE_KERNELS_DIR),
# runs the sampling-kernels GPU tests on it and benches the cells of $VARIANT_SHAPES. Only the
# kernel sources travel: a variant's TypeScript changes (launch policy) are not in the bundle.
#   bash tooling/gpu-variants.sh split-buffer-narrow half-unroll     # REV… (no arguments: clear)
#   bash tooling/gpu-variants.sh narrow-split:ROCMFORGE_SPLIT_BLOCKS=narrow   # REV:VAR=value…: the
#     variant runs with those variables set (its folder's ENV file; the TypeScript that reads them
#     must be in the packed tree)
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu/variants
for spec in "$@"; do
  rev=${spec%%:*}
  dir=.gpu/variants/$(printf '%s' "$spec" | tr -c 'a-zA-Z0-9_.-' '_')
  mkdir -p "$dir"
  git archive "$rev" packages/sampling-kernels/kernels | tar -x -C "$dir" --strip-components=3
  [ "$spec" = "$rev" ] || printf '%s\n' "${spec#*:}" | tr ':' '\n' > "$dir/ENV"
  echo "$spec → $dir ($(ls "$dir" | wc -l) files)"
done
