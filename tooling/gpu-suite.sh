#!/usr/bin/env bash
# On the GPU machine (after tooling/gpu-pack.sh here; docs/DEVELOPING.md "GPU runs"): the GPU
# suite in parts that each fit well inside one 10-minute device call, every part bounded by a
# timeout, its log under $OUT (verbose: a log cut short still says what passed), one line each:
#   bash tooling/gpu-suite.sh core sampler            # parts in order; `all` lists them
# Parts (H200, 2026-12-01, seconds roughly):
#   core      hip-runtime + sampling-kernels (~100)     sampler  gpu-sampler without agreement + cli (~80)
#   agree32   agreement at vocab 32000, every dtype (~300)
#   agree151  agreement at vocab 151936, float32 (~400)   f16-151, bf16-151  the same per half type (~400 each)
#   chain     filter chain: distributions, verify flags, chi-square (~190; NVRTC adds ~120)
#   chain32   filter-chain agreement at 32000 (~200)     chain151 the same at 151936 (~500)
#   multi     the multi-GPU file (on nvidia-h200-x2)      bench    `rocmforge bench --backend gpu`, σ = 3 and 1 (~90)
#   variants  per kernel-source variant packed by tooling/gpu-variants.sh (and main's sources, both
#             compiled by NVRTC): `core` tests and the bench cells of $VARIANT_SHAPES × $VARIANT_MODES
#             (~100 a variant)
#   agree     every CPU-agreement case above (agree32 … chain151, 71 tests) at once in 16 vitest
#             processes, a round-robin share each (ROCMFORGE_AGREEMENT_SHARD), one per core of the
#             GPU machine: the CPU references are the time, and one after another they take
#             ~2000 s, more than a session's device time (H200, 2026-12-01: 256–277 s). Not beside
#             `sampler`: its memory-flat test reads the device's free memory, which the shards move
source tooling/gpu-run.sh
out=${OUT:-.}
sampler=packages/sampler/test
run() {  # NAME SECONDS ARGS...: pnpm test:gpu ARGS, bounded, logged, summarised
  local name=$1 seconds=$2
  shift 2
  local start=$SECONDS
  timeout "$seconds" pnpm test:gpu "$@" --reporter=verbose > "$out/$name.log" 2>&1
  local code=$?
  local counts
  counts=$(grep -E '^\s+Tests\s' "$out/$name.log" | tail -1 | sed 's/^ *Tests *//')
  echo "$name: exit $code in $((SECONDS - start)) s; ${counts:-no summary (cut short?)}"
}
[ $# -gt 0 ] || set -- all
for part in "$@"; do
  case $part in
    core) run core 200 packages/hip-runtime packages/sampling-kernels ;;
    sampler)
      run sampler 150 $sampler/gpu-sampler.gpu.test.ts -t '^(?!.*agrees with the CPU).*$'
      run cli 150 packages/cli ;;
    agree32) run agree32 560 $sampler/gpu-sampler.gpu.test.ts -t 'agrees with the CPU .* vocab 32000' ;;
    agree151) run agree151 560 $sampler/gpu-sampler.gpu.test.ts -t 'vocab 151936, float32' ;;
    f16-151) run f16-151 580 $sampler/gpu-sampler.gpu.test.ts -t 'vocab 151936, float16' ;;
    bf16-151) run bf16-151 580 $sampler/gpu-sampler.gpu.test.ts -t 'vocab 151936, bfloat16' ;;
    chain) run chain 420 $sampler/chain-calls.gpu.test.ts -t '^(?!.*agrees with the CPU).*$' ;;
    chain32) run chain32 400 $sampler/chain-calls.gpu.test.ts -t 'agrees with the CPU .* vocab 32000' ;;
    chain151) run chain151 580 $sampler/chain-calls.gpu.test.ts -t 'agrees with the CPU .* vocab 151936' ;;
    multi) run multi 400 $sampler/multi-gpu-sampler.gpu.test.ts ;;
    agree)
      # ROCMFORGE_AGREEMENT_SHARD=i/n: each process takes every n-th case (tooling/gpu-test.ts).
      for i in $(seq 0 15); do
        (
          export ROCMFORGE_AGREEMENT_SHARD=$i/16
          run "agree-$i" 560 $sampler/gpu-sampler.gpu.test.ts $sampler/chain-calls.gpu.test.ts -t 'agrees with the CPU'
        ) &
      done
      wait ;;
    bench)
      local_start=$SECONDS
      timeout 300 node .gpu/cli/dist/cli.mjs bench --backend gpu --sigmas 3,1 \
        --modes plain,top-k,top-p,min-p,top-k+top-p --json "$out/bench-h200.json" --chart "$out/bench-h200.svg" \
        > "$out/bench.log" 2>&1
      echo "bench: exit $? in $((SECONDS - local_start)) s" ;;
    variants)
      # Each variant's `core` tests at once (NVRTC compiles on the CPU; one cache for all, keyed by
      # source hash), then the benches one after another on the then idle GPU (compiled modules
      # from the cache). A variant folder's ENV file (VAR=value lines) is exported for it alone.
      shapes=${VARIANT_SHAPES:-1x4096,1x151936,32x151936,128x151936,512x151936,10000x32000}
      modes=${VARIANT_MODES:-plain,top-k,top-p,top-k+top-p}
      in_variant() {  # DIR CMD...: CMD in a subshell with the variant's variables exported
        local dir=$1
        shift
        (
          if [ "$dir" = main ]; then export ROCMFORGE_KERNELS_JIT=1; else export ROCMFORGE_KERNELS_DIR="$PWD/$dir"; fi
          if [ -f "$dir/ENV" ]; then mapfile -t env < <(grep -E '^[A-Z_]+=' "$dir/ENV") && export "${env[@]}"; fi
          export ROCMFORGE_CACHE_DIR=/tmp/rf-jit
          "$@"
        )
      }
      variant_bench() {  # DIR: the bench cells, logged (inside in_variant)
        local name start=$SECONDS code
        name=$(basename "$1")
        timeout 300 node .gpu/cli/dist/cli.mjs bench --backend gpu --sigmas 3 --shapes "$shapes" \
          --modes "$modes" --dtype "${VARIANT_DTYPES:-float32}" --json "$out/bench-$name.json" > "$out/bench-$name.log" 2>&1
        code=$?
        echo "bench $name ($(cat "$1/ENV" 2>/dev/null | tr '\n' ' ')): exit $code in $((SECONDS - start)) s"
      }
      dirs=(main)
      for dir in .gpu/variants/*/; do [ -d "$dir" ] && dirs+=("${dir%/}"); done
      for dir in "${dirs[@]}"; do in_variant "$dir" run "core-$(basename "$dir")" 400 packages/sampling-kernels & done
      wait
      for dir in "${dirs[@]}"; do in_variant "$dir" variant_bench "$dir"; done ;;
    all) sed -n '/^# Parts/,/^source/p' "$0" | sed '$d' ;;
    *) echo "unknown part '$part' (bash tooling/gpu-suite.sh all lists them)" >&2; exit 2 ;;
  esac
done
