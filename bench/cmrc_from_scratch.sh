#!/usr/bin/env bash
# Question answering on real data, Chinese: CMRC 2018 dev (Cui et al. 2019, "A Span-Extraction
# Dataset for Chinese Machine Reading Comprehension": 848 Wikipedia paragraphs, each its own
# article, 3,219 questions) split by ARTICLE, seeded: 20% of the articles held out
# (`qa_baselines split --held-out 0.2 --seed 42`), the rest to train on. A small BERT (2 layers, hidden 128, 2 heads, intermediate 512) initialised from
# scratch by `textune init` with the bert-base-chinese vocabulary (character-level WordPiece) is
# trained with `--task qa` and evaluated on the held-out questions with the official CMRC 2018 metric
# (ymcui/cmrc2018's cmrc2018_evaluate.py: EM and the longest-common-substring F1 over mixed
# segmentation). In the same run, on the same held-out questions, the two peers of
# bench/qa_baselines.cpp: the sliding-window baseline of the SQuAD paper (Rajpurkar et al. 2016,
# section 5.1; characters as words; N chosen on the training split) and the first sentence of the
# context (a sentence ends at 。！？ too). All three are scored by `textune score --metric cmrc2018`.
# Training and evaluation skip a question whose FIRST answer's answer_start does not match its text
# (--skip-invalid; 3 in CMRC 2018 dev; later misaligned answers are kept for their text), and all three are scored on the questions the model was
# evaluated on (`qa_baselines subset`). Prints EM/F1 side by side, the wall times and the model's
# evaluation speed (questions/s).
#   [EPOCHS=3] [MAX_LENGTH=256] [DOC_STRIDE=64] [LR=5e-4] [LAYERS=2 HIDDEN=128 HEADS=2 INTERMEDIATE=512] \
#     bench/cmrc_from_scratch.sh [OUT_DIR] [extra train options...]
# Environment: TEXTUNE (the binary, default build/textune), BASELINES (default build/qa_baselines,
# built on demand: it is not part of the default build), CMRC (default
# ../shared/data/qa/cmrc2018/cmrc2018_dev.json), VOCAB (default
# ../shared/data/vocab/bert-base-chinese/vocab.txt).
# For scale (not like-for-like: they train on CMRC's 10,142 training questions and score all 3,219 of
# dev): Google's pretrained Chinese BERT-base 65.5 EM / 84.5 F1 on dev (Cui et al. 2021, "Pre-Training With
# Whole Word Masking for Chinese BERT", IEEE/ACM TASLP).
set -euo pipefail
cd "$(dirname "$0")/.."
T=${TEXTUNE:-build/textune}
B=${BASELINES:-build/qa_baselines}
DATA=${CMRC:-../shared/data/qa/cmrc2018/cmrc2018_dev.json}
VOCAB=${VOCAB:-../shared/data/vocab/bert-base-chinese/vocab.txt}
OUT=${1:-/tmp/textune-cmrc}
shift || true
rm -rf "$OUT"
mkdir -p "$OUT"
[ -x "$B" ] || cmake --build "$(dirname "$B")" --target qa_baselines >&2

# the first number after "KEY": in a JSON file
num() { grep -o "\"$2\": *[-0-9.eE+]*" "$1" | head -1 | sed 's/.*: *//'; }
# the first of KEY1, KEY2 found (the official names first; eval's scalars are exact_match and f1)
pick() { v=$(num "$1" "$2"); [ -n "$v" ] || v=$(num "$1" "$3"); echo "${v:-nan}"; }

"$B" split --data "$DATA" --held-out 0.2 --seed 42 --train-output "$OUT/train.json" \
  --eval-output "$OUT/heldout.json" 2>"$OUT/split.log" || { cat "$OUT/split.log" >&2; exit 1; }
nh=$(sed -n 's/.*heldout.json: .* \([0-9]*\) questions$/\1/p' "$OUT/split.log")

start=$(date +%s)
"$T" init --arch bert --vocab "$VOCAB" --output "$OUT/init" --layers "${LAYERS:-2}" --hidden "${HIDDEN:-128}" \
  --heads "${HEADS:-2}" --intermediate "${INTERMEDIATE:-512}" --max-position 512 --cased --seed 42
"$T" train --task qa --model "$OUT/init" --train "$OUT/train.json" --output "$OUT/model" \
  --num_train_epochs "${EPOCHS:-3}" --per_device_train_batch_size 32 \
  --learning_rate "${LR:-5e-4}" --warmup_ratio 0.1 --weight_decay 0.01 --lr_scheduler_type linear \
  --max_length "${MAX_LENGTH:-256}" --doc_stride "${DOC_STRIDE:-64}" --save_strategy no \
  --logging_steps 10 --seed 42 --skip-invalid "$@" >"$OUT/train_summary.json"
trained=$(date +%s)
estart=$(date +%s%N)
"$T" eval --model "$OUT/model" --data "$OUT/heldout.json" --per_device_eval_batch_size 64 --skip-invalid \
  --output "$OUT/heldout_metrics.json" 2>"$OUT/eval.log" >/dev/null || { cat "$OUT/eval.log" >&2; exit 1; }
eend=$(date +%s%N)
end=$(date +%s)
# the questions the model was evaluated on (eval --skip-invalid leaves out a question whose first answer's
# answer_start does not match its text), and our predictions scored on them by the same scorer
# as the peers'
ours=$OUT/heldout_metrics_predictions.json
"$B" subset --data "$OUT/heldout.json" --ids "$ours" --output "$OUT/scored.json" 2>"$OUT/subset.log" ||
  { cat "$OUT/subset.log" >&2; exit 1; }
nq=$(sed -n 's/.*scored.json: .* \([0-9]*\) questions$/\1/p' "$OUT/subset.log")
"$T" score --metric cmrc2018 --references "$OUT/scored.json" --predictions "$ours" >"$OUT/ours_score.json"

pstart=$(date +%s%N)
"$B" predict --data "$OUT/scored.json" --train "$OUT/train.json" --metric cmrc2018 \
  --sliding-window "$OUT/sliding_window.json" --first-sentence "$OUT/first_sentence.json" 2>"$OUT/peers.log" ||
  { cat "$OUT/peers.log" >&2; exit 1; }
pend=$(date +%s%N)
for p in sliding_window first_sentence; do
  "$T" score --metric cmrc2018 --references "$OUT/scored.json" --predictions "$OUT/$p.json" >"$OUT/${p}_score.json"
done

row() {  # label file wall
  awk -v l="$1" -v em="$(pick "$2" EM exact_match)" -v f1="$(pick "$2" F1 f1)" -v w="$3" \
    'BEGIN { printf "  %-58s EM %6.2f  F1 %6.2f  %s\n", l, em, f1, w }'
}
echo "CMRC 2018 dev, held-out 20% of the articles (seed 42): ${nq} of its ${nh} questions scored, CMRC 2018 metric, $(nproc) cores, shared:"
row "textune, ${LAYERS:-2}-layer BERT from scratch (bert-base-chinese vocab)" "$OUT/ours_score.json" \
  "(wall $((end - start)) s: init + train $((trained - start)) s + eval)"
awk -v n="$nq" -v ns="$((eend - estart))" 'BEGIN { printf "  %-58s %.1f questions/s (eval: %.1f s)\n", "  its evaluation speed", n / (ns / 1e9), ns / 1e9 }'
row "sliding window (Rajpurkar et al. 2016, 5.1; N from train)" "$OUT/sliding_window_score.json" \
  "(wall $(((pend - pstart) / 1000000)) ms for both peers, N chosen on train)"
row "first sentence of the context" "$OUT/first_sentence_score.json" ""
echo "  $(grep '^sliding window: N' "$OUT/peers.log")"
echo "  for scale, all of CMRC 2018 dev, trained on its 10,142 training questions: pretrained Chinese BERT-base 65.5/84.5 (Cui et al. 2021)"
