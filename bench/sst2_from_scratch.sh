#!/usr/bin/env bash
# The real-data run of the main job: a small BERT (4 layers, hidden 256, 4 heads, intermediate 1024)
# initialised from scratch with the original bert-base-uncased vocabulary, trained on SST-2 train
# (67,349 sentences) and evaluated on SST-2 dev (872). Prints the dev metrics and the wall time.
#   bench/sst2_from_scratch.sh [OUT_DIR] [extra train options...]
# Environment: TEXTUNE (the binary, default build/textune), SST2 (data dir, default
# ../shared/data/en/sst2), VOCAB (default ../shared/data/vocab/bert-base-uncased/vocab.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TEXTUNE:-build/textune}
SST2=${SST2:-../shared/data/en/sst2}
VOCAB=${VOCAB:-../shared/data/vocab/bert-base-uncased/vocab.txt}
OUT=${1:-/tmp/textune-sst2}
shift || true
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)
"$T" init --arch bert --vocab "$VOCAB" --output "$OUT/init" --layers 4 --hidden 256 --heads 4 \
  --intermediate 1024 --max-position 128 --seed 42
"$T" train --model "$OUT/init" --train "$SST2/train.tsv" --eval "$SST2/dev.tsv" --output "$OUT/model" \
  --num_train_epochs 1 --per_device_train_batch_size 32 --per_device_eval_batch_size 128 \
  --learning_rate 5e-4 --warmup_ratio 0.06 --weight_decay 0.01 --lr_scheduler_type linear \
  --max_length 64 --group_by_length --eval_strategy steps --eval_steps 500 --save_strategy no \
  --logging_steps 100 --seed 42 "$@" >"$OUT/train_summary.json"
"$T" eval --model "$OUT/model" --data "$SST2/dev.tsv" --output "$OUT/dev_metrics.json" >/dev/null
end=$(date +%s)
python3 - "$OUT/dev_metrics.json" "$((end - start))" <<'PY' 2>/dev/null || { echo "dev metrics: $(cat "$OUT/dev_metrics.json")"; echo "wall: $((end - start)) s"; }
import json, sys
m = json.load(open(sys.argv[1]))
print(f"textune sst2 (4-layer BERT from scratch): dev accuracy {m['accuracy']:.4f}, f1_macro {m['f1_macro']:.4f}, "
      f"mcc {m['mcc']:.4f}, wall {sys.argv[2]} s (init + train + eval)")
PY
