// A corpus of corrupted and hostile dataset files (issue 11): every reader (CSV, TSV, JSONL, JSON,
// xlsx) must answer each with a DataError naming the file (and the row, column or part where there is
// one), or read it, never crash, and stay within a bound of time (each case) and memory (the suite).
#include <gmock/gmock.h>
#include <sys/resource.h>

#include <chrono>
#include <functional>

#include "data/xlsx_helpers.h"
#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/data/dataset.h"
#include "textune/data/table.h"

namespace textune::data {
namespace {

using testing::TempDir;
using testing::write_text;

struct Case {
  std::string name;  ///< file name: its extension picks the reader
  std::function<void(const std::string& path)> write;
  std::string expected;  ///< a substring of the DataError after "PATH: "; empty: the file reads; "*": either
  bool dataset = false;  ///< also make a dataset of the table (JSONL rows that fail are reported there)
};

/// A workbook whose first sheet part is `sheet_xml`, whole.
void write_raw_sheet(const std::string& path, const std::string& sheet_xml,
                     const std::map<std::string, std::string>& extra = {}) {
  std::map<std::string, std::string> parts = extra;
  parts["xl/workbook.xml"] = std::string(R"(<?xml version="1.0"?><workbook xmlns=")") + testing::kMainNs +
                             R"("><sheets><sheet name="S" sheetId="1"/></sheets></workbook>)";
  parts["xl/worksheets/sheet1.xml"] = sheet_xml;
  testing::write_zip(path, parts);
}

std::string sheet(const std::string& inner) {
  return std::string(R"(<?xml version="1.0"?><worksheet xmlns=")") + testing::kMainNs + "\"><sheetData>" + inner +
         "</sheetData></worksheet>";
}

const char* kHeader = R"(<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c></row>)";

std::vector<Case> corpus() {
  std::vector<Case> c;
  // ---- xlsx
  c.push_back({"truncated.xlsx",
               [](const std::string& p) {
                 Table t;
                 t.columns = {"text", "label"};
                 for (int i = 0; i < 2000; ++i) t.rows.push_back({"row " + std::to_string(i), i % 2});
                 t.row_numbers.assign(t.rows.size(), 0);
                 write_table(p, t);
                 const std::string bytes = testing::read_text(p);
                 write_text(p, bytes.substr(0, bytes.size() / 2));
               },
               "not an Excel .xlsx workbook"});
  c.push_back({"empty.xlsx", [](const std::string& p) { write_text(p, ""); }, "workbook"});
  c.push_back({"random.xlsx", [](const std::string& p) { write_text(p, std::string(5000, '\x9c')); },
               "not an Excel .xlsx workbook"});
  c.push_back({"badxml.xlsx", [](const std::string& p) { write_raw_sheet(p, "<worksheet><sheetData><row><c"); },
               "xl/worksheets/sheet1.xml is not XML"});
  c.push_back({"noworkbook.xlsx",
               [](const std::string& p) {
                 testing::write_zip(p, {{"hello.txt", "hi"}});
               },
               "xl/workbook.xml is missing"});
  c.push_back({"sst_index.xlsx",
               [](const std::string& p) {
                 testing::write_workbook(
                     p, {{"S", std::string(kHeader) + R"(<row r="2"><c r="A2" t="s"><v>7</v></c></row>)"}},
                     {"<t>a</t>"});
               },
               "sheet \"S\", cell A2: shared string 7 does not exist (the workbook has 1 shared strings)"});
  c.push_back(
      {"sst_huge_index.xlsx",
       [](const std::string& p) {
         testing::write_workbook(
             p,
             {{"S", std::string(kHeader) + R"(<row r="2"><c r="A2" t="s"><v>99999999999999999999999</v></c></row>)"}},
             {"<t>a</t>"});
       },
       "does not exist"});
  c.push_back({"giant_dimension.xlsx",  // a dimension claiming the whole grid: ignored, the cells are read
               [](const std::string& p) {
                 write_raw_sheet(
                     p,
                     std::string(R"(<?xml version="1.0"?><worksheet xmlns=")") + testing::kMainNs +
                         R"("><dimension ref="A1:XFD1048576"/><sheetData>)" + kHeader +
                         R"(<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>)");
               },
               ""});
  c.push_back({"giant_row_number.xlsx",
               [](const std::string& p) {
                 write_raw_sheet(
                     p, sheet(std::string(kHeader) + R"(<row r="99999999999999999999999"><c><v>1</v></c></row>)"));
               },
               "row number \"99999999999999999999...\" is not one of Excel's rows"});
  c.push_back({"far_cell.xlsx",
               [](const std::string& p) {
                 write_raw_sheet(p, sheet(std::string(kHeader) + R"(<row r="2"><c r="AAAAAA2"><v>1</v></c></row>)"));
               },
               "cell AAAAAA2: beyond Excel's last column XFD"});
  c.push_back({"many_cells_no_ref.xlsx",  // 20,000 cells without references run past column XFD
               [](const std::string& p) {
                 std::string row = "<row r=\"2\">";
                 for (int i = 0; i < 20000; ++i) row += "<c><v>1</v></c>";
                 write_raw_sheet(p, sheet(std::string(kHeader) + row + "</row>"));
               },
               "beyond Excel's last column XFD"});
  c.push_back({"deep_xml.xlsx",
               [](const std::string& p) {
                 std::string deep;
                 for (int i = 0; i < 100000; ++i) deep += "<a>";
                 for (int i = 0; i < 100000; ++i) deep += "</a>";
                 write_raw_sheet(
                     p, sheet(std::string(kHeader) + "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>x</t>" + deep +
                              "</is></c></row>"));
               },
               ""});
  c.push_back({"entities.xlsx",  // "billion laughs": pugixml does not expand DTD entities
               [](const std::string& p) {
                 // <!ENTITY a "aaaaaaaaaa"> <!ENTITY b "&a;&a;...(10)"> ... <!ENTITY j "&i;...(10)">: 10^10 bytes
                 std::string dtd = "<?xml version=\"1.0\"?><!DOCTYPE w [<!ENTITY a \"aaaaaaaaaa\">";
                 for (char e = 'b'; e <= 'j'; ++e) {
                   dtd += std::string("<!ENTITY ") + e + " \"";
                   for (int k = 0; k < 10; ++k) dtd += std::string("&") + static_cast<char>(e - 1) + ";";
                   dtd += "\">";
                 }
                 write_raw_sheet(p, dtd + "]><worksheet><sheetData>" + kHeader +
                                        "<row r=\"2\"><c r=\"A2\" t=\"inlineStr\"><is><t>&j;</t></is></c></row>"
                                        "</sheetData></worksheet>");
               },
               ""});
  c.push_back({"nul.xlsx",
               [](const std::string& p) { write_raw_sheet(p, sheet(std::string(kHeader) + std::string(100, '\0'))); },
               "*"});
  // ---- CSV / TSV
  c.push_back({"unbalanced.csv", [](const std::string& p) { write_text(p, "text,label\n\"never closed,1\nb,0\n"); },
               "row 2: a quoted field is never closed"});
  c.push_back({"nul_bytes.csv",  // a few NUL bytes are text; the row reads
               [](const std::string& p) { write_text(p, std::string("text,label\nab\0c,1\n", 18)); }, ""});
  c.push_back(
      {"mostly_nul.csv", [](const std::string& p) { write_text(p, std::string(10000, '\0')); }, "not a text file"});
  c.push_back({"columns_100k.csv",  // a header of 100k columns over 100 one-field rows
               [](const std::string& p) {
                 std::string s;
                 for (int i = 0; i < 100000; ++i) s += (i ? ",c" : "c") + std::to_string(i);
                 s += "\n";
                 for (int i = 0; i < 100; ++i) s += "x\n";
                 write_text(p, s);
               },
               "would make a table of"});
  c.push_back({"columns_100k_full.csv",  // and over full rows, which are data: read
               [](const std::string& p) {
                 std::string h, r;
                 for (int i = 0; i < 100000; ++i) {
                   h += (i ? ",c" : "c") + std::to_string(i);
                   r += i ? ",1" : "1";
                 }
                 write_text(p, h + "\n" + r + "\n" + r + "\n");
               },
               ""});
  c.push_back({"field_20mb.csv",
               [](const std::string& p) { write_text(p, "text,label\n\"" + std::string(20 << 20, 'w') + "\",1\n"); },
               ""});
  c.push_back({"field_20mb.tsv",
               [](const std::string& p) { write_text(p, "text\tlabel\n\"" + std::string(20 << 20, 'w') + "\t1\n"); },
               ""});
  c.push_back({"quotes_everywhere.tsv",  // kAuto re-reads such rows literally: still linear
               [](const std::string& p) {
                 std::string s = "text\tlabel\n";
                 for (int i = 0; i < 100000; ++i) s += "\"a\"b\"\t\"1\n";
                 write_text(p, s);
               },
               ""});
  c.push_back({"blank_lines.csv", [](const std::string& p) { write_text(p, std::string(5 << 20, '\n')); }, ""});
  // ---- JSONL / JSON
  c.push_back({"deep.jsonl", [](const std::string& p) { write_text(p, std::string(100000, '[') + "\n"); },
               "no record could be read: row 1: not valid JSON", true});
  c.push_back({"deep_objects.jsonl",
               [](const std::string& p) {
                 std::string s;
                 for (int i = 0; i < 100000; ++i) s += "{\"a\":";
                 write_text(p, s + "\n");
               },
               "row 1: not valid JSON", true});
  c.push_back({"line_20mb.jsonl", [](const std::string& p) { write_text(p, std::string(20 << 20, 'x')); },
               "row 1: not valid JSON", true});
  c.push_back({"new_key_each_row.jsonl",  // 100k records, each with a new key: a 100k x 100k table
               [](const std::string& p) {
                 std::string s;
                 for (int i = 0; i < 100000; ++i) s += "{\"k" + std::to_string(i) + "\": 1}\n";
                 write_text(p, s);
               },
               "would make a table of"});
  c.push_back({"truncated.json", [](const std::string& p) { write_text(p, "[{\"text\": \"a\", \"label\": "); },
               "not valid JSON: line 1, column"});
  c.push_back({"scalar.json", [](const std::string& p) { write_text(p, "42"); }, "neither a JSON array"});
  c.push_back({"utf16.jsonl", [](const std::string& p) { write_text(p, "\xFE\xFF"); }, "UTF-16BE"});
  return c;
}

TEST(CorruptCorpus, EveryFileIsADataErrorNamingItOrReadsWithinBounds) {
  TempDir tmp;
  for (const Case& k : corpus()) {
    SCOPED_TRACE(k.name);
    const std::string path = tmp / k.name;
    k.write(path);
    const auto start = std::chrono::steady_clock::now();
    std::string error;
    try {
      const Table t = read_table(path);
      DataOptions o;
      o.require_labels = false;
      if (k.dataset) make_dataset(t, o);
    } catch (const DataError& e) {
      error = e.what();
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_LT(seconds, 5.0);
    if (k.expected == "*") {
      if (!error.empty()) EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
    } else if (k.expected.empty()) {
      EXPECT_EQ(error, "");
    } else {
      EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << error;
      EXPECT_NE(error.find(k.expected), std::string::npos) << error;
      EXPECT_LT(error.size(), 600u) << error;  // one line a user can read
    }
    std::filesystem::remove(path);
  }
  // memory: the 20 MB fields and the refused tables stay far below a gigabyte
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  EXPECT_LT(ru.ru_maxrss, 1500L * 1024) << "peak RSS " << ru.ru_maxrss / 1024 << " MiB";
}

TEST(CorruptCorpus, DatasetLevelErrorsNameTheRowAndColumn) {
  TempDir tmp;
  // invalid UTF-8 and a NUL-only text: per-cell problems with row and column
  write_text(tmp / "cells.csv", std::string("text,label\nok,1\nbad\xFF,0\n,1\n", 26));
  try {
    load_dataset(tmp / "cells.csv");
    ADD_FAILURE() << "no DataError";
  } catch (const DataError& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("row 3, column \"text\": not valid UTF-8"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("row 4, column \"text\": empty text"));
  }
}

}  // namespace
}  // namespace textune::data
