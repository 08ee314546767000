// Extractive question-answering data: SQuAD v1.1 / v2.0 JSON files (XQuAD and CMRC 2018 have the same
// shape), Hugging Face `datasets` rows ({"id", "title", "question", "context", "answers": {"text":
// [...], "answer_start": [...]}}) as JSON arrays or JSON lines, and tables (CSV/TSV/JSONL/xlsx) of
// question and context columns for prediction.
//
// What this reproduces: the data side of transformers' examples/pytorch/question-answering/run_qa.py
// (the `datasets` "squad" / "squad_v2" builders flatten data[].paragraphs[].qas[] into one row per
// question: id, title, context, question, answers{text, answer_start}; an unanswerable v2.0 question
// has empty answer lists). Offsets are in Unicode code points, as Python indexes strings.
//
// NOTE: interface pinned by the lead; the implementation is in src/data/qa.cpp.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/data/dataset.h"
#include "textune/data/table.h"

namespace textune::data {

/// One gold answer: its text and where it starts in the context.
struct QaAnswer {
  std::string text;         ///< UTF-8, as the file gives it (not stripped)
  size_t answer_start = 0;  ///< in Unicode code points of the context (a Python string index)
};

/// One question about one context.
struct QaExample {
  std::string id;                 ///< the question id (unique in a file); "N" (1-based) when the file has none
  std::string title;              ///< the article's title ("" when none)
  std::string question;           ///< not empty after stripping whitespace
  std::string context;            ///< the passage, valid UTF-8
  std::vector<QaAnswer> answers;  ///< empty: unanswerable (v2.0) or unlabelled
  bool is_impossible = false;     ///< SQuAD v2.0 "is_impossible", or a labelled row with no answer
  /// 1-based, where it is in the file: the question's index among all questions of a SQuAD file (its
  /// "qas" entries in file order), the record of a JSON array, the line of a JSONL file, the row of a
  /// table (header excluded); messages name the question id before it.
  size_t line = 0;
  /// Where it is, as messages say it: "question 12, data[3].paragraphs[1].qas[0]" (SQuAD), "line 3"
  /// (JSONL, CSV, TSV), "record 3" (JSON array), "row 3" (xlsx), "input 2" (qa_from_inputs); ""
  /// when not read from a file (messages then say "line N" when `line` is set).
  std::string where;
};

/// How question-answering files are read. DataOptions gives read.format (json, jsonl, csv, tsv, xlsx),
/// read.sheet/encoding/header, skip_invalid, max_problems, require_labels (answers required:
/// training and evaluation).
struct QaReadOptions {
  DataOptions data;
  /// Columns (or JSON keys) of rows, by name or 0-based index: "" uses the default name.
  std::string id_column;        ///< default "id" (optional: none gives "1", "2", ... by row)
  std::string question_column;  ///< default "question"
  std::string context_column;   ///< default "context"
  std::string answers_column;   ///< default "answers" ({"text": [...], "answer_start": [...]}); tables
                                ///< may instead have "answer_text"/"answer_start" columns (one answer)
  std::string title_column;     ///< default "title" (optional)
};

/// A read question-answering file.
struct QaDataset {
  std::string source;  ///< the path as given ("<inputs>" for inputs in memory)
  std::string format;  ///< "squad" (data[].paragraphs[].qas[]), "json" (array of rows), "jsonl", "csv", ...
  std::vector<QaExample> examples;
  bool labelled = false;        ///< every example has answers or is unanswerable
  bool has_impossible = false;  ///< some question is unanswerable (is_impossible, or empty answers): v2.0
  /// Answers whose text does not match the context at answer_start, all of them. A question's first
  /// answer (the one run_qa.py trains on) misaligned is a problem; a later one is not: it is kept
  /// for its text (the official scripts score texts only), counted in num_misaligned_secondary and
  /// warned once (CMRC 2018 dev has 197 such answers, many with answer_start -1).
  size_t num_misaligned_answers = 0;
  size_t num_misaligned_secondary = 0;     ///< the misaligned answers after a question's first
  std::string first_misaligned_secondary;  ///< where the first of them is ("question "x" (line 3), answer 2")
  ValidationReport report;                 ///< problems, counts (rows are questions)

  size_t size() const { return examples.size(); }
};

/// Reads a question-answering file.
///
/// Layout: a .json file whose top level is an object with "data" is SQuAD (v1.1 or v2.0;
/// data[].title, data[].paragraphs[].context, .qas[].id/question/answers[{text, answer_start}],
/// .qas[].is_impossible and, v2.0, .qas[].plausible_answers, which are ignored); a .json array or a
/// .jsonl file holds `datasets` rows ({"id", "title", "question", "context", "answers": {"text": [..],
/// "answer_start": [..]}}; "answers" may also be SQuAD's list of {text, answer_start}); .csv/.tsv/.xlsx
/// (or --format) are tables of question and context columns (answers from an "answers" JSON cell or
/// "answer_text" + "answer_start" columns). A UTF-8 byte order mark is read.
///
/// Validation. Each problem is a data::Problem whose message starts with the question: "question
/// "56be4db0acb8001400a502ec" (line 12): ..." (line as QaExample::line, named "line" for JSONL, CSV and
/// TSV, "record" for a JSON array, "row" for xlsx; for a SQuAD file the question's number and where
/// it is: "(question 12, data[3].paragraphs[1].qas[0])"), so that the report's summary names it:
/// - an answer_start whose text does not match the context there ("answer 1 "Denver Broncos" starts
///   at 177 but the context there reads "Carolina Pan""): counted in num_misaligned_answers; a
///   problem for a question's first answer only (see num_misaligned_secondary);
/// - a missing or non-string field (context, question, id, answer text), a non-integer or negative
///   answer_start, an answer outside the context;
/// - an empty (or whitespace-only) question or context;
/// - a duplicate id (the first occurrence is kept; naming the line of the first);
/// - invalid UTF-8; a field over 1 MiB (not copied).
/// An id may also be a JSON integer (read as its digits). Without require_labels (prediction) a
/// question may have no answers (it is then unlabelled, and QaDataset::labelled false); answers that
/// are there are read and checked all the same. Structural errors above the questions
/// (no "data" list, an article without "paragraphs", a paragraph without "qas") are a DataError for
/// the whole file, naming the JSON path.
/// A question with a problem is invalid: with DataOptions::skip_invalid it is dropped and counted
/// (warned once), otherwise a DataError with ValidationReport::summary() ("FILE: K invalid questions
/// of N: question "x" (line 3): ...; ... (fix them, or pass --skip-invalid ...)") is thrown. An empty
/// answer list, or is_impossible true, makes a question unanswerable (has_impossible: SQuAD v2.0).
///
/// Memory: about the file's size; a file over DataOptions' limits is refused as read_table refuses it.
/// @throws textune::DataError as above, or naming the file that cannot be read or parsed (with the
///         JSON parser's byte offset); textune::UsageError for a format the reader does not know.
QaDataset read_qa(const std::string& path, const QaReadOptions& options = {});

/// Inputs given in memory (predict --question/--context, serve, the C++ Pipeline): each an object
/// {"question": s, "context": s} (also "id"). Checked as read_qa checks rows; `source` names them in
/// messages ("input 2: ..."). Ids need not be unique: inputs are answered by position (serve batches
/// the inputs of many requests, each numbered "1", "2", ... when it has no "id").
/// @throws textune::DataError naming the input: not an object, a missing or non-string question or
///         context, an empty question or context.
QaDataset qa_from_inputs(const std::vector<core::Json>& inputs, const std::string& source = "<inputs>");

/// One question of a SQuAD-shaped references file as the official scripts read it: the id and the
/// gold answer texts (empty: unanswerable).
struct QaReference {
  std::string id;
  std::vector<std::string> answers;
};

/// The references of a question-answering file (any layout read_qa reads), for `textune score` and
/// the metrics: every question's id and answer texts, in file order. No alignment check (the official
/// evaluation scripts do none): only ids (present, unique) and answer texts (strings) are checked;
/// questions, contexts and answer_start are not read. @throws textune::DataError as read_qa for a file it cannot read.
std::vector<QaReference> read_qa_references(const std::string& path, const QaReadOptions& options = {});

}  // namespace textune::data
