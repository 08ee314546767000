// Readers of token-tagged files for named-entity recognition (CoNLL, `datasets` JSON/JSONL, MSRA TSV,
// .xlsx), their validation, the label list, and the CoNLL writer. See data/ner.h.
#include "textune/data/ner.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "data/internal.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"

namespace textune::data {

namespace {

/// The most bytes one CoNLL line, one token or one tag may have. Longer ones are problems (a binary
/// file, a file without line breaks), not copied, so a huge line costs no more than the file.
constexpr size_t kMaxLineBytes = size_t{1} << 20;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

/// A token or tag for a message: quoted, valid UTF-8, shortened.
std::string show(std::string_view s) {
  std::string v = internal::sanitize_utf8(s.substr(0, std::min<size_t>(s.size(), 200)));
  if (v.size() > 60) v = v.substr(0, 57) + "...";
  return "\"" + v + "\"";
}

std::string list_labels(const std::vector<std::string>& labels) {
  std::string s;
  const size_t n = std::min<size_t>(labels.size(), 30);
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + show(labels[i]);
  if (labels.size() > n) s += fmt::format(", ... ({} in all)", labels.size());
  return s;
}

bool blank(std::string_view s) {
  return s.find_first_not_of(" \t\r\n\v\f") == std::string_view::npos;
}

std::optional<int64_t> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return std::stoll(std::string(s));
}

/// The whole file, read into one string of its size (core::read_file's stream copy would double
/// the memory of a large file).
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

/// The problems found, the first `max` of them in file order (by line), and how many in all.
class Problems {
 public:
  Problems(std::string file, size_t max) : file_(std::move(file)), max_(max) {}

  /// A problem at `key` (the line, row or record it is on; 0 for the whole file), described as
  /// "WHERE: MESSAGE".
  void add(size_t key, const std::string& where, const std::string& message) {
    ++count_;
    auto it = std::upper_bound(kept_.begin(), kept_.end(), key,
                               [](size_t k, const std::pair<size_t, Problem>& e) { return k < e.first; });
    if (kept_.size() >= max_ && it == kept_.end()) return;
    kept_.insert(it, {key, Problem{file_, 0, "", where.empty() ? message : where + ": " + message}});
    if (kept_.size() > max_) kept_.pop_back();
  }
  size_t count() const { return count_; }
  std::vector<Problem> take() {
    std::vector<Problem> out;
    for (auto& [key, p] : kept_) out.push_back(std::move(p));
    return out;
  }

 private:
  std::string file_;
  size_t max_;
  size_t count_ = 0;
  std::vector<std::pair<size_t, Problem>> kept_;
};

/// A sentence as read, before the checks.
struct Raw {
  std::vector<std::string> tokens, tags;
  std::vector<uint32_t> token_lines;  ///< CoNLL: the line of each token, from `line` (4 bytes a token)
  size_t line = 0;
  bool invalid = false;
};

/// How positions are named in messages.
struct Where {
  bool conll = true;
  std::string unit = "line";  ///< tables: "line" (TSV/CSV/JSONL), "record" (JSON array), "row" (xlsx)
  std::string tokens_column, tags_column;

  size_t key(const Raw& s, size_t i) const {
    return conll && i < s.token_lines.size() ? s.line + s.token_lines[i] : s.line;
  }
  std::string sentence(const Raw& s) const { return fmt::format("{} {}", unit, s.line); }
  std::string token(const Raw& s, size_t i) const {
    if (conll) return fmt::format("line {}", key(s, i));
    return fmt::format("{} {}, column \"{}\", token {}", unit, s.line, tokens_column, i + 1);
  }
  std::string tag(const Raw& s, size_t i) const {
    if (conll) return fmt::format("line {}", key(s, i));
    return fmt::format("{} {}, column \"{}\", tag {}", unit, s.line, tags_column, i + 1);
  }
};

/// Whether a field looks like a chunk tag: "O", X-TYPE with X one of B I E S L U, or a label known.
bool looks_like_tag(std::string_view f, const std::vector<std::string>* known) {
  if (f == "O") return true;
  if (f.size() >= 3 && f[1] == '-' && std::string_view("BIESLU").find(f[0]) != std::string_view::npos) return true;
  return known && std::find(known->begin(), known->end(), f) != known->end();
}

// ---------------------------------------------------------------------------------------------
// CoNLL

/// The fields of a CoNLL line: split at every tab in a tab-separated file, at runs of spaces and
/// tabs otherwise.
void split_fields(std::string_view line, bool tabs, std::vector<std::string_view>& out) {
  out.clear();
  if (tabs) {
    size_t pos = 0;
    for (;;) {
      const size_t t = line.find('\t', pos);
      out.push_back(line.substr(pos, t == std::string_view::npos ? std::string_view::npos : t - pos));
      if (t == std::string_view::npos) break;
      pos = t + 1;
    }
    return;
  }
  size_t pos = 0;
  while (pos < line.size()) {
    pos = line.find_first_not_of(" \t", pos);
    if (pos == std::string_view::npos) break;
    size_t end = line.find_first_of(" \t", pos);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(pos, end - pos));
    pos = end;
  }
}

/// Calls f(line_number, line) for each line of `text` (without its line break and trailing
/// whitespace), until f returns false. Line breaks are LF, CRLF or a lone CR, as Python's universal
/// newlines read them (a file saved with CR line ends is not one long line).
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  size_t pos = text.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0, number = 0;
  while (pos < text.size()) {
    ++number;
    size_t end = text.find_first_of("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + (end + 1 < text.size() && text[end] == '\r' && text[end + 1] == '\n' ? 2 : 1);
    const size_t last = line.find_last_not_of(" \t\r");
    line = last == std::string_view::npos ? std::string_view() : line.substr(0, last + 1);
    if (!f(number, line)) return;
  }
}

bool is_docstart(std::string_view line) {
  return line.rfind("-DOCSTART-", 0) == 0;
}

void read_conll(const std::string& text, const std::string& path, const NerReadOptions& o,
                const std::vector<std::string>* known, Problems& problems, std::vector<Raw>& out, bool& has_tags) {
  // The file's first token line fixes the separator (a tab, else spaces) and the number of columns.
  bool tabs = false;
  size_t expected = 0, first_line = 0;
  for_each_line(text, [&](size_t number, std::string_view line) {
    if (line.empty() || is_docstart(line) || line[0] == '#') return true;
    tabs = line.find('\t') != std::string_view::npos;
    std::vector<std::string_view> f;
    split_fields(line, tabs, f);
    expected = f.size();
    first_line = number;
    return false;
  });
  if (expected == 0) tabs = text.find('\t') != std::string::npos;

  std::optional<size_t> tag_col;
  if (o.tag_column) {
    if (*o.tag_column == 0)
      throw UsageError(fmt::format("--tag-column 0 is the token's column; the tag is in column 1 or later ({})", path));
    if (expected > 0 && *o.tag_column >= expected)
      throw UsageError(
          fmt::format("--tag-column {} is beyond the {} column{} of {} (line {}; columns count from 0, "
                      "the token is column 0)",
                      *o.tag_column, expected, expected == 1 ? "" : "s", path, first_line));
    tag_col = o.tag_column;
  } else if (expected >= 2) {
    tag_col = expected - 1;
  }
  if (!tag_col && expected > 0 && o.data.require_labels)
    throw DataError(
        fmt::format("{}: line {}: one column and no tag (expected token<TAB or space>tag per line)", path, first_line));
  has_tags = tag_col.has_value() && o.data.require_labels;

  std::vector<std::string_view> f;
  Raw cur;
  bool open = false;
  auto close = [&] {
    if (open) out.push_back(std::move(cur));
    cur = Raw();
    open = false;
  };
  auto start = [&](size_t number) {
    if (!open) {
      cur.line = number;
      open = true;
    }
  };
  for_each_line(text, [&](size_t number, std::string_view line) {
    if (line.empty() || is_docstart(line)) {
      close();
      return true;
    }
    if (line.size() > kMaxLineBytes) {
      start(number);
      cur.invalid = true;
      problems.add(number, fmt::format("line {}", number),
                   fmt::format("{} bytes in one line (expected a token and its tag, at most {} bytes; is this a "
                               "CoNLL text file?)",
                               line.size(), kMaxLineBytes));
      return true;
    }
    split_fields(line, tabs, f);
    if (line[0] == '#') {
      // A comment (CoNLL-U's "# text = ...", "# sent_id = 1") unless the line reads as a token
      // line: the file's number of columns and a tag in the tag column ("#hashtag<TAB>O").
      const bool token_line = expected > 0 && f.size() == expected &&
                              (tag_col ? looks_like_tag(f[*tag_col], known) : line.rfind("# ", 0) != 0);
      if (!token_line) return true;
    }
    start(number);
    if (f.size() != expected) {
      cur.invalid = true;
      problems.add(number, fmt::format("line {}", number),
                   fmt::format("{} column{}, expected {} as on line {} ({}-separated: token{})", f.size(),
                               f.size() == 1 ? "" : "s", expected, first_line, tabs ? "tab" : "space",
                               expected >= 2 ? " ... tag" : ""));
      return true;
    }
    cur.tokens.emplace_back(f[0]);
    cur.token_lines.push_back(static_cast<uint32_t>(std::min<size_t>(number - cur.line, UINT32_MAX)));
    if (has_tags) cur.tags.emplace_back(f[*tag_col]);
    return true;
  });
  close();
}

// ---------------------------------------------------------------------------------------------
// tables: JSON/JSONL records, MSRA TSV/CSV, xlsx

std::optional<size_t> column_of(const Table& t, const std::string& wanted, std::initializer_list<const char*> names) {
  if (!wanted.empty()) {
    if (auto i = t.column_index(wanted)) return i;
    if (auto k = parse_id(wanted); k && static_cast<size_t>(*k) < t.columns.size()) return static_cast<size_t>(*k);
    std::vector<std::string> cols = t.columns;
    throw DataError(fmt::format("{}: no column \"{}\" (the file has columns {})", t.source, wanted, list_labels(cols)));
  }
  for (const char* n : names)
    if (auto i = t.column_index(n)) return i;
  return std::nullopt;
}

/// Splits a cell's text at single spaces, as UER-py and the MSRA files do (two spaces make an
/// empty token, which the checks report).
std::vector<std::string> split_spaces(const std::string& s) {
  std::vector<std::string> out;
  size_t pos = 0;
  for (;;) {
    const size_t sp = s.find(' ', pos);
    out.push_back(s.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos));
    if (sp == std::string::npos) break;
    pos = sp + 1;
  }
  return out;
}

void read_records(const Table& t, const NerReadOptions& o, const std::vector<std::string>* names,
                  const std::string& names_said, Where& where, Problems& problems, std::vector<Raw>& out,
                  bool& has_tags, size_t& unreadable) {
  if (t.rows.empty() && t.problems.empty())
    throw DataError(fmt::format("{}: no sentences (the file has no {})", t.source,
                                where.unit == "row" ? "rows under its header" : "records"));
  const std::string tokens_wanted = !o.tokens_column.empty() ? o.tokens_column : o.data.text_column;
  const std::string tags_wanted = !o.tags_column.empty() ? o.tags_column : o.data.label_column;
  auto tok = column_of(t, tokens_wanted, {"tokens", "text_a", "text", "words"});
  if (!tok && !t.columns.empty()) tok = 0;
  if (!tok) throw DataError(fmt::format("{}: no columns (expected \"tokens\" and \"ner_tags\")", t.source));
  auto tag = column_of(t, tags_wanted, {"ner_tags", "tags", "label", "labels"});
  if (!tag && t.columns.size() == 2) tag = *tok == 0 ? 1 : 0;
  if (!tag && o.data.require_labels)
    throw DataError(
        fmt::format("{}: no tag column (expected \"ner_tags\", \"tags\", \"label\" or \"labels\"; the "
                    "file has columns {})",
                    t.source, list_labels(t.columns)));
  has_tags = tag.has_value() && o.data.require_labels;
  where.tokens_column = t.columns[*tok];
  if (tag) where.tags_column = t.columns[*tag];

  for (const auto& p : t.problems) {
    ++unreadable;
    problems.add(p.row, fmt::format("{} {}", where.unit, p.row), p.message);
  }

  // The cell as a list of strings: a JSON array, or text split at spaces.
  auto list = [&](const core::Json& cell, bool tags, Raw& s, const std::string& column) {
    std::vector<std::string> v;
    auto bad = [&](const std::string& message) {
      s.invalid = true;
      problems.add(s.line, fmt::format("{}, column \"{}\"", where.sentence(s), column), message);
    };
    if (cell.is_null()) {
      bad(tags ? "no tags (the cell is empty or the key is missing)"
               : "no tokens (the cell is empty or the key is missing)");
    } else if (cell.is_array()) {
      if (cell.empty()) bad(tags ? "an empty list of tags" : "an empty list of tokens");
      for (size_t i = 0; i < cell.size(); ++i) {
        const auto& e = cell[i];
        if (e.is_string()) {
          v.push_back(e.get<std::string>());
        } else if (tags && e.is_number_integer()) {
          const int64_t id = e.get<int64_t>();
          if (!names) {
            bad(
                fmt::format("tag {} is the integer {}: integer tags need --label-names (a file with one label "
                            "name per line, line i naming id i)",
                            i + 1, id));
            v.emplace_back();
          } else if (id < 0 || static_cast<size_t>(id) >= names->size()) {
            bad(fmt::format("tag {} is {}, not an id of {} (0..{})", i + 1, id, names_said, names->size() - 1));
            v.emplace_back();
          } else {
            v.push_back((*names)[static_cast<size_t>(id)]);
          }
        } else if (!tags && e.is_number()) {
          v.push_back(internal::json_scalar_to_string(e));
        } else {
          bad(fmt::format("{} {} is {}, expected a string", tags ? "tag" : "token", i + 1,
                          e.is_null() ? "null" : e.type_name()));
          v.push_back(tags ? std::string() : std::string(e.type_name()));  // said: not checked again
        }
      }
    } else if (cell.is_string() || cell.is_number()) {
      const std::string text = cell.is_string() ? cell.get<std::string>() : internal::json_scalar_to_string(cell);
      if (text.empty())
        bad(tags ? "no tags (an empty cell)" : "no tokens (an empty cell)");
      else
        v = split_spaces(text);
    } else {
      bad(fmt::format("expected a list of {} or a space-separated string, found {}", tags ? "tags" : "tokens",
                      cell.type_name()));
    }
    return v;
  };

  for (size_t r = 0; r < t.rows.size(); ++r) {
    Raw s;
    s.line = t.row_numbers[r];
    const auto& row = t.rows[r];
    s.tokens = list(row[*tok], false, s, where.tokens_column);
    if (has_tags) {
      s.tags = list(row[*tag], true, s, where.tags_column);
      if (!s.invalid && s.tags.size() != s.tokens.size()) {
        s.invalid = true;
        problems.add(s.line, where.sentence(s),
                     fmt::format("{} token{} in \"{}\" but {} tag{} in \"{}\" (expected one tag per token)",
                                 s.tokens.size(), s.tokens.size() == 1 ? "" : "s", where.tokens_column, s.tags.size(),
                                 s.tags.size() == 1 ? "" : "s", where.tags_column));
      }
    }
    out.push_back(std::move(s));
  }
}

/// Whether a delimited file is MSRA-style: its first line is a header of two columns with the
/// names of a tokens and a tags column, or its second line has two columns whose second is a
/// space-separated list of tags.
bool looks_like_msra(const std::string& path, char delimiter, const NerReadOptions& o) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  std::vector<std::string_view> lines;
  for_each_line(head, [&](size_t, std::string_view line) {
    if (!line.empty()) lines.push_back(line);
    return lines.size() < 2;
  });
  if (lines.empty()) return false;
  auto fields = [&](std::string_view line) {
    std::vector<std::string_view> f;
    size_t pos = 0;
    for (;;) {
      const size_t d = line.find(delimiter, pos);
      f.push_back(line.substr(pos, d == std::string_view::npos ? std::string_view::npos : d - pos));
      if (d == std::string_view::npos) break;
      pos = d + 1;
    }
    return f;
  };
  const auto h = fields(lines[0]);
  if (h.size() != 2) return false;
  const std::string a(h[0]), b(h[1]);
  for (const std::string& n : {o.tokens_column, o.data.text_column, std::string("tokens"), std::string("text_a"),
                               std::string("text"), std::string("words")})
    if (!n.empty() && a == n) return true;
  for (const std::string& n : {o.tags_column, o.data.label_column, std::string("ner_tags"), std::string("tags"),
                               std::string("label"), std::string("labels")})
    if (!n.empty() && b == n) return true;
  if (lines.size() < 2) return false;
  const auto r = fields(lines[1]);
  if (r.size() != 2 || r[1].find(' ') == std::string_view::npos) return false;
  std::vector<std::string_view> tags;
  split_fields(r[1], false, tags);
  return std::all_of(tags.begin(), tags.end(), [](std::string_view t) { return looks_like_tag(t, nullptr); });
}

bool has_extension(const std::string& path, std::initializer_list<const char*> exts) {
  const std::string ext = lower(std::filesystem::path(path).extension().string());
  for (const char* e : exts)
    if (ext == e) return true;
  return false;
}

/// The layout to read: "conll", "json", "jsonl", "msra" (TSV), "msra-csv" or "xlsx".
std::string resolve_layout(const std::string& path, const NerReadOptions& o) {
  std::string f = lower(!o.format.empty() ? o.format : o.data.layout);
  if (f.empty() && o.data.read.format) f = format_name(*o.data.read.format);
  if (f.empty()) {
    if (has_extension(path, {".json"})) return "json";
    if (has_extension(path, {".jsonl", ".ndjson"})) return "jsonl";
    if (has_extension(path, {".xlsx"})) return "xlsx";
    if (has_extension(path, {".csv"}))
      return looks_like_msra(path, o.data.read.delimiter.value_or(','), o) ? "msra-csv" : "conll";
    if (has_extension(path, {".tsv"}))
      return looks_like_msra(path, o.data.read.delimiter.value_or('\t'), o) ? "msra" : "conll";
    return "conll";
  }
  if (f == "conll" || f == "json" || f == "jsonl" || f == "xlsx" || f == "msra") return f;
  if (f == "tsv" || f == "txt")
    return looks_like_msra(path, o.data.read.delimiter.value_or('\t'), o) ? "msra" : "conll";
  if (f == "csv") return "msra-csv";
  throw UsageError(
      fmt::format("unknown format \"{}\" for token classification (expected conll, json, jsonl, msra or xlsx)", f));
}

std::string ner_summary(const ValidationReport& r, bool skipped) {
  std::string s = fmt::format("{}: {} invalid sentence{} of {}", r.file, r.num_invalid_rows,
                              r.num_invalid_rows == 1 ? "" : "s", r.num_rows);
  for (size_t i = 0; i < r.problems.size(); ++i) s += (i ? "; " : ": ") + r.problems[i].message;
  if (r.num_problems > r.problems.size())
    s += fmt::format("; and {} more problem{}", r.num_problems - r.problems.size(),
                     r.num_problems - r.problems.size() == 1 ? "" : "s");
  if (!r.note.empty()) s += " (" + r.note + ")";
  s += skipped ? " (skipped)" : " (fix them, or pass --skip-invalid to leave such sentences out)";
  return s;
}

}  // namespace

NerDataset read_ner(const std::string& path, const NerReadOptions& options,
                    const std::vector<std::string>* label_list) {
  const std::string layout = resolve_layout(path, options);
  NerDataset ds;
  ds.source = path;
  ds.format = layout == "msra-csv" ? "msra" : layout;
  ds.report.file = path;
  Problems problems(path, options.data.max_problems);

  std::optional<std::vector<std::string>> names;
  if (!options.data.label_names_file.empty()) names = LabelMap::from_lines_file(options.data.label_names_file).labels();
  const std::vector<std::string>* known = label_list ? label_list : (names ? &*names : nullptr);
  // Integer tags are ids into the label names; without them, into the model's labels when none of
  // those is itself an integer (as load_dataset does for classification).
  const std::vector<std::string>* id_names = names ? &*names : nullptr;
  if (!id_names && label_list && !label_list->empty() &&
      std::none_of(label_list->begin(), label_list->end(), [](const std::string& l) { return parse_id(l); }))
    id_names = label_list;
  const std::string id_names_said =
      !id_names ? ""
      : names   ? fmt::format("the {} label names of {}", names->size(), options.data.label_names_file)
                : fmt::format("the model's {} labels", label_list->size());

  std::vector<Raw> raw;
  bool has_tags = false;
  size_t unreadable = 0;  // records a table reader could not parse
  Where where;
  if (layout == "conll") {
    const std::string text = decode_text(read_bytes(path), options.data.read.encoding, path);
    read_conll(text, path, options, known, problems, raw, has_tags);
  } else {
    ReadOptions ro = options.data.read;
    if (layout == "json") ro.format = Format::kJson;
    if (layout == "jsonl") ro.format = Format::kJsonl;
    if (layout == "xlsx") ro.format = Format::kXlsx;
    if (layout == "msra" || layout == "msra-csv") {
      ro.format = layout == "msra" ? Format::kTsv : Format::kCsv;
      // TSV: quotes are characters of the text; CSV: RFC 4180, as pandas writes a cell holding a comma
      if (!ro.quoting && layout == "msra") ro.quoting = Quoting::kNone;
    }
    ro.has_header = true;
    const Table t = read_table(path, ro);
    where.conll = false;
    where.unit = "line";
    if (layout == "xlsx") where.unit = "row";
    if (layout == "json") {
      // A JSON array numbers its records; a .json file in JSON Lines (what `datasets`' to_json
      // writes) numbers lines.
      std::ifstream in(path, std::ios::binary);
      char c = 0;
      while (in.get(c) && (std::isspace(static_cast<unsigned char>(c)) || static_cast<unsigned char>(c) >= 0x80)) {
      }
      if (c == '[') where.unit = "record";
    }
    read_records(t, options, id_names, id_names_said, where, problems, raw, has_tags, unreadable);
  }

  // ---- tokens
  for (auto& s : raw) {
    if (s.tokens.empty() && !s.invalid) {
      s.invalid = true;
      problems.add(s.line, where.sentence(s), "no tokens");
    }
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      const std::string& tok = s.tokens[i];
      std::string why;
      if (blank(tok)) {
        why = tok.empty() ? "empty token" : "empty token (only spaces)";
        if (!where.conll && tok.empty()) why += " (two spaces in a row, or a space at an end?)";
      } else if (tok.size() > kMaxLineBytes) {
        why = fmt::format("a token of {} bytes (at most {})", tok.size(), kMaxLineBytes);
      } else if (auto bad = internal::first_invalid_utf8(tok); bad != std::string::npos) {
        why = fmt::format(
            "token {} is not valid UTF-8 (byte {} of the token; save the file as UTF-8 or pass "
            "--encoding)",
            show(tok), bad + 1);
      } else if (tok.find('\0') != std::string::npos) {
        why = "the token holds a NUL byte (is this a text file?)";
      }
      if (why.empty()) continue;
      s.invalid = true;
      problems.add(where.key(s, i), where.token(s, i), why);
    }
  }

  // ---- tags: UTF-8, ids of --label-names, then the scheme (given or detected)
  if (has_tags) {
    for (auto& s : raw)
      for (size_t i = 0; i < s.tags.size(); ++i) {
        std::string& tag = s.tags[i];
        if (auto bad = internal::first_invalid_utf8(tag); bad != std::string::npos) {
          s.invalid = true;
          problems.add(where.key(s, i), where.tag(s, i), fmt::format("tag {} is not valid UTF-8", show(tag)));
          tag.clear();
          continue;
        }
        if (id_names && std::find(id_names->begin(), id_names->end(), tag) == id_names->end())
          if (auto id = parse_id(tag)) {
            if (static_cast<size_t>(*id) < id_names->size()) {
              tag = (*id_names)[static_cast<size_t>(*id)];
            } else {
              s.invalid = true;
              problems.add(where.key(s, i), where.tag(s, i),
                           fmt::format("tag {} is not an id of {} (0..{})", *id, id_names_said, id_names->size() - 1));
              tag.clear();
            }
          }
      }
  }
  if (has_tags) {
    if (options.tag_scheme) {
      ds.scheme = *options.tag_scheme;
    } else {
      std::vector<std::vector<std::string>> all;
      all.reserve(raw.size());
      for (auto& s : raw) all.push_back(std::move(s.tags));  // lent to detect_tag_scheme, not copied
      const auto d = detect_tag_scheme(all);
      for (size_t k = 0; k < raw.size(); ++k) raw[k].tags = std::move(all[k]);
      all = {};
      if (d) {
        ds.scheme = *d;
        spdlog::info("{}: tag scheme {} (detected from the tags; --tag-scheme overrides)", path,
                     tag_scheme_name(ds.scheme));
      } else {
        // The prefixes fit no one scheme (S- with L-, ...): check against the scheme most tags fit.
        const TagScheme order[] = {TagScheme::kIOB2, TagScheme::kIOBES, TagScheme::kBILOU,
                                   TagScheme::kIOB1, TagScheme::kIOE2,  TagScheme::kIOE1};
        size_t best = 0;
        for (TagScheme sc : order) {
          size_t n = 0;
          for (const auto& s : raw)
            for (const auto& t : s.tags) n += tag_in_scheme(t, sc);
          if (n > best) {
            best = n;
            ds.scheme = sc;
          }
        }
        spdlog::warn(
            "{}: the tag prefixes mix schemes; checking them against {}, the scheme most tags fit "
            "(--tag-scheme sets it)",
            path, tag_scheme_name(ds.scheme));
      }
      ds.scheme_detected = true;
    }
    bool unknown = false;
    for (auto& s : raw)
      for (size_t i = 0; i < s.tags.size(); ++i) {
        const std::string& tag = s.tags[i];
        if (tag.empty() && s.invalid) continue;  // said above
        std::string why;
        if (label_list) {
          if (std::find(label_list->begin(), label_list->end(), tag) == label_list->end()) {
            why = fmt::format("tag {} was never seen in training", show(tag));
            unknown = true;
          }
        } else if (names && std::find(names->begin(), names->end(), tag) == names->end()) {
          why = fmt::format("tag {} is not one of the label names of {}", show(tag), options.data.label_names_file);
        } else if (!tag_in_scheme(tag, ds.scheme)) {
          const std::string prefixes = ds.scheme == TagScheme::kIOB1 || ds.scheme == TagScheme::kIOB2   ? "B-, I-"
                                       : ds.scheme == TagScheme::kIOE1 || ds.scheme == TagScheme::kIOE2 ? "I-, E-"
                                       : ds.scheme == TagScheme::kIOBES ? "B-, I-, E-, S-"
                                                                        : "B-, I-, L-, U-";
          why = fmt::format("tag {} is not a tag of {}{} (expected O or {} followed by a type)", show(tag),
                            tag_scheme_name(ds.scheme), ds.scheme_detected ? ", the scheme detected" : "", prefixes);
        }
        if (why.empty()) continue;
        s.invalid = true;
        problems.add(where.key(s, i), where.tag(s, i), why);
      }
    if (unknown) ds.report.note = "the model knows " + list_labels(*label_list);
  }

  // ---- the report; invalid sentences dropped or thrown
  auto& report = ds.report;
  report.num_rows = raw.size() + unreadable;
  report.num_problems = problems.count();
  report.num_invalid_rows = unreadable;
  for (const auto& s : raw) report.num_invalid_rows += s.invalid;
  report.problems = problems.take();
  if (!report.ok()) {
    if (!options.data.skip_invalid) throw DataError(ner_summary(report, false));
    spdlog::warn("{}", ner_summary(report, true));
  }
  ds.sentences.reserve(raw.size() - (report.num_invalid_rows - unreadable));
  for (auto& s : raw) {
    if (s.invalid) continue;
    TaggedSentence t;
    t.tokens = std::move(s.tokens);
    t.tags = std::move(s.tags);
    t.line = s.line;
    ds.sentences.push_back(std::move(t));
  }
  report.num_examples = ds.sentences.size();
  if (ds.sentences.empty()) {
    if (report.num_rows == 0)
      throw DataError(fmt::format("{}: no sentences (the file is empty{})", path,
                                  layout == "conll" ? ", or holds only blank, comment and -DOCSTART- lines" : ""));
    throw DataError(fmt::format("{}: no sentences left: every one of the {} is invalid", path, report.num_rows));
  }
  ds.labelled = has_tags;

  // ---- the label list: the model's, the label names, or this file's tags first-seen with "O" first
  if (label_list) {
    ds.label_list = *label_list;
  } else if (names) {
    ds.label_list = *names;
  } else if (has_tags) {
    std::unordered_set<std::string> seen;
    for (const auto& s : ds.sentences)
      for (const auto& t : s.tags)
        if (seen.insert(t).second) ds.label_list.push_back(t);
    auto o = std::find(ds.label_list.begin(), ds.label_list.end(), "O");
    if (o != ds.label_list.end()) std::rotate(ds.label_list.begin(), o, o + 1);
  }
  return ds;
}

void write_conll(const std::string& path, const std::vector<TaggedSentence>& sentences) {
  std::string out;
  for (size_t k = 0; k < sentences.size(); ++k) {
    const auto& s = sentences[k];
    if (!s.tags.empty() && s.tags.size() != s.tokens.size())
      throw DataError(fmt::format("cannot write {}: sentence {} has {} tokens but {} tags", path, k + 1,
                                  s.tokens.size(), s.tags.size()));
    if (k > 0) out += '\n';
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      const std::string& tok = s.tokens[i];
      const std::string* tag = s.tags.empty() ? nullptr : &s.tags[i];
      auto writable = [](const std::string& x) { return !blank(x) && x.find_first_of("\t\n\r") == std::string::npos; };
      if (!writable(tok) || (tag && !writable(*tag)))
        throw DataError(
            fmt::format("cannot write {}: sentence {}, token {}: a CoNLL field cannot be empty or hold a "
                        "tab or a line break",
                        path, k + 1, i + 1));
      out += tok;
      if (tag) {
        out += '\t';
        out += *tag;
      }
      out += '\n';
    }
  }
  core::write_file_atomic(path, out);
}

}  // namespace textune::data
