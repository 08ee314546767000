// T5Tokenizer's `legacy: false` on the spiece.model path (issue 11). transformers documents it
// (models/t5/tokenization_t5.py, T5Tokenizer docstring) on t5-base: "Hello <extra_id_0>." is
// [8774, 32099, 3, 5, 1] with legacy=True and [8774, 32099, 5, 1] with legacy=False: the stray "▁"
// (id 3) after the added token is gone, and nothing else changes. Checked here on the same
// definition with the test SentencePiece model.
#include <gtest/gtest.h>

#include <filesystem>

#include <algorithm>
#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tokenizers {
namespace {

std::string source_spm() {
  return textune::testing::tokenizer_fixture("marian") + "/source.spm";
}

std::shared_ptr<const Tokenizer> t5_dir(const textune::testing::TempDir& tmp, const std::string& legacy) {
  std::filesystem::copy_file(source_spm(), tmp / "spiece.model");
  textune::testing::write_text(tmp / "tokenizer_config.json",
                               R"({"tokenizer_class": "T5Tokenizer", "extra_ids": 4)" +
                                   (legacy.empty() ? std::string() : ", \"legacy\": " + legacy) + "}");
  return Tokenizer::from_dir(tmp.path());
}

TEST(T5Legacy, LegacyFalseDropsTheStrayMetaspaceAfterAnAddedToken) {
  textune::testing::TempDir a, b, c;
  auto legacy = t5_dir(a, "true");
  auto fixed = t5_dir(b, "false");
  auto absent = t5_dir(c, "");
  const std::string u = "\xE2\x96\x81";  // ▁
  // Before: `legacy` was ignored, so `fixed` gave the legacy tokens with the stray "▁".
  const Encoding l = legacy->encode("Hello <extra_id_0>.");
  const Encoding f = fixed->encode("Hello <extra_id_0>.");
  ASSERT_GE(l.tokens.size(), 4u);
  const auto at = std::find(l.tokens.begin(), l.tokens.end(), "<extra_id_0>") - l.tokens.begin();
  ASSERT_LT(at + 1, static_cast<long>(l.tokens.size()));
  ASSERT_EQ(l.tokens[at + 1], u) << "the legacy stray piece";
  std::vector<int64_t> expected = l.ids;
  expected.erase(expected.begin() + at + 1);  // legacy minus the stray "▁", as documented
  EXPECT_EQ(f.ids, expected);
  EXPECT_EQ(absent->encode("Hello <extra_id_0>.").ids, l.ids) << "legacy defaults to true";
  // Words after whitespace keep their "▁" in both; whitespace runs and trailing spaces as spm.
  for (const char* text : {"Hello world", "Hello   world  ", " two words", "Hello <extra_id_0> world"})
    EXPECT_EQ(fixed->encode(text).ids, legacy->encode(text).ids) << text;
  // A word glued to the added token on its right loses only the stray prefix.
  const Encoding g = fixed->encode("<extra_id_1>world");
  ASSERT_GE(g.tokens.size(), 2u);
  EXPECT_EQ(g.tokens[0], "<extra_id_1>");
  EXPECT_NE(g.tokens[1].rfind(u, 0), 0u) << g.tokens[1];
}

TEST(T5Legacy, LegacyMustBeABoolean) {
  textune::testing::TempDir a;
  try {
    t5_dir(a, "\"no\"");
    ADD_FAILURE() << "loaded";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("tokenizer_config.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("legacy"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace textune::tokenizers
