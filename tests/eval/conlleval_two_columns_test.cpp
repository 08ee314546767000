// read_conlleval_file on two-column files: `gold predicted` reads (conlleval needs no token column),
// while a `token tag` training file given in place of predictions is refused, naming the file and
// the line of the first word in the gold column (before, its words were scored as gold tags:
// "John" became an entity type "ohn", as seqeval splits a tag's first character off).
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/eval/seqeval.h"

using textune::DataError;
using textune::eval::read_conlleval_file;
using Seqs = std::vector<std::vector<std::string>>;

TEST(ConllevalTwoColumns, GoldAndPredictedWithoutTokensRead) {
  textune::testing::TempDir tmp;
  textune::testing::write_text(tmp / "p.txt", "B-PER B-PER\nI-PER O\n\nO B-LOC\n");
  const auto [gold, pred] = read_conlleval_file(tmp / "p.txt");
  EXPECT_EQ(gold, (Seqs{{"B-PER", "I-PER"}, {"O"}}));
  EXPECT_EQ(pred, (Seqs{{"B-PER", "O"}, {"B-LOC"}}));
  // IO-style tags without a prefix in both columns stay conlleval's business
  textune::testing::write_text(tmp / "io.txt", "PER PER\nO LOC\n");
  EXPECT_NO_THROW(read_conlleval_file(tmp / "io.txt"));
}

TEST(ConllevalTwoColumns, TokenTagFileIsRefusedNamingTheLine) {
  textune::testing::TempDir tmp;
  const std::string f = tmp / "train.conll";
  textune::testing::write_text(f, "-DOCSTART- O\n\nO O\nJohn\tB-PER\nlives\tO\n");
  try {
    read_conlleval_file(f);
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()),
              f + ":4: 2 columns, and \"John\" in the gold column is no tag: expected `token gold predicted` (the "
                  "gold and the predicted tag the last two columns); is this a `token tag` file without "
                  "predictions?");
  }
}
