// tokenizers' Precompiled normalizer over the nmt_nfkc charsmap of opus-mt-uk-en's source.spm.
// Expected texts and alignments are the live reference's (tokenizers 0.22 through @anush008/tokenizers:
// Precompiled.normalizeString, and the offsets of a Unigram encoding split per character).
#include "support/test_support.h"
#include "textune/core/error.h"
#include "tokenizers/precompiled_normalizer.h"
#include "tokenizers/sentencepiece_model.h"

using namespace textune::tokenizers;
using Changes = std::vector<std::pair<char32_t, int>>;

namespace {

const PrecompiledCharsmap& nmt_nfkc() {
  static const PrecompiledCharsmap map(
      spm::read_model_proto(textune::testing::tokenizer_fixture("marian") + "/source.spm")
          .normalizer_spec.precompiled_charsmap,
      "source.spm");
  return map;
}

Changes changes(std::string_view text) {
  Changes out;
  precompiled_changes(nmt_nfkc(), text, out);
  return out;
}

}  // namespace

TEST(PrecompiledNormalizer, NormalizesGraphemeByGrapheme) {
  // A cluster under 6 bytes takes the rule of its shortest matching prefix, whole: the diaeresis after
  // Ⅻ and the acute after ﬁ vanish. A longer cluster goes character by character.
  EXPECT_EQ(precompiled_normalize_string(nmt_nfkc(), "a\xe2\x85\xab\xcc\x88" "b"), "aXIIb");
  EXPECT_EQ(precompiled_normalize_string(nmt_nfkc(), "a\xef\xac\x81\xcc\x81" "b"), "afib");
  EXPECT_EQ(precompiled_normalize_string(nmt_nfkc(), "a\xe2\x85\xab\xcc\x88\xcc\x88" "b"), "aXII\xcc\x88\xcc\x88" "b");
  EXPECT_EQ(precompiled_normalize_string(nmt_nfkc(), "ae\xcc\x81\xcc\x81" "b"), "a\xc3\xa9" "b");
  EXPECT_EQ(precompiled_normalize_string(nmt_nfkc(), "a\r\nb"), "a b");
  EXPECT_EQ(precompiled_normalize_string(nmt_nfkc(), "\xc2\xbd\xe2\x80\x8a"), "1\xe2\x81\x84" "2 ");
  EXPECT_EQ(precompiled_normalize_string(nmt_nfkc(), std::string("x\0\xc2\xbd", 4)), std::string("x\0" "1\xe2\x81\x84" "2", 7));
}

TEST(PrecompiledNormalizer, ReplacementsAlignCharacterByCharacter) {
  // Reference offsets: in "a½b", 1 ⁄ 2 all map to ½ (1,2): 1 replaces it, the others are insertions.
  EXPECT_EQ(changes("a\xc2\xbd" "b"), (Changes{{'a', 0}, {'1', 0}, {0x2044, 1}, {'2', 1}, {'b', 0}}));
  // "aⅫ◌̈b" -> X (1,2), I (2,3), I (2,3): X replaces Ⅻ, the first I the diaeresis, the second I is inserted.
  EXPECT_EQ(changes("a\xe2\x85\xab\xcc\x88" "b"), (Changes{{'a', 0}, {'X', 0}, {'I', 0}, {'I', 1}, {'b', 0}}));
  // "ae◌́◌́b" -> é (1,2) and b (4,5): é replaces e and removes both accents.
  EXPECT_EQ(changes("ae\xcc\x81\xcc\x81" "b"), (Changes{{'a', 0}, {0xE9, -2}, {'b', 0}}));
  // "a\r\nb" -> the space takes \r (1,2), b (3,4).
  EXPECT_EQ(changes("a\r\nb"), (Changes{{'a', 0}, {' ', -1}, {'b', 0}}));
  // Nothing to change: reported as such, so the string is left alone.
  Changes out;
  EXPECT_FALSE(precompiled_changes(nmt_nfkc(), "plain text", out));
}

TEST(PrecompiledNormalizer, Base64RoundTripAndErrors) {
  const std::string bytes("\x00\x01\xfe\xff" "abc", 7);
  EXPECT_EQ(base64_encode(bytes), "AAH+/2FiYw==");
  EXPECT_EQ(base64_decode("AAH+/2FiYw==", "t"), bytes);
  EXPECT_EQ(base64_decode("AAH+/2FiYw", "t"), bytes);
  EXPECT_THROW(base64_decode("AA*A", "t"), textune::DataError);
  EXPECT_THROW(base64_decode("AAAAA", "t"), textune::DataError);
}

TEST(PrecompiledNormalizer, BrokenCharsmapIsADataError) {
  EXPECT_THROW(PrecompiledCharsmap(std::string("\x01\x00", 2), "t"), textune::DataError);
  EXPECT_THROW(PrecompiledCharsmap(std::string("\x08\x00\x00\x00" "abcd", 8), "t"), textune::DataError);
  EXPECT_THROW(PrecompiledCharsmap(std::string("\x03\x00\x00\x00" "abcdef", 10), "t"), textune::DataError);
}
