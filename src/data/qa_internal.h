// The question checker shared by the question-answering readers (src/data/qa.cpp, qa_check.cpp): not
// a public header. See data/qa.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "textune/core/json.h"
#include "textune/data/qa.h"

namespace textune::data::qa_internal {

using core::Json;

/// The most bytes one field (a question, a context, an answer, an id) may have. A longer one is a
/// problem and is not copied, so a huge field costs no more than the file.
constexpr size_t kMaxFieldBytes = size_t{1} << 20;

/// What a read is for.
enum class Mode {
  kRead,        ///< read_qa: every field checked
  kReferences,  ///< read_qa_references: ids and answer texts only (as the official scripts read them)
  kInputs,      ///< qa_from_inputs: question and context, no answers
};

/// A field for a message: quoted, valid UTF-8, at most 60 bytes (cut at a code point, "...").
std::string show(std::string_view s);
/// Whether `s` is empty or only whitespace.
bool blank(std::string_view s);
/// What a JSON value is, for messages: "null", "a number", "a string", "a boolean", "a list", "an object".
std::string type_of(const Json& v);

/// The fields of one question as found in the file (null pointers: the key is missing).
struct Fields {
  const Json* id = nullptr;
  std::string default_id;  ///< used when the layout has no ids at all ("1", "2", ...)
  const Json* title = nullptr;
  const Json* question = nullptr;
  const Json* context = nullptr;
  const Json* answers = nullptr;      ///< a list of {text, answer_start}, {text: [..], answer_start: [..]} or JSON text
  const Json* answer_text = nullptr;  ///< tables: one answer in two columns
  const Json* answer_start = nullptr;  ///< tables
  bool answer_columns = false;
  bool answers_as_text = false;  ///< a delimited table: an "answers" string cell holds JSON
  const Json* is_impossible = nullptr;
  size_t line = 0;
  std::string where;  ///< "line 3", "question 12, data[3].paragraphs[1].qas[0]"
};

/// Checks questions one by one (in file order) and keeps the valid ones in a QaDataset: ids (present,
/// unique), question and context (strings, not blank, valid UTF-8, at most kMaxFieldBytes), answers
/// (their shape, and each against the context in code points), is_impossible. Every problem is
/// counted; the first DataOptions::max_problems are kept, each starting with the question.
class Checker {
 public:
  Checker(QaDataset& ds, Mode mode, const DataOptions& options) : ds_(ds), mode_(mode), options_(options) {}

  /// A problem that has no question (a record a table reader could not parse): one invalid row.
  void row_problem(const std::string& message);
  /// Checks one question; a valid one is appended to the dataset's examples.
  void question(const Fields& f);

  size_t rows() const { return rows_; }
  size_t invalid() const { return invalid_; }
  size_t num_problems() const { return num_problems_; }
  std::vector<Problem>& problems() { return problems_; }
  /// Whether every valid question had answers (possibly none: unanswerable).
  bool all_labelled() const { return all_labelled_; }

 private:
  void add(const std::string& message);
  /// A problem of the question being checked (named by prefix_); makes it invalid.
  void bad(const std::string& message);
  /// Answer i > 0 of `ex` does not match the context at its answer_start: kept for its text (the
  /// official scripts score texts; run_qa.py trains on the first answer only), counted, warned once.
  void secondary_misaligned(const QaExample& ex, size_t i);
  /// Copies a string field into `out`; false (and a problem) when it is missing, not a string, too
  /// long or not UTF-8.
  bool text_field(const Json* v, const char* name, std::string& out);
  /// An answer_start as an integer: a JSON integer, or the digits of a table cell.
  static std::optional<int64_t> start_of(const Json& v);
  /// Reads the answers of `f` into ex.answers and checks each against the context. Returns whether
  /// the question is labelled (an answers field is present, possibly empty).
  bool answers(const Fields& f, QaExample& ex);

  QaDataset& ds_;
  Mode mode_;
  const DataOptions& options_;
  std::string prefix_;  // "question "ID" (line 3)"
  bool invalid_question_ = false;
  std::unordered_map<std::string, std::string> ids_;  // id -> where its first question is
  size_t rows_ = 0, invalid_ = 0, num_problems_ = 0;
  std::vector<Problem> problems_;
  bool all_labelled_ = true;
  std::vector<size_t> offsets_;  // code point offsets of offsets_of_
  std::string offsets_of_;
};

/// What read_squad_stream found.
enum class SquadRead {
  kSquad,      ///< a SQuAD file: its questions went through the checker
  kNotSquad,   ///< one JSON object without "data" (nothing checked)
  kJsonLines,  ///< JSON Lines: a first object without "data", then more (nothing checked)
};

/// Reads SQuAD JSON text as a stream (qa_squad.cpp): each paragraph's questions go through `checker`
/// when the paragraph ends, the article's title is set on its examples; values that are not needed
/// are not kept, so memory is the text and the examples. Nesting is bounded by core::JsonLimits'
/// max_depth. @throws textune::DataError for invalid JSON (FILE:LINE:COL), nesting too deep, or a
/// file whose structure above the questions is wrong (naming the JSON path, e.g. "data[3] is a list").
SquadRead read_squad_stream(std::string_view text, const std::string& path, Checker& checker, QaDataset& ds);

}  // namespace textune::data::qa_internal
