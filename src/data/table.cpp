// Tables from CSV, TSV, JSONL and JSON files, and the text writers. The xlsx reader and writer are in
// xlsx.cpp.
#include "textune/data/table.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>
#include <sstream>
#include <string_view>

#include <fmt/format.h>

#include "data/internal.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"

namespace textune::data {

// ---------------------------------------------------------------------------------------------
// formats

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Format parse_format(const std::string& name) {
  const std::string n = lower(name);
  if (n == "csv") return Format::kCsv;
  if (n == "tsv" || n == "txt") return Format::kTsv;
  if (n == "jsonl" || n == "ndjson") return Format::kJsonl;
  if (n == "json") return Format::kJson;
  if (n == "xlsx") return Format::kXlsx;
  throw UsageError(fmt::format("unknown data format \"{}\" (expected csv, tsv, jsonl, json or xlsx)", name));
}

Format format_from_path(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    throw UsageError(
        fmt::format("{}: cannot tell the format without an extension (expected .csv, .tsv, .txt, "
                    ".jsonl, .json or .xlsx; or pass --format)",
                    path));
  const std::string ext = lower(path.substr(dot + 1));
  if (ext == "xls")
    throw UsageError(fmt::format("{}: the old binary Excel format (.xls) is not supported; save it as .xlsx", path));
  try {
    return parse_format(ext);
  } catch (const UsageError&) {
    if (ext == "conll" || ext == "bio" || ext == "iob" || ext == "iobes" || ext == "bilou")
      throw UsageError(
          fmt::format("{}: a .{} file holds tagged words for token classification (NER): train it with --task ner; "
                      "text classification reads .csv, .tsv, .txt, .jsonl, .json or .xlsx",
                      path, ext));
    throw UsageError(
        fmt::format("{}: unknown extension .{} (expected .csv, .tsv, .txt, .jsonl, .json or .xlsx; "
                    "or pass --format)",
                    path, ext));
  }
}

std::string format_name(Format format) {
  switch (format) {
    case Format::kCsv:
      return "csv";
    case Format::kTsv:
      return "tsv";
    case Format::kJsonl:
      return "jsonl";
    case Format::kJson:
      return "json";
    case Format::kXlsx:
      return "xlsx";
  }
  return "?";
}

Quoting parse_quoting(const std::string& name) {
  const std::string n = lower(name);
  if (n == "auto") return Quoting::kAuto;
  if (n == "csv" || n == "rfc4180") return Quoting::kRfc4180;
  if (n == "none") return Quoting::kNone;
  throw UsageError(fmt::format("unknown quoting \"{}\" (expected auto, csv or none)", name));
}

std::string Problem::to_string() const {
  std::string s = file;
  if (row > 0) s += fmt::format("{}row {}", s.empty() ? "" : ": ", row);
  if (!column.empty()) s += fmt::format("{}column \"{}\"", row > 0 ? ", " : (s.empty() ? "" : ": "), column);
  s += (s.empty() ? "" : ": ") + message;
  return s;
}

std::optional<size_t> Table::column_index(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i)
    if (columns[i] == name) return i;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// CSV / TSV

namespace {

/// Tables are dense (every row has every column). A file that makes a mostly empty table (a header
/// of 100k columns over many short rows, JSON records each with new keys) would cost memory out of
/// all proportion to its size: refuse more than 4M cells when they are over 8 times the values read.
void check_dense(const std::string& source, size_t rows, size_t columns, size_t values) {
  const uint64_t dense = static_cast<uint64_t>(rows) * columns;
  if (dense > (uint64_t{1} << 22) && dense > 8 * static_cast<uint64_t>(values))
    throw DataError(fmt::format(
        "{}: {} rows and {} columns would make a table of {} cells for only {} values read; textune refuses a table "
        "that is mostly empty (is the header or the delimiter wrong?)",
        source, rows, columns, dense, values));
}

/// A CSV/TSV tokenizer over the whole file in memory.
class DelimitedParser {
 public:
  DelimitedParser(const std::string& bytes, char delimiter, Quoting quoting, const std::string& source)
      : s_(bytes), delim_(delimiter), quoting_(quoting), source_(source) {
    if (s_.size() >= 3 && static_cast<unsigned char>(s_[0]) == 0xEF && static_cast<unsigned char>(s_[1]) == 0xBB &&
        static_cast<unsigned char>(s_[2]) == 0xBF)
      pos_ = 3;  // UTF-8 byte order mark
  }

  /// Reads the next record into `fields`; false at the end of the file. `line` receives the line
  /// number where the record starts. `expected`: the number of fields a record should have (0 for
  /// the header); kAuto falls back to reading quotes literally when the quoted reading of a record
  /// gives another count and the literal one gives it.
  bool next(std::vector<std::string>& fields, size_t& line, size_t expected) {
    if (pos_ >= s_.size()) return false;
    line = line_;
    const size_t start_pos = pos_, start_line = line_;
    const bool used_quotes = read_record(fields, quoting_);
    if (quoting_ == Quoting::kAuto && used_quotes && expected > 0 && fields.size() != expected) {
      std::vector<std::string> literal;
      const size_t quoted_pos = pos_, quoted_line = line_;
      pos_ = start_pos;
      line_ = start_line;
      read_record(literal, Quoting::kNone);
      if (literal.size() == expected) {
        fields = std::move(literal);
      } else {
        pos_ = quoted_pos;
        line_ = quoted_line;
      }
    }
    return true;
  }

 private:
  bool is_line_end(size_t i) const { return i < s_.size() && (s_[i] == '\n' || s_[i] == '\r'); }

  /// Reads the fields of one record; true when a quoted field was read as quoted.
  bool read_record(std::vector<std::string>& fields, Quoting quoting) {
    fields.clear();
    bool used_quotes = false;
    for (;;) {
      std::string field;
      const bool at_end_of_record = read_field(field, quoting, used_quotes);
      fields.push_back(std::move(field));
      if (at_end_of_record) return used_quotes;
    }
  }

  /// Consumes a line end at pos_ (\n, \r\n or \r).
  void consume_line_end() {
    if (s_[pos_] == '\r' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '\n') ++pos_;
    ++pos_;
    ++line_;
  }

  /// Reads one field starting at pos_; returns true when it ended the record.
  bool read_field(std::string& field, Quoting quoting, bool& used_quotes) {
    if (pos_ < s_.size() && s_[pos_] == '"' && quoting != Quoting::kNone) {
      size_t end = 0, newlines = 0;
      bool escaped = false;
      std::string value;
      const bool closed = scan_quoted(pos_, value, end, newlines, escaped);
      if (quoting == Quoting::kRfc4180) {
        if (!closed)
          throw DataError(
              fmt::format("{}: row {}: a quoted field is never closed (expected a closing \" before the "
                          "end of the file; for a TSV file with stray quotes pass --quoting none)",
                          source_, line_));
        field = std::move(value);
        pos_ = end;
        line_ += newlines;
        used_quotes = true;
        // RFC 4180 allows nothing between the closing quote and the delimiter; like Python's csv
        // module, keep such characters as part of the field.
        return read_plain(field);
      }
      // kAuto: only a quoted field that needs its quotes (it holds the delimiter, a line break or a
      // doubled quote, as writers that quote "when needed" do) and ends cleanly.
      const bool needed =
          escaped || newlines > 0 || value.find_first_of(std::string{delim_, '\r', '\n'}) != std::string::npos;
      if (closed && needed && (end >= s_.size() || s_[end] == delim_ || is_line_end(end))) {
        field = std::move(value);
        pos_ = end;
        line_ += newlines;
        used_quotes = true;
        return read_plain(field);
      }
    }
    return read_plain(field);
  }

  /// Scans a quoted field whose opening quote is at `start`: the unescaped value, the position after
  /// the closing quote, the line breaks inside, whether it held a doubled quote. False when it is
  /// never closed.
  bool scan_quoted(size_t start, std::string& value, size_t& end, size_t& newlines, bool& escaped) const {
    size_t i = start + 1;
    while (i < s_.size()) {
      const char c = s_[i];
      if (c == '"') {
        if (i + 1 < s_.size() && s_[i + 1] == '"') {
          value += '"';
          escaped = true;
          i += 2;
          continue;
        }
        end = i + 1;
        return true;
      }
      if (c == '\n' || (c == '\r' && !(i + 1 < s_.size() && s_[i + 1] == '\n'))) ++newlines;
      value += c;
      ++i;
    }
    return false;
  }

  /// Appends characters up to the delimiter or the line end; true when the record ended.
  bool read_plain(std::string& field) {
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != delim_ && s_[pos_] != '\n' && s_[pos_] != '\r') ++pos_;
    field.append(s_, start, pos_ - start);
    if (pos_ >= s_.size()) return true;
    if (s_[pos_] == delim_) {
      ++pos_;
      return false;
    }
    consume_line_end();
    return true;
  }

  const std::string& s_;
  char delim_;
  Quoting quoting_;
  const std::string& source_;
  size_t pos_ = 0;
  size_t line_ = 1;
};

}  // namespace

Table parse_delimited(const std::string& bytes, char delimiter, Quoting quoting, bool has_header,
                      const std::string& source) {
  Table t;
  t.source = source;
  t.format = delimiter == '\t' ? Format::kTsv : Format::kCsv;
  DelimitedParser parser(bytes, delimiter, quoting, source);
  std::vector<std::string> fields;
  size_t line = 0, values = 0;
  bool have_columns = false;
  while (parser.next(fields, line, t.columns.size())) {
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (!have_columns) {
      have_columns = true;
      if (has_header) {
        t.columns = fields;
        continue;
      }
      for (size_t i = 0; i < fields.size(); ++i) t.columns.push_back(std::to_string(i));
    }
    if (fields.size() > t.columns.size()) {
      t.problems.push_back({source, line, "",
                            fmt::format("{} fields where the {} has {} (a stray {} in a text? quote the field)",
                                        fields.size(), has_header ? "header" : "first row", t.columns.size(),
                                        delimiter == '\t' ? "tab" : "delimiter")});
      continue;
    }
    values += fields.size();
    check_dense(source, t.rows.size() + 1, t.columns.size(), values);
    std::vector<core::Json> row;
    row.reserve(t.columns.size());
    for (auto& f : fields) row.emplace_back(std::move(f));
    row.resize(t.columns.size());  // missing trailing fields are null
    t.rows.push_back(std::move(row));
    t.row_numbers.push_back(line);
  }
  return t;
}

// ---------------------------------------------------------------------------------------------
// JSON Lines and JSON

namespace {

/// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1, " prefix.
std::string short_json_error(const std::string& what) {
  std::string m = what;
  if (auto p = m.find("] "); p != std::string::npos && m.rfind("[json.exception", 0) == 0) m = m.substr(p + 2);
  for (const char* prefix : {"parse error at line 1, ", "parse error at "})
    if (m.rfind(prefix, 0) == 0) m = m.substr(std::string(prefix).size());
  // nlohmann echoes the bytes it read; keep the message valid UTF-8 for printing.
  return internal::sanitize_utf8(m);
}

/// Adds the keys of `record` to the table's columns and appends its row; `values` counts the values read.
void append_record(Table& t, std::map<std::string, size_t>& index, const core::Json& record, size_t row_number,
                   size_t& values) {
  values += record.size();
  size_t new_keys = 0;
  for (auto it = record.begin(); it != record.end(); ++it) new_keys += index.count(it.key()) ? 0 : 1;
  check_dense(t.source, t.rows.size() + 1, t.columns.size() + new_keys, values);
  std::vector<core::Json> row(t.columns.size());
  for (auto it = record.begin(); it != record.end(); ++it) {
    auto [pos, inserted] = index.emplace(it.key(), t.columns.size());
    if (inserted) {
      t.columns.push_back(it.key());
      row.resize(t.columns.size());
    }
    row[pos->second] = it.value();
  }
  t.rows.push_back(std::move(row));
  t.row_numbers.push_back(row_number);
}

/// core::parse_json's message without the file name it starts with and without "invalid JSON: ":
/// "SOURCE:3:17: invalid JSON: syntax error ..." -> "line 3, column 17: syntax error ..." (only
/// "column 17: ..." for a one-line JSONL record, `with_line` false).
std::string json_error(const std::string& what, const std::string& source, bool with_line) {
  std::string m = what;
  if (m.rfind(source + ":", 0) == 0) m = m.substr(source.size() + 1);
  size_t i = 0;
  while (i < m.size() && std::isdigit(static_cast<unsigned char>(m[i]))) ++i;
  if (i > 0 && i < m.size() && m[i] == ':') {
    size_t j = i + 1;
    while (j < m.size() && std::isdigit(static_cast<unsigned char>(m[j]))) ++j;
    if (j > i + 1 && j < m.size() && m[j] == ':') {
      std::string rest = m.substr(j + 1);
      if (rest.rfind(" ", 0) == 0) rest = rest.substr(1);
      if (rest.rfind("invalid JSON: ", 0) == 0) rest = rest.substr(14);
      m = (with_line ? "line " + m.substr(0, i) + ", column " : "column ") + m.substr(i + 1, j - i - 1) + ": " + rest;
    }
  }
  return internal::sanitize_utf8(m);
}

void finish_rows(Table& t) {
  for (auto& r : t.rows) r.resize(t.columns.size());
}

Table parse_jsonl(const std::string& bytes, const std::string& source) {
  Table t;
  t.source = source;
  t.format = Format::kJsonl;
  std::map<std::string, size_t> index;
  size_t pos = 0, line = 0, values = 0;
  if (bytes.rfind("\xEF\xBB\xBF", 0) == 0) pos = 3;
  while (pos < bytes.size()) {
    ++line;
    size_t end = bytes.find('\n', pos);
    if (end == std::string::npos) end = bytes.size();
    std::string_view text(bytes.data() + pos, end - pos);
    pos = end + 1;
    if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    core::Json record;
    try {
      // core::parse_json: linear time, with caps on nesting and keys for untrusted text
      record = core::parse_json(std::string(text), source);
    } catch (const DataError& e) {
      t.problems.push_back({source, line, "", "not valid JSON: " + json_error(e.what(), source, false)});
      continue;
    } catch (const core::Json::exception& e) {
      t.problems.push_back({source, line, "", "not valid JSON: " + short_json_error(e.what())});
      continue;
    }
    if (!record.is_object()) {
      t.problems.push_back({source, line, "", "expected a JSON object {\"text\": ..., \"label\": ...}"});
      continue;
    }
    append_record(t, index, record, line, values);
  }
  finish_rows(t);
  return t;
}

/// `s` for a one-line message: invalid UTF-8 as U+FFFD, control characters (C0, DEL) as \xNN, so
/// that a binary file's first bytes cannot move the cursor or recolour the terminal.
std::string printable_excerpt(std::string_view s) {
  std::string out;
  for (char c : internal::sanitize_utf8(s)) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b == 0x7F)
      out += fmt::format("\\x{:02x}", b);
    else
      out += c;
  }
  return out;
}

Table parse_json(const std::string& bytes, const std::string& source) {
  size_t first = bytes.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  first = bytes.find_first_not_of(" \t\r\n", first);
  // Like the `datasets` json loader: a file that is not one array is read as JSON Lines.
  if (first != std::string::npos && bytes[first] != '[' && bytes[first] != '{') {
    // a scalar (42, "text", true): not records in either layout
    std::string begins = bytes.substr(first, std::min<size_t>(20, bytes.size() - first));
    if (auto nl = begins.find_first_of("\r\n"); nl != std::string::npos) begins.resize(nl);
    throw DataError(
        fmt::format("{}: neither a JSON array of records nor JSON Lines (one object per line); it begins "
                    "with {}",
                    source, printable_excerpt(begins)));
  }
  if (first == std::string::npos || bytes[first] != '[') {
    Table t = parse_jsonl(bytes, source);
    t.format = Format::kJson;
    return t;
  }
  core::Json doc;
  try {
    doc = core::parse_json(bytes, source);  // linear time, with caps on nesting and keys
  } catch (const DataError& e) {
    throw DataError(fmt::format("{}: not valid JSON: {}", source, json_error(e.what(), source, true)));
  } catch (const core::Json::exception& e) {
    throw DataError(fmt::format("{}: not valid JSON: {}", source, short_json_error(e.what())));
  }
  Table t;
  t.source = source;
  t.format = Format::kJson;
  std::map<std::string, size_t> index;
  size_t values = 0;
  for (size_t i = 0; i < doc.size(); ++i) {
    if (!doc[i].is_object()) {
      t.problems.push_back({source, i + 1, "", "expected a JSON object {\"text\": ..., \"label\": ...}"});
      continue;
    }
    append_record(t, index, doc[i], i + 1, values);
  }
  finish_rows(t);
  return t;
}

}  // namespace

namespace {

/// A CSV file's delimiter: csv.Sniffer's guess from the first 20 lines (at most 16 KiB), when the
/// header line holds it; else ','.
char sniff_csv_delimiter(const std::string& bytes) {
  size_t start = bytes.rfind("\xEF\xBB\xBF", 0) == 0 ? 3 : 0;
  start = std::min(bytes.find_first_not_of("\r\n", start), bytes.size());
  size_t end = start;
  for (int lines = 0; lines < 20 && end < bytes.size() && end - start < 16384; ++lines) {
    const size_t nl = bytes.find('\n', end);
    end = nl == std::string::npos ? bytes.size() : nl + 1;
  }
  end = std::min(end, start + 16384);
  const std::string_view sample(bytes.data() + start, end - start);
  const auto d = sniff_delimiter(sample);
  if (!d || *d == ',') return ',';
  const std::string_view header = sample.substr(0, sample.find('\n'));
  return header.find(*d) != std::string_view::npos ? *d : ',';
}

}  // namespace

Table read_table(const std::string& path, const ReadOptions& options) {
  const Format format = options.format ? *options.format : format_from_path(path);
  if (format == Format::kXlsx) return internal::read_xlsx(path, options);
  const std::string bytes = decode_text(core::read_file(path), options.encoding, path);
  switch (format) {
    case Format::kCsv:
      return parse_delimited(bytes, options.delimiter ? *options.delimiter : sniff_csv_delimiter(bytes),
                             options.quoting.value_or(Quoting::kRfc4180), options.has_header, path);
    case Format::kTsv:
      return parse_delimited(bytes, options.delimiter.value_or('\t'), options.quoting.value_or(Quoting::kAuto),
                             options.has_header, path);
    case Format::kJsonl:
      return parse_jsonl(bytes, path);
    case Format::kJson:
      return parse_json(bytes, path);
    case Format::kXlsx:
      break;
  }
  throw std::logic_error("unreachable");
}

// ---------------------------------------------------------------------------------------------
// writers

namespace {

std::string cell_text(const core::Json& cell) {
  if (cell.is_null()) return "";
  if (cell.is_string()) return cell.get<std::string>();
  return internal::json_scalar_to_string(cell);
}

std::string quote_if_needed(const std::string& s, char delim) {
  if (s.find_first_of(std::string{delim, '"', '\n', '\r'}) == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

}  // namespace

void write_table(const std::string& path, const Table& table, const WriteOptions& options) {
  const Format format = options.format ? *options.format : format_from_path(path);
  if (format == Format::kXlsx) return internal::write_xlsx(path, table, options);
  std::string out;
  if (format == Format::kCsv || format == Format::kTsv) {
    const char d = format == Format::kCsv ? ',' : '\t';
    auto write_row = [&](const auto& cells, auto&& text) {
      for (size_t i = 0; i < cells.size(); ++i) {
        if (i) out += d;
        out += quote_if_needed(text(cells[i]), d);
      }
      out += '\n';
    };
    write_row(table.columns, [](const std::string& s) { return s; });
    for (const auto& row : table.rows) write_row(row, cell_text);
  } else {
    for (size_t r = 0; r < table.rows.size(); ++r) {
      core::Json obj = core::Json::object();
      for (size_t c = 0; c < table.columns.size(); ++c) {
        const auto& cell = table.rows[r][c];
        if (cell.is_null()) continue;
        if (cell.is_string() && !internal::is_valid_utf8(cell.get_ref<const std::string&>()))
          throw DataError(fmt::format("{}: row {}, column \"{}\": not valid UTF-8; cannot write it as JSON",
                                      table.source, table.row_numbers.at(r), table.columns[c]));
        obj[table.columns[c]] = cell;
      }
      if (format == Format::kJson) {
        out += (r == 0 ? "[\n  " : ",\n  ") + obj.dump();
      } else {
        out += obj.dump() + "\n";
      }
    }
    if (format == Format::kJson) out += table.rows.empty() ? "[]\n" : "\n]\n";
  }
  core::write_file_atomic(path, out);
}

}  // namespace textune::data
