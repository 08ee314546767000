#!/usr/bin/env bash
# Training step time of two textune builds on the SST-2 recipe of bench/sst2_from_scratch.sh, measured
# in the same run, alternating A B A B so that load from other work falls on both alike:
#   bench/step_time_vs.sh BASE_TEXTUNE [NEW_TEXTUNE] [STEPS] [ROUNDS]
# BASE_TEXTUNE: the previous commit's `textune` (textune-core beside it); NEW_TEXTUNE: default
# build/textune. Prints each run's train_steps_per_second (trainer_state.json) and the ratio of the
# medians (new / base; above 1 is faster), and whether both reached the same training loss to the bit.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:?usage: bench/step_time_vs.sh BASE_TEXTUNE [NEW_TEXTUNE] [STEPS] [ROUNDS]}
NEW=${2:-build/textune}
STEPS=${3:-300}
ROUNDS=${4:-3}
SST2=${SST2:-../shared/data/en/sst2}
VOCAB=${VOCAB:-../shared/data/vocab/bert-base-uncased/vocab.txt}
OUT=$(mktemp -d /tmp/textune-steptime.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
"$NEW" init --arch bert --vocab "$VOCAB" --output "$OUT/init" --layers 4 --hidden 256 --heads 4 \
  --intermediate 1024 --max-position 128 --seed 42 >/dev/null
run() {  # $1 binary, $2 name
  "$1" train --model "$OUT/init" --train "$SST2/train.tsv" --output "$OUT/$2" --overwrite_output_dir \
    --max_steps "$STEPS" --per_device_train_batch_size 32 --learning_rate 5e-4 --warmup_ratio 0.06 \
    --weight_decay 0.01 --max_length 64 --group_by_length --save_strategy no --logging_steps 100 \
    --seed 42 --disable_tqdm >/dev/null 2>&1
  python3 -c "import json,sys; s=json.load(open(sys.argv[1])); e=[e for e in s['log_history'] if 'train_runtime' in e][0]; print(e['train_steps_per_second'], repr(e['train_loss']))" \
    "$OUT/$2/trainer_state.json"
}
base=() new=()
for r in $(seq "$ROUNDS"); do
  read -r b bl < <(run "$BASE" base); read -r n nl < <(run "$NEW" new)
  echo "round $r: base $b steps/s (train_loss $bl), new $n steps/s (train_loss $nl)$([ "$bl" = "$nl" ] && echo ', same loss' || echo ', LOSS DIFFERS')"
  base+=("$b"); new+=("$n")
done
python3 - "${base[*]}" "${new[*]}" <<'PY'
import statistics, sys
b = statistics.median(map(float, sys.argv[1].split())); n = statistics.median(map(float, sys.argv[2].split()))
print(f"median steps/s: base {b:.3f}, new {n:.3f}; new/base = {n / b:.3f}")
PY
