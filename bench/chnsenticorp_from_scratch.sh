#!/usr/bin/env bash
# The Chinese run: a small BERT (4 layers, hidden 256) initialised from scratch with the
# bert-base-chinese vocabulary (character-level WordPiece), trained on ChnSentiCorp (9,600 reviews)
# and evaluated on its dev set (1,200). Prints the dev accuracy and the wall time.
#   [EPOCHS=3] [MAX_LENGTH=128] bench/chnsenticorp_from_scratch.sh [OUT_DIR] [extra train options...]
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TEXTUNE:-build/textune}
DATA=${CHNSENTICORP:-../shared/data/zh/chnsenticorp}
VOCAB=${VOCAB:-../shared/data/vocab/bert-base-chinese/vocab.txt}
OUT=${1:-/tmp/textune-chnsenticorp}
shift || true
rm -rf "$OUT"
mkdir -p "$OUT"
start=$(date +%s)
"$T" init --arch bert --vocab "$VOCAB" --output "$OUT/init" --layers 4 --hidden 256 --heads 4 \
  --intermediate 1024 --max-position 256 --cased --seed 42
"$T" train --model "$OUT/init" --train "$DATA/train.tsv" --eval "$DATA/dev.tsv" --output "$OUT/model" \
  --text-column text_a --num_train_epochs "${EPOCHS:-3}" --per_device_train_batch_size 32 --per_device_eval_batch_size 64 \
  --learning_rate 5e-4 --warmup_ratio 0.06 --weight_decay 0.01 --max_length "${MAX_LENGTH:-128}" --group_by_length \
  --eval_strategy epoch --save_strategy no --logging_steps 50 --seed 42 "$@" >"$OUT/train_summary.json"
"$T" eval --model "$OUT/model" --data "$DATA/dev.tsv" --text-column text_a --output "$OUT/dev_metrics.json" >/dev/null
end=$(date +%s)
echo "textune chnsenticorp (4-layer BERT from scratch, bert-base-chinese vocab): dev $(grep -E '"accuracy"' "$OUT/dev_metrics.json" | head -1 | tr -d ' ,') wall $((end - start)) s"
