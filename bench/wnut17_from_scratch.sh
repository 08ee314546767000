#!/usr/bin/env bash
# NER on real data, English: a small BERT (4 layers, hidden 256, 4 heads, intermediate 1024)
# initialised from scratch by `textune init` with the bert-base-cased vocabulary, trained with
# `--task ner` on WNUT-17 train (3,394 sentences, 62,730 words, IOB2, 6 types) and evaluated with
# entity F1 (seqeval's default mode, as run_ner.py reports it) on WNUT-17 dev (1,009 sentences).
# In the same run, the classic peer: bench/ner_dictionary_baseline.sh (the CoNLL shared tasks'
# baseline: every word sequence that was an entity of one type in the training data, longest first),
# scored by `textune score --metric seqeval`. Prints both F1 side by side and the wall times.
#   [EPOCHS=10] [MAX_LENGTH=128] bench/wnut17_from_scratch.sh [OUT_DIR] [extra train options...]
# Environment: TEXTUNE (the binary, default build/textune), WNUT17 (data dir, default
# ../shared/data/ner/wnut17), VOCAB (default ../shared/data/vocab/bert-base-cased/vocab.txt).
# For scale: the best system of the WNUT-17 shared task reached 41.9 entity F1 (41.86, UH-RiTUAL) on
# its test set (Derczynski et al. 2017, "Results of the WNUT2017 Shared Task on Novel and Emerging
# Entity Recognition", W-NUT at EMNLP), a BiLSTM-CRF with pretrained word embeddings; the test set is
# not in ../shared, and dev is scored here, so the figure is a scale, not a like-for-like comparison.
# WNUT-17's dev and test sentences were chosen so that no training entity's surface form recurs
# ("novel and emerging" entities), so the dictionary peer finds nothing there by design.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TEXTUNE:-build/textune}
DATA=${WNUT17:-../shared/data/ner/wnut17}
VOCAB=${VOCAB:-../shared/data/vocab/bert-base-cased/vocab.txt}
OUT=${1:-/tmp/textune-wnut17}
shift || true
TRAIN=$DATA/wnut17train.conll
DEV=$DATA/emerging.dev.conll
rm -rf "$OUT"
mkdir -p "$OUT"

# the first number after "KEY": in a JSON file
num() { grep -o "\"$2\": *[-0-9.eE+]*" "$1" | head -1 | sed 's/.*: *//'; }

start=$(date +%s)
"$T" init --arch bert --vocab "$VOCAB" --output "$OUT/init" --layers 4 --hidden 256 --heads 4 \
  --intermediate 1024 --max-position 256 --cased --seed 42
"$T" train --task ner --model "$OUT/init" --train "$TRAIN" --eval "$DEV" --output "$OUT/model" \
  --num_train_epochs "${EPOCHS:-10}" --per_device_train_batch_size 32 --per_device_eval_batch_size 64 \
  --learning_rate 5e-4 --warmup_ratio 0.1 --weight_decay 0.01 --lr_scheduler_type linear \
  --max_length "${MAX_LENGTH:-128}" --stride 32 --group_by_length --eval_strategy epoch --save_strategy no \
  --logging_steps 50 --seed 42 "$@" >"$OUT/train_summary.json"
"$T" eval --model "$OUT/model" --data "$DEV" --output "$OUT/dev_metrics.json" >/dev/null # the report goes to stderr
end=$(date +%s)

pstart=$(date +%s%N)
bench/ner_dictionary_baseline.sh "$TRAIN" "$DEV" >"$OUT/peer_dev.conll" 2>"$OUT/peer.log" ||
  { cat "$OUT/peer.log" >&2; exit 1; }
"$T" score --metric seqeval --predictions "$OUT/peer_dev.conll" >"$OUT/peer_metrics.json" \
  2>"$OUT/peer_report.txt" || { cat "$OUT/peer_report.txt" >&2; exit 1; }
pend=$(date +%s%N)

f1=$(num "$OUT/dev_metrics.json" overall_f1)
pf1=$(num "$OUT/peer_metrics.json" overall_f1)
echo "WNUT-17 dev, entity F1 (seqeval default mode), $(nproc) cores, shared with builds:"
awk -v f="$f1" -v w="$((end - start))" 'BEGIN { printf "  textune, 4-layer BERT from scratch (bert-base-cased vocab): %.2f  (wall %d s: init + train + eval)\n", 100 * f, w }'
awk -v f="$pf1" -v w="$(((pend - pstart) / 1000000))" 'BEGIN { printf "  dictionary baseline (CoNLL shared tasks):                   %.2f  (wall %d ms)\n", 100 * f, w }'
echo "  WNUT-17 shared task best system, test set (Derczynski et al. 2017): 41.86 (for scale)"
echo "  $(cat "$OUT/peer.log")"
