// Raw tables read from dataset files: CSV, TSV, JSONL, JSON arrays of records and Excel .xlsx, and
// the writers that make .xlsx/.csv/.tsv/.jsonl copies of them. No interpretation of columns here:
// dataset.h turns a table into typed examples.
//
// Behaviour follows what users get from pandas/`datasets` on the same files: RFC 4180 quoting for
// CSV, a UTF-8 BOM ignored, CRLF and LF line ends, blank lines skipped; Excel cells as openpyxl
// reads them (shared and inline strings, numbers, booleans, dates from the cell's number format in
// both the 1900 and the 1904 date systems), except that a whole number reads as `5`, not `5.0`, and
// a date reads as an ISO 8601 string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "textune/core/json.h"

namespace textune::data {

/// File formats textune reads.
enum class Format { kCsv, kTsv, kJsonl, kJson, kXlsx };

/// The format of `path` from its extension: .csv, .tsv (.txt reads as TSV), .jsonl (.ndjson),
/// .json, .xlsx; case-insensitive.
/// @throws textune::UsageError for any other extension, naming the extensions known and `--format`.
Format format_from_path(const std::string& path);

/// Parses a format name ("csv", "tsv", "jsonl", "json", "xlsx"; "txt" means tsv).
/// @throws textune::UsageError for an unknown name.
Format parse_format(const std::string& name);

/// The lower-case name of a format ("csv", ...).
std::string format_name(Format format);

/// How double quotes are interpreted in CSV/TSV files.
enum class Quoting {
  /// RFC 4180 (Python's csv module with its defaults): a field that starts with `"` runs to the
  /// matching `"`, and may hold delimiters, line breaks and doubled quotes `""`. Default for CSV.
  kRfc4180,
  /// Quotes are ordinary characters; fields end at the delimiter or the line end (what the GLUE
  /// processors of `transformers` do for TSV: `quotechar=None`).
  kNone,
  /// Default for TSV. A field that starts with `"` is read as an RFC 4180 quoted field only when it
  /// needs its quotes (it holds the delimiter, a line break or a doubled quote `""`, as writers that
  /// quote "when needed" produce), its closing quote is followed by the delimiter, a line end or the
  /// end of the file, and the record then has as many fields as the header; otherwise the record's
  /// quotes are ordinary characters. Real TSV corpora (GLUE MRPC, RTE, STS-B) start sentences with
  /// an unmatched `"` that strict RFC 4180 would run across tabs and rows.
  kAuto,
};

/// Parses "auto", "csv"/"rfc4180" or "none". @throws textune::UsageError otherwise.
Quoting parse_quoting(const std::string& name);

/// One problem found in a file: where, and what was expected.
struct Problem {
  std::string file;     ///< the path as given
  size_t row = 0;       ///< 1-based, see Table::row_numbers; 0 when it concerns the whole file
  std::string column;   ///< column name (or index for header-less files); empty when row-level
  std::string message;  ///< what is wrong and what was expected, e.g. "empty text"

  /// "FILE: row R, column "C": MESSAGE" (parts left out when unknown).
  std::string to_string() const;
};

/// Options of read_table.
struct ReadOptions {
  std::optional<Format> format;  ///< default: from the extension
  /// CSV/TSV: the first non-blank line holds the column names. Without a header, columns are named
  /// by their 0-based index ("0", "1", ...), as pandas does with `header=None`.
  bool has_header = true;
  std::optional<Quoting> quoting;  ///< default: kRfc4180 for CSV, kAuto for TSV
  std::string sheet;               ///< xlsx: the sheet name; empty: the first sheet
  /// CSV: the field delimiter. Default: sniffed from the first lines as Python's csv.Sniffer does,
  /// among ',' ';' '\t' '|' (',' when the sample says nothing). TSV: default '\t'.
  std::optional<char> delimiter;
  /// Text files (CSV, TSV, JSONL, JSON): the encoding of the file, decoded to UTF-8 before parsing
  /// (see decode_text); empty: UTF-8, with a UTF-16/32 file or a binary file reported as such.
  std::string encoding;
  /// xlsx: the most bytes one part of the workbook (a sheet, the shared strings) may uncompress to,
  /// against zip bombs; 0: the environment variable TEXTUNE_XLSX_MAX_PART_MB (in MiB), else 256 MiB.
  /// A part over it is a DataError naming the part and the limit.
  uint64_t xlsx_max_part_bytes = 0;
};

/// A table as read from a file: column names and rows of cells.
///
/// Cells are JSON values: a string (CSV/TSV always; xlsx strings and dates; JSON strings), an
/// integer or float number (JSON numbers; xlsx numbers, whole numbers as integers), a boolean, an
/// array or object (JSON), or null for an empty xlsx cell and a field a row does not have. Strings
/// keep the file's bytes: they are not validated as UTF-8 here (dataset.h reports invalid bytes in the
/// columns it uses), so never `dump()` a cell without checking.
struct Table {
  std::string source;  ///< the path read
  Format format = Format::kCsv;
  std::vector<std::string> columns;           ///< names, in file order (JSON: order of first appearance)
  std::vector<std::vector<core::Json>> rows;  ///< rows[i][j] is column j; every row has columns.size() cells
  /// Where each row is in the file, 1-based, as a user finds it: the line number where the record
  /// starts (CSV/TSV/JSONL; the header is line 1), the record's position in the array (JSON), or
  /// the sheet's row number (xlsx, as Excel shows it).
  std::vector<size_t> row_numbers;
  /// Rows the reader could not parse (a JSONL line that is not JSON, a row with more fields than the
  /// header); such rows are not in `rows`.
  std::vector<Problem> problems;

  /// Index of `name` in columns, if present.
  std::optional<size_t> column_index(const std::string& name) const;
};

/// Reads a dataset file into a table.
/// @throws textune::DataError when the file cannot be opened, is not a valid file of its format as a
///         whole (an xlsx that is not a zip, a JSON file that is not an array of objects, an unclosed
///         quoted field), or the sheet is missing (the message lists the sheets).
/// @throws textune::UsageError for an unknown extension.
Table read_table(const std::string& path, const ReadOptions& options = {});

/// Reads CSV/TSV text already in memory (`source` names it in messages). `delimiter`: ',' ';' '\t'
/// '|' or another single character (not a quote or a line break); '\t' makes the table's format TSV.
/// @throws textune::DataError for an unclosed quoted field (RFC 4180), or a table that would be
///         mostly empty padding (more than 4M cells and 8 times the fields the file holds).
Table parse_delimited(const std::string& bytes, char delimiter, Quoting quoting, bool has_header,
                      const std::string& source);

/// Parses a --delimiter value: one character (not `"`, CR or LF), or "tab" / "\t" for a tab.
/// @throws textune::UsageError otherwise.
char parse_delimiter(const std::string& text);

/// The delimiter of CSV text as Python's `csv.Sniffer().sniff(sample, delimiters=",;\t|")` finds it
/// (Lib/csv.py, Python 3.11): first from quoted fields (`,"a b",`: the character around quotes,
/// most frequent wins), else the candidate whose count per line is the most consistent over the
/// lines, in chunks of 10 lines, with a consistency threshold falling from 1.0 to 0.9; ties go to
/// the preferred order ',' '\t' ';'; else the candidate seen most consistently. `sample`: the first
/// lines of the file (callers pass at most 20 lines / 16 KiB). nullopt when no candidate qualifies.
std::optional<char> sniff_delimiter(std::string_view sample);

/// Decodes `bytes` from `encoding` to UTF-8 with iconv (glibc): "utf-8" (no change), "utf-8-sig"
/// (a leading BOM dropped), "utf-16" / "utf-32" (the byte order from the BOM, little-endian without
/// one, as Python decodes them), "utf-16le", "utf-16be", "utf-32le", "utf-32be", "latin-1"
/// ("iso-8859-1"), "cp1252" ("windows-1252"), and any other name iconv knows (gb18030, big5, ...).
/// With an empty `encoding` the bytes must be UTF-8: a UTF-16/32 byte order mark, or NUL bytes in
/// at least 10% of the first 64 KiB, is a DataError saying what the file looks like and which
/// --encoding reads it. Positions in the result are positions in the decoded text.
/// @throws textune::DataError for bytes invalid in `encoding`, naming `source`, the line, the
///         column (characters from the line start, 1-based) and the byte offset in the file.
/// @throws textune::UsageError for an encoding iconv does not know.
std::string decode_text(std::string bytes, const std::string& encoding, const std::string& source);

/// Options of write_table.
struct WriteOptions {
  std::optional<Format> format;     ///< default: from the extension
  std::string sheet = "Sheet1";     ///< xlsx sheet name
  bool xlsx_shared_strings = true;  ///< xlsx: strings in sharedStrings.xml (as Excel), else inline
};

/// Writes `table` as CSV (RFC 4180, quoting only where needed, LF line ends), TSV (the same with
/// tabs), JSONL (one object per row, null cells left out) or .xlsx (one sheet; strings as strings,
/// numbers as numbers, booleans as booleans, null cells left empty). Reading the file back gives the
/// same cells (xlsx: a number reads back as the number; CSV: every cell reads back as a string).
/// The file is written atomically.
/// @throws textune::DataError when the file cannot be written or a cell cannot be represented
///         (invalid UTF-8 in JSONL/xlsx output; an xlsx cell or column name longer than Excel's
///         32,767 characters, counted in UTF-16 code units as Excel does), naming the row and column.
void write_table(const std::string& path, const Table& table, const WriteOptions& options = {});

/// Names of the sheets of an .xlsx workbook, in workbook order.
/// @throws textune::DataError when the file is not a readable workbook.
std::vector<std::string> xlsx_sheet_names(const std::string& path);

/// Converts an Excel serial date-time to ISO 8601: "YYYY-MM-DD" when there is no time of day,
/// "YYYY-MM-DDTHH:MM:SS" otherwise (rounded to the second), "HH:MM:SS" when `time_only`.
/// 1900 system: serial 1 is 1900-01-01 and Excel's fictitious 1900-02-29 (serial 60, kept for Lotus
/// 1-2-3 compatibility) reads as "1900-02-29"; serials after it are shifted by one day. 1904 system
/// (`date1904`, old Mac workbooks): serial 0 is 1904-01-01.
/// Source: ECMA-376 Part 1, 18.17.4 (dates), and Microsoft's "Date systems in Excel".
/// @throws textune::DataError for a negative or non-finite serial.
std::string excel_serial_to_iso(double serial, bool date1904, bool time_only = false);

}  // namespace textune::data
