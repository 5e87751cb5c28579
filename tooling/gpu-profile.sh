#!/usr/bin/env bash
# On the GPU machine (after tooling/gpu-pack.sh here; see docs/DEVELOPING.md "GPU runs"): Nsight
# Compute's full set of sections for rf_sample in chosen bench cells, one text report per cell
# under $OUT (the fourth launch of the kernel: after the bench's warm-up calls).
#   bash tooling/gpu-profile.sh "512x151936 top-p" "1x151936 plain 1"    # SHAPE MODE [SIGMA]
source tooling/gpu-run.sh
cli=.gpu/cli/dist/cli.mjs
out=${OUT:-.}
for cell in "$@"; do
  set -- $cell
  name="${1}-${2//+/-}-s${3:-3}"
  timeout 120 ncu --clock-control none -k regex:rf_sample --launch-skip 3 --launch-count 1 --set full \
    node "$cli" bench --backend gpu --shapes "$1" --modes "$2" --sigmas "${3:-3}" --repetitions 1 > "$out/$name.txt" 2>&1
  echo "$name: exit $?"
done
