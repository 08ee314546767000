#!/usr/bin/env bash
# NER on real data, Chinese: a small BERT (4 layers, hidden 256, 4 heads, intermediate 1024)
# initialised from scratch by `textune init` with the bert-base-chinese vocabulary (character-level
# WordPiece, cased as the bert-base-chinese fixture's tokenizer), trained with `--task ner` on the
# MSRA sample in ../shared (1,000 sentences, one character per word, IOB2: LOC, ORG, PER) and
# evaluated with entity F1 (seqeval's default mode) on its dev file (2,318 sentences). In the same
# run, the classic peer: bench/ner_dictionary_baseline.sh --format msra (the CoNLL shared tasks'
# baseline), scored by `textune score --metric seqeval`. Prints both F1 side by side and the wall times.
#   [EPOCHS=20] [MAX_LENGTH=128] [LR=5e-4] [LAYERS=4 HIDDEN=256 HEADS=4 INTERMEDIATE=1024] \
#     bench/msra_from_scratch.sh [OUT_DIR] [extra train options...]
# Environment: TEXTUNE (the binary, default build/textune), MSRA (data dir, default
# ../shared/data/ner/msra), VOCAB (default ../shared/data/vocab/bert-base-chinese/vocab.txt).
# No published figure is comparable: MSRA results (SIGHAN 2006 bakeoff, Levow 2006; e.g. 93.18 F1
# for the Lattice LSTM, Zhang & Yang 2018) train on the full 46,364 training sentences and score the
# 4,365-sentence test set; this training file is a 1,000-sentence sample and the dev file is not
# that test set.
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TEXTUNE:-build/textune}
DATA=${MSRA:-../shared/data/ner/msra}
VOCAB=${VOCAB:-../shared/data/vocab/bert-base-chinese/vocab.txt}
OUT=${1:-/tmp/textune-msra}
shift || true
TRAIN=$DATA/train_sample_uer_testdata.tsv
DEV=$DATA/dev.tsv
rm -rf "$OUT"
mkdir -p "$OUT"

# the first number after "KEY": in a JSON file
num() { grep -o "\"$2\": *[-0-9.eE+]*" "$1" | head -1 | sed 's/.*: *//'; }

start=$(date +%s)
"$T" init --arch bert --vocab "$VOCAB" --output "$OUT/init" --layers "${LAYERS:-4}" \
  --hidden "${HIDDEN:-256}" --heads "${HEADS:-4}" --intermediate "${INTERMEDIATE:-1024}" --max-position 256 --cased --seed 42
"$T" train --task ner --model "$OUT/init" --train "$TRAIN" --output "$OUT/model" \
  --num_train_epochs "${EPOCHS:-20}" --per_device_train_batch_size 32 \
  --learning_rate "${LR:-5e-4}" --warmup_ratio 0.1 --weight_decay 0.01 --lr_scheduler_type linear \
  --max_length "${MAX_LENGTH:-128}" --stride 32 --group_by_length --save_strategy no \
  --logging_steps 50 --seed 42 "$@" >"$OUT/train_summary.json"
"$T" eval --model "$OUT/model" --data "$DEV" --per_device_eval_batch_size 64 --output "$OUT/dev_metrics.json" \
  >/dev/null # the seqeval report goes to stderr
end=$(date +%s)

pstart=$(date +%s%N)
bench/ner_dictionary_baseline.sh --format msra "$TRAIN" "$DEV" >"$OUT/peer_dev.conll" 2>"$OUT/peer.log" ||
  { cat "$OUT/peer.log" >&2; exit 1; }
"$T" score --metric seqeval --predictions "$OUT/peer_dev.conll" >"$OUT/peer_metrics.json" \
  2>"$OUT/peer_report.txt" || { cat "$OUT/peer_report.txt" >&2; exit 1; }
pend=$(date +%s%N)

f1=$(num "$OUT/dev_metrics.json" overall_f1)
pf1=$(num "$OUT/peer_metrics.json" overall_f1)
echo "MSRA dev (2,318 sentences), entity F1 (seqeval default mode), $(nproc) cores, shared with builds:"
awk -v l="${LAYERS:-4}" -v f="$f1" -v w="$((end - start))" 'BEGIN { printf "  textune, %d-layer BERT from scratch (bert-base-chinese vocab): %.2f  (wall %d s: init + train + eval)\n", l, 100 * f, w }'
awk -v f="$pf1" -v w="$(((pend - pstart) / 1000000))" 'BEGIN { printf "  dictionary baseline (CoNLL shared tasks):                      %.2f  (wall %d ms)\n", 100 * f, w }'
echo "  no comparable published figure (the training file is a 1,000-sentence sample; dev is not the SIGHAN 2006 test set)"
echo "  $(cat "$OUT/peer.log")"
