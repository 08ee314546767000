// MarianTokenizer (opus-mt-uk-en: source.spm/target.spm/vocab.json) against the golden outputs of
// transformers 5.17's MarianTokenizer (../shared/fixtures/tokenizers/marian): every row, every field.
#include <fstream>
#include <sstream>

#include "support/test_support.h"
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
