// Typed examples for sequence classification (single-label, multi-label, regression; single texts or
// pairs), the label map, and the validation report that replaces surprises.
//
// What this reproduces: the data preparation of `transformers`' examples/pytorch/text-classification
// (run_glue.py, run_classification.py): columns chosen by name, labels sorted into ids, id2label /
// label2id saved in config.json, problem_type "single_label_classification",
// "multi_label_classification" or "regression".
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/core/problem_type.h"
#include "textune/data/table.h"

namespace textune::data {

/// The task the labels are for: the one problem-type definition of core (kClassification,
/// kMultiLabel, kRegression; kClassification == kSingleLabel).
using Task = core::ProblemType;

/// Parses "classification" (also "single_label_classification", "single-label"), "multi-label"
/// ("multi_label", "multi_label_classification") or "regression" (core::parse_problem_type).
/// @throws textune::UsageError otherwise, listing the names.
inline Task parse_task(const std::string& name) { return core::parse_problem_type(name); }
/// The `problem_type` string `transformers` uses in config.json for `task` (core::problem_type_name).
inline std::string problem_type(Task task) { return core::problem_type_name(task); }
/// Inverse of problem_type (core::problem_type_from_name). @throws textune::DataError for an unknown string.
inline Task task_from_problem_type(const std::string& problem_type) { return core::problem_type_from_name(problem_type); }

/// Labels and their ids: `id2label` / `label2id` of a `transformers` config.json.
///
/// Built from a training file, ids follow the sorted labels: when every label is an integer
/// ("-1", "0", "7") they are sorted numerically, otherwise bytewise (lexicographic on UTF-8), so the
/// same file always gives the same ids and integer labels 0..K-1 keep their value as id.
/// (run_glue.py sorts `unique()` labels the same way for integer and string labels.)
class LabelMap {
 public:
  LabelMap() = default;
  /// A map with ids in the given order. @throws textune::DataError on a duplicate label.
  explicit LabelMap(std::vector<std::string> id2label);

  /// The sorted unique labels of `labels` (see the class comment).
  static LabelMap build(const std::vector<std::string>& labels);
  /// Reads "id2label" of a config.json (keys are decimal ids as strings, as `transformers` writes
  /// them). @throws textune::DataError when it is missing, ids are not 0..n-1, or labels repeat.
  static LabelMap from_config(const core::Json& config);
  /// Reads a class list file: one label per line, line i is id i (THUCNews' class.txt; a final
  /// newline is optional, blank lines are errors). @throws textune::DataError naming the file.
  static LabelMap from_lines_file(const std::string& path);

  /// Sets config["id2label"] = {"0": label0, ...} and config["label2id"] = {label0: 0, ...}.
  void to_config(core::Json& config) const;

  /// The id of `label`, if known.
  std::optional<int64_t> id(const std::string& label) const;
  /// The label of `id`. @throws std::out_of_range for an id outside 0..size()-1.
  const std::string& label(int64_t id) const;
  /// Labels in id order.
  const std::vector<std::string>& labels() const { return id2label_; }
  size_t size() const { return id2label_.size(); }
  bool empty() const { return id2label_.empty(); }
  /// Whether every label is the placeholder `transformers` writes when none were given
  /// ("LABEL_0", "LABEL_1", ...); then a file's integer label k maps to id k.
  bool is_placeholder() const;

  bool operator==(const LabelMap& other) const { return id2label_ == other.id2label_; }

 private:
  std::vector<std::string> id2label_;
  std::map<std::string, int64_t> label2id_;
};

/// One training/evaluation/prediction example.
struct Example {
  std::string text;                      ///< first sequence (valid UTF-8, not blank)
  std::optional<std::string> text_pair;  ///< second sequence, when a pair column is used
  /// The label as read, for display (`textune data`): classification a string, regression a
  /// number, multi-label an array of strings; null when the dataset has no labels.
  core::Json raw_label;
  int64_t label = -1;              ///< classification: the id in the label map; -1 when unlabeled
  std::vector<int64_t> label_ids;  ///< multi-label: the ids present, sorted, unique (may be empty)
  double value = 0.0;              ///< regression: the target
  size_t row = 0;                  ///< where it was read: see Table::row_numbers
};

/// What loading found wrong, and what it did about it.
struct ValidationReport {
  std::string file;
  size_t num_rows = 0;            ///< data rows read (header excluded)
  size_t num_examples = 0;        ///< rows that became examples
  size_t num_invalid_rows = 0;    ///< rows with at least one problem (skipped under skip_invalid)
  size_t num_problems = 0;        ///< every problem found (a row may have several)
  std::vector<Problem> problems;  ///< the first `max_problems` problems, in file order
  /// Said once after the problems, e.g. the labels the model knows when labels were unknown.
  std::string note;

  bool ok() const { return num_problems == 0; }
  /// One line: "FILE: N invalid rows of M: row 4, column "text": empty text; ...; and K more
  /// problems". Used as the DataError message and by --skip-invalid's warning.
  std::string summary() const;
};

/// Which column a role is read from: a name in the header, or a 0-based index ("3") for a
/// header-less file or when no column has that name.
struct DataOptions {
  Task task = Task::kClassification;
  /// Text column. Empty: "text", else "sentence", else "sentence1" (GLUE pairs), else "text_a"
  /// (ChnSentiCorp), else the only string column besides the label when there is exactly one.
  std::string text_column;
  /// Second text of a pair. Empty: none, except "sentence2" when the text column defaulted to
  /// "sentence1" (GLUE pair tasks), as run_glue.py does.
  std::string text_pair_column;
  /// Label column. Empty: "label", else "labels", else "score" for regression; none found is an
  /// error unless labels are optional.
  std::string label_column;
  /// Multi-label: the separator between labels in a string cell ("," "|" ";"). Without it a string
  /// cell must be a JSON list (`["a", "b"]`) or holds one label. JSON/xlsx array cells need none.
  std::optional<std::string> label_separator;
  /// A file with one label name per line (line i names id i, THUCNews' class.txt): integer labels in
  /// every file (training, evaluation, prediction with labels) are ids into it, and the label map is
  /// this list in file order instead of sorted. With an evaluation label map (the model's), the list
  /// must be the same as the model's labels.
  std::string label_names_file;
  /// Whether rows must have a label: true for training and evaluation, false for prediction (the
  /// label column is then read when present and ignored when absent).
  bool require_labels = true;
  /// Skip invalid rows (and report how many) instead of stopping with the report.
  bool skip_invalid = false;
  /// How many problems the report lists (all are counted).
  size_t max_problems = 10;
  /// How the file is read (format, header, quoting, sheet).
  ReadOptions read;
  /// --format as given when it names a layout of token classification that is no data::Format
  /// ("conll", "msra"; data/ner.h); empty otherwise. load_dataset refuses it (UsageError).
  std::string layout;
};

/// A loaded dataset: examples in file order and their label map.
struct Dataset {
  std::string source;
  Task task = Task::kClassification;
  LabelMap label_map;  ///< empty for regression
  std::vector<Example> examples;
  ValidationReport report;
  std::string text_column;  ///< the columns actually used
  std::optional<std::string> text_pair_column;
  std::optional<std::string> label_column;  ///< none when the file has no labels (prediction)

  size_t size() const { return examples.size(); }
  bool has_pairs() const { return text_pair_column.has_value(); }
  bool has_labels() const { return label_column.has_value(); }
  /// Number of model outputs: label_map.size(), or 1 for regression.
  size_t num_labels() const;
  /// Count per label id (classification and multi-label; multi-label counts each label of a row).
  std::vector<size_t> label_counts() const;
  /// The texts, for Tokenizer::encode_batch.
  std::vector<std::string> texts() const;
  /// The pair texts (empty when !has_pairs()).
  std::vector<std::string> text_pairs() const;
};

/// Reads `path` and turns it into examples.
///
/// `label_map`: for an evaluation file, the training run's labels (from the model's config.json);
/// a label it does not contain is a problem naming the label and its row (the known labels are
/// listed once, in the report's note). An integer label k that is not itself a name is the id k
/// when a label-names file is given, when the names are transformers' placeholders (LABEL_0, ...),
/// or when none of the names is an integer (a model trained with --label-names evaluated on
/// integer-labelled data). Without it the map is built from this file (sorted, see LabelMap) or
/// from `options.label_names_file`.
///
/// Every row is checked: the text (and pair) must be present, not blank and valid UTF-8; the label
/// must be present, known (evaluation), a number (regression) or a valid list (multi-label). Each
/// problem names the file, row and column. With problems and `!skip_invalid` this throws the
/// report's summary; with `skip_invalid` the rows are left out and a warning gives the count.
///
/// @throws textune::DataError for problems (above), a missing column (the message lists the
///         columns the file has), an empty file, or a file read error.
/// @throws textune::UsageError for an unknown format or contradictory options.
Dataset load_dataset(const std::string& path, const DataOptions& options = {}, const LabelMap* label_map = nullptr);

/// As load_dataset, from a table already read.
Dataset make_dataset(const Table& table, const DataOptions& options = {}, const LabelMap* label_map = nullptr);

/// The JSON record `textune data` prints for an example: {"text", "text_pair" (pairs only), "label"
/// (when labeled; integer-like classification labels as numbers, regression a number, multi-label
/// a list)}.
core::Json example_to_json(const Dataset& dataset, const Example& example);

}  // namespace textune::data
