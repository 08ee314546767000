#!/usr/bin/env bash
# The main job on the data bundled in examples/: installs every dependency, builds, then trains a
# small BERT from scratch on SST-2 sentences (bert-base-uncased vocabulary), evaluates it on the
# SST-2 dev set, predicts two sentences, and says where the model and the plots are.
# About a minute on 2 cores after the build (the first build takes about 10 minutes).
# Output goes to $TEXTUNE_DEMO_DIR (default ./demo-output).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
BUILD_DIR=${TEXTUNE_BUILD_DIR:-build}
T="$BUILD_DIR/textune"
OUT=${TEXTUNE_DEMO_DIR:-demo-output}
DATA=examples/data/sst2
rm -rf "$OUT"
mkdir -p "$OUT"
start=$SECONDS

echo "== 1. a small BERT (2 layers, hidden 128) with the bert-base-uncased vocabulary, randomly initialised"
"$T" init --arch bert --vocab examples/vocab/bert-base-uncased/vocab.txt --output "$OUT/init" \
  --layers 2 --hidden 128 --heads 2 --intermediate 512 --max-position 128

echo "== 2. fine-tune it on SST-2 (20,000 bundled sentences), evaluating on the dev set every 200 steps"
"$T" train --model "$OUT/init" --train "$DATA/train.tsv" --eval "$DATA/dev.tsv" --output "$OUT/model" \
  --task classification --num_train_epochs 1 --per_device_train_batch_size 32 --learning_rate 1e-3 \
  --warmup_ratio 0.1 --weight_decay 0.01 --max_length 64 --group_by_length \
  --eval_strategy steps --eval_steps 200 --save_strategy no --logging_steps 50 >"$OUT/train_summary.json"

echo "== 3. evaluate the saved model on the dev set"
"$T" eval --model "$OUT/model" --data "$DATA/dev.tsv" --output "$OUT/eval.json" >/dev/null
python3 -c "import json; m = json.load(open('$OUT/eval.json')); print('accuracy %.3f  f1_macro %.3f  mcc %.3f  (%d examples)' % (m['accuracy'], m['f1_macro'], m['mcc'], m['num_examples']))" 2>/dev/null ||
  grep -E '"(accuracy|f1_macro|mcc)"' "$OUT/eval.json"

echo "== 4. predict two sentences"
"$T" predict --model "$OUT/model" "a gripping , beautifully acted film" "a dull , lifeless mess"

echo
echo "The fine-tuned model (transformers loads it unchanged): $OUT/model"
echo "Plots: $OUT/model/training_curves.png (loss and accuracy against steps), $OUT/model/confusion_matrix.png,"
echo "       $OUT/eval_confusion_matrix.png"
echo "Demo (after the build): $((SECONDS - start)) s"
echo
echo "To fine-tune a downloaded Hugging Face checkpoint instead, run the same command with --model naming it:"
echo "  $T train --model bert-base-uncased --train $DATA/train.tsv --eval $DATA/dev.tsv \\"
echo "    --output bert-sst2 --task classification --num_train_epochs 1 --learning_rate 2e-5 \\"
echo "    --per_device_train_batch_size 32 --warmup_ratio 0.1 --max_length 64 --group_by_length"
echo "(a Hub id is downloaded once into the Hub cache; a local checkpoint directory works the same: --model PATH)"
