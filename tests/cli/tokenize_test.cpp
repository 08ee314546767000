// `textune tokenize`: one JSON object per line, values from the bert-base-uncased golden file
// (row "Hello world!"), and invalid UTF-8 named by line and byte offset.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "textune/core/json.h"

namespace textune {
namespace {

using textune::testing::run_cli;

TEST(TokenizeCommand, PrintsOneJsonObjectPerText) {
  const std::string tok = textune::testing::tokenizer_fixture("bert-base-uncased");
  auto r = run_cli("tokenize --tokenizer '" + tok + "' 'Hello world!' 'hello  world'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  std::vector<core::Json> rows;
  while (std::getline(lines, line)) rows.push_back(core::Json::parse(line));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0]["ids"], core::Json::parse("[101, 7592, 2088, 999, 102]"));
  EXPECT_EQ(rows[0]["tokens"], core::Json::parse(R"(["[CLS]", "hello", "world", "!", "[SEP]"])"));
  EXPECT_EQ(rows[0]["offsets"], core::Json::parse("[[0, 0], [0, 5], [6, 11], [11, 12], [0, 0]]"));
  EXPECT_EQ(rows[0]["special_tokens_mask"], core::Json::parse("[1, 0, 0, 0, 1]"));
  EXPECT_EQ(rows[1]["offsets"], core::Json::parse("[[0, 0], [0, 5], [7, 12], [0, 0]]"));
}

TEST(TokenizeCommand, PairsFromFiles) {
  textune::testing::TempDir dir;
  textune::testing::write_text(dir / "a.txt", "What is the capital of France?\n");
  textune::testing::write_text(dir / "b.txt", "Paris is the capital and most populous city of France.\n");
  const std::string tok = textune::testing::tokenizer_fixture("bert-base-uncased");
  auto r = run_cli("tokenize --tokenizer '" + tok + "' --input '" + dir / "a.txt" + "' --pair-input '" + dir / "b.txt" +
                   "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  core::Json row = core::Json::parse(r.out.substr(0, r.out.find('\n')));
  // golden_pairs.jsonl, longest_first with max_length 64 (nothing cut)
  EXPECT_EQ(row["ids"], core::Json::parse("[101, 2054, 2003, 1996, 3007, 1997, 2605, 1029, 102, 3000, 2003, 1996, "
                                          "3007, 1998, 2087, 20151, 2103, 1997, 2605, 1012, 102]"));
  EXPECT_EQ(row["type_ids"][9], 1);
}

TEST(TokenizeCommand, InvalidUtf8NamesTheLineAndByte) {
  textune::testing::TempDir dir;
  textune::testing::write_text(dir / "in.txt", "fine\nbad \xff here\n");
  auto r = run_cli("tokenize --tokenizer '" + textune::testing::tokenizer_fixture("bert-base-uncased") + "' --input '" +
                   dir / "in.txt" + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("in.txt:2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("byte offset 4"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace textune
