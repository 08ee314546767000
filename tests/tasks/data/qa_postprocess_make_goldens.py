#!/usr/bin/python3
"""Makes tests/tasks/data/qa_postprocess_goldens.json for tests/tasks/qa_postprocess_test.cpp.

The reference code is imported, never copied here: REF_DIR holds
  - utils_qa.py: transformers' examples/pytorch/question-answering/utils_qa.py
    (postprocess_qa_predictions, verbatim);
  - qa_pipeline_postprocess.py: transformers v4.53.0 src/transformers/pipelines/question_answering.py's
    decode_spans, select_starts_ends and QuestionAnsweringPipeline.postprocess / get_answer /
    get_indices, verbatim, postprocess as a function of the tokenizer's padding side.
What this file adds is the glue: the windows as run_qa's prepare_validation_features gives them to
utils_qa (offset_mapping None outside the context, example_id) and as the pipeline's preprocess gives
them to postprocess (p_mask, attention_mask, the `tokenizers` Encoding, whose token_to_word /
word_to_chars are emulated below as tokenizers' Rust Encoding defines them).

Windows:
  - "fixtures": every `qa_windows` row of ../shared/fixtures/tokenizers/{bert-base-cased,
    bert-base-uncased, bert-base-chinese, roberta-base}/golden_pairs.jsonl (ids, offsets, sequence_ids,
    attention_mask: the reference windows, padded to max_length 32), with the word ids of the same
    windows from the live reference tokenizer (tools/reference/reference_tokenizer.js; its windows are
    checked equal to the fixture's);
  - "long": XQuAD en/de/zh questions (../shared/data/qa/xquad) and made-up contexts with emoji and
    combining marks, windows of max_length 64, stride 16 from the live reference tokenizer, padded to
    64; one example gets an extra window with no context token (all masked), and one example has only
    such a window;
  - "ties": windows of at most 16 tokens (numpy's argsort is an insertion sort there, so stable) with
    logits rounded to 0.5 (many ties).
Logits: seeded float32 normals (numpy RandomState), padding positions included (utils_qa's argsort
sees them; the pipeline masks them).

Cases whose reference answer depends on how numpy orders equal values (its quicksort and
argpartition are not stable) are left out: each is also run with stable sorts and kept only when both
agree (the counts are printed and stored). textune orders ties as the stable sorts do. Pipeline cases
whose order float32 rounding decides (scores equal in exact arithmetic) are left out too: each is also
run with a correctly rounded float32 exp and kept only when the answers are the same.

Command (from the repository root; numpy 1.24 of Debian's python3-numpy, node 20):
  /usr/bin/python3 tests/tasks/data/qa_postprocess_make_goldens.py /tmp/tt/ref/transformers
"""
import json
import os
import subprocess
import sys
import tempfile
import types

import numpy

REF_DIR = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tt/ref/transformers"
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "qa_postprocess_goldens.json")

# utils_qa imports tqdm.auto for its progress bar only.
tqdm_mod = types.ModuleType("tqdm")
tqdm_auto = types.ModuleType("tqdm.auto")
tqdm_auto.tqdm = lambda x, **k: x
tqdm_mod.auto = tqdm_auto
sys.modules["tqdm"] = tqdm_mod
sys.modules["tqdm.auto"] = tqdm_auto
sys.path.insert(0, REF_DIR)
import utils_qa  # noqa: E402
import qa_pipeline_postprocess as qa_pipe  # noqa: E402


class StableNumpy:
    """numpy with stable argsort/argpartition: the order textune gives ties."""

    def __getattr__(self, name):
        return getattr(numpy, name)

    @staticmethod
    def argsort(a, *args, **kwargs):
        return numpy.argsort(a, kind="stable")

    @staticmethod
    def argpartition(a, k, *args, **kwargs):
        return numpy.argsort(a, kind="stable")


class RoundedExpNumpy(StableNumpy):
    """StableNumpy whose float32 exp is correctly rounded (float64 exp rounded to float32)."""

    @staticmethod
    def exp(x):
        x = numpy.asarray(x)
        if x.dtype == numpy.float32:
            return numpy.exp(x.astype(numpy.float64)).astype(numpy.float32)
        return numpy.exp(x)


def tokenizer_path(name):
    return os.path.join(SHARED, "fixtures", "tokenizers", name, "tokenizer.json")


def cls_token_id(name):
    pp = json.load(open(tokenizer_path(name)))["post_processor"]
    if pp["type"] == "RobertaProcessing":
        return pp["cls"][1]
    return pp["special_tokens"]["[CLS]"]["ids"][0]


def reference_encode(name, requests):
    """The live reference tokenizer's windows: a list (per request) of encodings (first + overflowing)."""
    with tempfile.TemporaryDirectory() as tmp:
        inp, out = os.path.join(tmp, "in.jsonl"), os.path.join(tmp, "out.jsonl")
        with open(inp, "w") as f:
            for q, c, max_length, stride in requests:
                trunc = None if max_length is None else {"max_length": max_length, "strategy": "OnlySecond",
                                                         "stride": stride}
                f.write(json.dumps({"text": q, "pair": c, "add_special_tokens": True, "truncation": trunc}) + "\n")
        subprocess.run(["node", os.path.join(ROOT, "tools", "reference", "reference_tokenizer.js"), "encode",
                        tokenizer_path(name), inp, out], check=True)
        result = []
        for line in open(out):
            r = json.loads(line)
            assert "error" not in r, r
            result.append([r] + r["overflowing"])
        return result


def window(ids, offsets, sequence_ids, word_ids, cls_id, pad_to):
    n = len(ids)
    assert n <= pad_to
    cls_index = ids.index(cls_id) if cls_id in ids else 0
    return {
        "ids": ids, "offsets": [list(o) for o in offsets], "sequence_ids": sequence_ids, "word_ids": word_ids,
        "cls_index": cls_index, "padded_length": pad_to,
    }


def logits(rng, n, ties=False):
    x = rng.normal(0.0, 3.0, size=n).astype(numpy.float32)
    if ties:
        x = (numpy.round(x * 2.0) / 2.0).astype(numpy.float32)
    return x


def f32list(x):
    return [float(v) for v in x]


# ---------------------------------------------------------------------------------------------
# The windows.

def fixture_examples():
    examples = []
    for name in ["bert-base-cased", "bert-base-uncased", "bert-base-chinese", "roberta-base"]:
        rows = [json.loads(l) for l in open(os.path.join(SHARED, "fixtures", "tokenizers", name,
                                                         "golden_pairs.jsonl")) if '"qa_windows"' in l]
        rows = [r for r in rows if r.get("qa_windows") and "ids" in r]  # rows with "error" have no windows
        # Word ids: the fixture's windows stop at tokenizers 0.23.2's early exit (issue #2091), which
        # the live binding does not have; a window's word ids are those of the same tokens (sequence,
        # offsets) in the whole pair's encoding.
        ref = reference_encode(name, [(r["a"], r["b"], None, None) for r in rows])
        cls_id = cls_token_id(name)
        for k, (r, encs) in enumerate(zip(rows, ref)):
            wins = []
            whole = encs[0]
            word_of = {}
            for i, (t, s, o, wd) in enumerate(zip(whole["ids"], whole["sequence_ids"], whole["offsets"],
                                                  whole["word_ids"])):
                if s is not None:
                    assert word_of.setdefault((s, tuple(o), t), wd) == wd, (name, k, i)
            for w in range(len(r["ids"])):
                n = sum(r["attention_mask"][w])
                ids = r["ids"][w][:n]
                seqs = r["sequence_ids"][w][:n]
                offs = r["offsets"][w][:n]
                words = [None if s is None else word_of[(s, tuple(o), t)] for t, s, o in zip(ids, seqs, offs)]
                wins.append(window(ids, offs, seqs, words, cls_id, len(r["ids"][w])))
            examples.append({"id": f"{name}-{k}", "question": r["a"], "context": r["b"], "tokenizer": name,
                             "windows": wins})
    return examples


def long_examples():
    picks = [("en", "bert-base-cased", [(0, 0, 0), (1, 0, 2)]), ("de", "roberta-base", [(0, 0, 1), (2, 1, 0)]),
             ("zh", "bert-base-chinese", [(0, 0, 3), (3, 0, 1)])]
    examples = []
    for lang, name, where in picks:
        data = json.load(open(os.path.join(SHARED, "data", "qa", "xquad", f"xquad.{lang}.json")))["data"]
        items = []
        for a, p, q in where:
            para = data[a]["paragraphs"][p]
            qa = para["qas"][q]
            items.append((qa["id"], qa["question"].lstrip(), para["context"][:400]))
        if lang == "en":
            items.append(("made-up-emoji", "Who waved?",
                          "Ana 👋🏽 waved at Zoë (Zoe\u0308) and José; the café was full. "
                          "Nobody else waved back 😀, not even the naïve baker, who smiled instead. " * 3))
        ref = reference_encode(name, [(q, c, 64, 16) for _, q, c in items])
        cls_id = cls_token_id(name)
        for (qid, q, c), encs in zip(items, ref):
            wins = [window(e["ids"], e["offsets"], e["sequence_ids"], e["word_ids"], cls_id, 64) for e in encs]
            examples.append({"id": qid, "question": q, "context": c, "tokenizer": name, "windows": wins})
    # An extra window without context tokens (all masked), and an example with only such a window.
    def masked(w):
        m = dict(w)
        m["sequence_ids"] = [None if s == 1 else s for s in w["sequence_ids"]]
        m["word_ids"] = [None if s == 1 else wd for s, wd in zip(w["sequence_ids"], w["word_ids"])]
        return m
    examples[0]["windows"].append(masked(examples[0]["windows"][0]))
    only = dict(examples[2])
    only["id"] = "all-masked"
    only["windows"] = [masked(examples[2]["windows"][0])]
    examples.append(only)
    return examples


def tie_examples():
    items = [("Who?", "Paris is nice."), ("Where is it?", "It is in Rome, Italy."),
             ("What?", "Ana 👋🏽 waved at Zoë."), ("When?", "On the tenth of May.")]
    examples = []
    for name in ["bert-base-cased", "roberta-base"]:
        ref = reference_encode(name, [(q, c, 16, 4) for q, c in items])
        cls_id = cls_token_id(name)
        for k, ((q, c), encs) in enumerate(zip(items, ref)):
            wins = [window(e["ids"], e["offsets"], e["sequence_ids"], e["word_ids"], cls_id, 16) for e in encs]
            examples.append({"id": f"ties-{name}-{k}", "question": q, "context": c, "tokenizer": name,
                             "windows": wins, "ties": True})
    return examples


# ---------------------------------------------------------------------------------------------
# The references.

def offset_mapping(w):
    """prepare_validation_features: offsets of context tokens, None elsewhere (padding included)."""
    om = [list(o) if s == 1 else None for o, s in zip(w["offsets"], w["sequence_ids"])]
    return om + [None] * (w["padded_length"] - len(om))


def run_utils_qa(examples, opts, np_module):
    feats, starts, ends = [], [], []
    for ex in examples:
        for w in ex["windows"]:
            feats.append({"example_id": ex["id"], "offset_mapping": offset_mapping(w)})
            starts.append(numpy.array(w["start_logits"], dtype=numpy.float32))
            ends.append(numpy.array(w["end_logits"], dtype=numpy.float32))
    exs = ExampleList(examples)
    saved = utils_qa.np
    utils_qa.np = np_module
    try:
        with tempfile.TemporaryDirectory() as tmp:
            preds = utils_qa.postprocess_qa_predictions(
                exs, feats, (numpy.stack(starts), numpy.stack(ends)) if len({len(s) for s in starts}) == 1
                else (starts, ends),
                version_2_with_negative=opts["version_2_with_negative"], n_best_size=opts["n_best_size"],
                max_answer_length=opts["max_answer_length"],
                null_score_diff_threshold=opts["null_score_diff_threshold"], output_dir=tmp, prefix=opts["prefix"])
            files = {}
            for f in sorted(os.listdir(tmp)):
                # The file's JSON (json.dumps(indent=4) text parsed: key order kept), stored compact.
                files[f] = json.loads(open(os.path.join(tmp, f)).read())
    finally:
        utils_qa.np = saved
    return preds, files


class ExampleList(list):
    """What utils_qa reads of a `datasets` Dataset: examples["id"] and iteration over rows."""

    def __init__(self, examples):
        super().__init__({"id": e["id"], "context": e["context"]} for e in examples)

    def __getitem__(self, key):
        if key == "id":
            return [e["id"] for e in self]
        return list.__getitem__(self, key)


class Enc:
    """The `tokenizers` Encoding's token_to_word / word_to_chars / offsets (tokenizers/src/tokenizer/
    encoding.rs: word_to_tokens scans the sequence's range while word ids are <= the word)."""

    def __init__(self, w):
        n = w["padded_length"]
        pad = n - len(w["ids"])
        self.words = w["word_ids"] + [None] * pad
        self.seq = w["sequence_ids"] + [None] * pad
        self.offsets = [tuple(o) for o in w["offsets"]] + [(0, 0)] * pad

    def token_to_word(self, i):
        return self.words[i]

    def word_to_chars(self, word, sequence_index=0):
        if word is None or not isinstance(word, int):
            raise TypeError("word_index must be an int")
        rng = [i for i, s in enumerate(self.seq) if s == sequence_index]
        if not rng:
            return None
        lo, hi = rng[0], rng[-1] + 1
        start = end = None
        for i in range(lo, hi):
            wd = self.words[i]
            if wd is not None and wd > word:
                break
            if wd == word:
                if start is None:
                    start = i
                end = i + 1
        if start is None:
            return None
        return (self.offsets[start][0], self.offsets[end - 1][1])


class Example:
    def __init__(self, context):
        self.context_text = context


def run_pipeline(ex, opts, np_module, cls_id, dtype=numpy.float32):
    outputs = []
    for w in ex["windows"]:
        n = w["padded_length"]
        k = len(w["ids"])
        p_mask = [(s != 1) for s in w["sequence_ids"]] + [True] * (n - k)
        ids = w["ids"] + [-1] * (n - k)
        for i, t in enumerate(ids):
            if t == cls_id:
                p_mask[i] = False
        outputs.append({
            "start": numpy.array([w["start_logits"]], dtype=dtype),
            "end": numpy.array([w["end_logits"]], dtype=dtype),
            "example": Example(ex["context"]),
            "p_mask": numpy.array([p_mask]),
            "attention_mask": numpy.array([[1] * k + [0] * (n - k)], dtype=numpy.int64),
            "encoding": Enc(w),
            "input_ids": numpy.array([ids]),
        })
    saved = qa_pipe.np
    qa_pipe.np = np_module
    try:
        r = qa_pipe.postprocess(outputs, padding_side="right", top_k=opts["top_k"],
                                handle_impossible_answer=opts["handle_impossible_answer"],
                                max_answer_len=opts["max_answer_len"], align_to_words=opts["align_to_words"])
    finally:
        qa_pipe.np = saved
    if isinstance(r, dict):
        r = [r]
    return [{"answer": a["answer"], "score": float(a["score"]), "start": int(a["start"]), "end": int(a["end"])}
            for a in r]


POSTPROCESS_OPTIONS = [
    dict(version_2_with_negative=False, n_best_size=20, max_answer_length=30, null_score_diff_threshold=0.0,
         prefix=None),
    dict(version_2_with_negative=False, n_best_size=1, max_answer_length=30, null_score_diff_threshold=0.0,
         prefix="eval"),
    dict(version_2_with_negative=False, n_best_size=20, max_answer_length=1, null_score_diff_threshold=0.0,
         prefix=None),
    dict(version_2_with_negative=False, n_best_size=5, max_answer_length=3, null_score_diff_threshold=0.0,
         prefix=None),
    dict(version_2_with_negative=True, n_best_size=20, max_answer_length=30, null_score_diff_threshold=0.0,
         prefix=None),
    dict(version_2_with_negative=True, n_best_size=20, max_answer_length=30, null_score_diff_threshold=2.5,
         prefix="eval"),
    dict(version_2_with_negative=True, n_best_size=20, max_answer_length=30, null_score_diff_threshold=-2.5,
         prefix=None),
    dict(version_2_with_negative=True, n_best_size=1, max_answer_length=1, null_score_diff_threshold=0.0,
         prefix=None),
    dict(version_2_with_negative=True, n_best_size=3, max_answer_length=30, null_score_diff_threshold=1.0,
         prefix=None),
]


def main():
    rng = numpy.random.RandomState(13)
    suites = {"fixtures": fixture_examples(), "long": long_examples(), "ties": tie_examples()}
    for examples in suites.values():
        for ex in examples:
            for w in ex["windows"]:
                ties = ex.get("ties", False)
                w["start_logits"] = f32list(logits(rng, w["padded_length"], ties))
                w["end_logits"] = f32list(logits(rng, w["padded_length"], ties))
                if len(ex["id"]) % 3 == 0:  # some examples' CLS scores high (null answers, v2.0)
                    for key in ["start_logits", "end_logits"]:
                        w[key][w["cls_index"]] = float(numpy.float32(w[key][w["cls_index"]] + 6.0))
    out = {"command": "/usr/bin/python3 tests/tasks/data/qa_postprocess_make_goldens.py /tmp/tt/ref/transformers",
           "numpy": numpy.__version__, "suites": {}, "postprocess": [], "pipeline": [], "dropped": {}}
    dropped_pp = dropped_pipe = dropped_rounding = 0
    for sname, examples in suites.items():
        out["suites"][sname] = [
            {"id": e["id"], "context": e["context"], "tokenizer": e["tokenizer"],
             "windows": [{k: w[k] for k in ["ids", "offsets", "sequence_ids", "word_ids", "cls_index",
                                             "start_logits", "end_logits"]} for w in e["windows"]]}
            for e in examples]
        for opts in POSTPROCESS_OPTIONS:
            preds, files = run_utils_qa(examples, opts, numpy)
            preds_stable, files_stable = run_utils_qa(examples, opts, StableNumpy())
            if files != files_stable:
                dropped_pp += 1
                continue
            out["postprocess"].append({"suite": sname, "options": opts, "files": files})
        for ex in examples:
            cls_id = cls_token_id(ex["tokenizer"])
            for top_k in [1, 3]:
                for hia in [False, True]:
                    for align in [True, False]:
                        for mal in [1, 15, 30]:
                            opts = dict(top_k=top_k, handle_impossible_answer=hia, align_to_words=align,
                                        max_answer_len=mal)
                            a = run_pipeline(ex, opts, numpy, cls_id)
                            b = run_pipeline(ex, opts, StableNumpy(), cls_id)
                            if a != b:
                                dropped_pipe += 1
                                continue
                            # Spans whose order the last bit of numpy's float32 exp decides (scores
                            # equal in exact arithmetic: tie-heavy logits) are left out too: numpy's
                            # SIMD exp is not correctly rounded. Kept when a correctly rounded exp
                            # ranks the same answers.
                            c = run_pipeline(ex, opts, RoundedExpNumpy(), cls_id)
                            if [(x["answer"], x["start"], x["end"]) for x in a] != [
                                    (x["answer"], x["start"], x["end"]) for x in c]:
                                dropped_rounding += 1
                                continue
                            out["pipeline"].append({"suite": sname, "id": ex["id"], "options": opts, "answers": a})
    out["dropped"] = {"postprocess": dropped_pp, "pipeline": dropped_pipe, "pipeline_rounding": dropped_rounding}
    with open(OUT, "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        f.write("\n")
    n_ex = sum(len(v) for v in suites.values())
    n_win = sum(len(e["windows"]) for v in suites.values() for e in v)
    print(f"{n_ex} examples, {n_win} windows; postprocess goldens {len(out['postprocess'])} "
          f"(dropped {dropped_pp}), pipeline goldens {len(out['pipeline'])} (dropped {dropped_pipe} for numpy's "
          f"order of ties, {dropped_rounding} for float32 rounding) -> {OUT}")


if __name__ == "__main__":
    main()
