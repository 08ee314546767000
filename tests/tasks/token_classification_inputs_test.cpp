// Token classification's prediction inputs found in a new user's trial: raw texts in CSV/TSV/TXT
// files with a "text" column (or --no-header --text-column 0, one text per line), as `textune predict
// --help` documents for every task; a text pair's message; the smallest max_length that still leaves
// one token of content per window.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/tasks/token_classification.h"

using namespace textune;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

std::vector<std::string> texts_of(const tasks::Examples& ex) {
  std::vector<std::string> out;
  for (size_t i = 0; i < ex.size(); ++i) out.push_back(ex.example_json(i).value("text", std::string("<not raw>")));
  return out;
}

}  // namespace

TEST(TokenClassificationInputs, RawTextsFromTsvCsvAndHeaderlessTxt) {
  TempDir tmp;
  // before: read as CoNLL, "line 2: 7 columns, expected 1 as on line 1 (space-separated: token)"
  write_text(tmp / "raw.tsv", "text\nApple is opening a store in Zürich.\nTim Cook says hi\n");
  write_text(tmp / "raw.csv", "id,text\n1,\"Hello, Tim Cook\"\n2,in London\n");
  write_text(tmp / "raw.txt", "Apple is opening a store.\nTim Cook says hi\n");
  tasks::TokenClassificationTask task;
  auto tsv = task.read(tmp / "raw.tsv", false);
  EXPECT_TRUE(tasks::token_examples(*tsv).is_raw_text());
  EXPECT_EQ(texts_of(*tsv), (std::vector<std::string>{"Apple is opening a store in Zürich.", "Tim Cook says hi"}));
  auto csv = task.read(tmp / "raw.csv", false);
  EXPECT_EQ(texts_of(*csv), (std::vector<std::string>{"Hello, Tim Cook", "in London"}));
  tasks::TokenClassificationTask headerless;
  data::DataOptions o;
  o.read.has_header = false;
  o.text_column = "0";
  headerless.configure_data(o);
  auto txt = headerless.read(tmp / "raw.txt", false);
  EXPECT_EQ(texts_of(*txt), (std::vector<std::string>{"Apple is opening a store.", "Tim Cook says hi"}));
}

TEST(TokenClassificationInputs, TaggedAndPreSplitFilesStayPreSplit) {
  TempDir tmp;
  tasks::TokenClassificationTask task;
  // a CoNLL .txt whose first word is "text", an MSRA TSV, a one-column CoNLL .tsv: words, not texts
  write_text(tmp / "a.txt", "text\tO\nhere\tO\n");
  write_text(tmp / "m.tsv", "text_a\tlabel\n我 在\tO O\n");
  write_text(tmp / "t.tsv", "text\tlabel\nhello world\tpos\n");
  for (const std::string f : {"a.txt", "m.tsv", "t.tsv"}) {
    try {
      auto ex = task.read(tmp / f, false);
      EXPECT_FALSE(tasks::token_examples(*ex).is_raw_text()) << f;
    } catch (const Error&) {
      // t.tsv (a classification file) may be refused; it must not be read as raw texts
    }
  }
}

TEST(TokenClassificationInputs, TextPairSaysItIsNotAnInputOfTheTask) {
  tasks::TokenClassificationTask task;
  try {
    task.from_inputs({core::Json{{"text", "a"}, {"text_pair", "b"}}});
    FAIL() << "no error";
  } catch (const DataError& e) {
    // before: unknown key "text_pair" (expected "text" or "tokens"), for serve's [["a", "b"]]
    EXPECT_EQ(std::string(e.what()),
              "input 1 of 1: a pair of texts is not an input of token classification (expected a text, "
              "{\"text\": ...} or {\"tokens\": [...]})");
  }
}

TEST(TokenClassificationInputs, OneTokenOfRoomPerWindowIsEnough) {
  TempDir tmp;
  write_text(tmp / "s.conll", "EU\tB-ORG\nrejects\tO\nGerman\tB-MISC\n");
  tasks::TokenClassificationTask task;
  auto ex = task.read(tmp / "s.conll", true);
  auto tok = tokenizers::Tokenizer::from_dir(textune::testing::tokenizer_fixture("bert-base-cased"));
  tasks::FeatureOptions fo;
  fo.training = false;
  // [CLS] x [SEP]: one token of content per window, stride 0 (before: "--max_length 3 leaves no room
  // for words besides the 2 special tokens")
  fo.max_length = 3;
  const tasks::Features f = task.featurize(*ex, *tok, fo);
  EXPECT_EQ(f.size(), 3u);  // EU | rejects | German: one word, one token each (bert-base-cased)
  for (size_t k = 0; k < f.size(); ++k) EXPECT_EQ(f.encodings[k].size(), 3u);
  fo.max_length = 2;  // nothing but the special tokens: still a usage error
  EXPECT_THROW(task.featurize(*ex, *tok, fo), UsageError);
}
