// Typed examples, label maps and the validation report.
#include "textune/data/dataset.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "data/internal.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"

namespace textune::data {

// ---------------------------------------------------------------------------------------------
// label map

namespace {

/// The value of an integer label ("-3", "+7", "12"), if it is one.
std::optional<int64_t> parse_integer(const std::string& s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (size_t k = i; k < s.size(); ++k)
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) return std::nullopt;
  return std::strtoll(s.c_str(), nullptr, 10);
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\v\f";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

/// A label for a message: quoted, valid UTF-8, shortened.
std::string show(const std::string& s) {
  std::string v = internal::sanitize_utf8(s);
  if (v.size() > 60) v = v.substr(0, 57) + "...";
  return "\"" + v + "\"";
}

std::string list_labels(const std::vector<std::string>& labels) {
  std::string s;
  const size_t n = std::min<size_t>(labels.size(), 20);
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + show(labels[i]);
  if (labels.size() > n) s += fmt::format(", ... ({} in all)", labels.size());
  return s;
}

}  // namespace

LabelMap::LabelMap(std::vector<std::string> id2label) : id2label_(std::move(id2label)) {
  for (size_t i = 0; i < id2label_.size(); ++i)
    if (!label2id_.emplace(id2label_[i], static_cast<int64_t>(i)).second)
      throw DataError(fmt::format("label {} appears twice in the label list", show(id2label_[i])));
}

LabelMap LabelMap::build(const std::vector<std::string>& labels) {
  const std::set<std::string> distinct(labels.begin(), labels.end());
  std::vector<std::string> unique(distinct.begin(), distinct.end());  // bytewise order
  const bool all_integers = !unique.empty() && std::all_of(unique.begin(), unique.end(), [](const std::string& l) {
    return parse_integer(l).has_value();
  });
  if (all_integers)
    std::stable_sort(unique.begin(), unique.end(),
                     [](const std::string& a, const std::string& b) { return *parse_integer(a) < *parse_integer(b); });
  return LabelMap(std::move(unique));
}

LabelMap LabelMap::from_config(const core::Json& config) {
  if (!config.contains("id2label") || !config["id2label"].is_object() || config["id2label"].empty())
    throw DataError("config.json has no id2label (the model was not saved with its labels)");
  const auto& m = config["id2label"];
  std::vector<std::string> labels(m.size());
  std::vector<bool> seen(m.size(), false);
  for (auto it = m.begin(); it != m.end(); ++it) {
    const auto id = parse_integer(it.key());
    if (!id || *id < 0 || static_cast<size_t>(*id) >= m.size() || seen[static_cast<size_t>(*id)])
      throw DataError(
          fmt::format("config.json: id2label key \"{}\" is not one of the ids 0..{}", it.key(), m.size() - 1));
    seen[static_cast<size_t>(*id)] = true;
    labels[static_cast<size_t>(*id)] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  }
  return LabelMap(std::move(labels));
}

LabelMap LabelMap::from_lines_file(const std::string& path) {
  const std::string text = core::read_file(path);
  std::vector<std::string> labels;
  size_t pos = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0, line = 0;
  while (pos < text.size()) {
    ++line;
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string label = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (label.empty()) {
      if (pos >= text.size()) break;  // a final blank line
      throw DataError(fmt::format("{}: row {}: blank line (expected one label name per line)", path, line));
    }
    if (!internal::is_valid_utf8(label))
      throw DataError(fmt::format("{}: row {}: not valid UTF-8 (save the file as UTF-8)", path, line));
    labels.push_back(std::move(label));
  }
  if (labels.empty()) throw DataError(fmt::format("{}: no label names (expected one per line)", path));
  try {
    return LabelMap(std::move(labels));
  } catch (const DataError& e) {
    throw DataError(path + ": " + e.what());
  }
}

void LabelMap::to_config(core::Json& config) const {
  core::Json id2label = core::Json::object(), label2id = core::Json::object();
  for (size_t i = 0; i < id2label_.size(); ++i) {
    id2label[std::to_string(i)] = id2label_[i];
    label2id[id2label_[i]] = static_cast<int64_t>(i);
  }
  config["id2label"] = std::move(id2label);
  config["label2id"] = std::move(label2id);
}

std::optional<int64_t> LabelMap::id(const std::string& label) const {
  auto it = label2id_.find(label);
  if (it == label2id_.end()) return std::nullopt;
  return it->second;
}

const std::string& LabelMap::label(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= id2label_.size())
    throw std::out_of_range(fmt::format("label id {} is outside 0..{}", id, id2label_.size()));
  return id2label_[static_cast<size_t>(id)];
}

bool LabelMap::is_placeholder() const {
  if (id2label_.empty()) return false;
  for (size_t i = 0; i < id2label_.size(); ++i)
    if (id2label_[i] != "LABEL_" + std::to_string(i)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// report

namespace {

std::string problem_without_file(const Problem& p) {
  Problem q = p;
  q.file.clear();
  return q.to_string();
}

}  // namespace

std::string ValidationReport::summary() const {
  std::string s =
      fmt::format("{}: {} invalid row{} of {}", file, num_invalid_rows, num_invalid_rows == 1 ? "" : "s", num_rows);
  for (size_t i = 0; i < problems.size(); ++i) s += (i ? "; " : ": ") + problem_without_file(problems[i]);
  if (num_problems > problems.size())
    s += fmt::format("; and {} more problem{}", num_problems - problems.size(),
                     num_problems - problems.size() == 1 ? "" : "s");
  if (!note.empty()) s += " (" + note + ")";
  return s;
}

// ---------------------------------------------------------------------------------------------
// dataset

size_t Dataset::num_labels() const {
  return task == Task::kRegression ? 1 : label_map.size();
}

std::vector<size_t> Dataset::label_counts() const {
  std::vector<size_t> counts(label_map.size(), 0);
  for (const auto& e : examples) {
    if (task == Task::kClassification && e.label >= 0) ++counts[static_cast<size_t>(e.label)];
    if (task == Task::kMultiLabel)
      for (auto id : e.label_ids) ++counts[static_cast<size_t>(id)];
  }
  return counts;
}

std::vector<std::string> Dataset::texts() const {
  std::vector<std::string> out;
  out.reserve(examples.size());
  for (const auto& e : examples) out.push_back(e.text);
  return out;
}

std::vector<std::string> Dataset::text_pairs() const {
  std::vector<std::string> out;
  if (!has_pairs()) return out;
  out.reserve(examples.size());
  for (const auto& e : examples) out.push_back(e.text_pair.value_or(""));
  return out;
}

namespace {

std::string list_columns(const Table& t) {
  std::string s;
  for (size_t i = 0; i < t.columns.size(); ++i) s += (i ? ", " : "") + show(t.columns[i]);
  return s;
}

/// Finds the column for `spec` (a name, or a 0-based index when no column has that name).
std::optional<size_t> find_column(const Table& t, const std::string& spec) {
  if (auto i = t.column_index(spec)) return i;
  if (auto k = parse_integer(spec);
      k && *k >= 0 && static_cast<size_t>(*k) < t.columns.size() && spec[0] != '+' && spec[0] != '-')
    return static_cast<size_t>(*k);
  return std::nullopt;
}

[[noreturn]] void missing_column(const Table& t, const std::string& what, const std::string& tried,
                                 const std::string& option) {
  std::string hint = fmt::format("pass {} NAME", option);
  if (t.format == Format::kCsv || t.format == Format::kTsv)
    hint += fmt::format(", or {} INDEX with --no-header for a file without a header", option);
  throw DataError(
      fmt::format("{}: no {} column {} (the columns are {}; {})", t.source, what, tried, list_columns(t), hint));
}

size_t required_column(const Table& t, const std::string& spec, const std::vector<std::string>& defaults,
                       const std::string& what, const std::string& option) {
  if (!spec.empty()) {
    if (auto i = find_column(t, spec)) return *i;
    missing_column(t, what, show(spec), option);
  }
  for (const auto& d : defaults)
    if (auto i = t.column_index(d)) return *i;
  std::string tried;
  for (size_t k = 0; k < defaults.size(); ++k)
    tried += (k ? (k + 1 == defaults.size() ? " or " : ", ") : "") + show(defaults[k]);
  missing_column(t, what, tried, option);
}

/// Reads the text of a cell; a problem when it is missing, blank or not UTF-8.
std::optional<std::string> cell_text(const core::Json& cell, const std::string& what, std::vector<std::string>& why) {
  if (cell.is_null()) {
    why.push_back("missing " + what);
    return std::nullopt;
  }
  if (cell.is_array() || cell.is_object()) {
    why.push_back(fmt::format("expected a {} string, found a JSON {}", what, cell.is_array() ? "list" : "object"));
    return std::nullopt;
  }
  std::string s = internal::json_scalar_to_string(cell);
  const size_t bad = internal::first_invalid_utf8(s);
  if (bad != std::string::npos) {
    why.push_back(
        fmt::format("not valid UTF-8 (byte 0x{:02X} at byte {}; the file is probably Latin-1 or Windows-1252: "
                    "save it as UTF-8)",
                    static_cast<unsigned char>(s[bad]), bad));
    return std::nullopt;
  }
  if (trim(s).empty()) {
    why.push_back("empty " + what);
    return std::nullopt;
  }
  return s;
}

/// Reads one label string (classification, or one element of a multi-label list).
std::optional<std::string> label_string(const core::Json& cell, std::vector<std::string>& why) {
  if (cell.is_null()) {
    why.push_back("missing label");
    return std::nullopt;
  }
  if (cell.is_array() || cell.is_object()) {
    why.push_back(
        fmt::format("expected one label, found a JSON {} (for several labels per row pass --task multi-label)",
                    cell.is_array() ? "list" : "object"));
    return std::nullopt;
  }
  std::string s = trim(internal::json_scalar_to_string(cell));
  if (!internal::is_valid_utf8(s)) {
    why.push_back("label is not valid UTF-8 (save the file as UTF-8)");
    return std::nullopt;
  }
  if (s.empty()) {
    why.push_back("missing label");
    return std::nullopt;
  }
  return s;
}

/// The labels of a multi-label cell: a JSON list, a string holding a JSON list, a string split at the
/// separator, or one label.
std::optional<std::vector<std::string>> multi_labels(const core::Json& cell,
                                                     const std::optional<std::string>& separator,
                                                     std::vector<std::string>& why) {
  if (cell.is_null()) {
    why.push_back("missing label");
    return std::nullopt;
  }
  std::vector<std::string> out;
  auto add_list = [&](const core::Json& list) -> bool {
    for (const auto& item : list) {
      auto s = label_string(item, why);
      if (!s) return false;
      out.push_back(*s);
    }
    return true;
  };
  if (cell.is_array()) {
    if (!add_list(cell)) return std::nullopt;
    return out;
  }
  if (cell.is_object()) {
    why.push_back("expected a list of labels, found a JSON object");
    return std::nullopt;
  }
  const std::string s = trim(internal::json_scalar_to_string(cell));
  if (!internal::is_valid_utf8(s)) {
    why.push_back("label is not valid UTF-8 (save the file as UTF-8)");
    return std::nullopt;
  }
  if (s.empty()) {
    why.push_back("missing label");
    return std::nullopt;
  }
  if (s.front() == '[') {
    core::Json list;
    try {
      list = core::parse_json(s, "label");
    } catch (const std::exception&) {
      why.push_back(fmt::format("label {} is not a valid JSON list (expected e.g. [\"a\", \"b\"])", show(s)));
      return std::nullopt;
    }
    if (!list.is_array()) {
      why.push_back(fmt::format("label {} is not a JSON list", show(s)));
      return std::nullopt;
    }
    if (!add_list(list)) return std::nullopt;
    return out;
  }
  if (separator && !separator->empty()) {
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t end = s.find(*separator, pos);
      if (end == std::string::npos) end = s.size();
      std::string piece = trim(s.substr(pos, end - pos));
      if (!piece.empty()) out.push_back(std::move(piece));
      pos = end + separator->size();
    }
    return out;
  }
  out.push_back(s);
  return out;
}

std::optional<double> regression_value(const core::Json& cell, std::vector<std::string>& why) {
  if (cell.is_null()) {
    why.push_back("missing label");
    return std::nullopt;
  }
  if (cell.is_number()) return cell.get<double>();
  std::string s = cell.is_string() ? trim(cell.get<std::string>()) : internal::json_scalar_to_string(cell);
  if (s.empty()) {
    why.push_back("missing label");
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(v)) {
    why.push_back(fmt::format("label {} is not a number (regression needs a number in every row)", show(s)));
    return std::nullopt;
  }
  return v;
}

}  // namespace

Dataset make_dataset(const Table& table, const DataOptions& options, const LabelMap* given_map) {
  Dataset ds;
  ds.source = table.source;
  ds.task = options.task;
  if (table.columns.empty()) {
    if (!table.problems.empty()) {  // no record could be read: say why, not "empty"
      std::string s = fmt::format("{}: no record could be read", table.source);
      const size_t n = std::min(table.problems.size(), std::max<size_t>(options.max_problems, 1));
      for (size_t i = 0; i < n; ++i) {
        Problem p = table.problems[i];
        p.file.clear();
        s += (i ? "; " : ": ") + p.to_string();
      }
      if (table.problems.size() > n) s += fmt::format("; and {} more problems", table.problems.size() - n);
      throw DataError(s);
    }
    throw DataError(fmt::format("{}: the file is empty (expected a header row and examples)", table.source));
  }

  // ---- columns
  const bool text_defaulted = options.text_column.empty();
  const size_t text_col =
      required_column(table, options.text_column, {"text", "sentence", "sentence1", "text_a"}, "text", "--text-column");
  ds.text_column = table.columns[text_col];
  std::optional<size_t> pair_col;
  if (!options.text_pair_column.empty()) {
    pair_col = required_column(table, options.text_pair_column, {}, "text pair", "--text-pair-column");
  } else if (text_defaulted && ds.text_column == "sentence1") {
    pair_col = table.column_index("sentence2");
  } else if (text_defaulted && ds.text_column == "text_a") {
    pair_col = table.column_index("text_b");
  }
  if (pair_col) ds.text_pair_column = table.columns[*pair_col];
  std::optional<size_t> label_col;
  {
    std::vector<std::string> defaults = {"label", "labels"};
    if (options.task == Task::kRegression) defaults.push_back("score");
    if (!options.label_column.empty() || options.require_labels) {
      label_col = required_column(table, options.label_column, defaults, "label", "--label-column");
    } else {
      for (const auto& d : defaults)
        if (!label_col) label_col = table.column_index(d);
    }
  }
  if (label_col) ds.label_column = table.columns[*label_col];
  if (label_col && *label_col == text_col)
    throw UsageError(
        fmt::format("{}: the text and the label are the same column {}", table.source, show(table.columns[text_col])));

  // ---- label names (class.txt) or the evaluation label map
  std::optional<LabelMap> names;
  if (!options.label_names_file.empty()) names = LabelMap::from_lines_file(options.label_names_file);
  const LabelMap* fixed = given_map ? given_map : (names ? &*names : nullptr);
  if (given_map && options.task != Task::kRegression && given_map->empty())
    throw DataError(fmt::format("{}: the model has no labels to evaluate against", table.source));

  // ---- rows
  ValidationReport& report = ds.report;
  report.file = table.source;
  report.num_rows = table.rows.size() + table.problems.size();
  std::vector<Problem> problems(table.problems);
  std::set<size_t> invalid_rows;
  for (const auto& p : table.problems) invalid_rows.insert(p.row);

  if (names && given_map && !(*names == *given_map))
    throw DataError(fmt::format("{}: --label-names {} lists {}, but the model's labels are {}", table.source,
                                options.label_names_file, list_labels(names->labels()),
                                list_labels(given_map->labels())));
  // Integer labels are ids into the names: with a label-names file (in every file), with
  // transformers' placeholder names, and when no name is itself an integer.
  const bool integer_ids = fixed && (names || fixed->is_placeholder() ||
                                     std::none_of(fixed->labels().begin(), fixed->labels().end(),
                                                  [](const std::string& l) { return parse_integer(l).has_value(); }));
  // Resolves a label string to its id in the fixed map.
  auto resolve_fixed = [&](const std::string& label) -> std::optional<int64_t> {
    if (auto id = fixed->id(label)) return id;
    if (integer_ids) {
      if (auto k = parse_integer(label); k && *k >= 0 && static_cast<size_t>(*k) < fixed->size()) return *k;
    }
    return std::nullopt;
  };
  bool unknown_labels = false;
  auto unknown_label = [&](const std::string& label) {
    unknown_labels = true;
    if (names)
      return fmt::format("label {} is neither an id 0..{} nor a name of {}", show(label), fixed->size() - 1,
                         options.label_names_file);
    return fmt::format("label {} was not in the training data", show(label));
  };

  std::vector<std::string> pending;  // labels of each example, before the label map exists
  std::vector<std::vector<std::string>> pending_multi;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const size_t row_number = table.row_numbers[r];
    bool ok = true;
    auto fail = [&](size_t col, std::vector<std::string>& why) {
      for (auto& w : why) problems.push_back({table.source, row_number, table.columns[col], std::move(w)});
      why.clear();
      ok = false;
    };
    std::vector<std::string> why;
    Example ex;
    ex.row = row_number;
    if (auto t = cell_text(row[text_col], "text", why))
      ex.text = std::move(*t);
    else
      fail(text_col, why);
    if (pair_col) {
      if (auto t = cell_text(row[*pair_col], "text pair", why))
        ex.text_pair = std::move(*t);
      else
        fail(*pair_col, why);
    }
    std::string label;
    std::vector<std::string> labels;
    if (label_col) {
      const auto& cell = row[*label_col];
      if (!options.require_labels && cell.is_null()) {
        // prediction: an unlabeled row is fine
      } else if (options.task == Task::kRegression) {
        if (auto v = regression_value(cell, why)) {
          ex.value = *v;
          ex.raw_label = *v;
        } else {
          fail(*label_col, why);
        }
      } else if (options.task == Task::kClassification) {
        if (auto s = label_string(cell, why)) {
          label = *s;
          if (fixed) {
            if (auto id = resolve_fixed(label)) {
              ex.label = *id;
              ex.raw_label = fixed->label(*id);
            } else {
              why.push_back(unknown_label(label));
              fail(*label_col, why);
            }
          }
        } else {
          fail(*label_col, why);
        }
      } else {
        if (auto list = multi_labels(cell, options.label_separator, why)) {
          labels = std::move(*list);
          if (fixed) {
            std::set<int64_t> ids;
            core::Json raw = core::Json::array();
            for (const auto& l : labels) {
              if (auto id = resolve_fixed(l)) {
                ids.insert(*id);
              } else {
                why.push_back(unknown_label(l));
              }
            }
            if (!why.empty()) {
              fail(*label_col, why);
            } else {
              ex.label_ids.assign(ids.begin(), ids.end());
              for (auto id : ex.label_ids) raw.push_back(fixed->label(id));
              ex.raw_label = std::move(raw);
            }
          }
        } else {
          fail(*label_col, why);
        }
      }
    }
    if (!ok) {
      invalid_rows.insert(row_number);
      continue;
    }
    ds.examples.push_back(std::move(ex));
    if (!fixed) {
      pending.push_back(std::move(label));
      pending_multi.push_back(std::move(labels));
    }
  }

  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) { return a.row < b.row; });
  report.num_problems = problems.size();
  report.num_invalid_rows = invalid_rows.size();
  problems.resize(std::min(problems.size(), options.max_problems));
  report.problems = std::move(problems);
  if (unknown_labels && !names)  // the list once, not on every row
    report.note = "the model knows " + list_labels(fixed->labels());
  if (!report.ok()) {
    if (!options.skip_invalid)
      throw DataError(report.summary() + " (fix them, or pass --skip-invalid to leave such rows out)");
    spdlog::warn("{} (skipped)", report.summary());
  }
  report.num_examples = ds.examples.size();
  if (ds.examples.empty())
    throw DataError(fmt::format("{}: no examples{}", table.source,
                                report.num_rows ? " (every row is invalid)" : " (the file has a header but no rows)"));

  // ---- label map
  const bool labeled = label_col.has_value() && options.task != Task::kRegression;
  if (fixed) {
    ds.label_map = *fixed;
  } else if (labeled) {
    std::vector<std::string> all;
    if (options.task == Task::kClassification) {
      for (const auto& l : pending)
        if (!l.empty()) all.push_back(l);
    } else {
      for (const auto& ls : pending_multi) all.insert(all.end(), ls.begin(), ls.end());
    }
    ds.label_map = LabelMap::build(all);
    for (size_t i = 0; i < ds.examples.size(); ++i) {
      auto& ex = ds.examples[i];
      if (options.task == Task::kClassification) {
        if (pending[i].empty()) continue;  // unlabeled row in a prediction file
        ex.label = *ds.label_map.id(pending[i]);
        ex.raw_label = pending[i];
      } else {
        std::set<int64_t> ids;
        for (const auto& l : pending_multi[i]) ids.insert(*ds.label_map.id(l));
        ex.label_ids.assign(ids.begin(), ids.end());
        ex.raw_label = core::Json::array();
        for (auto id : ex.label_ids) ex.raw_label.push_back(ds.label_map.label(id));
      }
    }
  }
  return ds;
}

Dataset load_dataset(const std::string& path, const DataOptions& options, const LabelMap* label_map) {
  if (!options.layout.empty())
    throw UsageError(fmt::format("--format {} is for --task token-classification", options.layout));
  return make_dataset(read_table(path, options.read), options, label_map);
}

core::Json example_to_json(const Dataset& dataset, const Example& example) {
  core::Json j = core::Json::object();
  j["text"] = example.text;
  if (dataset.has_pairs()) j["text_pair"] = example.text_pair.value_or("");
  if (!dataset.has_labels() || example.raw_label.is_null()) return j;
  auto as_value = [](const core::Json& label) -> core::Json {
    if (label.is_string())
      if (auto k = parse_integer(label.get<std::string>()); k && std::to_string(*k) == label.get<std::string>())
        return *k;
    return label;
  };
  if (example.raw_label.is_array()) {
    core::Json list = core::Json::array();
    for (const auto& l : example.raw_label) list.push_back(as_value(l));
    j["label"] = std::move(list);
  } else {
    j["label"] = as_value(example.raw_label);
  }
  return j;
}

}  // namespace textune::data
