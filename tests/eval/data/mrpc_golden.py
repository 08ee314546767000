#!/usr/bin/env python3
"""Golden metrics of a real MRPC prediction file, from the definitions only (no scikit-learn).

Inputs: GLUE MRPC dev.tsv (../shared/data/en/glue/MRPC/dev.tsv, 408 pairs). The predictions are a
word-overlap baseline (label 1 when the Jaccard overlap of the lower-cased token sets is >= 0.5),
written to mrpc_dev_predictions.tsv (columns: label, prediction). The metrics go to
mrpc_dev_golden.json. Run from the repository root:

  python3 tests/eval/data/mrpc_golden.py ../shared/data/en/glue/MRPC/dev.tsv tests/eval/data

Definitions (scikit-learn's precision_recall_fscore_support with zero_division=0, and GLUE's F1 of
the positive class): per class k, tp = predicted k and truly k, fp = predicted k but not truly k,
fn = truly k but not predicted k; precision = tp/(tp+fp), recall = tp/(tp+fn), f1 = 2tp/(2tp+fp+fn).
f1 (binary, pos_label=1) is class 1's f1; f1_macro the mean of the two classes' f1; f1_micro from
the summed tp, fp, fn. MCC = (tp*tn - fp*fn) / sqrt((tp+fp)(tp+fn)(tn+fp)(tn+fn)).
"""
import json
import math
import sys

src, out = sys.argv[1], sys.argv[2]
rows = []
with open(src, encoding="utf-8-sig") as f:
    header = f.readline()
    for line in f:
        cols = line.rstrip("\n").split("\t")
        a, b = set(cols[3].lower().split()), set(cols[4].lower().split())
        pred = 1 if len(a & b) / len(a | b) >= 0.5 else 0
        rows.append((int(cols[0]), pred))
with open(out + "/mrpc_dev_predictions.tsv", "w") as f:
    f.write("label\tprediction\n")
    for t, p in rows:
        f.write(f"{t}\t{p}\n")


def scores(k):
    tp = sum(1 for t, p in rows if t == k and p == k)
    fp = sum(1 for t, p in rows if t != k and p == k)
    fn = sum(1 for t, p in rows if t == k and p != k)
    div = lambda a, b: a / b if b else 0.0
    return tp, fp, fn, div(tp, tp + fp), div(tp, tp + fn), div(2 * tp, 2 * tp + fp + fn)


s0, s1 = scores(0), scores(1)
tp, fp, fn = s1[0], s1[1], s1[2]
tn = s0[0]
TP, FP, FN = s0[0] + s1[0], s0[1] + s1[1], s0[2] + s1[2]
golden = {
    "num_examples": len(rows),
    "accuracy": sum(1 for t, p in rows if t == p) / len(rows),
    "f1": s1[5], "precision": s1[3], "recall": s1[4],
    "f1_pos_label_0": s0[5], "precision_pos_label_0": s0[3], "recall_pos_label_0": s0[4],
    "f1_macro": (s0[5] + s1[5]) / 2,
    "precision_macro": (s0[3] + s1[3]) / 2, "recall_macro": (s0[4] + s1[4]) / 2,
    "f1_micro": 2 * TP / (2 * TP + FP + FN),
    "mcc": (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)),
    "confusion_matrix": [[tn, fp], [fn, tp]],
}
with open(out + "/mrpc_dev_golden.json", "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
print(json.dumps(golden))
