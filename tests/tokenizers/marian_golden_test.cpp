// MarianTokenizer (opus-mt-uk-en: source.spm/target.spm/vocab.json) against the golden outputs of
// transformers 5.17's MarianTokenizer (../shared/fixtures/tokenizers/marian): every row, every field.
#include <fstream>
#include <sstream>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "tokenizers/marian_tokenizer.h"

using textune::core::Json;
using namespace textune::tokenizers;

namespace {

std::vector<Json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(Json::parse(line));
  return rows;
}

template <typename T>
std::string show(const std::vector<T>& v) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < v.size(); ++i) s << (i ? ", " : "") << +v[i];
  s << "]";
  return s.str();
}

std::shared_ptr<const Tokenizer> marian() {
  static auto tok = load_sentencepiece_dir(textune::testing::tokenizer_fixture("marian"));
  return tok;
}

}  // namespace

TEST(MarianGolden, EverySingleRowMatches) {
  auto tok = marian();
  ASSERT_NE(tok, nullptr);
  const auto rows = read_jsonl(textune::testing::tokenizer_fixture("marian") + "/golden_single.jsonl");
  ASSERT_GT(rows.size(), 3900u);
  size_t bad = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    const Json& row = rows[r];
    const std::string text = row["text"].get<std::string>();
    const Encoding e = tok->encode(text);
    const auto ids = row["ids"].get<std::vector<int64_t>>();
    const auto tokens = row["tokens"].get<std::vector<std::string>>();
    const auto mask = row["special_tokens_mask"].get<std::vector<int>>();
    std::vector<int> got_mask(e.special_tokens_mask.begin(), e.special_tokens_mask.end());
    EncodeOptions no_special;
    no_special.add_special_tokens = false;
    const Encoding plain = tok->encode(text, std::nullopt, no_special);
    const auto ids_no_special = row["ids_no_special"].get<std::vector<int64_t>>();
    const std::string decoded = tok->decode(e.ids, true);
    const bool ok = e.ids == ids && e.tokens == tokens && got_mask == mask && plain.ids == ids_no_special &&
                    decoded == row["decoded"].get<std::string>();
    if (!ok && ++bad <= 10) {
      ADD_FAILURE() << "row " << r + 1 << " text " << Json(text).dump() << "\n  ids      " << show(e.ids)
                    << "\n  expected " << show(ids) << "\n  mask " << show(got_mask) << " expected " << show(mask)
                    << "\n  no_special " << show(plain.ids) << "\n  expected   " << show(ids_no_special)
                    << "\n  decoded " << Json(decoded).dump() << "\n  expected " << row["decoded"].dump();
    }
  }
  EXPECT_EQ(bad, 0u) << "of " << rows.size() << " rows";
}

TEST(MarianGolden, EveryPairRowMatches) {
  auto tok = marian();
  ASSERT_NE(tok, nullptr);
  const auto rows = read_jsonl(textune::testing::tokenizer_fixture("marian") + "/golden_pairs.jsonl");
  ASSERT_EQ(rows.size(), 20u);
  for (size_t r = 0; r < rows.size(); ++r) {
    const Json& row = rows[r];
    ASSERT_FALSE(row.contains("error")) << "row " << r + 1;
    EncodeOptions options;
    TruncationOptions t;
    t.max_length = row["max_length"].get<size_t>();
    const std::string strategy = row["truncation"].get<std::string>();
    t.strategy = strategy == "only_first"    ? TruncationStrategy::kOnlyFirst
                 : strategy == "only_second" ? TruncationStrategy::kOnlySecond
                                             : TruncationStrategy::kLongestFirst;
    options.truncation = t;
    const Encoding e = tok->encode(row["a"].get<std::string>(), row["b"].get<std::string>(), options);
    EXPECT_EQ(show(e.ids), show(row["ids"].get<std::vector<int64_t>>()))
        << "row " << r + 1 << " (" << strategy << ", max_length " << t.max_length << ")";
  }
}

TEST(MarianTokenizer, TargetSideUsesTheTargetModel) {
  // Pieces of google's sentencepiece on target.spm, mapped through vocab.json, then </s>.
  auto target = marian_target_tokenizer(marian());
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->encode("Hello world!").ids, (std::vector<int64_t>{2708, 239, 27, 0}));
  EXPECT_EQ(target->encode("The quick brown fox.").ids, (std::vector<int64_t>{49, 4663, 13119, 34934, 3, 0}));
  EXPECT_EQ(target->encode("Привіт, світе!").ids,
            (std::vector<int64_t>{42, 1404, 563, 52, 222, 47, 268, 2, 42, 295, 222, 47, 268, 78, 27, 0}));
  EXPECT_EQ(target->decode({2708, 239, 27, 0}, true), "Hello world!");
}

TEST(MarianTokenizer, LanguageCodeIsOneToken) {
  // A leading ">>xx<<" is kept whole (here not in vocab.json: <unk>), the rest encoded as in row 1 of
  // golden_single.jsonl ("Hello world!" -> 1463 7542 380 ...).
  EXPECT_EQ(marian()->encode(">>fra<< Hello").ids, (std::vector<int64_t>{1, 1463, 7542, 380, 0}));
}

TEST(MarianTokenizer, PaddingAndVocabulary) {
  auto tok = marian();
  EXPECT_EQ(tok->pad_token_id(), 61586);
  EXPECT_EQ(tok->model_max_length(), 512u);
  EXPECT_EQ(tok->vocab_size(), 61587u);
  EXPECT_EQ(tok->num_special_tokens_to_add(false), 1u);
  EXPECT_EQ(tok->token_to_id("</s>"), 0);
  EXPECT_EQ(tok->id_to_token(61586), "<pad>");
  std::vector<Encoding> batch = {tok->encode("a"), tok->encode("A.")};
  PaddingOptions p;
  tok->pad(batch, p);
  // "a" -> 13 </s>, padded to the longest (3) with <pad>, attention 0, special 1.
  EXPECT_EQ(batch[0].ids, (std::vector<int64_t>{13, 0, 61586}));
  EXPECT_EQ(batch[0].attention_mask, (std::vector<int8_t>{1, 1, 0}));
  EXPECT_EQ(batch[0].special_tokens_mask, (std::vector<int8_t>{0, 1, 1}));
  EXPECT_EQ(batch[1].ids, (std::vector<int64_t>{166, 3, 0}));
  p.strategy = PaddingOptions::Strategy::kFixed;
  p.length = 5;
  p.direction = Side::kLeft;
  tok->pad(batch, p);
  EXPECT_EQ(batch[1].ids, (std::vector<int64_t>{61586, 61586, 166, 3, 0}));
}

TEST(MarianTokenizer, TruncationSideAndOverflow) {
  // "U.S.A. isn't the U.K." -> 15 pieces + </s> (row 8 of golden_single.jsonl). only_first to 6 from the
  // left keeps the last 5 pieces; the 10 cut, plus a stride of 2, overflow.
  EncodeOptions o;
  TruncationOptions t;
  t.max_length = 6;
  t.strategy = TruncationStrategy::kOnlyFirst;
  t.direction = Side::kLeft;
  t.stride = 2;
  o.truncation = t;
  o.return_overflowing_tokens = true;
  const Encoding e = marian()->encode("U.S.A. isn't the U.K.", std::nullopt, o);
  EXPECT_EQ(e.ids, (std::vector<int64_t>{4, 1219, 3, 2055, 3, 0}));
  ASSERT_EQ(e.overflowing.size(), 1u);
  EXPECT_EQ(e.overflowing[0].ids, (std::vector<int64_t>{1219, 3, 417, 3, 751, 3, 23, 350, 7, 38, 4, 1219}));
  EXPECT_THROW(marian()->encode("bad \xff byte"), textune::DataError);
}
