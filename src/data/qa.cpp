// Readers of extractive question-answering files: SQuAD v1.1/v2.0 JSON, `datasets` rows (JSON array,
// JSONL) and tables (CSV/TSV/xlsx), their validation, and inputs given in memory. See data/qa.h.
#include "textune/data/qa.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "data/internal.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/utf8.h"

namespace textune::data {

namespace {

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

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// A field for a message: quoted, valid UTF-8, shortened.
std::string show(std::string_view s) {
  std::string v = internal::sanitize_utf8(s.substr(0, std::min<size_t>(s.size(), 200)));
  if (v.size() > 60) {
    size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;  // whole code points
    v = v.substr(0, cut) + "...";
  }
  return "\"" + v + "\"";
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos;
}

/// What a JSON value is, for messages: "a number", "a list", ...
std::string type_of(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "a list";
  return "an object";
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

/// Checks questions one by one and collects the valid ones.
class Checker {
 public:
  Checker(QaDataset& ds, Mode mode, const DataOptions& options) : ds_(ds), mode_(mode), options_(options) {}

  /// A problem that has no question (a record a table reader could not parse).
  void row_problem(const std::string& message) {
    ++rows_;
    ++invalid_;
    add(message);
  }

  void question(const Fields& f) {
    ++rows_;
    QaExample ex;
    ex.line = f.line;
    bool invalid = false;
    std::vector<std::string> said;
    // ---- the id, first: every message names it
    std::string id_said;
    if (f.id && f.id->is_string() && f.id->get_ref<const std::string&>().size() <= kMaxFieldBytes) {
      ex.id = f.id->get<std::string>();
    } else if (f.id && f.id->is_number_integer()) {
      ex.id = internal::json_scalar_to_string(*f.id);
    } else if (!f.id && !f.default_id.empty()) {
      ex.id = f.default_id;
    }
    prefix_ = ex.id.empty() && (f.id || f.default_id.empty()) ? fmt::format("question ({})", f.where)
                                                              : fmt::format("question {} ({})", show(ex.id), f.where);
    auto bad = [&](const std::string& message) {
      invalid = true;
      add(prefix_ + ": " + message);
    };
    if (!f.id && f.default_id.empty()) {
      bad("missing \"id\"");
    } else if (f.id && !(f.id->is_string() || f.id->is_number_integer())) {
      bad(fmt::format("\"id\" is {}, expected a string", type_of(*f.id)));
    } else if (f.id && f.id->is_string() && f.id->get_ref<const std::string&>().size() > kMaxFieldBytes) {
      bad(fmt::format("an id of {} bytes (at most {})", f.id->get_ref<const std::string&>().size(), kMaxFieldBytes));
    } else if (!internal::is_valid_utf8(ex.id)) {
      bad(fmt::format("the id is not valid UTF-8 (byte {})", internal::first_invalid_utf8(ex.id) + 1));
    } else if (ex.id.empty()) {
      bad("an empty id");
    }
    if (!ex.id.empty()) {
      auto [it, inserted] = ids_.emplace(ex.id, f.where);
      if (!inserted) bad(fmt::format("duplicate id (first at {}; ids must be unique)", it->second));
    }
    if (f.title && f.title->is_string() && f.title->get_ref<const std::string&>().size() <= kMaxFieldBytes &&
        internal::is_valid_utf8(f.title->get_ref<const std::string&>()))
      ex.title = f.title->get<std::string>();

    // ---- question and context
    if (mode_ != Mode::kReferences) {
      if (text_field(f.question, "question", ex.question, bad) && blank(ex.question))
        bad(ex.question.empty() ? "an empty question" : "an empty question (only whitespace)");
      if (text_field(f.context, "context", ex.context, bad) && blank(ex.context))
        bad(ex.context.empty() ? "an empty context" : "an empty context (only whitespace)");
    }

    // ---- answers
    bool labelled = false;
    if (mode_ != Mode::kInputs && (options_.require_labels || mode_ == Mode::kReferences)) {
      labelled = answers(f, ex, bad);
      if (f.is_impossible && !f.is_impossible->is_null()) {
        if (!f.is_impossible->is_boolean()) {
          bad(fmt::format("\"is_impossible\" is {}, expected true or false", type_of(*f.is_impossible)));
        } else if (f.is_impossible->get<bool>()) {
          if (!ex.answers.empty())
            bad(
                fmt::format("\"is_impossible\" is true but the question has {} answer{} (an unanswerable "
                            "question has an empty list of answers)",
                            ex.answers.size(), ex.answers.size() == 1 ? "" : "s"));
          ex.is_impossible = true;
          labelled = true;
        }
      }
      if (labelled && ex.answers.empty()) ex.is_impossible = true;
    }
    if (invalid) {
      ++invalid_;
      return;
    }
    all_labelled_ = all_labelled_ && labelled;
    ds_.has_impossible = ds_.has_impossible || ex.is_impossible;
    ds_.examples.push_back(std::move(ex));
  }

  size_t rows() const { return rows_; }
  size_t invalid() const { return invalid_; }
  size_t num_problems() const { return num_problems_; }
  std::vector<Problem>& problems() { return problems_; }
  bool all_labelled() const { return all_labelled_; }

 private:
  void add(const std::string& message) {
    ++num_problems_;
    if (problems_.size() < options_.max_problems) problems_.push_back(Problem{ds_.source, 0, "", message});
  }

  /// Copies a string field into `out`; false (and a problem) when it is missing, not a string,
  /// too long or not UTF-8.
  template <typename Bad>
  bool text_field(const Json* v, const char* name, std::string& out, Bad& bad) {
    if (!v || v->is_null()) {
      bad(fmt::format("missing \"{}\"", name));
      return false;
    }
    if (!v->is_string()) {
      bad(fmt::format("\"{}\" is {}, expected a string", name, type_of(*v)));
      return false;
    }
    const auto& s = v->get_ref<const std::string&>();
    if (s.size() > kMaxFieldBytes) {
      bad(fmt::format("a {} of {} bytes (at most {})", name, s.size(), kMaxFieldBytes));
      return false;
    }
    if (auto b = internal::first_invalid_utf8(s); b != std::string::npos) {
      bad(fmt::format("the {} is not valid UTF-8 (byte {}; save the file as UTF-8 or pass --encoding)", name, b + 1));
      return false;
    }
    out = s;
    return true;
  }

  /// An answer_start as an integer: a JSON integer, or the digits of a table cell.
  static std::optional<int64_t> start_of(const Json& v) {
    if (v.is_number_integer()) return v.get<int64_t>();
    if (!v.is_string()) return std::nullopt;
    std::string s = v.get<std::string>();
    const size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
    if (a == std::string::npos) return std::nullopt;
    s = s.substr(a, b - a + 1);
    const size_t digits = s[0] == '-' ? 1 : 0;
    if (s.size() == digits || s.size() > 18 ||
        !std::all_of(s.begin() + static_cast<std::ptrdiff_t>(digits), s.end(),
                     [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
      return std::nullopt;
    return std::stoll(s);
  }

  /// Reads the answers of `f` into ex.answers and checks each against the context. Returns whether
  /// the question is labelled (an answers field is present, possibly empty).
  template <typename Bad>
  bool answers(const Fields& f, QaExample& ex, Bad& bad) {
    std::vector<std::pair<const Json*, const Json*>> raw;  // (text, answer_start)
    Json parsed;
    if (f.answer_columns && !(f.answers && !f.answers->is_null())) {
      const bool no_text = !f.answer_text || f.answer_text->is_null() ||
                           (f.answer_text->is_string() && f.answer_text->get_ref<const std::string&>().empty());
      const bool no_start = !f.answer_start || f.answer_start->is_null() ||
                            (f.answer_start->is_string() && blank(f.answer_start->get_ref<const std::string&>()));
      if (no_text && no_start) return true;  // unanswerable
      if (no_text) {
        bad("an answer_start but no answer_text (leave both empty for an unanswerable question)");
        return true;
      }
      raw.emplace_back(f.answer_text, no_start ? nullptr : f.answer_start);
    } else {
      const Json* a = f.answers;
      if (!a || a->is_null()) {
        bad("missing \"answers\" (expected a list of {\"text\", \"answer_start\"}, or {\"text\": [...], "
            "\"answer_start\": [...]})");
        return false;
      }
      if (a->is_string() && f.answers_as_text) {  // a CSV/TSV/xlsx cell holding JSON
        try {
          parsed = core::parse_json(a->get<std::string>(), "answers");
        } catch (const DataError& e) {
          std::string m = e.what();
          if (m.rfind("answers:", 0) == 0) m = m.substr(8);
          bad("\"answers\" is not valid JSON (" + internal::sanitize_utf8(m) + ")");
          return true;
        }
        a = &parsed;
      }
      if (a->is_array()) {
        for (size_t i = 0; i < a->size(); ++i) {
          const Json& e = (*a)[i];
          if (!e.is_object()) {
            bad(fmt::format("answer {} is {}, expected an object {{\"text\", \"answer_start\"}}", i + 1, type_of(e)));
            return true;
          }
          auto t = e.find("text");
          auto s = e.find("answer_start");
          raw.emplace_back(t == e.end() ? nullptr : &*t, s == e.end() ? nullptr : &*s);
        }
      } else if (a->is_object()) {
        auto t = a->find("text");
        auto s = a->find("answer_start");
        if (t == a->end() || !t->is_array()) {
          bad(t == a->end() ? "\"answers\" has no \"text\" list"
                            : fmt::format("\"answers\".\"text\" is {}, expected a list", type_of(*t)));
          return true;
        }
        const bool starts = s != a->end() && !s->is_null();
        if (mode_ != Mode::kReferences && !starts) {
          bad("\"answers\" has no \"answer_start\" list");
          return true;
        }
        if (starts && !s->is_array()) {
          bad(fmt::format("\"answers\".\"answer_start\" is {}, expected a list", type_of(*s)));
          return true;
        }
        if (starts && s->size() != t->size()) {
          bad(fmt::format("\"answers\" has {} text{} but {} answer_start value{} (expected one each)", t->size(),
                          t->size() == 1 ? "" : "s", s->size(), s->size() == 1 ? "" : "s"));
          return true;
        }
        for (size_t i = 0; i < t->size(); ++i) raw.emplace_back(&(*t)[i], starts ? &(*s)[i] : nullptr);
      } else {
        bad(fmt::format("\"answers\" is {}, expected a list of {{\"text\", \"answer_start\"}}", type_of(*a)));
        return true;
      }
    }

    // Code points of the context, once per context (a SQuAD paragraph's questions share it).
    const bool check = mode_ == Mode::kRead && !ex.context.empty();
    if (check && offsets_of_ != ex.context) {
      offsets_ = core::utf8_offsets(ex.context);
      offsets_of_ = ex.context;
    }
    for (size_t i = 0; i < raw.size(); ++i) {
      const auto [t, s] = raw[i];
      QaAnswer ans;
      if (!t || t->is_null()) {
        bad(fmt::format("answer {}: missing \"text\"", i + 1));
        continue;
      }
      if (!t->is_string()) {
        bad(fmt::format("answer {}: the text is {}, expected a string", i + 1, type_of(*t)));
        continue;
      }
      const auto& text = t->get_ref<const std::string&>();
      if (text.size() > kMaxFieldBytes) {
        bad(fmt::format("answer {}: a text of {} bytes (at most {})", i + 1, text.size(), kMaxFieldBytes));
        continue;
      }
      if (auto b = internal::first_invalid_utf8(text); b != std::string::npos) {
        bad(fmt::format("answer {}: the text is not valid UTF-8 (byte {})", i + 1, b + 1));
        continue;
      }
      if (mode_ == Mode::kReferences) {
        if (s && !s->is_null())
          if (auto v = start_of(*s); v && *v >= 0) ans.answer_start = static_cast<size_t>(*v);
        ans.text = text;
        ex.answers.push_back(std::move(ans));
        continue;
      }
      if (text.empty()) {
        bad(fmt::format("answer {}: an empty text (an unanswerable question has an empty list of answers)", i + 1));
        continue;
      }
      if (!s || s->is_null()) {
        bad(fmt::format("answer {} {}: missing \"answer_start\"", i + 1, show(text)));
        continue;
      }
      const auto start = start_of(*s);
      if (!start) {
        bad(fmt::format("answer {} {}: answer_start is {}, expected an integer (a character offset)", i + 1, show(text),
                        s->is_string() ? show(s->get_ref<const std::string&>()) : s->dump()));
        continue;
      }
      ans.text = text;
      if (check) {
        const size_t n = offsets_.size() - 1, len = core::utf8_length(text);
        if (*start < 0 || static_cast<size_t>(*start) + len > n) {
          ++ds_.num_misaligned_answers;
          bad(fmt::format("answer {} {} starts at {} and has {} characters, outside the context of {} characters",
                          i + 1, show(text), *start, len, n));
          continue;
        }
        const size_t a = static_cast<size_t>(*start);
        const std::string_view there(ex.context.data() + offsets_[a], offsets_[a + len] - offsets_[a]);
        if (there != text) {
          ++ds_.num_misaligned_answers;
          bad(
              fmt::format("answer {} {} starts at {} but the context there reads {} (answer_start counts Unicode "
                          "code points, as Python indexes strings)",
                          i + 1, show(text), *start, show(there)));
          continue;
        }
      }
      ans.answer_start = static_cast<size_t>(*start);
      ex.answers.push_back(std::move(ans));
    }
    return true;
  }

  QaDataset& ds_;
  Mode mode_;
  const DataOptions& options_;
  std::string prefix_;
  std::unordered_map<std::string, std::string> ids_;  // id -> where its first question is
  size_t rows_ = 0, invalid_ = 0, num_problems_ = 0;
  std::vector<Problem> problems_;
  bool all_labelled_ = true;
  std::vector<size_t> offsets_;
  std::string offsets_of_;
};

// ---------------------------------------------------------------------------------------------
// SQuAD: data[].paragraphs[].qas[]

void read_squad(Json& doc, const std::string& path, Checker& checker) {
  auto data = doc.find("data");
  if (data == doc.end() || !data->is_array())
    throw DataError(
        fmt::format("{}: \"data\" is {}, expected a list of articles (SQuAD: {{\"data\": [{{\"title\", "
                    "\"paragraphs\": [{{\"context\", \"qas\": [...]}}]}}]}})",
                    path, data == doc.end() ? "missing" : type_of(*data)));
  size_t number = 0;
  for (size_t a = 0; a < data->size(); ++a) {
    const Json& article = (*data)[a];
    if (!article.is_object())
      throw DataError(fmt::format("{}: data[{}] is {}, expected an article {{\"title\", \"paragraphs\"}}", path, a,
                                  type_of(article)));
    auto paragraphs = article.find("paragraphs");
    if (paragraphs == article.end() || !paragraphs->is_array())
      throw DataError(fmt::format("{}: data[{}].paragraphs is {}, expected a list of {{\"context\", \"qas\"}}", path, a,
                                  paragraphs == article.end() ? "missing" : type_of(*paragraphs)));
    auto title = article.find("title");
    for (size_t p = 0; p < paragraphs->size(); ++p) {
      const Json& paragraph = (*paragraphs)[p];
      if (!paragraph.is_object())
        throw DataError(fmt::format("{}: data[{}].paragraphs[{}] is {}, expected {{\"context\", \"qas\"}}", path, a, p,
                                    type_of(paragraph)));
      auto qas = paragraph.find("qas");
      if (qas == paragraph.end() || !qas->is_array())
        throw DataError(fmt::format("{}: data[{}].paragraphs[{}].qas is {}, expected a list of questions", path, a, p,
                                    qas == paragraph.end() ? "missing" : type_of(*qas)));
      auto context = paragraph.find("context");
      for (size_t q = 0; q < qas->size(); ++q) {
        const Json& qa = (*qas)[q];
        Fields f;
        f.line = ++number;
        f.where = fmt::format("question {}, data[{}].paragraphs[{}].qas[{}]", number, a, p, q);
        if (!qa.is_object()) {
          checker.row_problem(
              fmt::format("{}: {}, expected a question {{\"id\", \"question\", \"answers\"}}", f.where, type_of(qa)));
          continue;
        }
        auto get = [&](const Json& o, const char* k) {
          auto it = o.find(k);
          return it == o.end() ? nullptr : &*it;
        };
        f.id = get(qa, "id");
        f.title = title == article.end() ? nullptr : &*title;
        f.question = get(qa, "question");
        f.context = context == paragraph.end() ? nullptr : &*context;
        f.answers = get(qa, "answers");
        f.is_impossible = get(qa, "is_impossible");
        checker.question(f);
      }
    }
  }
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
  for (const auto& p : t.problems) checker.row_problem(fmt::format("{} {}: {}", unit, p.row, p.message));
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const auto& row = t.rows[r];
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

  if (format == Format::kJson && first_byte(path) == '{') {
    // SQuAD ({"data": [...]}), or JSON Lines in a .json file (what `datasets`' to_json writes).
    std::string text = decode_text(read_bytes(path), options.data.read.encoding, path);
    if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
    Json doc;
    bool lines = false;
    try {
      doc = core::parse_json(std::string_view(text), path, core::JsonLimits{});
    } catch (const DataError& e) {
      // A second value after the first: JSON Lines. Anything else is the file's syntax error.
      if (std::string(e.what()).find("expected end of input") == std::string::npos) throw;
      lines = true;
    }
    text = std::string();
    if (!lines && doc.is_object() && doc.contains("data")) {
      ds.format = "squad";
      read_squad(doc, path, checker);
      doc = Json();
      finish(ds, checker, options.data);
      return ds;
    }
    doc = Json();
    format = Format::kJsonl;
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
