// Extractive question-answering metrics, exactly as the official evaluation scripts compute them:
// - SQuAD v1.1: exact_match and f1 (huggingface/evaluate metrics/squad/compute_score.py, the
//   official v1.1 script): answers normalized (lower case, punctuation removed, the articles a/an/the
//   removed, whitespace collapsed), f1 over whitespace tokens, the max over the gold answers, x100;
// - SQuAD v2.0: exact, f1, total, HasAns_*, NoAns_*, best_exact(_thresh), best_f1(_thresh)
//   (metrics/squad_v2/compute_score.py, the official v2.0 script), with no-answer probabilities;
// - CMRC 2018 (ymcui/cmrc2018 squad-style-data/cmrc2018_evaluate.py): mixed segmentation (CJK
//   characters one by one, other runs split as NLTK's word_tokenize), its punctuation list removed,
//   F1 from the longest common substring, EM over the punctuation-stripped text.
//
// NOTE: interface pinned by the lead; the implementation is in src/eval/squad.cpp and
// src/eval/cmrc2018.cpp.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "textune/core/json.h"

namespace textune::eval {

/// One question's gold answers (empty: unanswerable, SQuAD v2.0).
struct QaGold {
  std::string id;
  std::vector<std::string> answers;
};

// ---- SQuAD --------------------------------------------------------------------------------------

/// The official scripts' normalize_answer: lower case (Python's str.lower, Unicode-aware), every
/// character of Python's string.punctuation removed (ASCII only: Unicode dashes and full-width
/// punctuation stay), the words "a", "an", "the" removed (regex \b(a|an|the)\b, v1.1 and v2.0
/// alike), whitespace runs collapsed to one space and stripped.
std::string squad_normalize_answer(const std::string& s);
/// exact_match_score: normalized texts equal (1.0 / 0.0).
double squad_exact(const std::string& prediction, const std::string& ground_truth);
/// f1_score of v1.1: token F1 over whitespace tokens of the normalized texts (0 when no common token).
/// v2.0's compute_f1 differs only when either side normalizes to nothing: 1.0 when both do, else 0.
double squad_f1(const std::string& prediction, const std::string& ground_truth, bool v2 = false);

/// SQuAD v1.1 over every question of `gold` (a question without a prediction scores 0 and is logged
/// once as the script prints "Unanswered question ... will receive score 0."):
/// {"exact_match": 100 * mean, "f1": 100 * mean}. @throws textune::DataError when `gold` is empty.
core::Json squad_v1(const std::vector<QaGold>& gold, const std::map<std::string, std::string>& predictions);

/// SQuAD v2.0 (the official script's main with `--na-prob-file` when `na_probs` is given): exact and
/// f1 with no-answer thresholding (a question whose na_prob > na_prob_thresh counts as answered ""),
/// then "total", "HasAns_exact", "HasAns_f1", "HasAns_total", "NoAns_exact", "NoAns_f1",
/// "NoAns_total" (each group only when it has questions), and with na_probs "best_exact",
/// "best_exact_thresh", "best_f1", "best_f1_thresh" (find_all_best_thresh). Scores x100; the key
/// order is the script's. A question without a prediction: the script prints "Missing prediction
/// for ..." and skips it, then raises KeyError building HasAns/NoAns; here it is scored as the
/// answer "" (logged once with the count).
/// @throws textune::DataError when `gold` is empty or na_probs lacks a predicted question.
/// Ties among equal probabilities are taken in the order of `gold` (then the other ids), which is
/// the order run_qa.py's null_odds follow; the overload below takes a file's order.
core::Json squad_v2(const std::vector<QaGold>& gold, const std::map<std::string, std::string>& predictions,
                    const std::map<std::string, double>* na_probs = nullptr, double na_prob_thresh = 1.0);

/// No-answer probabilities in a file's order: (question id, probability).
using NaProbs = std::vector<std::pair<std::string, double>>;
/// squad_v2 with the no-answer probabilities in their file's order, as the script holds them: its
/// find_best_thresh sorts them with Python's stable sort, so among equal probabilities the file order
/// decides best_exact / best_f1. `has_na_probs` false: the script without `--na-prob-file` (every
/// probability 0.0, no best_* keys; `na_probs` unused). A question without a prediction and without a
/// probability counts as "" with probability 0.0 (the script raises KeyError there).
core::Json squad_v2(const std::vector<QaGold>& gold, const std::map<std::string, std::string>& predictions,
                    const NaProbs& na_probs, double na_prob_thresh = 1.0, bool has_na_probs = true);

// ---- CMRC 2018 ----------------------------------------------------------------------------------

/// mixed_segmentation: lower case and strip, then CJK characters (U+4E00..U+9FA5) and the script's
/// punctuation one per segment, the runs between them split as NLTK's word_tokenize splits English
/// (the rules of NLTKWordTokenizer, nltk/tokenize/destructive.py, which word_tokenize applies after
/// punkt's sentence splitting; that splitting is skipped, so a sentence-final period inside a run,
/// "u.s. army. next", stays on its word where punkt would make it a token). Checked against
/// NLTKWordTokenizer itself on 1,082 strings (tests/eval/squad_test.cpp); Python 3 semantics
/// (str.lower with final sigma; the Python 2 script lowered per character).
/// `remove_punctuation` drops the punctuation list first.
std::vector<std::string> cmrc_mixed_segmentation(const std::string& s, bool remove_punctuation = false);
/// remove_punctuation: lower case, strip, drop the script's punctuation list (sp_char: - : _ * ^ / \\ ~ `
/// + = and full-width ，。：？！“”；’《》·、「」（）－～『』; its two-character "……" never equals one
/// character, so "…" stays). ASCII , . ! ? ( ) " ' and the like are NOT in the list and stay.
std::string cmrc_remove_punctuation(const std::string& s);
/// calc_f1_score for one prediction: the max over the answers of the LCS-substring F1 of the
/// segmented, punctuation-free texts (0..1).
double cmrc_f1(const std::string& prediction, const std::vector<std::string>& answers);
/// calc_em_score: 1 when some answer equals the prediction after remove_punctuation.
double cmrc_em(const std::string& prediction, const std::vector<std::string>& answers);

/// evaluate() + the script's output: {"AVERAGE": (EM+F1)/2, "F1": 100*mean, "EM": 100*mean, "TOTAL": n,
/// "SKIP": questions without a prediction} (floats as the script's '%.3f' are NOT rounded here:
/// exact values). @throws textune::DataError when `gold` is empty.
core::Json cmrc2018(const std::vector<QaGold>& gold, const std::map<std::string, std::string>& predictions);

// ---- files --------------------------------------------------------------------------------------

/// A predictions file as the scripts read it: a JSON object {id: text} (run_qa.py's predictions.json),
/// or a JSON list of {"id", "prediction_text"} (evaluate's squad input), or JSON lines of those.
/// @throws textune::DataError naming the file and the question id whose answer is not a string
///         ("FILE: question "ID": expected a string answer, got 3"), or the file (with line and
///         column) that is not JSON.
std::map<std::string, std::string> read_qa_predictions(const std::string& path);
/// A no-answer probability file: {id: probability} (run_qa.py's null_odds.json holds score
/// differences, which the v2.0 script reads the same way), or a list / JSON lines of {"id",
/// "no_answer_probability"} (evaluate's squad_v2 predictions). @throws textune::DataError naming the
/// file and the question whose value is not a number, or the file that is not JSON.
std::map<std::string, double> read_na_probs(const std::string& path);
/// read_na_probs in the file's order (a repeated id: its last value at its first place, as Python's
/// json), for squad_v2's ties.
NaProbs read_na_probs_list(const std::string& path);

}  // namespace textune::eval
