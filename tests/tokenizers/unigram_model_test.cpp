// The tokenizer.json Unigram model (tokenizers/src/models/unigram/model.rs semantics) on small
// vocabularies whose best segmentation is worked out in the comments.
#include "support/test_support.h"
#include "textune/core/error.h"
#include "tokenizers/unigram_model.h"

using namespace textune::tokenizers;
using Strings = std::vector<std::string>;

namespace {

Strings pieces(const UnigramModel& m, std::string_view text) {
  std::vector<UnigramToken> out;
  m.tokenize(text, out);
  Strings s;
  for (const auto& t : out) s.emplace_back(m.token_text(t, text));
  return s;
}

std::vector<uint32_t> ids(const UnigramModel& m, std::string_view text) {
  std::vector<UnigramToken> out;
  m.tokenize(text, out);
  std::vector<uint32_t> v;
  for (const auto& t : out) v.push_back(t.id);
  return v;
}

}  // namespace

TEST(UnigramModel, TokenizersDocExample) {
  // The example of tokenizers' Unigram::encode documentation: "abcdacdxx" -> abcd a cd xx.
  UnigramModel m({{"<unk>", 0.0}, {"a", 0.0}, {"b", 0.0}, {"c", 0.0}, {"d", 0.0}, {"cd", 1.0}, {"ab", 2.0},
                  {"abc", 5.0}, {"abcd", 10.0}},
                 0u, false, "t");
  EXPECT_EQ(pieces(m, "abcdacdxx"), (Strings{"abcd", "a", "cd", "xx"}));
  // "xx" is a fused unknown run: one token, the unknown id.
  EXPECT_EQ(ids(m, "abcdacdxx"), (std::vector<uint32_t>{8, 1, 5, 0}));
}

TEST(UnigramModel, TiesGoToTheLongestLastPiece) {
  // "xxx" with x -1, xx -2: x+x+x, xx+x and x+xx all score -3; as in sentencepiece the candidate from
  // the earliest start wins at each end: x xx.
  UnigramModel m({{"<unk>", 0.0}, {"x", -1.0}, {"xx", -2.0}}, 0u, false, "t");
  EXPECT_EQ(pieces(m, "xxx"), (Strings{"x", "xx"}));
}

TEST(UnigramModel, EveryEntryIsMatchedAndDuplicatesKeepTheLastId) {
  // The unknown piece is in the trie too: "<unk>" typed in the text is matched as itself (score 0
  // beats five unknown characters at min_score - 10 each).
  UnigramModel m({{"<unk>", 0.0}, {"a", -1.0}, {"<", -1.0}, {"a", -3.0}}, 0u, false, "t");
  EXPECT_EQ(ids(m, "<unk>"), (std::vector<uint32_t>{0}));
  // "a" is listed twice: the last id (3) and its score are the ones used.
  EXPECT_EQ(ids(m, "a"), (std::vector<uint32_t>{3}));
  EXPECT_EQ(m.token_to_id("a"), 3u);
}

TEST(UnigramModel, ByteFallbackNeedsEveryByte) {
  std::vector<std::pair<std::string, double>> vocab = {{"<unk>", 0.0}, {"a", -1.0}};
  for (const char* b : {"<0xE2>", "<0x82>", "<0xAC>"}) vocab.emplace_back(b, 0.0);  // ids 2, 3, 4
  UnigramModel m(vocab, 0u, true, "t");
  // '€' (E2 82 AC) has all its bytes: three byte tokens with the character's offsets.
  std::vector<UnigramToken> out;
  m.tokenize("a\xe2\x82\xac", out);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].id, 2u);
  EXPECT_EQ(out[3].id, 4u);
  EXPECT_EQ(std::make_pair(out[1].begin, out[1].end), std::make_pair(1u, 4u));
  EXPECT_EQ(m.token_text(out[2], "a\xe2\x82\xac"), "<0x82>");
  // 'é' (C3 A9) has none of them: the unknown id.
  EXPECT_EQ(ids(m, "a\xc3\xa9"), (std::vector<uint32_t>{1, 0}));
}

TEST(UnigramModel, Errors) {
  EXPECT_THROW(UnigramModel({}, 0u, false, "t"), textune::DataError);
  EXPECT_THROW(UnigramModel({{"a", 0.0}}, 1u, false, "t"), textune::DataError);
  UnigramModel no_unk({{"a", -1.0}}, std::nullopt, false, "t");
  EXPECT_EQ(pieces(no_unk, "aa"), (Strings{"a", "a"}));
  std::vector<UnigramToken> out;
  EXPECT_THROW(no_unk.tokenize("ab", out), textune::DataError);
}
