// Excel .xlsx (Office Open XML SpreadsheetML) read and written with libzip and pugixml.
//
// Reading follows ECMA-376 Part 1: the workbook (xl/workbook.xml) lists the sheets, its relationships
// (xl/_rels/workbook.xml.rels) name each sheet's part; cells (<c r="B2" t="..." s="...">) hold shared
// strings (t="s", an index into xl/sharedStrings.xml), inline strings (t="inlineStr"), formula
// strings (t="str"), booleans (t="b"), errors (t="e"), ISO dates (t="d") or numbers (no t, or t="n").
// A number is a date when its style (s, an index into cellXfs of xl/styles.xml) has a date number
// format: a built-in id (14-22, 27-36, 45-47, 50-58) or a custom format code with date/time tokens,
// as openpyxl decides. The workbook's date system is in <workbookPr date1904="1"/>.
#include <zip.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>

#include <fmt/format.h>
#include <pugixml.hpp>

#include "data/internal.h"
#include "textune/core/error.h"

namespace textune::data {

// ---------------------------------------------------------------------------------------------
// dates

namespace {

/// Days since 1970-01-01 to a civil date (proleptic Gregorian), after the algorithm in Howard
/// Hinnant's "chrono-Compatible Low-Level Date Algorithms".
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                       // [0, 11]
  d = static_cast<unsigned>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<unsigned>(mp < 10 ? mp + 3 : mp - 9);
  if (m <= 2) ++y;
}

// Days from 1970-01-01 back to the epochs used below.
constexpr int64_t kDays1899_12_31 = -25568;  // 1900 system, serials 1..59
constexpr int64_t kDays1899_12_30 = -25569;  // 1900 system, serials from 61 (after the fictitious 1900-02-29)
constexpr int64_t kDays1904_01_01 = -24107;  // 1904 system, serial 0

}  // namespace

std::string excel_serial_to_iso(double serial, bool date1904, bool time_only) {
  if (!std::isfinite(serial) || serial < 0)
    throw DataError(fmt::format("{} is not a valid Excel date (expected a serial number >= 0)", serial));
  int64_t days = static_cast<int64_t>(std::floor(serial));
  int64_t seconds = std::llround((serial - static_cast<double>(days)) * 86400.0);
  if (seconds >= 86400) {
    ++days;
    seconds -= 86400;
  }
  const std::string time = fmt::format("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
  if (time_only) return time;
  std::string date;
  if (!date1904 && days == 60) {
    date = "1900-02-29";  // Lotus 1-2-3's leap-year bug, kept by Excel: a day that never was
  } else {
    const int64_t epoch = date1904 ? kDays1904_01_01 : (days < 60 ? kDays1899_12_31 : kDays1899_12_30);
    int64_t y;
    unsigned m, d;
    civil_from_days(epoch + days, y, m, d);
    date = fmt::format("{:04}-{:02}-{:02}", y, m, d);
  }
  return seconds == 0 ? date : date + "T" + time;
}

// ---------------------------------------------------------------------------------------------
// reading

namespace {

/// An open zip archive.
class ZipReader {
 public:
  /// `limit`: the most bytes one part may uncompress to.
  ZipReader(const std::string& path, uint64_t limit) : path_(path), limit_(limit) {
    int err = 0;
    zip_ = zip_open(path.c_str(), ZIP_RDONLY, &err);
    if (!zip_) {
      zip_error_t ze;
      zip_error_init_with_code(&ze, err);
      std::string why = zip_error_strerror(&ze);
      zip_error_fini(&ze);
      if (err == ZIP_ER_NOZIP)
        throw DataError(
            fmt::format("{}: not an Excel .xlsx workbook (not a zip archive; an old .xls or a CSV "
                        "file renamed? pass --format)",
                        path));
      throw DataError(fmt::format("{}: cannot open: {}", path, why));
    }
  }
  ~ZipReader() {
    if (zip_) zip_discard(zip_);
  }
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  bool has(const std::string& name) const { return zip_name_locate(zip_, name.c_str(), 0) >= 0; }

  /// The uncompressed bytes of `name`, read in chunks and never more than `limit` bytes (a zip bomb
  /// stops at the limit, whatever size the archive declares).
  std::string read(const std::string& name) const {
    const uint64_t limit = limit_;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(zip_, name.c_str(), 0, &st) != 0)
      throw DataError(fmt::format("{}: not a valid .xlsx workbook: {} is missing", path_, name));
    auto too_big = [&] {
      return DataError(fmt::format(
          "{}: {} inside the workbook uncompresses to more than {} MiB, the limit for one part (a zip bomb? "
          "to read it anyway, set TEXTUNE_XLSX_MAX_PART_MB to a larger number of MiB)",
          path_, name, limit >> 20));
    };
    if ((st.valid & ZIP_STAT_SIZE) && st.size > limit) throw too_big();
    zip_file_t* f = zip_fopen(zip_, name.c_str(), 0);
    if (!f)
      throw DataError(fmt::format("{}: cannot read {} inside the workbook ({})", path_, name, zip_strerror(zip_)));
    constexpr size_t kChunk = size_t{1} << 20;
    std::string out;
    // room for the last (empty) read too: growing past the capacity would copy the whole part
    if (st.valid & ZIP_STAT_SIZE) out.reserve(static_cast<size_t>(st.size) + kChunk);
    for (;;) {
      const size_t have = out.size();
      out.resize(have + kChunk);
      const zip_int64_t n = zip_fread(f, out.data() + have, kChunk);
      if (n < 0) {
        std::string why = zip_strerror(zip_);
        if (auto* fe = zip_file_get_error(f)) why = zip_error_strerror(fe);
        zip_fclose(f);
        throw DataError(
            fmt::format("{}: cannot read {} inside the workbook (corrupt or truncated archive: {})", path_, name, why));
      }
      out.resize(have + static_cast<size_t>(n));
      if (n == 0) break;
      if (out.size() > limit) {
        zip_fclose(f);
        throw too_big();
      }
    }
    zip_fclose(f);
    return out;
  }

 private:
  std::string path_;
  uint64_t limit_;
  zip_t* zip_ = nullptr;
};

/// Parses `bytes` in place (no second copy of a large part): `bytes` must outlive the document.
pugi::xml_document parse_xml(std::string& bytes, const std::string& path, const std::string& part) {
  pugi::xml_document doc;
  // keep whitespace-only text of <t xml:space="preserve"> </t>
  auto r = doc.load_buffer_inplace(bytes.data(), bytes.size(), pugi::parse_default | pugi::parse_ws_pcdata_single,
                                   pugi::encoding_utf8);
  if (!r)
    throw DataError(fmt::format("{}: not a valid .xlsx workbook: {} is not XML ({} at byte {})", path, part,
                                r.description(), r.offset));
  if (!doc.document_element())
    throw DataError(fmt::format("{}: not a valid .xlsx workbook: {} has no XML element", path, part));
  return doc;
}

/// Local name of an element (without its namespace prefix: "x:row" -> "row").
std::string_view local_name(const pugi::xml_node& n) {
  std::string_view s = n.name();
  auto p = s.find(':');
  return p == std::string_view::npos ? s : s.substr(p + 1);
}

/// First child with local name `name`.
pugi::xml_node child(const pugi::xml_node& n, std::string_view name) {
  for (auto c : n.children())
    if (local_name(c) == name) return c;
  return {};
}

/// Decodes ST_Xstring escapes: "_x000D_" is U+000D (ECMA-376 Part 1, 22.9.2.19).
std::string decode_xstring(const std::string& s) {
  if (s.find("_x") == std::string::npos) return s;
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '_' && i + 7 <= s.size() && s[i + 1] == 'x' && s[i + 6] == '_' &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2])) && std::isxdigit(static_cast<unsigned char>(s[i + 3])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 4])) && std::isxdigit(static_cast<unsigned char>(s[i + 5]))) {
      const unsigned cp = static_cast<unsigned>(std::stoul(s.substr(i + 2, 4), nullptr, 16));
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
      i += 7;
    } else {
      out += s[i++];
    }
  }
  return out;
}

/// The text of a <si> or <is> element: its <t>, or the <t> of each rich-text run <r>; phonetic runs
/// (<rPh>) are not part of the value.
std::string rich_text(const pugi::xml_node& n) {
  std::string out;
  for (auto c : n.children()) {
    const auto name = local_name(c);
    if (name == "t") {
      out += c.text().get();
    } else if (name == "r") {
      if (auto t = child(c, "t")) out += t.text().get();
    }
  }
  return decode_xstring(out);
}

/// Whether a number format shows a date or time, and whether only a time.
struct DateFormat {
  bool is_date = false;
  bool time_only = false;
};

DateFormat builtin_date_format(int id) {
  if ((id >= 18 && id <= 21) || (id >= 45 && id <= 47)) return {true, true};
  if ((id >= 14 && id <= 22) || (id >= 27 && id <= 36) || (id >= 50 && id <= 58)) return {true, false};
  return {};
}

/// openpyxl's rule: after removing quoted text, escaped characters and bracketed sections other
/// than elapsed time ([h], [mm], [ss]), a format with d, m, y, h or s shows a date or time.
DateFormat custom_date_format(const std::string& code) {
  std::string kept;
  for (size_t i = 0; i < code.size(); ++i) {
    const char c = code[i];
    if (c == '"') {
      const auto end = code.find('"', i + 1);
      if (end == std::string::npos) break;
      i = end;
    } else if (c == '\\' || c == '_' || c == '*') {
      ++i;  // the next character is literal (or padding)
    } else if (c == '[') {
      const auto end = code.find(']', i + 1);
      if (end == std::string::npos) break;
      std::string inner = code.substr(i + 1, end - i - 1);
      for (auto& ch : inner) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!inner.empty() && inner.find_first_not_of("hms") == std::string::npos) kept += inner;
      i = end;
    } else if (c == ';') {
      break;  // the first section decides
    } else {
      kept += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  const bool has_date = kept.find_first_of("dy") != std::string::npos;
  const bool has_time = kept.find_first_of("hs") != std::string::npos;
  const bool has_m = kept.find('m') != std::string::npos;
  if (!has_date && !has_time && !has_m) return {};
  if (kept == "general") return {};
  return {true, !has_date && (has_time || (has_m && kept.find(':') != std::string::npos))};
}

/// Column index (0-based) from a cell reference "AB12"; npos when it has no letters.
size_t column_from_ref(std::string_view ref) {
  size_t col = 0, i = 0;
  while (i < ref.size() && std::isalpha(static_cast<unsigned char>(ref[i]))) {
    col = col * 26 + static_cast<size_t>(std::toupper(static_cast<unsigned char>(ref[i])) - 'A' + 1);
    col = std::min<size_t>(col, size_t{1} << 40);  // saturate: "ZZZZ...Z" must not wrap to a small column
    ++i;
  }
  return i == 0 ? std::string::npos : col - 1;
}

std::string column_letters(size_t col) {
  std::string s;
  ++col;
  while (col > 0) {
    s.insert(s.begin(), static_cast<char>('A' + (col - 1) % 26));
    col = (col - 1) / 26;
  }
  return s;
}

/// "xl/worksheets/sheet1.xml" from a relationship target relative to xl/ or absolute.
std::string resolve_target(const std::string& target) {
  if (!target.empty() && target[0] == '/') return target.substr(1);
  std::string t = target;
  std::string base = "xl";
  while (t.rfind("../", 0) == 0) {
    t = t.substr(3);
    auto p = base.find_last_of('/');
    base = p == std::string::npos ? "" : base.substr(0, p);
  }
  return base.empty() ? t : base + "/" + t;
}

struct SheetRef {
  std::string name;
  std::string part;
};

struct Workbook {
  std::vector<SheetRef> sheets;
  bool date1904 = false;
};

Workbook read_workbook(const ZipReader& zip, const std::string& path) {
  Workbook wb;
  std::string xml = zip.read("xl/workbook.xml");
  auto doc = parse_xml(xml, path, "xl/workbook.xml");
  auto root = doc.document_element();
  if (auto pr = child(root, "workbookPr")) {
    const std::string v = pr.attribute("date1904").value();
    wb.date1904 = v == "1" || v == "true";
  }
  std::map<std::string, std::string> targets;
  if (zip.has("xl/_rels/workbook.xml.rels")) {
    std::string rels_xml = zip.read("xl/_rels/workbook.xml.rels");
    auto rels = parse_xml(rels_xml, path, "xl/_rels/workbook.xml.rels");
    for (auto r : rels.document_element().children())
      if (local_name(r) == "Relationship") targets[r.attribute("Id").value()] = r.attribute("Target").value();
  }
  size_t k = 0;
  for (auto s : child(root, "sheets").children()) {
    if (local_name(s) != "sheet") continue;
    ++k;
    std::string rid;
    for (auto a : s.attributes()) {
      std::string_view an = a.name();
      if (an == "r:id" || (an.size() > 3 && an.substr(an.size() - 3) == ":id")) rid = a.value();
    }
    std::string part = targets.count(rid) ? resolve_target(targets[rid]) : fmt::format("xl/worksheets/sheet{}.xml", k);
    wb.sheets.push_back({s.attribute("name").value(), part});
  }
  if (wb.sheets.empty()) throw DataError(fmt::format("{}: the workbook has no sheets", path));
  return wb;
}

std::string join_names(const std::vector<SheetRef>& sheets) {
  std::string s;
  for (const auto& sh : sheets) s += (s.empty() ? "\"" : ", \"") + sh.name + "\"";
  return s;
}

}  // namespace

namespace {

constexpr uint64_t kDefaultMaxPartMiB = 256;
constexpr size_t kExcelMaxColumns = 16384;  // XFD
constexpr size_t kExcelMaxRows = 1048576;

/// The per-part limit: the option, else TEXTUNE_XLSX_MAX_PART_MB, else 256 MiB.
uint64_t part_limit(uint64_t option) {
  if (option > 0) return option;
  if (const char* env = std::getenv("TEXTUNE_XLSX_MAX_PART_MB"); env && *env) {
    char* end = nullptr;
    const unsigned long long mib = std::strtoull(env, &end, 10);
    if (*end != '\0' || mib == 0 || mib > (uint64_t{1} << 20))
      throw UsageError(fmt::format("TEXTUNE_XLSX_MAX_PART_MB=\"{}\" is not a number of MiB from 1 to 1048576", env));
    return static_cast<uint64_t>(mib) << 20;
  }
  return kDefaultMaxPartMiB << 20;
}

/// A cell reference for messages: at most 20 characters, valid UTF-8.
std::string show_ref(std::string_view ref) {
  std::string s = internal::sanitize_utf8(ref.substr(0, 20));
  return ref.size() > 20 ? s + "..." : s;
}

}  // namespace

std::vector<std::string> xlsx_sheet_names(const std::string& path) {
  ZipReader zip(path, part_limit(0));
  std::vector<std::string> names;
  for (const auto& s : read_workbook(zip, path).sheets) names.push_back(s.name);
  return names;
}

namespace internal {

Table read_xlsx(const std::string& path, const ReadOptions& options) {
  const std::string& sheet_name = options.sheet;
  const bool has_header = options.has_header;
  ZipReader zip(path, part_limit(options.xlsx_max_part_bytes));
  const Workbook wb = read_workbook(zip, path);
  const SheetRef* sheet = &wb.sheets.front();
  if (!sheet_name.empty()) {
    sheet = nullptr;
    for (const auto& s : wb.sheets)
      if (s.name == sheet_name) sheet = &s;
    if (!sheet)
      throw DataError(
          fmt::format("{}: no sheet named \"{}\" (the workbook has {})", path, sheet_name, join_names(wb.sheets)));
  }

  std::vector<std::string> shared;
  if (zip.has("xl/sharedStrings.xml")) {
    std::string xml = zip.read("xl/sharedStrings.xml");
    auto doc = parse_xml(xml, path, "xl/sharedStrings.xml");
    for (auto si : doc.document_element().children())
      if (local_name(si) == "si") shared.push_back(rich_text(si));
  }

  // style index -> date format
  std::vector<DateFormat> style_dates;
  if (zip.has("xl/styles.xml")) {
    std::string xml = zip.read("xl/styles.xml");
    auto doc = parse_xml(xml, path, "xl/styles.xml");
    auto root = doc.document_element();
    std::map<int, std::string> custom;
    for (auto nf : child(root, "numFmts").children())
      if (local_name(nf) == "numFmt") custom[nf.attribute("numFmtId").as_int()] = nf.attribute("formatCode").value();
    for (auto xf : child(root, "cellXfs").children()) {
      if (local_name(xf) != "xf") continue;
      const int id = xf.attribute("numFmtId").as_int(0);
      auto it = custom.find(id);
      style_dates.push_back(it != custom.end() ? custom_date_format(it->second) : builtin_date_format(id));
    }
  }

  std::string sheet_xml = zip.read(sheet->part);
  auto doc = parse_xml(sheet_xml, path, sheet->part);
  auto data = child(doc.document_element(), "sheetData");

  Table t;
  t.source = path;
  t.format = Format::kXlsx;
  // Rows are kept sparse while reading (column, value), so that one cell far to the right costs one
  // cell, not a row of empty ones.
  using SparseRow = std::vector<std::pair<size_t, core::Json>>;
  std::vector<std::pair<size_t, SparseRow>> rows;  // (Excel row number, cells)
  size_t row_number = 0, num_values = 0;
  for (auto row : data.children()) {
    if (local_name(row) != "row") continue;
    if (auto r = row.attribute("r")) {
      const std::string_view text = r.value();
      const unsigned long long n = r.as_ullong();
      if (n == 0 || n > kExcelMaxRows || text.find_first_not_of("0123456789") != std::string_view::npos)
        throw DataError(fmt::format("{}: sheet \"{}\": row number \"{}\" is not one of Excel's rows 1 to 1048576", path,
                                    sheet->name, show_ref(text)));
      row_number = static_cast<size_t>(n);
    } else if (++row_number > kExcelMaxRows) {
      throw DataError(fmt::format("{}: sheet \"{}\": more than Excel's 1048576 rows", path, sheet->name));
    }
    SparseRow cells;
    size_t col = 0;
    for (auto c : row.children()) {
      if (local_name(c) != "c") continue;
      std::string_view ref;
      if (auto r = c.attribute("r")) {
        ref = r.value();
        const size_t k = column_from_ref(ref);
        if (k != std::string::npos) col = k;
      }
      if (col >= kExcelMaxColumns)
        throw DataError(
            fmt::format("{}: sheet \"{}\", cell {}: beyond Excel's last column XFD (a sheet has at most 16384 columns)",
                        path, sheet->name,
                        ref.empty() ? column_letters(std::min(col, kExcelMaxColumns)) + std::to_string(row_number)
                                    : show_ref(ref)));
      const std::string type = c.attribute("t").value();
      auto v = child(c, "v");
      core::Json value;  // null: empty cell
      if (type == "s") {
        if (v) {
          const auto idx = static_cast<size_t>(v.text().as_ullong());
          if (idx >= shared.size())
            throw DataError(fmt::format(
                "{}: sheet \"{}\", cell {}{}: shared string {} does not exist (the workbook has {} shared strings)",
                path, sheet->name, column_letters(col), row_number, internal::sanitize_utf8(v.text().get()),
                shared.size()));
          value = shared[idx];
        }
      } else if (type == "inlineStr") {
        if (auto is = child(c, "is")) value = rich_text(is);
      } else if (type == "str" || type == "e" || type == "d") {
        if (v) value = decode_xstring(v.text().get());
      } else if (type == "b") {
        if (v) value = std::string(v.text().get()) == "1";
      } else if (v) {  // number
        const std::string text = v.text().get();
        char* end = nullptr;
        const double d = std::strtod(text.c_str(), &end);
        if (end == text.c_str()) {
          value = text;
        } else {
          const size_t style = c.attribute("s").as_ullong(0);
          const DateFormat df = style < style_dates.size() ? style_dates[style] : DateFormat{};
          if (df.is_date && std::isfinite(d) && d >= 0) {
            value = excel_serial_to_iso(d, wb.date1904, df.time_only);
          } else if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9007199254740992.0) {
            value = static_cast<int64_t>(d);  // a whole number reads as 5, not 5.0
          } else {
            value = d;
          }
        }
      }
      const bool blank = value.is_null() || (value.is_string() && value.get_ref<const std::string&>().empty());
      if (!cells.empty() && col <= cells.back().first) {  // out of order: replace or insert in place
        auto it = std::lower_bound(cells.begin(), cells.end(), col,
                                   [](const auto& cell, size_t k) { return cell.first < k; });
        if (it != cells.end() && it->first == col)
          it->second = std::move(value);
        else if (!blank)
          cells.insert(it, {col, std::move(value)});
      } else if (!blank || value.is_string()) {
        cells.emplace_back(col, std::move(value));
      }
      ++col;
    }
    bool empty = true;
    for (const auto& c : cells)
      empty = empty && (c.second.is_null() || (c.second.is_string() && c.second.get_ref<const std::string&>().empty()));
    if (!empty) {
      num_values += cells.size();
      rows.emplace_back(row_number, std::move(cells));
    }
  }

  size_t first = 0;
  size_t width = 0;
  for (const auto& r : rows)
    if (!r.second.empty()) width = std::max(width, r.second.back().first + 1);
  // The table is dense (every row has every column): refuse a sheet that is mostly empty space.
  const size_t data_rows = rows.size() - (has_header && !rows.empty() ? 1 : 0);
  const uint64_t dense = static_cast<uint64_t>(data_rows) * width;
  if (dense > (uint64_t{1} << 24) && dense > 8 * static_cast<uint64_t>(num_values))
    throw DataError(fmt::format(
        "{}: sheet \"{}\" spans {} rows and {} columns (to column {}) but holds only {} values; textune reads a sheet "
        "as a full table and refuses one that is mostly empty (delete the stray cells far to the right)",
        path, sheet->name, data_rows, width, column_letters(width - 1), num_values));
  auto dense_row = [width](SparseRow& sparse) {
    std::vector<core::Json> cells(width);
    for (auto& [k, v] : sparse) cells[k] = std::move(v);
    SparseRow().swap(sparse);
    return cells;
  };
  if (has_header && !rows.empty()) {
    const std::vector<core::Json> cells = dense_row(rows[0].second);
    for (size_t i = 0; i < width; ++i) {
      std::string name = internal::json_scalar_to_string(cells[i]);
      t.columns.push_back(name.empty() ? column_letters(i) : name);
    }
    first = 1;
  } else {
    for (size_t i = 0; i < width; ++i) t.columns.push_back(std::to_string(i));
  }
  t.rows.reserve(rows.size() - first);
  for (size_t i = first; i < rows.size(); ++i) {
    t.rows.push_back(dense_row(rows[i].second));
    t.row_numbers.push_back(rows[i].first);
  }
  return t;
}

}  // namespace internal

// ---------------------------------------------------------------------------------------------
// writing

namespace internal {
namespace {

/// XML text content: escapes markup, carriage returns, and characters XML 1.0 cannot hold (as
/// ST_Xstring "_xHHHH_"); a literal "_x" that would read as an escape is escaped itself.
std::string xml_text(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
      case '\n':
        out += static_cast<char>(c);
        break;
      case '_':
        if (i + 6 < s.size() && s[i + 1] == 'x' && s[i + 6] == '_' &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 3])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 4])) && std::isxdigit(static_cast<unsigned char>(s[i + 5])))
          out += "_x005F_";
        else
          out += '_';
        break;
      default:
        if (c < 0x20)
          out += fmt::format("_x{:04X}_", c);
        else
          out += static_cast<char>(c);
    }
  }
  return out;
}

std::string preserve(const std::string& s) {
  const bool needs =
      !s.empty() && (std::isspace(static_cast<unsigned char>(s.front())) ||
                     std::isspace(static_cast<unsigned char>(s.back())) || s.find('\n') != std::string::npos);
  return needs ? "<t xml:space=\"preserve\">" : "<t>";
}

const char* kContentTypes =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>)";
const char* kRootRels =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>)";
const char* kWorkbookRels =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>)";
const char* kStyles =
    R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>)";

std::string xml_attr(const std::string& s) {
  return xml_text(s);
}

}  // namespace

/// Excel's limit on the characters of one cell ("Excel specifications and limits").
constexpr size_t kExcelMaxCellChars = 32767;

void write_xlsx(const std::string& path, const Table& table, const WriteOptions& options) {
  std::vector<std::string> shared;
  std::map<std::string, size_t> shared_index;
  std::string sheet;
  sheet.reserve(64 * (table.rows.size() + 1) * std::max<size_t>(1, table.columns.size()));
  sheet += R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
           "\n"
           R"(<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>)";
  auto string_cell = [&](const std::string& ref, const std::string& s, size_t row, const std::string& column) {
    if (!is_valid_utf8(s))
      throw DataError(fmt::format("{}: row {}, column \"{}\": not valid UTF-8; cannot write it to .xlsx", table.source,
                                  row, column));
    if (s.size() > kExcelMaxCellChars) {
      // Excel counts UTF-16 code units: a character outside the BMP (4 UTF-8 bytes) counts twice.
      size_t units = 0;
      for (unsigned char c : s) units += (c & 0xC0) != 0x80 ? ((c >= 0xF0) ? 2 : 1) : 0;
      if (units > kExcelMaxCellChars)
        throw DataError(fmt::format(
            "{}: row {}, column \"{}\": a cell of {} characters is longer than Excel's limit of 32767 characters "
            "per cell, and Excel would refuse the workbook; write .csv or .jsonl instead, or shorten the text",
            table.source, row, column, units));
    }
    if (options.xlsx_shared_strings) {
      auto [it, inserted] = shared_index.emplace(s, shared.size());
      if (inserted) shared.push_back(s);
      sheet += fmt::format(R"(<c r="{}" t="s"><v>{}</v></c>)", ref, it->second);
    } else {
      sheet += fmt::format(R"(<c r="{}" t="inlineStr"><is>{}{}</t></is></c>)", ref, preserve(s), xml_text(s));
    }
  };
  auto write_row = [&](size_t excel_row, size_t source_row, auto&& get) {
    sheet += fmt::format(R"(<row r="{}">)", excel_row);
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const core::Json& v = get(c);
      const std::string ref = column_letters(c) + std::to_string(excel_row);
      if (v.is_null()) continue;
      if (v.is_string()) {
        string_cell(ref, v.get_ref<const std::string&>(), source_row, table.columns[c]);
      } else if (v.is_boolean()) {
        sheet += fmt::format(R"(<c r="{}" t="b"><v>{}</v></c>)", ref, v.get<bool>() ? 1 : 0);
      } else if (v.is_number()) {
        sheet += fmt::format(R"(<c r="{}"><v>{}</v></c>)", ref, json_scalar_to_string(v));
      } else {
        string_cell(ref, v.dump(), source_row, table.columns[c]);
      }
    }
    sheet += "</row>";
  };
  std::vector<core::Json> header(table.columns.begin(), table.columns.end());
  write_row(1, 1, [&](size_t c) -> const core::Json& { return header[c]; });
  for (size_t r = 0; r < table.rows.size(); ++r)
    write_row(r + 2, r < table.row_numbers.size() ? table.row_numbers[r] : r + 2,
              [&](size_t c) -> const core::Json& { return table.rows[r][c]; });
  sheet += "</sheetData></worksheet>";

  std::string sst = R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)"
                    "\n";
  sst += fmt::format(
      R"(<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{}" uniqueCount="{}">)",
      shared.size(), shared.size());
  for (const auto& s : shared) sst += "<si>" + preserve(s) + xml_text(s) + "</t></si>";
  sst += "</sst>";

  const std::string workbook =
      std::string(R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?>)") + "\n" +
      R"(<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name=")" +
      xml_attr(options.sheet) + R"(" sheetId="1" r:id="rId1"/></sheets></workbook>)";

  // Write to a temporary sibling, then rename: readers never see a half-written workbook.
  std::random_device rd;
  const std::string tmp = fmt::format("{}.tmp-{:08x}", path, rd());
  int err = 0;
  zip_t* zip = zip_open(tmp.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!zip) throw DataError(fmt::format("{}: cannot create the file", path));
  const std::string content_types = kContentTypes, root_rels = kRootRels, wb_rels = kWorkbookRels, styles = kStyles;
  const std::pair<const char*, const std::string*> files[] = {
      {"[Content_Types].xml", &content_types},  {"_rels/.rels", &root_rels}, {"xl/workbook.xml", &workbook},
      {"xl/_rels/workbook.xml.rels", &wb_rels}, {"xl/styles.xml", &styles},  {"xl/sharedStrings.xml", &sst},
      {"xl/worksheets/sheet1.xml", &sheet}};
  for (const auto& [name, bytes] : files) {
    zip_source_t* src = zip_source_buffer(zip, bytes->data(), bytes->size(), 0);
    if (!src || zip_file_add(zip, name, src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE) < 0) {
      if (src) zip_source_free(src);
      zip_discard(zip);
      std::remove(tmp.c_str());
      throw DataError(fmt::format("{}: cannot write {} into the workbook", path, name));
    }
  }
  if (zip_close(zip) != 0) {
    std::string why = zip_strerror(zip);
    zip_discard(zip);
    std::remove(tmp.c_str());
    throw DataError(fmt::format("{}: cannot write the workbook: {}", path, why));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw DataError(fmt::format("{}: cannot write the file: {}", path, ec.message()));
  }
}

}  // namespace internal
}  // namespace textune::data
