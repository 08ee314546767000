// `textune data`: the preview on standard output and standard error, conversion, and errors.
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
