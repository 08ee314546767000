// Readers and validation on hand-written files: every kind of bad input of issue 5, each asserting
// the behaviour and the message (file, row, column).
#include <gmock/gmock.h>

#include "data/xlsx_helpers.h"
#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/data/dataset.h"
#include "textune/data/table.h"

namespace textune::data {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;
using testing::write_text;

/// The message of the DataError `f` throws.
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

template <typename F>
std::string usage_error(F&& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no UsageError thrown";
  return "";
}

// ---------------------------------------------------------------------------------------------
// CSV / TSV

TEST(Csv, QuotedFieldsHoldDelimitersDoubledQuotesAndNewlines) {
  TempDir tmp;
  const std::string path = tmp / "quoted.csv";
  // RFC 4180 section 2: fields with line breaks, double quotes and commas are enclosed in quotes;
  // a quote inside is doubled.
  write_text(path, "text,label\n\"first line\nsecond line\",pos\n\"say \"\"hi\"\", then go\",neg\nplain,pos\n");
  Dataset ds = load_dataset(path);
  ASSERT_EQ(ds.size(), 3u);
  EXPECT_EQ(ds.examples[0].text, "first line\nsecond line");
  EXPECT_EQ(ds.examples[1].text, "say \"hi\", then go");
  EXPECT_EQ(ds.examples[2].text, "plain");
  // rows are the line where each record starts: the quoted newline moves the next record to line 4
  EXPECT_EQ(ds.examples[0].row, 2u);
  EXPECT_EQ(ds.examples[1].row, 4u);
  EXPECT_EQ(ds.examples[2].row, 5u);
}

TEST(Csv, ByteOrderMarkAndCrlfAreInvisible) {
  TempDir tmp;
  const std::string path = tmp / "bom.csv";
  write_text(path, "\xEF\xBB\xBFtext,label\r\ncaf\xC3\xA9,1\r\n\"two\r\nlines\",0\r\n");
  Dataset ds = load_dataset(path);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.text_column, "text");  // not "\xEF\xBB\xBFtext"
  EXPECT_EQ(ds.examples[0].text, "caf\xC3\xA9");
  EXPECT_EQ(ds.examples[0].raw_label, "1");        // no trailing \r
  EXPECT_EQ(ds.examples[1].text, "two\r\nlines");  // inside quotes the line break is data
}

TEST(Csv, UnclosedQuoteIsAnErrorWithItsRow) {
  TempDir tmp;
  const std::string path = tmp / "open.csv";
  write_text(path, "text,label\nok,1\n\"never closed,1\nmore,0\n");
  EXPECT_EQ(data_error([&] { load_dataset(path); }),
            path +
                ": row 3: a quoted field is never closed (expected a closing \" before the end of the file; for a "
                "TSV file with stray quotes pass --quoting none)");
}

TEST(Tsv, AutoQuotingKeepsStrayQuotesLiteral) {
  // GLUE MRPC/STS-B style: a sentence that starts with an unmatched quote must not swallow rows.
  const std::string tsv =
      "label\ts1\ts2\n1\t\" The pie business does not fit .\tIt said \" fine \" today .\n"
      "0\tHe wrote \"a\" b\tok\n1\t\"quoted\ttab\"\tx\n";
  Table t = parse_delimited(tsv, '\t', Quoting::kAuto, true, "mem.tsv");
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_EQ(t.rows[0][1], "\" The pie business does not fit .");
  EXPECT_EQ(t.rows[0][2], "It said \" fine \" today .");
  EXPECT_EQ(t.rows[1][1], "He wrote \"a\" b");
  EXPECT_EQ(t.rows[2][1], "quoted\ttab");  // a quoted field that needs its quotes is unquoted
  // MRPC dev row 365 / STS-B train row 2105: a quote opens one sentence and closes the next, with a tab
  // between; read as quoted the record would have one field too few, so its quotes are literal.
  Table m = parse_delimited("a\tb\tc\n0\t\" The elements are in place .\tThey attack us . \"\n1\tx\ty\n", '\t',
                            Quoting::kAuto, true, "mem.tsv");
  ASSERT_EQ(m.rows.size(), 2u);
  EXPECT_EQ(m.rows[0][1], "\" The elements are in place .");
  EXPECT_EQ(m.rows[0][2], "They attack us . \"");
  // quotes that are not needed are data; a doubled quote shows real quoting; so does a line break
  Table q = parse_delimited("a\tb\n\"word\"\t1\n\"say \"\"hi\"\"\"\t2\n\"two\nlines\"\t3\n", '\t', Quoting::kAuto, true,
                            "mem.tsv");
  ASSERT_EQ(q.rows.size(), 3u);
  EXPECT_EQ(q.rows[0][0], "\"word\"");
  EXPECT_EQ(q.rows[1][0], "say \"hi\"");
  EXPECT_EQ(q.rows[2][0], "two\nlines");
  EXPECT_EQ(q.row_numbers, (std::vector<size_t>{2, 3, 4}));
  // Strict RFC 4180 reads the same bytes differently (the stray quote opens a field).
  Table strict = parse_delimited("a\tb\n\"x\ty\"\tz\n", '\t', Quoting::kRfc4180, true, "mem.tsv");
  ASSERT_EQ(strict.rows.size(), 1u);
  EXPECT_EQ(strict.rows[0][0], "x\ty");
  // Without quoting the same line has three fields, one more than the header: a problem of row 2.
  Table none = parse_delimited("a\tb\n\"x\ty\"\tz\n", '\t', Quoting::kNone, true, "mem.tsv");
  EXPECT_TRUE(none.rows.empty());
  ASSERT_EQ(none.problems.size(), 1u);
  EXPECT_EQ(none.problems[0].row, 2u);
  Table none2 = parse_delimited("a\tb\n\"x\"\tz\n", '\t', Quoting::kNone, true, "mem.tsv");
  ASSERT_EQ(none2.rows.size(), 1u);
  EXPECT_EQ(none2.rows[0][0], "\"x\"");
}

TEST(Tsv, HeaderlessFileUsesColumnIndexes) {
  TempDir tmp;
  const std::string path = tmp / "cola.tsv";
  // GLUE CoLA: source, label, original label, sentence; no header.
  write_text(path,
             "gj04\t1\t\tThe sailors rode the breeze clear of the rocks.\ngj04\t0\t*\tThe more we study verbs.\n");
  DataOptions o;
  o.read.has_header = false;
  o.text_column = "3";
  o.label_column = "1";
  Dataset ds = load_dataset(path, o);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.examples[0].text, "The sailors rode the breeze clear of the rocks.");
  EXPECT_EQ(ds.examples[1].label, 0);
  EXPECT_EQ(ds.examples[0].row, 1u);
  EXPECT_EQ(ds.label_map.labels(), (std::vector<std::string>{"0", "1"}));
}

TEST(Tsv, MissingColumnListsTheColumns) {
  TempDir tmp;
  const std::string path = tmp / "cols.tsv";
  write_text(path, "review\tstars\ngood\t5\n");
  EXPECT_EQ(data_error([&] { load_dataset(path); }),
            path +
                ": no text column \"text\", \"sentence\", \"sentence1\" or \"text_a\" (the columns are \"review\", "
                "\"stars\"; pass --text-column NAME, or --text-column INDEX with --no-header for a file without a "
                "header)");
  DataOptions o;
  o.text_column = "review";
  EXPECT_THAT(data_error([&] { load_dataset(path, o); }), HasSubstr("no label column \"label\" or \"labels\""));
  o.label_column = "rating";
  EXPECT_THAT(data_error([&] { load_dataset(path, o); }),
              HasSubstr("no label column \"rating\" (the columns are \"review\", \"stars\""));
  o.label_column = "stars";
  EXPECT_EQ(load_dataset(path, o).examples[0].raw_label, "5");
}

TEST(Tsv, TxtReadsAsTsvAndFormatCanBeForced) {
  TempDir tmp;
  write_text(tmp / "a.txt", "text\tlabel\nx\ty\n");
  EXPECT_EQ(load_dataset(tmp / "a.txt").examples[0].raw_label, "y");
  write_text(tmp / "b.data", "text;label\n");
  EXPECT_THAT(usage_error([&] { load_dataset(tmp / "b.data"); }), HasSubstr("unknown extension .data"));
  write_text(tmp / "c.data", "text,label\nx,y\n");
  DataOptions o;
  o.read.format = Format::kCsv;
  EXPECT_EQ(load_dataset(tmp / "c.data", o).size(), 1u);
}

TEST(Tsv, TooManyFieldsIsAProblemOfThatRow) {
  TempDir tmp;
  const std::string path = tmp / "ragged.tsv";
  write_text(path, "text\tlabel\na\t1\nb\t0\textra\n");
  EXPECT_EQ(data_error([&] { load_dataset(path); }),
            path +
                ": 1 invalid row of 2: row 3: 3 fields where the header has 2 (a stray tab in a text? quote the "
                "field) (fix them, or pass --skip-invalid to leave such rows out)");
}

// ---------------------------------------------------------------------------------------------
// validation

TEST(Validation, EmptyTextsStopLoadingWithTheReport) {
  TempDir tmp;
  const std::string path = tmp / "empty.csv";
  write_text(path, "text,label\nfine,a\n,b\n   ,c\ngood,a\n");
  EXPECT_EQ(data_error([&] { load_dataset(path); }),
            path +
                ": 2 invalid rows of 4: row 3, column \"text\": empty text; row 4, column \"text\": empty text "
                "(fix them, or pass --skip-invalid to leave such rows out)");
  DataOptions o;
  o.skip_invalid = true;
  Dataset ds = load_dataset(path, o);
  EXPECT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.report.num_invalid_rows, 2u);
  EXPECT_EQ(ds.report.num_rows, 4u);
  EXPECT_EQ(ds.report.num_examples, 2u);
  // labels of skipped rows do not enter the label map
  EXPECT_EQ(ds.label_map.labels(), (std::vector<std::string>{"a"}));
}

TEST(Validation, ReportListsTheFirstProblemsAndCountsTheRest) {
  TempDir tmp;
  const std::string path = tmp / "many.csv";
  std::string s = "text,label\n";
  for (int i = 0; i < 5; ++i) s += ",x\n";
  write_text(path, s);
  DataOptions o;
  o.max_problems = 2;
  EXPECT_EQ(data_error([&] { load_dataset(path, o); }),
            path +
                ": 5 invalid rows of 5: row 2, column \"text\": empty text; row 3, column \"text\": empty text; "
                "and 3 more problems (fix them, or pass --skip-invalid to leave such rows out)");
  o.skip_invalid = true;
  EXPECT_EQ(data_error([&] { load_dataset(path, o); }), path + ": no examples (every row is invalid)");
}

TEST(Validation, MissingLabelAndLatin1Bytes) {
  TempDir tmp;
  const std::string path = tmp / "latin1.csv";
  // "café" in Latin-1 is 63 61 66 E9; E9 starts a 3-byte UTF-8 sequence that "," does not continue.
  write_text(path, "text,label\ncaf\xE9,1\nok,\n");
  EXPECT_EQ(data_error([&] { load_dataset(path); }),
            path +
                ": 2 invalid rows of 2: row 2, column \"text\": not valid UTF-8 (byte 0xE9 at byte 3; the file is "
                "probably Latin-1 or Windows-1252: save it as UTF-8); row 3, column \"label\": missing label "
                "(fix them, or pass --skip-invalid to leave such rows out)");
}

TEST(Validation, StringLabelsAreSortedBytewiseIntegersNumerically) {
  TempDir tmp;
  write_text(tmp / "s.csv", "text,label\na,positive\nb,negative\nc,Neutral\nd,positive\n");
  Dataset s = load_dataset(tmp / "s.csv");
  // bytewise: 'N' (0x4E) < 'n' (0x6E) < 'p'
  EXPECT_EQ(s.label_map.labels(), (std::vector<std::string>{"Neutral", "negative", "positive"}));
  EXPECT_EQ(s.examples[0].label, 2);
  EXPECT_EQ(s.examples[2].label, 0);
  write_text(tmp / "i.csv", "text,label\na,10\nb,2\nc,-1\nd,2\n");
  Dataset i = load_dataset(tmp / "i.csv");
  EXPECT_EQ(i.label_map.labels(), (std::vector<std::string>{"-1", "2", "10"}));  // not "-1", "10", "2"
  EXPECT_EQ(i.examples[0].label, 2);
  EXPECT_EQ(example_to_json(i, i.examples[0]).dump(), R"({"text":"a","label":10})");
  EXPECT_EQ(example_to_json(s, s.examples[0]).dump(), R"({"text":"a","label":"positive"})");
}

TEST(Validation, LabelUnseenInTrainingNamesItAndItsRow) {
  TempDir tmp;
  write_text(tmp / "train.csv", "text,label\na,pos\nb,neg\n");
  write_text(tmp / "dev.csv", "text,label\nc,neg\nd,neutral\ne,pos\n");
  Dataset train = load_dataset(tmp / "train.csv");
  EXPECT_EQ(data_error([&] { load_dataset(tmp / "dev.csv", {}, &train.label_map); }),
            tmp / "dev.csv" +
                ": 1 invalid row of 3: row 3, column \"label\": label \"neutral\" was not in the training data (the "
                "model knows \"neg\", \"pos\") (fix them, or pass --skip-invalid to leave such rows out)");
  // the evaluation file uses the training ids even where its own sorted labels would differ
  write_text(tmp / "dev2.csv", "text,label\nc,pos\n");
  EXPECT_EQ(load_dataset(tmp / "dev2.csv", {}, &train.label_map).examples[0].label, 1);
}

TEST(Validation, PlaceholderLabelsAcceptIntegerIds) {
  // A model saved without labels has id2label {"0": "LABEL_0", ...}; integer labels are its ids.
  core::Json config = core::Json::parse(R"({"id2label": {"0": "LABEL_0", "1": "LABEL_1"}})");
  LabelMap m = LabelMap::from_config(config);
  EXPECT_TRUE(m.is_placeholder());
  TempDir tmp;
  write_text(tmp / "d.tsv", "sentence\tlabel\nx\t1\ny\t2\n");
  EXPECT_THAT(data_error([&] { load_dataset(tmp / "d.tsv", {}, &m); }),
              HasSubstr("row 3, column \"label\": label \"2\" was not in the training data"));
}

TEST(Validation, RegressionNeedsNumbers) {
  TempDir tmp;
  const std::string path = tmp / "sts.tsv";
  write_text(path, "sentence1\tsentence2\tscore\na\tb\t4.750\nc\td\tfive\ne\tf\t0\n");
  DataOptions o;
  o.task = Task::kRegression;
  EXPECT_EQ(data_error([&] { load_dataset(path, o); }),
            path +
                ": 1 invalid row of 3: row 3, column \"score\": label \"five\" is not a number (regression needs a "
                "number in every row) (fix them, or pass --skip-invalid to leave such rows out)");
  o.skip_invalid = true;
  Dataset ds = load_dataset(path, o);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds.text_pair_column, "sentence2");  // the GLUE pair default
  EXPECT_DOUBLE_EQ(ds.examples[0].value, 4.75);
  EXPECT_EQ(*ds.examples[0].text_pair, "b");
  EXPECT_TRUE(ds.label_map.empty());
  EXPECT_EQ(ds.num_labels(), 1u);
  EXPECT_EQ(example_to_json(ds, ds.examples[0]).dump(), R"({"text":"a","text_pair":"b","label":4.75})");
}

TEST(Validation, MultiLabelFromSeparatorJsonListsAndArrays) {
  TempDir tmp;
  write_text(tmp / "m.csv", "text,label\na,\"sports, politics\"\nb,politics\nc,\"[\"\"tech\"\"]\"\n");
  DataOptions o;
  o.task = Task::kMultiLabel;
  o.label_separator = ",";
  Dataset ds = load_dataset(tmp / "m.csv", o);
  EXPECT_EQ(ds.label_map.labels(), (std::vector<std::string>{"politics", "sports", "tech"}));
  EXPECT_EQ(ds.examples[0].label_ids, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(ds.examples[2].label_ids, (std::vector<int64_t>{2}));
  EXPECT_EQ(example_to_json(ds, ds.examples[0]).dump(), R"({"text":"a","label":["politics","sports"]})");
  EXPECT_EQ(ds.label_counts(), (std::vector<size_t>{2, 1, 1}));

  write_text(tmp / "m.jsonl", "{\"text\": \"a\", \"labels\": [1, 3]}\n{\"text\": \"b\", \"labels\": []}\n");
  o.label_separator.reset();
  Dataset j = load_dataset(tmp / "m.jsonl", o);
  EXPECT_EQ(j.label_map.labels(), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(j.examples[0].label_ids, (std::vector<int64_t>{0, 1}));
  EXPECT_TRUE(j.examples[1].label_ids.empty());  // an empty list is a row with no label, not a missing one
  EXPECT_EQ(example_to_json(j, j.examples[0]).dump(), R"({"text":"a","label":[1,3]})");
}

TEST(Validation, ClassificationRejectsAListLabel) {
  TempDir tmp;
  write_text(tmp / "l.jsonl", "{\"text\": \"a\", \"label\": [\"x\", \"y\"]}\n");
  EXPECT_THAT(data_error([&] { load_dataset(tmp / "l.jsonl"); }),
              HasSubstr("row 1, column \"label\": expected one label, found a JSON list (for several labels per row "
                        "pass --task multi-label)"));
}

TEST(Validation, LabelNamesFileMapsIds) {
  TempDir tmp;
  write_text(tmp / "class.txt", "finance\nrealty\nstocks");  // no final newline, like THUCNews
  write_text(tmp / "dev.txt", "title one\t2\ntitle two\t0\ntitle three\t3\n");
  DataOptions o;
  o.read.has_header = false;
  o.text_column = "0";
  o.label_column = "1";
  o.label_names_file = tmp / "class.txt";
  EXPECT_THAT(data_error([&] { load_dataset(tmp / "dev.txt", o); }),
              HasSubstr("row 3, column \"1\": label \"3\" is neither an id 0..2 nor a name of " + tmp / "class.txt"));
  o.skip_invalid = true;
  Dataset ds = load_dataset(tmp / "dev.txt", o);
  EXPECT_EQ(ds.label_map.labels(), (std::vector<std::string>{"finance", "realty", "stocks"}));
  EXPECT_EQ(ds.examples[0].label, 2);
  EXPECT_EQ(ds.examples[0].raw_label, "stocks");
}

TEST(Validation, PredictionFilesNeedNoLabels) {
  TempDir tmp;
  write_text(tmp / "p.csv", "text\nhello\n");
  DataOptions o;
  o.require_labels = false;
  Dataset ds = load_dataset(tmp / "p.csv", o);
  EXPECT_FALSE(ds.has_labels());
  EXPECT_EQ(example_to_json(ds, ds.examples[0]).dump(), R"({"text":"hello"})");
}

TEST(LabelMapTest, ConfigRoundTrip) {
  LabelMap m({"negative", "positive"});
  core::Json config = core::Json::object();
  m.to_config(config);
  EXPECT_EQ(config.dump(), R"({"id2label":{"0":"negative","1":"positive"},"label2id":{"negative":0,"positive":1}})");
  EXPECT_EQ(LabelMap::from_config(config), m);
  EXPECT_THROW(LabelMap({"a", "a"}), DataError);
  EXPECT_THROW(LabelMap::from_config(core::Json::parse(R"({"id2label": {"0": "a", "2": "b"}})")), DataError);
}

// ---------------------------------------------------------------------------------------------
// JSON Lines and JSON

TEST(Jsonl, BadLineIsAProblemOfItsRow) {
  TempDir tmp;
  const std::string path = tmp / "d.jsonl";
  write_text(path, "{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": }\n[1, 2]\n");
  const std::string msg = data_error([&] { load_dataset(path); });
  EXPECT_THAT(msg, HasSubstr(path + ": 2 invalid rows of 3: row 3: not valid JSON: "));
  EXPECT_THAT(msg, HasSubstr("; row 4: expected a JSON object {\"text\": ..., \"label\": ...}"));
  DataOptions o;
  o.skip_invalid = true;
  Dataset ds = load_dataset(path, o);
  ASSERT_EQ(ds.size(), 1u);
  EXPECT_EQ(ds.examples[0].raw_label, "1");  // JSON number 1 is the label "1"
}

TEST(Json, ArrayOfRecordsAndJsonLinesInADotJsonFile) {
  TempDir tmp;
  write_text(tmp / "a.json", R"([{"sentence": "x", "label": 0}, {"label": 1, "sentence": "y", "extra": true}])");
  Dataset a = load_dataset(tmp / "a.json");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a.examples[1].text, "y");
  EXPECT_EQ(a.examples[1].row, 2u);
  Table t = read_table(tmp / "a.json");
  EXPECT_EQ(t.columns, (std::vector<std::string>{"sentence", "label", "extra"}));
  EXPECT_TRUE(t.rows[0][2].is_null());
  // as the `datasets` json loader: a .json file that is not an array is read as JSON Lines
  write_text(tmp / "b.json", "{\"text\": \"x\", \"label\": \"a\"}\n{\"text\": \"y\", \"label\": \"b\"}\n");
  EXPECT_EQ(load_dataset(tmp / "b.json").size(), 2u);
  write_text(tmp / "c.json", "[{\"text\": \"x\",]");
  EXPECT_THAT(data_error([&] { load_dataset(tmp / "c.json"); }), HasSubstr(tmp / "c.json" + ": not valid JSON: "));
}

// ---------------------------------------------------------------------------------------------
// Excel

// Styles as Excel writes them: cellXfs 0 General, 1 built-in 14 (m/d/yyyy), 2 custom 164
// (yyyy-mm-dd hh:mm), 3 built-in 21 (h:mm:ss), 4 custom 165 (0.00, not a date).
const char* kStyles =
    R"(<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\-mm\-dd\ hh:mm"/><numFmt numFmtId="165" formatCode="0.00"/></numFmts>)"
    R"(<cellXfs count="5"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="164" applyNumberFormat="1"/><xf numFmtId="21" applyNumberFormat="1"/><xf numFmtId="165" applyNumberFormat="1"/></cellXfs>)";

TEST(Xlsx, SharedInlineNumbersBooleansAndEmptyCells) {
  TempDir tmp;
  const std::string path = tmp / "cells.xlsx";
  testing::write_workbook(
      path,
      {{"Data",
        R"(<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>n</t></is></c></row>)"
        R"(<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2"><v>5</v></c><c r="C2"><v>2.5</v></c></row>)"
        R"(<row r="3"><c r="A3" t="inlineStr"><is><t xml:space="preserve"> spaced </t></is></c><c r="B3" t="b"><v>1</v></c><c r="C3" s="4"><v>1E-3</v></c></row>)"
        R"(<row r="5"><c r="A5" t="s"><v>3</v></c><c r="C5"><v>-7</v></c></row>)"},
       {"Other", R"(<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c></row>)"}},
      {"<t>text</t>", "<t>label</t>", "<t>good &amp; fine</t>", "<r><t>rich </t></r><r><rPr><b/></rPr><t>text</t></r>"},
      kStyles);
  Table t = read_table(path);
  EXPECT_EQ(t.columns, (std::vector<std::string>{"text", "label", "n"}));
  ASSERT_EQ(t.rows.size(), 3u);  // row 4 is absent (empty), so is not a row
  EXPECT_EQ(t.rows[0][0], "good & fine");
  EXPECT_TRUE(t.rows[0][1].is_number_integer());  // 5, not 5.0
  EXPECT_EQ(t.rows[0][1], 5);
  EXPECT_EQ(t.rows[0][2], 2.5);
  EXPECT_EQ(t.rows[1][0], " spaced ");
  EXPECT_EQ(t.rows[1][1], true);
  EXPECT_EQ(t.rows[1][2], 0.001);
  EXPECT_EQ(t.rows[2][0], "rich text");
  EXPECT_TRUE(t.rows[2][1].is_null());  // the empty cell B5
  EXPECT_EQ(t.row_numbers, (std::vector<size_t>{2, 3, 5}));
  EXPECT_EQ(xlsx_sheet_names(path), (std::vector<std::string>{"Data", "Other"}));

  // the empty Excel cell is a missing label in row 5 as Excel numbers it
  EXPECT_EQ(data_error([&] { load_dataset(path); }),
            path +
                ": 1 invalid row of 3: row 5, column \"label\": missing label (fix them, or pass --skip-invalid to "
                "leave such rows out)");
  DataOptions o;
  o.skip_invalid = true;
  Dataset ds = load_dataset(path, o);
  EXPECT_EQ(ds.label_map.labels(), (std::vector<std::string>{"5", "true"}));
  EXPECT_EQ(ds.examples[0].raw_label, "5");

  ReadOptions r;
  r.sheet = "Other";
  EXPECT_EQ(read_table(path, r).columns, (std::vector<std::string>{"text"}));
  r.sheet = "Missing";
  EXPECT_EQ(data_error([&] { read_table(path, r); }),
            path + ": no sheet named \"Missing\" (the workbook has \"Data\", \"Other\")");
}

TEST(Xlsx, DatesIn1900And1904Systems) {
  // 2021-01-01 is serial 44197 in the 1900 system and 44197 - 1462 = 42735 in the 1904 system
  // (1462 days from 1900-01-01 to 1904-01-01, counting Excel's fictitious 1900-02-29).
  auto sheet = [](const std::string& serial) {
    return std::string(
               R"(<row r="1"><c r="A1" t="inlineStr"><is><t>text</t></is></c><c r="B1" t="inlineStr"><is><t>d</t></is></c><c r="C1" t="inlineStr"><is><t>t</t></is></c><c r="D1" t="inlineStr"><is><t>x</t></is></c></row>)") +
           R"(<row r="2"><c r="A2" t="inlineStr"><is><t>a</t></is></c><c r="B2" s="1"><v>)" + serial +
           R"(</v></c><c r="C2" s="2"><v>)" + serial + R"(.5</v></c><c r="D2" s="3"><v>0.75</v></c></row>)";
  };
  TempDir tmp;
  testing::write_workbook(tmp / "d1900.xlsx", {{"S", sheet("44197")}}, {}, kStyles, false);
  testing::write_workbook(tmp / "d1904.xlsx", {{"S", sheet("42735")}}, {}, kStyles, true);
  for (const std::string name : {"d1900.xlsx", "d1904.xlsx"}) {
    Table t = read_table(tmp / name);
    EXPECT_EQ(t.rows[0][1], "2021-01-01") << name;
    EXPECT_EQ(t.rows[0][2], "2021-01-01T12:00:00") << name;  // yyyy-mm-dd hh:mm with half a day
    EXPECT_EQ(t.rows[0][3], "18:00:00") << name;             // h:mm:ss, 0.75 of a day
  }
}

TEST(Xlsx, SerialDatesAroundTheLeapYearBug) {
  // 1900 system: serial 1 = 1900-01-01; 59 = 1900-02-28; 60 = the 1900-02-29 Excel shows (Lotus
  // 1-2-3's bug: 1900 was not a leap year); 61 = 1900-03-01. 1904 system: 0 = 1904-01-01.
  EXPECT_EQ(excel_serial_to_iso(1, false), "1900-01-01");
  EXPECT_EQ(excel_serial_to_iso(59, false), "1900-02-28");
  EXPECT_EQ(excel_serial_to_iso(60, false), "1900-02-29");
  EXPECT_EQ(excel_serial_to_iso(61, false), "1900-03-01");
  EXPECT_EQ(excel_serial_to_iso(0, true), "1904-01-01");
  EXPECT_EQ(excel_serial_to_iso(366, true), "1905-01-01");  // 1904 is a leap year: 366 days
  EXPECT_EQ(excel_serial_to_iso(45658.25, false), "2025-01-01T06:00:00");
  EXPECT_EQ(excel_serial_to_iso(0.999999999, false, true), "00:00:00");  // rounds to the next day
  EXPECT_THROW(excel_serial_to_iso(-1, false), DataError);
}

TEST(Xlsx, NotAWorkbook) {
  TempDir tmp;
  write_text(tmp / "fake.xlsx", "text,label\na,b\n");
  EXPECT_EQ(data_error([&] { read_table(tmp / "fake.xlsx"); }),
            tmp / "fake.xlsx" +
                ": not an Excel .xlsx workbook (not a zip archive; an old .xls or a CSV file renamed? pass --format)");
}

TEST(Xlsx, WriterRoundTripsEveryKindOfCell) {
  TempDir tmp;
  Table t;
  t.source = "mem";
  t.columns = {"text", "label", "n"};
  t.rows = {{core::Json(" lead and trail "), core::Json("1"), core::Json(5)},
            {core::Json("tab\there\r\nand <xml> & \"quotes\" _x000D_ \x01"), core::Json(true), core::Json(0.1)},
            {core::Json("\xE4\xBD\xA0\xE5\xA5\xBD"), core::Json(), core::Json(-2.5e-9)},
            {core::Json(" "), core::Json("x"), core::Json(12345678901234LL)}};
  t.row_numbers = {2, 3, 4, 5};
  for (bool shared : {true, false}) {
    WriteOptions w;
    w.xlsx_shared_strings = shared;
    w.sheet = "Train & dev";
    write_table(tmp / "t.xlsx", t, w);
    Table back = read_table(tmp / "t.xlsx");
    EXPECT_EQ(back.columns, t.columns);
    EXPECT_EQ(back.rows, t.rows) << "shared strings: " << shared;
    EXPECT_EQ(xlsx_sheet_names(tmp / "t.xlsx"), (std::vector<std::string>{"Train & dev"}));
  }
}

TEST(Xlsx, SameDataFromXlsxAndCsvGivesIdenticalExamples) {
  TempDir tmp;
  // SST-2's dev set: sentences with trailing spaces, quotes and punctuation.
  const std::string dev = testing::data_dir() + "/en/sst2/dev.tsv";
  Table table = read_table(dev);
  write_table(tmp / "dev.xlsx", table);
  write_table(tmp / "dev.csv", table);
  Dataset a = load_dataset(dev), b = load_dataset(tmp / "dev.xlsx"), c = load_dataset(tmp / "dev.csv");
  ASSERT_EQ(a.size(), 872u);
  ASSERT_EQ(b.size(), a.size());
  ASSERT_EQ(c.size(), a.size());
  EXPECT_EQ(b.label_map, a.label_map);
  EXPECT_EQ(c.label_map, a.label_map);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b.examples[i].text, a.examples[i].text) << i;
    EXPECT_EQ(b.examples[i].label, a.examples[i].label) << i;
    EXPECT_EQ(c.examples[i].text, a.examples[i].text) << i;
    EXPECT_EQ(c.examples[i].label, a.examples[i].label) << i;
    EXPECT_EQ(b.examples[i].row, a.examples[i].row) << i;  // Excel row numbers match the TSV lines
  }
}

}  // namespace
}  // namespace textune::data
