// `textune data`: the preview on standard output and standard error, conversion, and errors.
#include "../train/tiny_setup.h"
#include "support/test_support.h"

using textune::testing::data_dir;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;

TEST(CliData, PreviewsRecordsAndLabelDistribution) {
  auto r = run_cli("data --input " + data_dir() + "/en/sst2/dev.tsv --limit 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // the first two rows of SST-2's dev.tsv, labels read as numbers
  EXPECT_EQ(r.out,
            "{\"text\":\"it 's a charming and often affecting journey . \",\"label\":1}\n"
            "{\"text\":\"unflinchingly bleak and desperate \",\"label\":0}\n");
  // 428 negative and 444 positive of 872 (counted with `cut -f2 | sort | uniq -c`)
  EXPECT_NE(r.err.find("872 examples"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("0  0                             428   49.1%"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("1  1                             444   50.9%"), std::string::npos) << r.err;
}

TEST(CliData, PairsAndMultiLabel) {
  TempDir tmp;
  write_text(tmp / "m.csv", "q,a,tags\nwhy,because,\"x|y\"\n");
  auto r =
      run_cli("data -i " + tmp / "m.csv" +
              " --text-column q --text-pair-column a --label-column tags --task multi-label --label-separator '|'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"why\",\"text_pair\":\"because\",\"label\":[\"x\",\"y\"]}\n");
}

TEST(CliData, InvalidRowsExitOneWithTheReportOrAreSkipped) {
  TempDir tmp;
  write_text(tmp / "bad.csv", "text,label\nok,1\n,0\n");
  auto r = run_cli("data -i " + tmp / "bad.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: " + tmp / "bad.csv" +
                       ": 1 invalid row of 2: row 3, column \"text\": empty text (fix them, or pass --skip-invalid to "
                       "leave such rows out)\n");
  auto s = run_cli("data -i " + tmp / "bad.csv" + " --skip-invalid");
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out, "{\"text\":\"ok\",\"label\":1}\n");
  EXPECT_NE(s.err.find("1 invalid row skipped"), std::string::npos) << s.err;
}

TEST(CliData, ConvertsToXlsxAndReadsItBack) {
  TempDir tmp;
  auto c = run_cli("data -i " + data_dir() + "/en/sst2/dev.tsv -o " + tmp / "dev.xlsx");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  auto a = run_cli("data -i " + data_dir() + "/en/sst2/dev.tsv");
  auto b = run_cli("data -i " + tmp / "dev.xlsx");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(a.out, b.out);
}

TEST(CliData, UsageErrors) {
  EXPECT_EQ(run_cli("data").exit_code, 2);
  EXPECT_EQ(run_cli("data -i " + data_dir() + "/en/sst2/dev.tsv --task foo").exit_code, 2);
  EXPECT_EQ(run_cli("data -i " + data_dir() + "/en/sst2/dev.tsv --format yaml").exit_code, 2);
}

// Issue 11: the delimiter, encodings and Excel's cell limit from the command line.
TEST(CliData, SemicolonCsvIsSniffedAndDelimiterOverrides) {
  TempDir tmp;
  write_text(tmp / "eu.csv", "text;label\n\"gut; sehr\";1\n");
  auto r = run_cli("data -i " + tmp / "eu.csv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"gut; sehr\",\"label\":1}\n");
  auto p = run_cli("data -i " + tmp / "eu.csv --delimiter '|'");
  EXPECT_EQ(p.exit_code, 1);  // one column "text;label": no text column
  EXPECT_EQ(run_cli("data -i " + tmp / "eu.csv --delimiter ';;'").exit_code, 2);
}

TEST(CliData, Utf16FileIsNamedAndReadWithEncoding) {
  TempDir tmp;
  std::string bytes = "\xFF\xFE";
  for (char c : std::string("text,label\nhi,1\n")) bytes += std::string{c, '\0'};
  write_text(tmp / "u16.csv", bytes);
  auto r = run_cli("data -i " + tmp / "u16.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "error: " + tmp / "u16.csv" +
                       ": the file is UTF-16LE text (it begins with a UTF-16LE byte order mark), not UTF-8: pass "
                       "--encoding utf-16 (or save it as UTF-8)\n");
  auto ok = run_cli("data -i " + tmp / "u16.csv --encoding utf-16");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "{\"text\":\"hi\",\"label\":1}\n");
  write_text(tmp / "l1.csv", "text,label\ncaf\xE9,1\n");
  auto l1 = run_cli("data -i " + tmp / "l1.csv --encoding latin-1");
  ASSERT_EQ(l1.exit_code, 0) << l1.err;
  EXPECT_EQ(l1.out, "{\"text\":\"caf\xC3\xA9\",\"label\":1}\n");
  EXPECT_EQ(run_cli("data -i " + tmp / "l1.csv --encoding klingon").exit_code, 2);
}

TEST(CliData, XlsxOutputRefusesCellsOverExcelsLimit) {
  TempDir tmp;
  write_text(tmp / "long.csv", "text,label\nshort,0\n" + std::string(40000, 'x') + ",1\n");
  auto r = run_cli("data -i " + tmp / "long.csv -o " + tmp / "long.xlsx");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("row 3, column \"text\": a cell of 40000 characters is longer than Excel's limit of 32767"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp / "long.xlsx"));
}

// Issue 11: the README's recipe, `--label-names` with integer-labelled data, in train (with --eval)
// and eval, on the first 40 rows of SST-2's dev set (labels 0 and 1) and the tiny BERT of the trainer tests.
TEST(CliData, LabelNamesWithIntegerLabelsInTrainAndEval) {
  TempDir tmp;
  const std::string dev = textune::testing::read_text(data_dir() + "/en/sst2/dev.tsv");
  size_t end = 0;
  for (int i = 0; i < 41; ++i) end = dev.find('\n', end) + 1;
  write_text(tmp / "small.tsv", dev.substr(0, end));
  write_text(tmp / "names.txt", "negative\npositive\n");
  const std::string model = tmp / "model";
  textune::testing::write_tiny_bert(model);  // a BERT with its own tokenizer (unknown words are [UNK])
  auto t = run_cli("train --model " + model + " --train " + tmp / "small.tsv" + " --eval " + tmp / "small.tsv" +
                   " --label-names " + tmp / "names.txt" + " --output " + tmp / "out" +
                   " --max_steps 2 --per_device_train_batch_size 8 --disable_tqdm");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_NE(textune::testing::read_text(tmp / "out/config.json").find("\"0\": \"negative\""), std::string::npos);
  for (const std::string& extra : std::vector<std::string>{"", " --label-names " + tmp / "names.txt"}) {
    auto e = run_cli("eval --model " + tmp / "out --data " + tmp / "small.tsv" + extra);
    EXPECT_EQ(e.exit_code, 0) << extra << ": " << e.err;
  }
}
