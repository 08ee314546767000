// Entity-level metrics of chunk tags, exactly as seqeval computes them (chakki-works/seqeval:
// seqeval/metrics/sequence_labeling.py for the default, conlleval-compatible mode, and
// seqeval/metrics/v1.py + seqeval/scheme.py for strict mode), in the JSON shape of Hugging Face
// `evaluate`'s "seqeval" metric. Goldens: tests/eval/data/seqeval_* (made by running seqeval).
// NOTE: interface pinned by the lead; the implementation is in src/eval/seqeval.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "textune/core/json.h"
#include "textune/data/ner.h"

namespace textune::eval {

/// One entity (chunk): its type and its tokens [start, end) within one sentence.
struct Entity {
  std::string type;
  size_t start = 0;
  size_t end = 0;  ///< exclusive
  bool operator==(const Entity& o) const { return type == o.type && start == o.start && end == o.end; }
};

/// seqeval's get_entities (default mode, conlleval's chunk rules): an entity may start with I- (or
/// E-) and ends where the next tag cannot continue it, exactly as seqeval's start_of_chunk and
/// end_of_chunk decide (prefix style "B-PER"; seqeval's suffix style is not supported). Returned in
/// order of their start.
std::vector<Entity> get_entities(const std::vector<std::string>& tags);

/// seqeval v1's strict entities (Entities(..., scheme).entities): only well-formed chunks of
/// `scheme` count (an I- after O is no entity in IOB2 ...). Returned in order of their start.
/// @throws textune::DataError for a tag whose prefix is not one of the scheme's (naming the tag and
///         its 1-based position), as seqeval raises for it.
std::vector<Entity> get_entities_strict(const std::vector<std::string>& tags, data::TagScheme scheme);

/// Options of seqeval().
struct SeqevalOptions {
  bool strict = false;                              ///< mode="strict" (needs `scheme`)
  data::TagScheme scheme = data::TagScheme::kIOB2;  ///< the scheme of strict mode
  /// seqeval's zero_division: the value of a precision/recall whose denominator is 0 ("warn" is 0).
  /// 0 or 1; any other value acts as 1, as in seqeval's _prf_divide.
  double zero_division = 0.0;
};

/// Per-type and averaged scores (classification_report(output_dict=True) of seqeval).
struct TypeScores {
  double precision = 0, recall = 0, f1 = 0;
  int64_t support = 0;  ///< gold entities of the type ("number" in evaluate's JSON)
};

/// Everything seqeval reports.
struct SeqevalResult {
  std::vector<std::string> types;     ///< entity types, sorted bytewise (seqeval sorts them)
  std::vector<TypeScores> per_type;   ///< in `types` order
  TypeScores micro, macro, weighted;  ///< "micro avg" (overall), "macro avg", "weighted avg"
  double accuracy = 0;                ///< token accuracy (accuracy_score: equal tags / tags)
  int64_t num_predicted = 0;          ///< predicted entities (all types)
  /// Entity confusion of `types` + "O": row the gold type, column the predicted type, over gold and
  /// predicted entities with the same span; a gold entity no predicted entity has the span of counts
  /// in column "O", a predicted entity with no gold of its span in row "O". (types.size()+1)^2, "O" last.
  std::vector<std::vector<int64_t>> entity_confusion;
};

/// Computes seqeval over sentences of gold and predicted tags (same lengths). Default mode runs
/// get_entities over all sentences joined by "O", as seqeval does; macro and weighted averages use
/// numpy's summation order, so that the numbers equal seqeval's bit for bit. The macro average of no
/// type at all is NaN (numpy's mean of nothing; null in seqeval_json).
/// @throws textune::DataError when the numbers of sentences or of tags in a sentence differ (naming
///         the sentence), when there is no tag at all, for an empty tag, or in strict mode when a tag
///         is not in the scheme (naming tag and sentence).
SeqevalResult seqeval(const std::vector<std::vector<std::string>>& y_true,
                      const std::vector<std::vector<std::string>>& y_pred, const SeqevalOptions& options = {});

/// Hugging Face evaluate's seqeval JSON: {TYPE: {"precision", "recall", "f1", "number"}, ...,
/// "overall_precision", "overall_recall", "overall_f1", "overall_accuracy"} plus "macro_avg" and
/// "weighted_avg" as {"precision", "recall", "f1", "number"}.
core::Json seqeval_json(const SeqevalResult& result);

/// seqeval's classification_report text (digits 4 by default): the per-type table, then micro, macro
/// and weighted averages.
std::string seqeval_report_text(const SeqevalResult& result, int digits = 4);

/// Reads a conlleval-style predictions file: `token ... gold predicted` per line (spaces or tabs
/// between columns, the gold tag and the predicted tag the last two columns), blank lines between
/// sentences, lines whose first column is "-DOCSTART-" skipped (as sentence boundaries), a final
/// "\r" dropped. Returns (gold, predicted) per sentence; `lines`, when given, receives the 1-based
/// line of every tag (same shape).
/// @throws textune::DataError naming the file and line for a first line with fewer than 2 columns,
///         a line with another number of columns than the first (conlleval's rule), invalid UTF-8
///         (naming the byte), a file with no tagged line, a file that cannot be read, or a
///         two-column file whose gold column holds a word (neither "O" nor a tag with a "-") while
///         every predicted value is such a tag: a `token tag` file, with no predictions.
std::pair<std::vector<std::vector<std::string>>, std::vector<std::vector<std::string>>> read_conlleval_file(
    const std::string& path, std::vector<std::vector<size_t>>* lines = nullptr);

/// The per-type F1 bar chart (PNG) and the entity confusion matrix (PNG) of a result: writes
/// `bars_path` and `confusion_path`. @throws textune::DataError when a file cannot be written.
void plot_seqeval(const SeqevalResult& result, const std::string& bars_path, const std::string& confusion_path);

}  // namespace textune::eval
