#!/usr/bin/env bash
# The comparison line for the SST-2 run: Debian's fastText (supervised, word bigrams) trained on the
# same SST-2 train split and scored on the dev split. Prints the dev accuracy (fastText's P@1 with
# one label per line is accuracy).
#   bench/fasttext_sst2.sh [DATA_DIR (default ../shared/data/en/sst2)] [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/en/sst2}
WORK=${2:-$(mktemp -d)}
mkdir -p "$WORK"
to_ft() { tail -n +2 "$1" | awk -F'\t' '{print "__label__" $2 " " $1}'; }
to_ft "$DATA/train.tsv" >"$WORK/train.ft"
to_ft "$DATA/dev.tsv" >"$WORK/dev.ft"
start=$(date +%s.%N)
fasttext supervised -input "$WORK/train.ft" -output "$WORK/ft" -epoch 10 -lr 0.5 -wordNgrams 2 -dim 100 -thread 2 -verbose 0
end=$(date +%s.%N)
acc=$(fasttext test "$WORK/ft.bin" "$WORK/dev.ft" | awk '/^P@1/ {print $2}')
printf 'fasttext sst2: dev accuracy %s, train %.1f s (epoch 10, lr 0.5, wordNgrams 2, dim 100, 2 threads)\n' \
  "$acc" "$(echo "$end - $start" | bc)"
