#!/usr/bin/env bash
# Rebuilds the bundled model (packages/model-kjv) from nothing, in three steps:
#   bash tooling/model/build.sh corpus WORK   # here: Debian's KJV text → WORK/corpus.txt
#   bash tooling/model/build.sh train WORK    # on a CUDA GPU with PyTorch and tokenizers
#   bash tooling/model/build.sh export WORK   # here: WORK/model.bin + tokenizer.json → GGUF
# docs/MODEL.md records the settings, the loss curve and the export check of the shipped file.
set -euo pipefail
cd "$(dirname "$0")/../.."
step=${1:?usage: build.sh corpus|train|export WORK}
work=${2:?usage: build.sh corpus|train|export WORK}
mkdir -p "$work"
case "$step" in
  corpus)
    command -v bible >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq bible-kjv >/dev/null; }
    node tooling/model/prepare-corpus.mjs "$work/corpus.txt"
    ;;
  train)
    PYTHONUNBUFFERED=1 python3 tooling/model/train.py "$work/corpus.txt" "$work" | tee "$work/train.log"
    ;;
  export)
    node packages/cli/dist/bin.js convert-llama2c "$work/model.bin" "$work/tokenizer.json" \
      packages/model-kjv/kjv.gguf --type f16 --name "rocmforge KJV"
    cp "$work/reference.json" "$work/training.json" packages/model-kjv/
    ;;
  *) echo "unknown step: $step (corpus, train or export)" >&2; exit 2 ;;
esac
