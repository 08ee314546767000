#!/usr/bin/env python3
"""Makes the seqeval goldens of tests/eval/seqeval_test.cpp and tests/cli/score_test.cpp by running
seqeval itself (chakki-works/seqeval, commit cd01b52, pure Python; numpy is all it needs).

Command (from the repository root, with seqeval's source checked out in /tmp/tt/ref/seqeval and the
shared data in ../shared):

    PYTHONPATH=/tmp/tt/ref/seqeval /usr/bin/python3 tests/eval/data/seqeval_make_goldens.py ../shared

Debian's python3-numpy 1.24.2 was used. seqeval/metrics/v1.py imports one warning class from
scikit-learn, which is not installed here: this script puts a stand-in module with that class in
sys.modules when sklearn cannot be imported (warnings only; no number depends on it).

Writes, under tests/eval/data/:
  seqeval_hand.json           hand cases (the sentences are in the file) x modes: seqeval's
                              classification_report dict and text (digits=4), accuracy_score, evaluate's
                              JSON, and the entities of every sentence (get_entities / Tokens.entities)
  seqeval_hand.txt            some hand cases as a conlleval file (token gold predicted), for the CLI
  seqeval_wnut17_dev.diff     predictions for WNUT-17 dev = the gold tags of
                              data/ner/wnut17/emerging.dev.conll with these changes
                              (sentence<TAB>token<TAB>predicted tag, 0-based)
  seqeval_msra_dev.diff       the same for data/ner/msra/dev.tsv
  seqeval_wnut17_SCHEME.txt   the first 250 WNUT-17 dev sentences converted from IOB2 to SCHEME
                              (IOB1, IOE1, IOE2, IOBES, BILOU), with perturbed predictions, conlleval
                              layout ("w gold predicted")
  seqeval_real.json           the results on those files
The perturbations are seeded (random.Random), so running it again writes the same files.
"""

import json
import math
import os
import random
import sys
import types
import warnings

try:
    import sklearn.exceptions  # noqa: F401
except ImportError:  # a stand-in for the one name seqeval.metrics.v1 imports
    sk = types.ModuleType("sklearn")
    ex = types.ModuleType("sklearn.exceptions")

    class UndefinedMetricWarning(UserWarning):
        pass

    ex.UndefinedMetricWarning = UndefinedMetricWarning
    sk.exceptions = ex
    sys.modules["sklearn"] = sk
    sys.modules["sklearn.exceptions"] = ex

import numpy  # noqa: E402
from seqeval.metrics import accuracy_score, classification_report  # noqa: E402
from seqeval.metrics.sequence_labeling import get_entities  # noqa: E402
from seqeval import scheme as S  # noqa: E402

warnings.simplefilter("ignore")

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../shared")
SCHEMES = {"IOB1": S.IOB1, "IOB2": S.IOB2, "IOE1": S.IOE1, "IOE2": S.IOE2, "IOBES": S.IOBES, "BILOU": S.BILOU}


def plain(x):
    """numpy scalars to Python numbers; NaN to None (JSON has no NaN)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if isinstance(x, (numpy.integer,)):
        return int(x)
    if isinstance(x, (numpy.floating, float)):
        x = float(x)
        return None if math.isnan(x) else x
    return x


def evaluate_shape(report, accuracy):
    """Hugging Face evaluate's seqeval._compute reshaping of the report, plus macro_avg and weighted_avg."""
    out = {}
    for name, s in report.items():
        if name in ("micro avg", "macro avg", "weighted avg"):
            continue
        out[name] = {"precision": s["precision"], "recall": s["recall"], "f1": s["f1-score"], "number": s["support"]}
    micro = report["micro avg"]
    out["overall_precision"] = micro["precision"]
    out["overall_recall"] = micro["recall"]
    out["overall_f1"] = micro["f1-score"]
    out["overall_accuracy"] = accuracy
    for key, name in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        s = report[name]
        out[key] = {"precision": s["precision"], "recall": s["recall"], "f1": s["f1-score"], "number": s["support"]}
    return out


def run(y_true, y_pred, mode, scheme, zero_division, with_entities):
    r = {"mode": mode, "scheme": scheme, "zero_division": zero_division}
    kw = {"zero_division": zero_division}
    if mode == "strict":
        kw.update(mode="strict", scheme=SCHEMES[scheme])
    try:
        report = classification_report(y_true, y_pred, output_dict=True, **kw)
        accuracy = accuracy_score(y_true, y_pred)
    except (ValueError, KeyError, IndexError, ZeroDivisionError) as e:
        r["error"] = type(e).__name__
        return r
    r["report_dict"] = plain(report)
    r["accuracy"] = plain(accuracy)
    r["evaluate"] = plain(evaluate_shape(report, accuracy))
    try:
        r["report_text"] = classification_report(y_true, y_pred, digits=4, **kw)
    except ValueError:  # no entity type at all: max() of an empty list in seqeval's text reporter
        r["report_text"] = None
    if with_entities:
        for side, seqs in (("entities_true", y_true), ("entities_pred", y_pred)):
            ents = []
            for sent in seqs:
                if mode == "strict":
                    es = S.Tokens(sent, SCHEMES[scheme]).entities
                    ents.append([[e.tag, e.start, e.end] for e in es])
                else:
                    ents.append(sorted([[t, b, e + 1] for t, b, e in get_entities(sent)], key=lambda x: x[1]))
            r[side] = ents
    return r


def all_modes(y_true, y_pred, zero_divisions=(0,), with_entities=False, schemes=tuple(SCHEMES)):
    out = []
    for zd in zero_divisions:
        out.append(run(y_true, y_pred, "default", None, zd, with_entities))
        for s in schemes:
            out.append(run(y_true, y_pred, "strict", s, zd, with_entities))
    return out


# ------------------------------------------------------------------------------------------------
# hand cases

def many_types(seed, n_sent=40, n_types=11):
    rng = random.Random(seed)
    types_ = ["T%02d" % k for k in range(n_types)]
    gold, pred = [], []
    for _ in range(n_sent):
        n = rng.randint(0, 12)
        g = []
        while len(g) < n:
            if rng.random() < 0.5:
                g.append("O")
            else:
                t = rng.choice(types_)
                g.append("B-" + t)
                for _ in range(rng.randint(0, 2)):
                    g.append("I-" + t)
        g = g[:n]
        p = []
        for tag in g:
            u = rng.random()
            if u < 0.15:
                p.append(rng.choice(["O"] + ["B-" + t for t in types_] + ["I-" + t for t in types_]))
            else:
                p.append(tag)
        gold.append(g)
        pred.append(p)
    return gold, pred


HAND = [
    ("seqeval_docstring",
     [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
     [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]),
    ("iob1_starts_with_i",
     [["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "O", "I-ORG"], ["I-MISC", "B-MISC", "I-MISC"]],
     [["I-PER", "B-PER", "O", "I-LOC", "I-LOC", "O", "I-ORG"], ["B-MISC", "I-MISC", "I-MISC"]]),
    ("iob2_vs_i_after_o",
     [["B-PER", "I-PER", "O", "B-LOC", "O"], ["O", "B-ORG", "I-ORG", "I-ORG"]],
     [["I-PER", "I-PER", "O", "B-LOC", "I-LOC"], ["O", "I-ORG", "I-ORG", "I-ORG"]]),
    ("iobes",
     [["B-PER", "E-PER", "S-LOC", "O", "B-ORG", "I-ORG", "E-ORG"], ["S-PER", "S-PER", "O", "B-LOC", "E-LOC"]],
     [["B-PER", "I-PER", "S-LOC", "O", "B-ORG", "E-ORG", "E-ORG"], ["S-PER", "B-PER", "O", "I-LOC", "E-LOC"]]),
    ("bilou",
     [["B-PER", "L-PER", "U-LOC", "O", "B-ORG", "I-ORG", "L-ORG"], ["U-PER", "U-PER", "O", "B-LOC", "L-LOC"]],
     [["B-PER", "I-PER", "U-LOC", "O", "B-ORG", "L-ORG", "L-ORG"], ["U-PER", "B-PER", "O", "I-LOC", "L-LOC"]]),
    ("ioe2",
     [["I-PER", "E-PER", "E-LOC", "O", "I-ORG", "I-ORG", "E-ORG"], ["E-PER", "E-PER", "O"]],
     [["I-PER", "I-PER", "E-LOC", "O", "E-ORG", "I-ORG", "E-ORG"], ["E-PER", "I-PER", "O"]]),
    ("ioe1",
     [["I-PER", "I-PER", "E-PER", "I-PER", "O", "I-LOC"], ["I-ORG", "E-ORG", "I-ORG", "O"]],
     [["I-PER", "I-PER", "I-PER", "I-PER", "O", "E-LOC"], ["I-ORG", "I-ORG", "E-ORG", "O"]]),
    ("mixed_types_inside",
     [["B-PER", "I-LOC", "I-LOC", "B-PER", "I-PER", "I-ORG"], ["B-LOC", "I-PER", "E-PER", "S-LOC"]],
     [["B-PER", "I-PER", "I-LOC", "B-PER", "I-LOC", "I-ORG"], ["B-LOC", "I-LOC", "E-LOC", "S-PER"]]),
    ("entities_at_sentence_ends",
     [["O", "B-PER"], ["I-PER", "O", "B-LOC", "I-LOC"], ["B-ORG"], ["I-ORG", "I-ORG"]],
     [["O", "B-PER"], ["I-PER", "O", "B-LOC", "I-LOC"], ["I-ORG"], ["B-ORG", "I-ORG"]]),
    ("empty_sentences",
     [[], ["B-PER", "I-PER"], [], ["O", "B-LOC"], []],
     [[], ["B-PER", "O"], [], ["O", "B-LOC"], []]),
    ("all_o",
     [["O", "O", "O"], ["O"]],
     [["O", "O", "O"], ["O"]]),
    ("no_predicted_entities",
     [["B-PER", "I-PER", "O"], ["B-LOC", "O"]],
     [["O", "O", "O"], ["O", "O"]]),
    ("no_gold_entities",
     [["O", "O", "O"], ["O", "O"]],
     [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]),
    ("odd_tags_default_mode",
     [["PER", "B-", "B", "B-PER-X", "O-PER", ".", "X-PER", "B-PER"], ["E-PER", "X-PER", "B-LOC", "I-", "I"]],
     [["B-PER", "B-", "I", "B-PER-X", "O", ".", "I-PER", "I-PER"], ["E-PER", "I-PER", "B-LOC", "I-", "I"]]),
    ("unicode_types",
     [["B-人名", "I-人名", "O", "B-地名"], ["B-Ünï", "I-Ünï"]],
     [["B-人名", "I-人名", "O", "B-人名"], ["B-Ünï", "O"]]),
]
ZD_BOTH = {"all_o", "no_predicted_entities", "no_gold_entities", "empty_sentences"}


def write_conlleval(path, gold, pred, tokens=None):
    with open(path, "w", encoding="utf-8") as f:
        for s, (g, p) in enumerate(zip(gold, pred)):
            if not g:
                continue
            for i, (a, b) in enumerate(zip(g, p)):
                tok = tokens[s][i] if tokens else "w"
                f.write("%s %s %s\n" % (tok, a, b))
            f.write("\n")


def make_hand():
    cases = []
    cli = write_cli_file()
    g, p = many_types(1234)
    all_cases = HAND + [("many_types", g, p)]
    for name, gold, pred in all_cases:
        zds = (0, 1) if name in ZD_BOTH else (0,)
        cases.append({"name": name, "y_true": gold, "y_pred": pred,
                      "results": all_modes(gold, pred, zero_divisions=zds, with_entities=True)})
    with open(os.path.join(HERE, "seqeval_hand.json"), "w", encoding="utf-8") as f:
        json.dump({"made_by": "tests/eval/data/seqeval_make_goldens.py (runs seqeval; see its docstring)",
                   "cases": cases, "cli_file": cli}, f, ensure_ascii=False, separators=(",", ":"))


def write_cli_file():
    # the CLI's file: the docstring, IOB1-style, mixed-type and sentence-end cases, one after another
    gold, pred = [], []
    for name, g_, p_ in HAND:
        if name in ("seqeval_docstring", "iob1_starts_with_i", "mixed_types_inside", "entities_at_sentence_ends",
                    "unicode_types"):
            gold += g_
            pred += p_
    write_conlleval(os.path.join(HERE, "seqeval_hand.txt"), gold, pred)
    return {"file": "seqeval_hand.txt", "results": all_modes(gold, pred, schemes=("IOB2", "IOB1"))}


# ------------------------------------------------------------------------------------------------
# real data, perturbed

def read_wnut(path):
    sents, cur = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip() == "":
                if cur:
                    sents.append(cur)
                    cur = []
                continue
            tok, tag = line.split("\t")
            cur.append((tok, tag))
    if cur:
        sents.append(cur)
    return [[t for t, _ in s] for s in sents], [[g for _, g in s] for s in sents]


def read_msra(path):
    toks, tags = [], []
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            a, b = line.split("\t")
            ta, tb = a.split(" "), b.split(" ")
            assert len(ta) == len(tb)
            toks.append(ta)
            tags.append(tb)
    return toks, tags


def chunks_iob2(tags):
    """(type, start, end exclusive) of well-formed IOB2 tags (the data are IOB2)."""
    out, i = [], 0
    while i < len(tags):
        if tags[i].startswith("B-"):
            t = tags[i][2:]
            j = i + 1
            while j < len(tags) and tags[j] == "I-" + t:
                j += 1
            out.append((t, i, j))
            i = j
        else:
            assert tags[i] == "O", tags[i]
            i += 1
    return out


def convert(tags, scheme):
    """IOB2 tags to another scheme (definitions of seqeval.scheme's docstrings / Ramshaw-Marcus, Tjong Kim Sang)."""
    out = ["O"] * len(tags)
    ch = chunks_iob2(tags)
    for k, (t, b, e) in enumerate(ch):
        prev_adjacent = k > 0 and ch[k - 1][2] == b and ch[k - 1][0] == t
        next_adjacent = k + 1 < len(ch) and ch[k + 1][1] == e and ch[k + 1][0] == t
        for i in range(b, e):
            if scheme == "IOB1":
                out[i] = ("B-" if (i == b and prev_adjacent) else "I-") + t
            elif scheme == "IOE1":
                out[i] = ("E-" if (i == e - 1 and next_adjacent) else "I-") + t
            elif scheme == "IOE2":
                out[i] = ("E-" if i == e - 1 else "I-") + t
            elif scheme == "IOBES":
                out[i] = ("S-" if e - b == 1 else "B-" if i == b else "E-" if i == e - 1 else "I-") + t
            elif scheme == "BILOU":
                out[i] = ("U-" if e - b == 1 else "B-" if i == b else "L-" if i == e - 1 else "I-") + t
    return out


PREFIXES = {"IOB1": "BI", "IOB2": "BI", "IOE1": "IE", "IOE2": "IE", "IOBES": "BIES", "BILOU": "BILU"}


def perturb(gold, scheme, types_, seed, rate=0.02):
    """Seeded predictions: whole-sentence shifts by one (boundaries), random tags, prefix changes (B->I ...),
    type changes, dropped and spurious tags."""
    rng = random.Random(seed)
    tags_all = ["O"] + [p + "-" + t for p in PREFIXES[scheme] for t in types_]
    pred = []
    for g in gold:
        p = list(g)
        if len(p) > 1 and rng.random() < 0.08:  # shift every tag one token left or right
            p = p[1:] + ["O"] if rng.random() < 0.5 else ["O"] + p[:-1]
        for i in range(len(p)):
            u = rng.random()
            if u < rate:
                p[i] = rng.choice(tags_all)
            elif u < 2 * rate and p[i] != "O":
                p[i] = rng.choice(PREFIXES[scheme]) + p[i][1:]
            elif u < 3 * rate and p[i] != "O":
                p[i] = p[i][:2] + rng.choice(types_)
            elif u < 4 * rate and p[i] != "O":
                p[i] = "O"
        pred.append(p)
    return pred


def write_diff(path, gold, pred, source):
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("# predictions = the gold tags of %s with these changes: sentence<TAB>token<TAB>predicted tag "
                "(0-based); made by seqeval_make_goldens.py\n" % source)
        for s, (g, p) in enumerate(zip(gold, pred)):
            for i, (a, b) in enumerate(zip(g, p)):
                if a != b:
                    f.write("%d\t%d\t%s\n" % (s, i, b))
                    n += 1
    return n


def main():
    make_hand()
    real = []
    wt, wg = read_wnut(os.path.join(SHARED, "data/ner/wnut17/emerging.dev.conll"))
    wtypes = sorted({t for s in wg for (t, _, _) in chunks_iob2(s)})
    wp = perturb(wg, "IOB2", wtypes, 17)
    n = write_diff(os.path.join(HERE, "seqeval_wnut17_dev.diff"), wg, wp, "data/ner/wnut17/emerging.dev.conll")
    real.append({"name": "wnut17_dev", "gold": "data/ner/wnut17/emerging.dev.conll", "diff": "seqeval_wnut17_dev.diff",
                 "sentences": len(wg), "tags": sum(map(len, wg)), "changed": n,
                 "results": all_modes(wg, wp, zero_divisions=(0,), schemes=("IOB2", "IOB1", "IOBES"))})
    mt, mg = read_msra(os.path.join(SHARED, "data/ner/msra/dev.tsv"))
    mtypes = sorted({t for s in mg for (t, _, _) in chunks_iob2(s)})
    mp = perturb(mg, "IOB2", mtypes, 12, rate=0.01)
    n = write_diff(os.path.join(HERE, "seqeval_msra_dev.diff"), mg, mp, "data/ner/msra/dev.tsv")
    real.append({"name": "msra_dev", "gold": "data/ner/msra/dev.tsv", "diff": "seqeval_msra_dev.diff",
                 "sentences": len(mg), "tags": sum(map(len, mg)), "changed": n,
                 "results": all_modes(mg, mp, zero_divisions=(0,), schemes=("IOB2",))})
    for k, scheme in enumerate(("IOB1", "IOE1", "IOE2", "IOBES", "BILOU")):
        g = [convert(s, scheme) for s in wg[:250]]
        p = perturb(g, scheme, wtypes, 100 + k)
        fname = "seqeval_wnut17_%s.txt" % scheme.lower()
        write_conlleval(os.path.join(HERE, fname), g, p)
        real.append({"name": "wnut17_" + scheme.lower(), "file": fname, "sentences": len(g), "tags": sum(map(len, g)),
                     "results": all_modes(g, p, zero_divisions=(0,), schemes=(scheme, "IOB2" if scheme != "IOB2" else "IOB1"))})
    with open(os.path.join(HERE, "seqeval_real.json"), "w", encoding="utf-8") as f:
        json.dump({"made_by": "tests/eval/data/seqeval_make_goldens.py (runs seqeval; see its docstring)",
                   "cases": real}, f, ensure_ascii=False, separators=(",", ":"))
    for c in real:
        print(c["name"], c["sentences"], "sentences", c["tags"], "tags", c.get("changed", ""),
              [(r["mode"], r["scheme"], r.get("error") or round(r["evaluate"]["overall_f1"], 4)) for r in c["results"]])


if __name__ == "__main__":
    main()
