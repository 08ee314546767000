// Issue 11 (hardening) for the data readers: zip bombs and far-away cells in .xlsx, Excel's cell
// length limit in the writer, integer labels with --label-names in every file, unreadable JSONL, the
// unknown-label report, encodings (UTF-16/32 detection, --encoding) and the CSV delimiter sniffer.
#include <gmock/gmock.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdlib>

#include "data/xlsx_helpers.h"
#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/data/dataset.h"
#include "textune/data/table.h"

namespace textune::data {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::TempDir;
using testing::write_text;

template <typename F>
std::string data_error(F&& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no DataError thrown";
  return "";
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

std::string data(const std::string& rel) {
  return testing::data_dir() + "/" + rel;
}

/// `rows` rows of two inline-string cells: about 80 bytes of XML a row, compressing ~100 times.
std::string many_rows(size_t rows) {
  std::string x;
  x.reserve(rows * 90);
  x += R"(<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c></row>)";
  for (size_t r = 2; r <= rows; ++r)
    x += "<row r=\"" + std::to_string(r) + "\"><c r=\"A" + std::to_string(r) +
         "\" t=\"inlineStr\"><is><t>same text again</t></is></c></row>";
  return x;
}

// ---- 1. zip bomb: a part's uncompressed size is capped, and the error names the part and the limit

TEST(XlsxLimits, PartOverTheLimitIsRefusedNamingPartAndLimit) {
  TempDir tmp;
  const std::string path = tmp / "bomb.xlsx";
  testing::write_workbook(path, {{"S", many_rows(40000)}});  // a sheet of about 3.4 MB
  ReadOptions o;
  o.xlsx_max_part_bytes = 1 << 20;
  const std::string m = data_error([&] { read_table(path, o); });
  EXPECT_THAT(m, HasSubstr(path + ": xl/worksheets/sheet1.xml inside the workbook uncompresses to more than 1 MiB"));
  EXPECT_THAT(m, HasSubstr("TEXTUNE_XLSX_MAX_PART_MB"));
  // the environment variable sets the same limit; a larger one reads the sheet
  setenv("TEXTUNE_XLSX_MAX_PART_MB", "2", 1);
  EXPECT_THAT(data_error([&] { read_table(path); }), HasSubstr("more than 2 MiB"));
  setenv("TEXTUNE_XLSX_MAX_PART_MB", "8", 1);
  EXPECT_EQ(read_table(path).rows.size(), 39999u);
  unsetenv("TEXTUNE_XLSX_MAX_PART_MB");
  EXPECT_EQ(read_table(path).rows.size(), 39999u);  // the default, 256 MiB
}

TEST(XlsxLimits, SizeDeclaredSmallerThanTheDataStillStopsAtTheLimit) {
  // A zip whose headers understate the part's size: the reader must count what it inflates.
  TempDir tmp;
  const std::string path = tmp / "liar.xlsx";
  testing::write_workbook(path, {{"S", many_rows(40000)}});
  std::string bytes = testing::read_text(path);
  // Rewrite the uncompressed size of the sheet in its local header (offset 22) and central
  // directory entry (offset 24) to 1000 bytes (APPNOTE.TXT 4.3.7 and 4.3.12).
  const std::string name = "xl/worksheets/sheet1.xml";
  auto set32 = [&](size_t at, uint32_t v) {
    for (int k = 0; k < 4; ++k) bytes[at + k] = static_cast<char>((v >> (8 * k)) & 0xFF);
  };
  for (size_t p = bytes.find(name); p != std::string::npos; p = bytes.find(name, p + 1)) {
    if (p >= 30 && bytes.compare(p - 30, 4, "PK\x03\x04") == 0) set32(p - 30 + 22, 1000);
    if (p >= 46 && bytes.compare(p - 46, 4, "PK\x01\x02") == 0) set32(p - 46 + 24, 1000);
  }
  write_text(path, bytes);
  ReadOptions o;
  o.xlsx_max_part_bytes = 1 << 20;
  // libzip either stops at the declared size (then the XML is cut short) or reports the mismatch:
  // a DataError either way, never more than the limit in memory
  EXPECT_THAT(data_error([&] { read_table(path, o); }), HasSubstr(path));
}

// ---- 2. cells far to the right: sparse while reading, Excel's limits enforced

TEST(XlsxLimits, CellsBeyondExcelsColumnsAndRowsAreErrorsNamingTheCell) {
  TempDir tmp;
  const std::string path = tmp / "far.xlsx";
  auto sheet_with = [&](const std::string& row) {
    testing::write_workbook(path,
                            {{"S", R"(<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c></row>)" + row}});
  };
  sheet_with(R"(<row r="2"><c r="XFE2"><v>1</v></c></row>)");  // one past XFD, Excel's 16,384th column
  EXPECT_THAT(data_error([&] { read_table(path); }),
              HasSubstr(path + ": sheet \"S\", cell XFE2: beyond Excel's last column XFD"));
  // 20 letters would wrap a 64-bit column number around to a small one
  sheet_with(R"(<row r="2"><c r="ZZZZZZZZZZZZZZZZZZZZ2"><v>1</v></c></row>)");
  EXPECT_THAT(data_error([&] { read_table(path); }), HasSubstr("cell ZZZZZZZZZZZZZZZZZZZZ..."));
  sheet_with(R"(<row r="1048577"><c r="A1048577"><v>1</v></c></row>)");  // Excel has 1,048,576 rows
  EXPECT_THAT(data_error([&] { read_table(path); }),
              HasSubstr("row number \"1048577\" is not one of Excel's rows 1 to 1048576"));
}

TEST(XlsxLimits, OneCellInTheLastColumnCostsOneCell) {
  TempDir tmp;
  const std::string path = tmp / "xfd.xlsx";
  testing::write_workbook(
      path, {{"S", R"(<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c></row>)"
                   R"(<row r="2"><c r="A2" t="inlineStr"><is><t>hi</t></is></c><c r="XFD2"><v>7</v></c></row>)"}});
  Table t = read_table(path);
  ASSERT_EQ(t.columns.size(), 16384u);  // A..XFD, as pandas reads it
  EXPECT_EQ(t.columns.back(), "XFD");
  EXPECT_EQ(t.rows[0].back(), 7);
  // many rows under one stray far-right cell would be a table of empty cells: refused
  std::string rows = R"(<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c><c r="XFD1"><v>1</v></c></row>)";
  for (int r = 2; r <= 3000; ++r)
    rows += "<row r=\"" + std::to_string(r) + "\"><c r=\"A" + std::to_string(r) + "\"><v>1</v></c></row>";
  testing::write_workbook(path, {{"S", rows}});
  EXPECT_THAT(data_error([&] { read_table(path); }),
              HasSubstr("sheet \"S\" spans 2999 rows and 16384 columns (to column XFD) but holds only 3001 values"));
}

// ---- 3. the xlsx writer refuses cells Excel cannot open

TEST(XlsxLimits, WriterRefusesCellsLongerThanExcelsLimit) {
  TempDir tmp;
  Table t;
  t.source = "in.csv";
  t.columns = {"text", "label"};
  t.rows = {{std::string(32767, 'a'), "x"}, {"short", "y"}};
  t.row_numbers = {2, 3};
  write_table(tmp / "ok.xlsx", t);  // exactly the limit: fine
  EXPECT_EQ(read_table(tmp / "ok.xlsx").rows[0][0].get<std::string>().size(), 32767u);
  t.rows[1][0] = std::string(32768, 'b');
  EXPECT_EQ(data_error([&] { write_table(tmp / "long.xlsx", t); }),
            "in.csv: row 3, column \"text\": a cell of 32768 characters is longer than Excel's limit of 32767 "
            "characters per cell, and Excel would refuse the workbook; write .csv or .jsonl instead, or shorten the "
            "text");
  EXPECT_FALSE(std::filesystem::exists(tmp / "long.xlsx"));
  // Excel counts UTF-16 code units: U+1F600 (4 UTF-8 bytes) is 2; 16384 of them are 32768 units
  std::string emoji;
  for (int i = 0; i < 16384; ++i) emoji += "\xF0\x9F\x98\x80";
  t.rows[1][0] = emoji;
  EXPECT_THAT(data_error([&] { write_table(tmp / "emoji.xlsx", t); }), HasSubstr("a cell of 32768 characters"));
  // 32767 characters of 3-byte CJK are 32767 units: fine, though 98301 bytes
  std::string cjk;
  for (int i = 0; i < 32767; ++i) cjk += "\xE4\xB8\xAD";
  t.rows[1][0] = cjk;
  write_table(tmp / "cjk.xlsx", t);
}

// ---- 4. --label-names: integer labels are ids into the names in every file (real SST-2 and THUCNews)

TEST(LabelNames, IntegerLabelledEvaluationDataOnSst2) {
  TempDir tmp;
  write_text(tmp / "names.txt", "negative\npositive\n");  // the README's recipe
  DataOptions o;
  o.label_names_file = tmp / "names.txt";
  // train: the training file, then the evaluation file against the training labels (cmd_train.cpp)
  Dataset train = load_dataset(data("en/sst2/dev.tsv"), o);
  EXPECT_EQ(train.label_map.labels(), (std::vector<std::string>{"negative", "positive"}));
  Dataset eval = load_dataset(data("en/sst2/dev.tsv"), o, &train.label_map);
  ASSERT_EQ(eval.size(), 872u);
  // 428 negative and 444 positive (`cut -f2 dev.tsv | sort | uniq -c`)
  EXPECT_EQ(eval.label_counts(), (std::vector<size_t>{428, 444}));
  EXPECT_EQ(eval.examples[0].label, 1);  // "it 's a charming and often affecting journey ." is 1
  EXPECT_EQ(eval.examples[0].raw_label, "positive");
  // eval: the model's id2label, with or without --label-names again
  LabelMap model({"negative", "positive"});
  EXPECT_EQ(load_dataset(data("en/sst2/dev.tsv"), o, &model).label_counts(), (std::vector<size_t>{428, 444}));
  DataOptions plain;
  EXPECT_EQ(load_dataset(data("en/sst2/dev.tsv"), plain, &model).label_counts(), (std::vector<size_t>{428, 444}));
  // names that contradict the model are an error naming both
  write_text(tmp / "other.txt", "bad\ngood\n");
  DataOptions other;
  other.label_names_file = tmp / "other.txt";
  EXPECT_THAT(data_error([&] { load_dataset(data("en/sst2/dev.tsv"), other, &model); }),
              HasSubstr("lists \"bad\", \"good\", but the model's labels are \"negative\", \"positive\""));
  // a model whose labels are integers reads integer labels as names, not ids
  LabelMap numeric({"1", "0"});
  Dataset swapped = load_dataset(data("en/sst2/dev.tsv"), plain, &numeric);
  EXPECT_EQ(swapped.label_counts(), (std::vector<size_t>{444, 428}));
}

TEST(LabelNames, ThucnewsEvaluationWithClassTxt) {
  DataOptions o;
  o.read.has_header = false;
  o.text_column = "0";
  o.label_column = "1";
  o.label_names_file = data("zh/thucnews/class.txt");
  Dataset train = load_dataset(data("zh/thucnews/dev.txt"), o);
  Dataset eval = load_dataset(data("zh/thucnews/dev.txt"), o, &train.label_map);
  EXPECT_EQ(eval.size(), 10000u);
  for (size_t c : eval.label_counts()) EXPECT_EQ(c, 1000u);  // 1,000 titles a class
  // prediction with labels reads the ids too
  o.require_labels = false;
  EXPECT_EQ(load_dataset(data("zh/thucnews/dev.txt"), o).examples[0].raw_label, "game");  // id 8: class.txt line 9
}

// ---- 5. a JSONL file whose only row cannot be read says why, not "empty"

TEST(JsonlErrors, UnclosedDeepArrayInRowOneIsReportedForRowOne) {
  TempDir tmp;
  write_text(tmp / "deep.jsonl", std::string(100000, '[') + "\n");
  const std::string m = data_error([&] { load_dataset(tmp / "deep.jsonl"); });
  EXPECT_THAT(m, HasSubstr(tmp / "deep.jsonl" + ": no record could be read: row 1: not valid JSON"));
  EXPECT_THAT(m, Not(HasSubstr("empty")));
  write_text(tmp / "two.jsonl", "{\"text\": \"a\"\nnot json\n");
  EXPECT_THAT(data_error([&] { load_dataset(tmp / "two.jsonl"); }),
              HasSubstr(": no record could be read: row 1: not valid JSON"));
}

// ---- 6. the unknown-label report lists the known labels once

TEST(UnknownLabels, TheKnownLabelsAreListedOnce) {
  TempDir tmp;
  std::vector<std::string> known;
  for (int i = 0; i < 30; ++i) known.push_back("class_name_" + std::to_string(i));
  LabelMap model(known);
  std::string csv = "text,label\n";
  for (int i = 0; i < 10; ++i) csv += "t,unknown" + std::to_string(i) + "\n";
  write_text(tmp / "e.csv", csv);
  const std::string m = data_error([&] { load_dataset(tmp / "e.csv", {}, &model); });
  EXPECT_EQ(count(m, "\"class_name_0\""), 1u) << m;
  EXPECT_EQ(count(m, "was not in the training data"), 10u);
  EXPECT_THAT(m, HasSubstr("(the model knows \"class_name_0\", \"class_name_1\""));
  EXPECT_THAT(m, HasSubstr("... (30 in all)) (fix them"));
  EXPECT_LT(m.size(), 1500u);  // it was 2.6 KB with the list on every row
}

// ---- 7 and 9. encodings

TEST(Encodings, Utf16And32AndBinaryFilesAreNamedWithTheOptionToReadThem) {
  TempDir tmp;
  auto utf16le = [](const std::string& ascii) {
    std::string s;
    for (char c : ascii) s += std::string{c, '\0'};
    return s;
  };
  write_text(tmp / "bom.csv", "\xFF\xFE" + utf16le("text,label\nhi,1\n"));
  EXPECT_EQ(data_error([&] { read_table(tmp / "bom.csv"); }),
            tmp / "bom.csv" +
                ": the file is UTF-16LE text (it begins with a UTF-16LE byte order mark), not UTF-8: pass --encoding "
                "utf-16 (or save it as UTF-8)");
  std::string be = "\xFE\xFF";
  for (char c : std::string("text,label\nhi,1\n")) be += std::string{'\0', c};
  write_text(tmp / "be.csv", be);
  EXPECT_THAT(data_error([&] { read_table(tmp / "be.csv"); }), HasSubstr("UTF-16BE byte order mark"));
  write_text(tmp / "nobom.csv", utf16le("text,label\nhi,1\n"));
  EXPECT_THAT(data_error([&] { read_table(tmp / "nobom.csv"); }),
              HasSubstr("looks like UTF-16LE text without a byte order mark, not UTF-8: pass --encoding utf-16le"));
  write_text(tmp / "u32.jsonl", std::string("\xFF\xFE\0\0", 4) + "{");
  EXPECT_THAT(data_error([&] { read_table(tmp / "u32.jsonl"); }), HasSubstr("UTF-32LE byte order mark"));
  std::string binary(4096, '\0');
  for (size_t i = 0; i < binary.size(); i += 3) binary[i] = 'x';
  write_text(tmp / "bin.csv", binary);
  EXPECT_THAT(data_error([&] { read_table(tmp / "bin.csv"); }), HasSubstr("not a text file"));
  // with --encoding they read
  ReadOptions o;
  o.encoding = "utf-16";
  for (const char* f : {"bom.csv", "be.csv", "nobom.csv"}) {
    Table t = read_table(tmp / f, o);
    ASSERT_EQ(t.columns, (std::vector<std::string>{"text", "label"})) << f;
    EXPECT_EQ(t.rows[0][0], "hi") << f;
  }
}

TEST(Encodings, DecodesLatin1Cp1252Utf16AndUtf8Sig) {
  // Expected text from the code charts: ISO-8859-1 0xE9 is U+00E9; cp1252 0x80 is U+20AC and
  // 0x93/0x94 are U+201C/U+201D (Python's codecs give the same)
  EXPECT_EQ(decode_text("caf\xE9", "latin-1", "f"), "caf\xC3\xA9");
  EXPECT_EQ(decode_text("\x80 \x93q\x94", "cp1252", "f"), "\xE2\x82\xAC \xE2\x80\x9Cq\xE2\x80\x9D");
  EXPECT_EQ(decode_text("\x80", "windows-1252", "f"), "\xE2\x82\xAC");
  EXPECT_EQ(decode_text(std::string("a\0\xE9\0", 4), "utf-16le", "f"), "a\xC3\xA9");
  EXPECT_EQ(decode_text(std::string("\0a\0\xE9", 4), "UTF-16BE", "f"), "a\xC3\xA9");
  EXPECT_EQ(decode_text(std::string("\xFE\xFF\0a", 4), "utf-16", "f"), "a");  // BOM gives the order, and goes
  EXPECT_EQ(decode_text(std::string("a\0", 2), "utf-16", "f"), "a");          // no BOM: little-endian
  EXPECT_EQ(decode_text("\xEF\xBB\xBFtext", "utf-8-sig", "f"), "text");
  // another iconv name: GB18030 0xD6D0 is U+4E2D
  EXPECT_EQ(decode_text("\xD6\xD0", "gb18030", "f"), "\xE4\xB8\xAD");
}

TEST(Encodings, InvalidBytesNameLineColumnAndByte) {
  // 0x81 has no character in cp1252 (Python: 'charmap' codec can't decode byte 0x81)
  EXPECT_EQ(data_error([] { decode_text("a,b\nxy\x81z", "cp1252", "f.csv"); }),
            "f.csv: line 2, column 3 (byte 6): bytes 0x81 0x7A are not valid cp1252 (is the file in another "
            "encoding? pass the right --encoding)");
  EXPECT_THAT(data_error([] { decode_text(std::string("a\0b", 3), "utf-16le", "f.csv"); }),
              HasSubstr("f.csv: line 1, column 2 (byte 2): the file ends inside a character"));
  EXPECT_THROW(decode_text("x", "klingon-8", "f"), UsageError);
  // through read_table: offsets are in the decoded text, cells decoded
  TempDir tmp;
  write_text(tmp / "l1.csv", "text,label\ncaf\xE9,1\n");
  ReadOptions o;
  o.encoding = "latin-1";
  EXPECT_EQ(read_table(tmp / "l1.csv", o).rows[0][0], "caf\xC3\xA9");
}

// ---- 8. the CSV delimiter: --delimiter, or sniffed as Python's csv.Sniffer does

TEST(Delimiter, SniffedAsPythonsCsvSniffer) {
  // Expected: Python 3.11 `csv.Sniffer().sniff(sample, ",;\t|").delimiter` (None: csv.Error). The
  // first six are the samples of CPython's Lib/test/test_csv.py, TestSniffer.
  const std::vector<std::pair<std::string, std::optional<char>>> cases = {
      {"Harry's, Arlington Heights, IL, 2/1/03, Kimi Hayes\nShark City, Glendale Heights, IL, 12/28/02, "
       "Prezence\nTommy's Place, Blue Island, IL, 12/28/02, Blue Sunday/White Crow\nStonecutters Seafood and Chop "
       "House, Lemont, IL, 12/19/02, Week Back\n",
       ','},
      {"'Harry''s':'Arlington Heights':'IL':'2/1/03':'Kimi Hayes'\n'Shark City':'Glendale "
       "Heights':'IL':'12/28/02':'Prezence'\n'Tommy''s Place':'Blue Island':'IL':'12/28/02':'Blue Sunday/White "
       "Crow'\n'Stonecutters ''Seafood'' and Chop House':'Lemont':'IL':'12/19/02':'Week Back'\n",
       std::nullopt},
      {"2147483648;43.0e12;17;abc;def\n147483648;43.0e2;17;abc;def\n47483648;43.0;170;abc;def\n", ';'},
      {"aaa\tbbb\r\nAAA\t\r\nBBB\t\r\n", '\t'},
      {"a|b|c\r\nd|e|f\r\n", '|'},
      {"'a'|'b'|'c'\r\n'd'|e|f\r\n", '|'},
      {"Name;Preis;Menge\n\"K\xC3\xA4se\";\"3,50\";2\n\"Brot, dunkel\";\"2,10\";1\n", ';'},
      {"text;label\nsehr gut, danke;1\nschlecht;0\nnaja, geht so;0\n", ';'},
      {"text,label\n\"a; b; c\",1\nplain;x,0\n", ','},
      {"sentence\tlabel\nhello world\t1\nbye\t0\n", '\t'},
      {"text|label\ngood film|1\nbad, awful film|0\n", '|'},
      {"a;b;c\n", ';'},
      {"a,b;c\nd,e;f\ng,h;i\n", ','},
  };
  for (const auto& [sample, expected] : cases) EXPECT_EQ(sniff_delimiter(sample), expected) << sample;
}

TEST(Delimiter, SemicolonCsvReadsAndTheOptionOverrides) {
  TempDir tmp;
  write_text(tmp / "eu.csv", "text;label\n\"sehr gut; danke\";1\nschlecht;0\n");
  Table t = read_table(tmp / "eu.csv");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"text", "label"}));
  EXPECT_EQ(t.rows[0][0], "sehr gut; danke");
  EXPECT_EQ(t.format, Format::kCsv);
  ReadOptions o;
  o.delimiter = ',';
  EXPECT_EQ(read_table(tmp / "eu.csv", o).columns, (std::vector<std::string>{"text;label"}));
  // a one-column file whose texts hold ';' stays one column: the header has no ';'
  write_text(tmp / "one.csv", "text\na;b\nc;d\ne;f\n");
  EXPECT_EQ(read_table(tmp / "one.csv").columns, (std::vector<std::string>{"text"}));
  EXPECT_EQ(parse_delimiter("tab"), '\t');
  EXPECT_EQ(parse_delimiter(";"), ';');
  EXPECT_THROW(parse_delimiter(";;"), UsageError);
  EXPECT_THROW(parse_delimiter("\""), UsageError);
}

}  // namespace
}  // namespace textune::data
