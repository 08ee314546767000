#!/usr/bin/env python3
"""Makes the goldens of tests/eval/squad_test.cpp and tests/cli/score_test.cpp (SQuAD v1.1, SQuAD v2.0
and CMRC 2018 metrics) by running the official evaluation scripts themselves.

Command (from the repository root; the reference sources under /tmp/tt/ref, the shared data in
../shared; Debian's python3 3.11 and python3-numpy 1.24, nothing else):

    /usr/bin/python3 tests/eval/data/squad_make_goldens.py /tmp/tt/ref ../shared

The reference sources (not committed):
  squad/squad_compute_score.py      huggingface/evaluate metrics/squad/compute_score.py (official v1.1)
  squad/squad_v2_compute_score.py   huggingface/evaluate metrics/squad_v2/compute_score.py (official
                                    v2.0; it reads answers as {"text": [...]}, so the data file given to
                                    it is written in that shape); its main() is run with OPTS set
  cmrc2018/cmrc2018_evaluate.py     ymcui/cmrc2018 squad-style-data/cmrc2018_evaluate.py (Python 2)
  nltk/destructive.py               nltk/tokenize/destructive.py (NLTKWordTokenizer)

CMRC 2018: the script is Python 2. It is run here after these textual changes only: `reload(sys)`,
`sys.setdefaultencoding` and `import nltk` dropped, `str(x).decode('utf-8')` -> `str(x)`, `ur'...'` ->
`r'...'`, and `nltk.word_tokenize` -> NLTKWordTokenizer().tokenize (destructive.py, imported with
stand-ins for the two nltk modules it imports and does not use for tokenize). word_tokenize would first
split the run into sentences with punkt (model data we do not have); it is skipped, so a run holding a
sentence-final period inside it ("u.s. army. next") can tokenize differently from word_tokenize
(punkt would split after "army." and the period would become its own token). Python 3 string
semantics throughout (str.lower, str.strip, re's Unicode \\w \\d \\s \\b), as in the SQuAD scripts.

Writes, under tests/eval/data/:
  squad_v1_predictions.json     {id: text} over data/qa/xquad/xquad.en.json (seeded perturbations of a
                                gold answer; some ids missing)
  squad_v2_predictions.json     {id: text} over the v2.0 set: XQuAD-en with the questions listed in
                                squad_goldens.json "v2"."unanswerable" made unanswerable (answers [])
  squad_v2_na_probs.json        {id: no-answer probability} for those predictions (rounded to 2
                                decimals for most, so that there are ties; file order matters there)
  squad_cmrc2018_predictions.json  {id: text} over data/qa/cmrc2018/cmrc2018_dev.json
  squad_goldens.json            the expected numbers: per-question and totals for each, v2.0 at several
                                thresholds and without na_probs, hand cases, mixed_segmentation cases
The perturbations are seeded (random.Random), so running it again writes the same files.
"""

import collections
import importlib.util
import io
import json
import os
import random
import re
import sys
import tempfile
import types
from argparse import Namespace
from contextlib import redirect_stderr, redirect_stdout

HERE = os.path.dirname(os.path.abspath(__file__))
REF = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tt/ref"
SHARED = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "../../../../shared")


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


v1 = load_module("squad_v1", os.path.join(REF, "squad/squad_compute_score.py"))
v2 = load_module("squad_v2", os.path.join(REF, "squad/squad_v2_compute_score.py"))

# NLTKWordTokenizer with stand-ins for nltk.tokenize.api.TokenizerI and nltk.tokenize.util.align_tokens
for name in ["nltk", "nltk.tokenize", "nltk.tokenize.api", "nltk.tokenize.util"]:
    sys.modules[name] = types.ModuleType(name)
sys.modules["nltk.tokenize.api"].TokenizerI = object
sys.modules["nltk.tokenize.util"].align_tokens = None
destructive = load_module("destructive", os.path.join(REF, "nltk/destructive.py"))
word_tokenize = destructive.NLTKWordTokenizer().tokenize

# the CMRC 2018 script, ported to Python 3 as little as needed
with open(os.path.join(REF, "cmrc2018/cmrc2018_evaluate.py"), encoding="utf-8") as f:
    src = f.read()
for old, new in [
    ("reload(sys)\n", ""),
    ("sys.setdefaultencoding('utf8')\n", ""),
    ("import nltk\n", ""),
    (".decode('utf-8')", ""),
    ("ur'", "r'"),
    ("nltk.word_tokenize", "word_tokenize"),
]:
    assert old in src, old
    src = src.replace(old, new)
src = src.split("if __name__ == '__main__':")[0]
cmrc = types.ModuleType("cmrc2018_evaluate")
cmrc.word_tokenize = word_tokenize
exec(compile(src, "cmrc2018_evaluate.py", "exec"), cmrc.__dict__)


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def write(name, value, indent=None):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=indent)
        f.write("\n")


def questions(dataset):
    for article in dataset["data"]:
        for p in article["paragraphs"]:
            for qa in p["qas"]:
                yield p["context"], qa


# ---- perturbations --------------------------------------------------------------------------------

DASHES = ["\u2013", "\u2014", "\u2010", "\u2212"]
FULLWIDTH = ["\uff0c", "\u3002", "\uff01", "\uff1a", "\uff1f", "\uff08", "\uff09"]


def perturb_en(rng, text, context, start, others):
    words = text.split()
    before = context[:start].split()[-3:]
    after = context[start + len(text):].split()[:3]
    k = rng.randrange(17)
    if k <= 2:
        return text
    if k == 3 and len(words) > 1:  # drop a word
        i = rng.randrange(len(words))
        return " ".join(words[:i] + words[i + 1:])
    if k == 4:  # add context words on either side
        n = rng.randint(1, 2)
        return " ".join((before[-n:] if rng.random() < 0.5 else []) + words + after[:n])
    if k == 5 and len(words) > 1:  # swap two words
        i, j = rng.sample(range(len(words)), 2)
        words[i], words[j] = words[j], words[i]
        return " ".join(words)
    if k == 6:
        return ""
    if k == 7:  # only an article
        return rng.choice(["the", "The", "a", "An", " the ", "THE"])
    if k == 8:  # case
        return rng.choice([text.upper(), text.lower(), text.title()])
    if k == 9:  # ASCII punctuation
        return rng.choice(['"' + text + '"', text + ".", "(" + text + ")", text + "!?", "'" + text + "'"])
    if k == 10:  # Unicode dashes: inside, around, or instead of hyphens and spaces
        d = rng.choice(DASHES)
        if "-" in text and rng.random() < 0.7:
            return text.replace("-", d)
        if len(words) > 1:
            return d.join(words) if rng.random() < 0.5 else (" " + d + " ").join(words)
        return d + text
    if k == 11:  # full-width punctuation
        p = rng.choice(FULLWIDTH)
        return rng.choice([text + p, p + text, text.replace(" ", p + " "), "\uff08" + text + "\uff09"])
    if k == 12:  # another question's answer
        return rng.choice(others)
    if k == 13:  # article added
        return rng.choice(["the ", "a ", "an ", "The "]) + text
    if k == 14:  # whitespace
        return rng.choice(["  " + text + "\t", text.replace(" ", "\n"), "\u00a0" + text + "\u3000"])
    return text + " " + " ".join(after[:1])


def perturb_zh(rng, text, context, start, others):
    left = context[max(0, start - 3):start]
    right = context[start + len(text):start + len(text) + 3]
    k = rng.randrange(17)
    if k <= 2:
        return text
    if k == 3 and len(text) > 1:
        return text[1:] if rng.random() < 0.5 else text[:-1]
    if k == 4:
        n = rng.randint(1, 3)
        return (left[-n:] if rng.random() < 0.5 else "") + text + right[:n]
    if k == 5:
        return text + rng.choice(["\uff0c", "\u3002", "\uff01", "\uff1a", "\u3001", "\u2026\u2026", "\u2026"])
    if k == 6:
        return ""
    if k == 7:
        a, b = rng.choice([("\u300a", "\u300b"), ("\u300c", "\u300d"), ("\u201c", "\u201d"), ("(", ")"),
                           ("\uff08", "\uff09"), ('"', '"'), ("'", "'")])
        return a + text + b
    if k == 8:
        return " ".join(text) if rng.random() < 0.3 else " " + text + " "
    if k == 9:
        return text.upper() if rng.random() < 0.5 else text.title()
    if k == 10:
        return rng.choice(others)
    if k == 11:  # ASCII punctuation and English words around
        return rng.choice([text + ".", text + ",", "the " + text, text + " etc.", text + "'s", "u.s. " + text,
                           text + " (1990s)", "$" + text, text + "%", text + " can't"])
    if k == 12 and len(text) > 2:
        i = rng.randrange(1, len(text) - 1)
        return text[:i] + rng.choice(["-", "\u00b7", "/", "~", " ", "\u2014"]) + text[i:]
    if k == 13:
        return text.replace(" ", "")
    if k == 14:
        return left + right
    return text + right[:1]


# ---- SQuAD v1.1 -----------------------------------------------------------------------------------

xquad_path = os.path.join(SHARED, "data/qa/xquad/xquad.en.json")
xquad = load(xquad_path)
rng = random.Random(1311)
all_answers = [a["text"] for _, qa in questions(xquad) for a in qa["answers"]]
preds_v1 = {}
for context, qa in questions(xquad):
    if rng.random() < 0.03:
        continue  # missing prediction
    a = rng.choice(qa["answers"])
    preds_v1[qa["id"]] = perturb_en(rng, a["text"], context, a["answer_start"], all_answers)
write("squad_v1_predictions.json", preds_v1)
with redirect_stderr(io.StringIO()):
    v1_total = v1.compute_score(xquad["data"], preds_v1)
v1_per = {}
for _, qa in questions(xquad):
    if qa["id"] in preds_v1:
        gts = [a["text"] for a in qa["answers"]]
        p = preds_v1[qa["id"]]
        v1_per[qa["id"]] = [float(v1.metric_max_over_ground_truths(v1.exact_match_score, p, gts)),
                            float(v1.metric_max_over_ground_truths(v1.f1_score, p, gts))]


# ---- SQuAD v2.0 -----------------------------------------------------------------------------------

def run_v2(dataset_rows, preds, na_probs, thresh):
    """The v2.0 script's main() on files written from these rows ([(id, [answer texts])])."""
    data = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{"context": "c", "qas": [
        {"id": i, "question": "q", "answers": {"text": list(ans), "answer_start": [0] * len(ans)}}
        for i, ans in dataset_rows]}]}]}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, value in [("data", data), ("pred", preds), ("na", na_probs)]:
            paths[name] = os.path.join(tmp, name + ".json")
            with open(paths[name], "w", encoding="utf-8") as f:
                json.dump(value, f, ensure_ascii=False)
        v2.OPTS = Namespace(data_file=paths["data"], pred_file=paths["pred"], out_file=None,
                            na_prob_file=paths["na"] if na_probs is not None else None,
                            na_prob_thresh=thresh, out_image_dir=None, verbose=False)
        out = io.StringIO()
        with redirect_stdout(out):
            v2.main()
    text = out.getvalue()
    return json.loads(text[text.index("{"):], object_pairs_hook=collections.OrderedDict)


rng = random.Random(2013)
v2_rows, unanswerable, preds_v2, na_v2 = [], [], {}, {}
for context, qa in questions(xquad):
    words = context.split()
    if rng.random() < 0.3:
        unanswerable.append(qa["id"])
        v2_rows.append((qa["id"], []))
        i = rng.randrange(len(words))
        preds_v2[qa["id"]] = "" if rng.random() < 0.5 else " ".join(words[i:i + rng.randint(1, 4)])
        p = 0.35 + 0.65 * rng.random()
    else:
        v2_rows.append((qa["id"], [a["text"] for a in qa["answers"]]))
        a = rng.choice(qa["answers"])
        preds_v2[qa["id"]] = "" if rng.random() < 0.1 else perturb_en(rng, a["text"], context,
                                                                     a["answer_start"], all_answers)
        p = 0.7 * rng.random()
    r = rng.random()
    na_v2[qa["id"]] = 0.0 if r < 0.03 else 1.0 if r < 0.06 else (round(p, 2) if r < 0.8 else p)
# the file order of na_probs is not the question order (ties keep file order in the script's sort)
na_items = list(na_v2.items())
rng.shuffle(na_items)
na_v2 = dict(na_items)
write("squad_v2_predictions.json", preds_v2)
write("squad_v2_na_probs.json", na_v2)
v2_runs = []
for thresh in [1.0, 0.5, 0.37, 0.0]:
    v2_runs.append({"na_probs": True, "na_prob_thresh": thresh, "expected": run_v2(v2_rows, preds_v2, na_v2, thresh)})
v2_runs.append({"na_probs": False, "na_prob_thresh": 1.0, "expected": run_v2(v2_rows, preds_v2, None, 1.0)})
v2_per = {}
gold_v2 = dict(v2_rows)
for qid, p in preds_v2.items():
    golds = [t for t in gold_v2[qid] if v2.normalize_answer(t)] or [""]
    v2_per[qid] = [float(max(v2.compute_exact(a, p) for a in golds)), float(max(v2.compute_f1(a, p) for a in golds))]


# ---- CMRC 2018 ------------------------------------------------------------------------------------

cmrc_path = os.path.join(SHARED, "data/qa/cmrc2018/cmrc2018_dev.json")
cmrc_data = load(cmrc_path)
rng = random.Random(2018)
zh_answers = [a["text"] for _, qa in questions(cmrc_data) for a in qa["answers"]]
preds_cmrc = {}
for context, qa in questions(cmrc_data):
    if rng.random() < 0.03:
        continue
    a = rng.choice(qa["answers"])
    preds_cmrc[qa["id"]] = perturb_zh(rng, a["text"], context, a["answer_start"], zh_answers)
write("squad_cmrc2018_predictions.json", preds_cmrc)
with redirect_stderr(io.StringIO()):
    F1, EM, TOTAL, SKIP = cmrc.evaluate(cmrc_data, preds_cmrc)
cmrc_total = collections.OrderedDict([("AVERAGE", (EM + F1) * 0.5), ("F1", F1), ("EM", EM), ("TOTAL", TOTAL),
                                      ("SKIP", SKIP)])
cmrc_per = {}
for _, qa in questions(cmrc_data):
    if qa["id"] in preds_cmrc:
        answers = [x["text"] for x in qa["answers"]]
        p = preds_cmrc[qa["id"]]
        cmrc_per[qa["id"]] = [float(cmrc.calc_em_score(answers, p)), float(cmrc.calc_f1_score(answers, p))]


# ---- hand cases -----------------------------------------------------------------------------------

HAND_SQUAD = [
    # an answer that is only an article
    ("the", "the"), ("The", "a"), ("an", "Denver Broncos"), ("the Broncos", "Broncos"), ("a", ""),
    ("A", "THE"), ("an apple", "the apple"), ("theater", "the ater"), ("the-end", "end"), ("an_a", "an a"),
    # Unicode dashes (not in string.punctuation: they stay, and split nothing)
    ("1990\u20131995", "1990-1995"), ("1990\u20131995", "19901995"), ("1990 \u2013 1995", "1990 1995"),
    ("New York\u2014City", "New York City"), ("\u2014", ""), ("state\u2010of\u2010the\u2010art", "state-of-the-art"),
    ("a \u2013 the", "\u2013"),
    # full-width punctuation (stays: string.punctuation is ASCII)
    ("\u5317\u4eac\uff0c\u4e2d\u56fd", "\u5317\u4eac,\u4e2d\u56fd"), ("Denver\uff01", "Denver"), ("Denver\u3002", "Denver."),
    ("\uff08the Broncos\uff09", "(the Broncos)"), ("\uff0c", ""),
    # Unicode-aware lower case and word boundaries
    ("\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2"), ("\u039f\u0394\u039f\u03a3 A", "\u03bf\u03b4\u03bf\u03c3"),
    ("\u0130stanbul", "istanbul"), ("\u00c9COLE the", "\u00e9cole"), ("caf\u00e9 a", "CAF\u00c9"),
    ("the\u00e9", "the \u00e9"), ("a\u0301 b", "b"), ("\u00e0 la", "la"), ("x_the_y", "x the y"),
    ("the\u00a0end", "end"), ("the\u3000end", "end"), ("1\u00bd the", "1\u00bd"), ("the\u0663", "the 3"),
    # whitespace, repeats, empty
    ("", ""), ("   ", "the"), ("a a a", ""), ("cat cat dog", "cat dog dog"), ("Super Bowl 50", "super bowl 50!"),
    ('"Denver" Broncos', "Denver Broncos."), ("\t\nx\r\n", "x"), ("x\x1cy", "x y"),
]
hand_squad = []
for pred, gold in HAND_SQUAD:
    hand_squad.append({"prediction": pred, "ground_truth": gold, "normalized_prediction": v1.normalize_answer(pred),
                       "exact": float(v1.exact_match_score(pred, gold)), "f1": float(v1.f1_score(pred, gold)),
                       "exact_v2": float(v2.compute_exact(gold, pred)), "f1_v2": float(v2.compute_f1(gold, pred))})
    assert v1.normalize_answer(pred) == v2.normalize_answer(pred)

HAND_V2 = [
    {"name": "empty prediction for an unanswerable question",
     "gold": [["q1", []], ["q2", ["Denver Broncos"]]], "predictions": {"q1": "", "q2": "Broncos"}},
    {"name": "only unanswerable questions, empty and non-empty predictions",
     "gold": [["q1", []], ["q2", []], ["q3", []]], "predictions": {"q1": "", "q2": "the", "q3": "x"},
     "na_probs": {"q1": 0.9, "q2": 0.2, "q3": 0.2}, "thresholds": [1.0, 0.5, 0.1]},
    {"name": "an answer that is only an article counts as unanswerable gold [\"\"] but stays HasAns",
     "gold": [["q1", ["the"]], ["q2", ["an", "a"]], ["q3", ["The Broncos"]]],
     "predictions": {"q1": "", "q2": "an", "q3": "the"}, "na_probs": {"q1": 0.4, "q2": 0.6, "q3": 0.5},
     "thresholds": [1.0, 0.5]},
    {"name": "Unicode dashes and full-width punctuation",
     "gold": [["q1", ["1990-1995"]], ["q2", ["\u5317\u4eac"]], ["q3", []]],
     "predictions": {"q1": "1990\u20131995", "q2": "\u5317\u4eac\u3002", "q3": "\u2014"},
     "na_probs": {"q3": 0.7, "q2": 0.7, "q1": 0.7}, "thresholds": [1.0, 0.6, 0.7]},
    {"name": "ties: file order of na_probs decides the best threshold",
     "gold": [["q1", ["x"]], ["q2", []], ["q3", ["y"]], ["q4", []]],
     "predictions": {"q1": "x", "q2": "z", "q3": "w", "q4": ""},
     "na_probs": {"q2": 0.5, "q1": 0.5, "q4": 0.5, "q3": 0.25}, "thresholds": [1.0, 0.4]},
    {"name": "ties, other order", "gold": [["q1", ["x"]], ["q2", []], ["q3", ["y"]], ["q4", []]],
     "predictions": {"q1": "x", "q2": "z", "q3": "w", "q4": ""},
     "na_probs": {"q4": 0.5, "q1": 0.5, "q2": 0.5, "q3": 0.25}, "thresholds": [1.0]},
    {"name": "na_probs with integers and an id not in the data",
     "gold": [["q1", ["x"]], ["q2", []]], "predictions": {"q1": "x", "q2": "", "q9": "x"},
     "na_probs": {"q1": 0, "q2": 1, "q9": 0.5}, "thresholds": [1.0, 0.5]},
]
for case in HAND_V2:
    case["runs"] = []
    for t in case.get("thresholds", [1.0]):
        case["runs"].append({"na_prob_thresh": t,
                             "expected": run_v2(case["gold"], case["predictions"], case.get("na_probs"), t)})

HAND_CMRC = [
    ("\u5317\u4eac", ["\u5317\u4eac"]), ("\u5317\u4eac\u3002", ["\u5317\u4eac"]), ("\u300a\u5317\u4eac\u300b", ["\u5317\u4eac"]),
    ("\u5317\u4eac\uff0c\u4e2d\u56fd", ["\u4e2d\u56fd\u5317\u4eac"]), ("", ["\u5317\u4eac"]), ("", [""]),
    ("\u5317\u4eac.", ["\u5317\u4eac"]), ("\u5317\u4eac,", ["\u5317\u4eac"]), ("\u5317\u4eac\u2026\u2026", ["\u5317\u4eac"]),
    ("\u5317\u4eac\u2026", ["\u5317\u4eac"]), ("\u5149\u8363\u548c\u03c9-force", ["\u5149\u8363\u548c\u03c9-force"]),
    ("\u5149\u8363\u548c\u03c9force", ["\u5149\u8363\u548c\u03c9-force"]), ("\u03a9-FORCE", ["\u5149\u8363\u548c\u03c9-force"]),
    ("2012\u5e745\u6708", ["2012\u5e74"]), ("u.s. army", ["the u.s. army"]), ("don't stop", ["do n't"]),
    ("The End.", ["the end"]), ("iPhone\u624b\u673a", ["iphone"]), ("1,000\u5143", ["1000\u5143"]),
    ("3.88\u7f8e\u5143", ["3.88"]), ("\u2014\u2014\u5317\u4eac", ["\u5317\u4eac"]), ("\u5317 \u4eac", ["\u5317\u4eac"]),
    ("\u201c\u5317\u4eac\u201d", ["\u5317\u4eac"]), ("\u5317\u4eac\uff01", ["\u5317\u4eac", "\u4e0a\u6d77"]),
    ("the", ["the"]), ("a b a b", ["a b"]), ("\u9fa6\u9fa5", ["\u9fa5"]), ("\u3400\u4e00", ["\u4e00"]),
]
hand_cmrc = []
for pred, answers in HAND_CMRC:
    hand_cmrc.append({"prediction": pred, "answers": answers, "em": float(cmrc.calc_em_score(answers, pred)),
                      "f1": float(cmrc.calc_f1_score(answers, pred)),
                      "remove_punctuation": cmrc.remove_punctuation(pred)})

SEGMENT = [
    "u.s. army", "the u.s.", "don't", "can't stop", "cannot", "gonna go", "gotta", "lemme", "gimme", "d'ye",
    "more'n", "wanna go", "wanna", "'tis", "'twas", " 'tis", "it's", "i'm", "we'll", "they're", "i've", "he'd",
    "o'neill", "rock 'n' roll", "'x y'", "end.", "end. ", "end.)", "end.\" ", "x. ) ", "x.\n", "x.\n\n", "a..b",
    "hello...", "wait... what", "a.b.", "3.88", "$3.88", "3,36", "1,000", "a,b", "a, b", "a,", "a,\n", ",x",
    "etc.,", "(a)", "[b]", "<c>", "{d}", "&amp;", "#1", "@x", "50%", "a;b", "?!", "hi!", "why?", "\"quoted\"",
    "\"x", "x\"", "a \"b\" c", "(\"x\")", "''x''", "``x''", "\u00abguillemets\u00bb", "\u2018single\u2019",
    "\u201edouble\u201c", "x\u2019s", "a--b", "a*b", "a-b", "a:b", "12:30", "a:", "\u00bd cup", "x_y", "\u017f'tis",
    "\u0131t's", "\u017f", "can\u0131not", "cannot.", "CANNOT", "it's.", "abc's ", "x'", "x' y", "'x", "' x",
    "ab'c", "l'amour", "c'est", "x'sa", "rock'n", "\u03c9-force", "\u00e9t\u00e9", "caf\u00e9.", "na\u0131ve's",
    "\u0663.\u0664", "x\u00a0.", "end\u3000.", "\u2026x", "a\u2026b", "x.\u00bb", "x.\u201d ", "x.\u2019",
    "x.' ", "'s", "'ll", "n't", "won't", "y'all", "ma'am", "1990s'", "a'b'c", "'", "''", "\"", "...", ".",
    "a.", ".a", "a .", " . ", "x.. ", "x .. y.", "\t a \t", "a\u2028b.", "\u3000", "x\u200b.y",
    "u.s. army. next", "\u5317\u4eac u.s. \u4e0a\u6d77", "2012\u5e745\u6708", "ipad2\u662f", "abc\u3001def",
    "a\uff0cb", "\u300a\u6218\u56fd\u65e0\u53cc3\u300b", "x\u2014y", "x\u2013y", "x\u00b7y", "a\u2026\u2026b",
]
# seeded random strings over the characters the rules look at (quotes, periods, contractions, ...)
rng = random.Random(5)
FUZZ = list("ab sSnNtT'\".,:;!?-_()[]{}<>`$%&*@#0123 \n\t") + [
    "\u00ab", "\u00bb", "\u201c", "\u201d", "\u2018", "\u2019", "\u201e", "\u017f", "\u0131", "\u4e00", "\u3000",
    "\u00a0", "\uff0c", "\u00e9", "\u0301", "\u00bd", "\u0663", "can", "not", "wan", "na", "gon", "'t", "is", "was",
    "more", "'n", "d'ye", "lem", "me", "''", "``", "..."]
SEGMENT += ["".join(rng.choice(FUZZ) for _ in range(rng.randint(1, 12))) for _ in range(400)]
segmentation = []
for s in SEGMENT:
    for rm in (False, True):
        segmentation.append({"text": s, "rm_punc": rm, "segments": cmrc.mixed_segmentation(s, rm_punc=rm)})

goldens = collections.OrderedDict()
goldens["command"] = "/usr/bin/python3 tests/eval/data/squad_make_goldens.py /tmp/tt/ref ../shared"
goldens["v1"] = {"references": "data/qa/xquad/xquad.en.json", "predictions": "squad_v1_predictions.json",
                 "expected": v1_total, "per_question": v1_per}
goldens["v2"] = {"references": "data/qa/xquad/xquad.en.json", "unanswerable": unanswerable,
                 "predictions": "squad_v2_predictions.json", "na_probs": "squad_v2_na_probs.json", "runs": v2_runs,
                 "per_question": v2_per}
goldens["cmrc2018"] = {"references": "data/qa/cmrc2018/cmrc2018_dev.json", "predictions": "squad_cmrc2018_predictions.json",
                       "expected": cmrc_total, "per_question": cmrc_per}
goldens["hand_squad"] = hand_squad
goldens["hand_v2"] = HAND_V2
goldens["hand_cmrc"] = hand_cmrc
goldens["segmentation"] = segmentation
write("squad_goldens.json", goldens, indent=1)
print("v1", v1_total, "\nv2", [r["expected"] for r in v2_runs], "\ncmrc", dict(cmrc_total))
print("counts: hand_squad", len(hand_squad), "hand_v2 runs", sum(len(c["runs"]) for c in HAND_V2), "hand_cmrc",
      len(hand_cmrc), "segmentation", len(segmentation))
