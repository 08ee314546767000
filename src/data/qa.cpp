// Readers of extractive question-answering files: SQuAD v1.1/v2.0 JSON, `datasets` rows (JSON array,
// JSONL) and tables (CSV/TSV/xlsx), their validation, and inputs given in memory. See data/qa.h.
#include "textune/data/qa.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "data/internal.h"
#include "data/qa_internal.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"

namespace textune::data {

namespace {

using core::Json;
using qa_internal::Checker;
using qa_internal::Fields;
using qa_internal::Mode;
using qa_internal::show;
using qa_internal::type_of;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// The whole file in one string of its size (core::read_file's stream copy would double a large file).
std::string read_bytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw DataError(path + " is a directory, expected a file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw DataError("cannot open " + path + ": " + std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) return core::read_file(path);  // a pipe
  std::string bytes(static_cast<size_t>(size), '\0');
  in.seekg(0);
  if (size > 0 && !in.read(bytes.data(), size)) throw DataError("cannot read " + path);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// rows: `datasets` JSON/JSONL records, CSV/TSV/xlsx tables

std::string list_columns(const std::vector<std::string>& cols) {
  std::string s;
  for (size_t i = 0; i < cols.size() && i < 30; ++i) s += (i ? ", " : "") + show(cols[i]);
  if (cols.size() > 30) s += fmt::format(", ... ({} in all)", cols.size());
  return s.empty() ? "none" : s;
}

/// The column a role is read from: `wanted` by name or 0-based index, else the default name.
std::optional<size_t> column_of(const Table& t, const std::string& wanted, const char* name) {
  if (!wanted.empty()) {
    if (auto i = t.column_index(wanted)) return i;
    if (!wanted.empty() && wanted.size() < 9 &&
        std::all_of(wanted.begin(), wanted.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      if (size_t k = std::stoul(wanted); k < t.columns.size()) return k;
    throw DataError(
        fmt::format("{}: no column \"{}\" (the file has columns {})", t.source, wanted, list_columns(t.columns)));
  }
  return t.column_index(name);
}

void read_rows(const Table& t, const QaReadOptions& o, Mode mode, const std::string& unit, Checker& checker) {
  const auto id = column_of(t, o.id_column, "id");
  const auto question = column_of(t, o.question_column, "question");
  const auto context = column_of(t, o.context_column, "context");
  const auto answers = column_of(t, o.answers_column, "answers");
  const auto title = column_of(t, o.title_column, "title");
  const auto answer_text = t.column_index("answer_text");
  const auto answer_start = t.column_index("answer_start");
  const auto impossible = t.column_index("is_impossible");
  const bool rows = !t.rows.empty();
  if (rows && mode != Mode::kReferences && (!question || !context))
    throw DataError(
        fmt::format("{}: no \"{}\" column (the file has columns {}; --question-column and "
                    "--context-column choose others)",
                    t.source, !question ? "question" : "context", list_columns(t.columns)));
  if (rows && mode == Mode::kReferences && !id)
    throw DataError(fmt::format("{}: no \"id\" column (the file has columns {})", t.source, list_columns(t.columns)));
  const bool need_answers = mode == Mode::kReferences || (mode == Mode::kRead && o.data.require_labels);
  if (rows && need_answers && !answers && !answer_text)
    throw DataError(
        fmt::format("{}: no answers (expected an \"answers\" column, or \"answer_text\" and "
                    "\"answer_start\" columns; the file has columns {})",
                    t.source, list_columns(t.columns)));
  // Records the table reader could not parse, merged in file order with the rows.
  size_t next_problem = 0;
  auto problems_before = [&](size_t line) {
    for (; next_problem < t.problems.size() && t.problems[next_problem].row < line; ++next_problem) {
      const auto& p = t.problems[next_problem];
      checker.row_problem(fmt::format("{} {}: {}", unit, p.row, p.message));
    }
  };
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
    problems_before(t.row_numbers[r]);
    Fields f;
    f.line = t.row_numbers[r];
    f.where = fmt::format("{} {}", unit, f.line);
    auto cell = [&](const std::optional<size_t>& c) { return c ? &row[*c] : nullptr; };
    if (id) {
      f.id = row[*id].is_null() ? nullptr : &row[*id];
    } else {
      f.default_id = std::to_string(r + 1);
    }
    f.title = cell(title);
    f.question = cell(question);
    f.context = cell(context);
    f.answers = cell(answers);
    f.answer_columns = answer_text.has_value();
    f.answers_as_text = t.format != Format::kJson && t.format != Format::kJsonl;
    f.answer_text = cell(answer_text);
    f.answer_start = cell(answer_start);
    f.is_impossible = cell(impossible);
    checker.question(f);
  }
  problems_before(SIZE_MAX);
}

std::string qa_summary(const ValidationReport& r, bool skipped, bool hint) {
  std::string s = fmt::format("{}: {} invalid question{} of {}", r.file, r.num_invalid_rows,
                              r.num_invalid_rows == 1 ? "" : "s", r.num_rows);
  for (size_t i = 0; i < r.problems.size(); ++i) s += (i ? "; " : ": ") + r.problems[i].message;
  if (r.num_problems > r.problems.size())
    s += fmt::format("; and {} more problem{}", r.num_problems - r.problems.size(),
                     r.num_problems - r.problems.size() == 1 ? "" : "s");
  if (skipped) return s + " (skipped)";
  return hint ? s + " (fix them, or pass --skip-invalid to leave such questions out)" : s;
}

/// The report and the end of a read: throws the summary, or warns and keeps the valid questions.
void finish(QaDataset& ds, Checker& checker, const DataOptions& options, bool skip_hint = true) {
  auto& r = ds.report;
  r.file = ds.source;
  r.num_rows = checker.rows();
  r.num_invalid_rows = checker.invalid();
  r.num_problems = checker.num_problems();
  r.problems = std::move(checker.problems());
  r.num_examples = ds.examples.size();
  if (ds.num_misaligned_secondary)
    spdlog::warn(
        "{}: {} answers after a question's first do not match the context at their answer_start (the first: {}); "
        "they are scored by their text only, as the official scripts score them, and never trained on",
        ds.source, ds.num_misaligned_secondary, ds.first_misaligned_secondary);
  if (!r.ok()) {
    if (!options.skip_invalid) throw DataError(qa_summary(r, false, skip_hint));
    spdlog::warn("{}", qa_summary(r, true, skip_hint));
  }
  if (ds.examples.empty()) {
    if (r.num_rows == 0) throw DataError(fmt::format("{}: no questions (the file holds none)", ds.source));
    throw DataError(fmt::format("{}: no questions left: every one of the {} is invalid", ds.source, r.num_rows));
  }
  ds.labelled = checker.all_labelled();
}

/// The first non-whitespace byte of a file after a UTF-8 byte order mark (0 when none in 64 KiB).
char first_byte(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  const size_t start = head.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  const size_t i = head.find_first_not_of(" \t\r\n", start);
  return i == std::string::npos ? '\0' : head[i];
}

bool has_extension(const std::string& path, std::initializer_list<const char*> exts) {
  const std::string ext = lower(std::filesystem::path(path).extension().string());
  return std::any_of(exts.begin(), exts.end(), [&](const char* e) { return ext == e; });
}

QaDataset read(const std::string& path, const QaReadOptions& options, Mode mode) {
  if (!options.data.layout.empty())
    throw UsageError(
        fmt::format("--format {} is a layout of token classification, not of question answering "
                    "(expected json (SQuAD or rows), jsonl, csv, tsv or xlsx)",
                    options.data.layout));
  Format format;
  if (options.data.read.format) {
    format = *options.data.read.format;
  } else if (has_extension(path, {".json"})) {
    format = Format::kJson;
  } else if (has_extension(path, {".jsonl", ".ndjson"})) {
    format = Format::kJsonl;
  } else {
    format = format_from_path(path);  // UsageError for an extension it does not know
  }
  QaDataset ds;
  ds.source = path;
  Checker checker(ds, mode, options.data);

  // With --encoding the first character is known only once decoded (a UTF-16 file begins with its
  // byte order mark, then '{' as two bytes).
  if (format == Format::kJson && (first_byte(path) == '{' || !options.data.read.encoding.empty())) {
    std::string text = decode_text(read_bytes(path), options.data.read.encoding, path);
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
    const size_t first = text.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && text[first] == '{') {
      // SQuAD ({"data": [...]}), or JSON Lines in a .json file (what `datasets`' to_json writes).
      const qa_internal::SquadRead r = qa_internal::read_squad_stream(text, path, checker, ds);
      text = std::string();
      if (r == qa_internal::SquadRead::kSquad) {
        ds.format = "squad";
        finish(ds, checker, options.data);
        return ds;
      }
      format = Format::kJsonl;
    }
  }
  ReadOptions ro = options.data.read;
  ro.format = format;
  const Table t = read_table(path, ro);
  ds.format = format_name(format);
  const std::string unit = format == Format::kJson ? "record" : format == Format::kXlsx ? "row" : "line";
  read_rows(t, options, mode, unit, checker);
  finish(ds, checker, options.data);
  return ds;
}

}  // namespace

QaDataset read_qa(const std::string& path, const QaReadOptions& options) {
  return read(path, options, Mode::kRead);
}

QaDataset qa_from_inputs(const std::vector<core::Json>& inputs, const std::string& source) {
  QaDataset ds;
  ds.source = source;
  ds.format = "inputs";
  DataOptions options;
  options.require_labels = false;
  Checker checker(ds, Mode::kInputs, options);
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Json& in = inputs[i];
    Fields f;
    f.line = i + 1;
    f.where = fmt::format("input {}", i + 1);
    if (!in.is_object()) {
      checker.row_problem(
          fmt::format("input {}: {}, expected an object {{\"question\": ..., \"context\": ...}}", i + 1, type_of(in)));
      continue;
    }
    auto get = [&](const char* k) {
      auto it = in.find(k);
      return it == in.end() || it->is_null() ? nullptr : &*it;
    };
    f.id = get("id");
    if (!f.id) f.default_id = std::to_string(i + 1);
    f.question = get("question");
    f.context = get("context");
    checker.question(f);
  }
  finish(ds, checker, options, /*skip_hint=*/false);
  return ds;
}

std::vector<QaReference> read_qa_references(const std::string& path, const QaReadOptions& options) {
  QaDataset ds = read(path, options, Mode::kReferences);
  std::vector<QaReference> out;
  out.reserve(ds.examples.size());
  for (auto& ex : ds.examples) {
    QaReference r;
    r.id = std::move(ex.id);
    for (auto& a : ex.answers) r.answers.push_back(std::move(a.text));
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace textune::data
