// read_ner on CoNLL files with each kind of line end: LF, CRLF and a lone CR (old Mac OS, some
// spreadsheet exports) read the same sentences, as Python's universal newlines read them (the
// `datasets` CoNLL scripts open files in text mode). Before, a CR-only file was one line: its first
// token and its last tag, every other word silently lost.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/data/ner.h"

using textune::data::NerDataset;
using textune::data::read_ner;

namespace {

std::vector<std::vector<std::string>> tokens_of(const NerDataset& ds) {
  std::vector<std::vector<std::string>> out;
  for (const auto& s : ds.sentences) out.push_back(s.tokens);
  return out;
}

std::vector<std::vector<std::string>> tags_of(const NerDataset& ds) {
  std::vector<std::vector<std::string>> out;
  for (const auto& s : ds.sentences) out.push_back(s.tags);
  return out;
}

}  // namespace

TEST(NerLineEnds, LfCrlfAndCrReadTheSameSentences) {
  textune::testing::TempDir tmp;
  const std::vector<std::vector<std::string>> tokens = {{"John", "lives"}, {"Ann", "Lee"}};
  const std::vector<std::vector<std::string>> tags = {{"B-PER", "O"}, {"B-PER", "I-PER"}};
  for (const std::string eol : {"\n", "\r\n", "\r"}) {
    const std::string f = tmp / "f.conll";
    textune::testing::write_text(
        f, "John\tB-PER" + eol + "lives\tO" + eol + eol + "Ann\tB-PER" + eol + "Lee\tI-PER" + eol);
    const NerDataset ds = read_ner(f);
    EXPECT_EQ(tokens_of(ds), tokens) << "line end " << (eol == "\r" ? "CR" : eol == "\n" ? "LF" : "CRLF");
    EXPECT_EQ(tags_of(ds), tags);
    ASSERT_EQ(ds.sentences.size(), 2u);
    EXPECT_EQ(ds.sentences[1].line, 4u);  // lines count the same for every line end
  }
}

TEST(NerLineEnds, CrOnlyFileNamesTheRightLine) {
  textune::testing::TempDir tmp;
  const std::string f = tmp / "bad.conll";
  textune::testing::write_text(f, "John\tB-PER\rlives\tO\tx\r");
  try {
    read_ner(f);
    FAIL() << "no error";
  } catch (const textune::DataError& e) {
    EXPECT_NE(std::string(e.what()).find("line 2: 3 columns, expected 2 as on line 1"), std::string::npos) << e.what();
  }
}
