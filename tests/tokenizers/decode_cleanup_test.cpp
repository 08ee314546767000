// tokenizer_config.json's clean_up_tokenization_spaces in decode (issue 11): transformers'
// PreTrainedTokenizerBase.clean_up_tokenization replaces " ." " ?" " !" " ," " ' " " n't" " 'm" " 's"
// " 've" " 're" by the same without the space; expected strings below follow that definition.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tokenizers {
namespace {

namespace fs = std::filesystem;

std::shared_ptr<const Tokenizer> roberta_with_config(const textune::testing::TempDir& dir, const std::string& config) {
  fs::copy_file(textune::testing::tokenizer_fixture("roberta-base") + "/tokenizer.json", dir / "tokenizer.json");
  textune::testing::write_text(dir / "tokenizer_config.json", config);
  return Tokenizer::from_dir(dir.path());
}

TEST(DecodeCleanup, CleanUpTokenizationSpacesAppliesTransformersReplacements) {
  const std::string text = "l ' eure , ok . you 're sure ? i 'm ! we 've it 's do n't";
  textune::testing::TempDir on, off, absent;
  auto t_on = roberta_with_config(on, R"({"clean_up_tokenization_spaces": true})");
  auto t_off = roberta_with_config(off, R"({"clean_up_tokenization_spaces": false})");
  auto t_absent = roberta_with_config(absent, R"({})");
  EncodeOptions o;
  o.add_special_tokens = false;
  const auto ids = t_on->encode(text, std::nullopt, o).ids;
  // Before: the setting was ignored and all three gave `text` back.
  EXPECT_EQ(t_on->decode(ids), "l'eure, ok. you're sure? i'm! we've it's don't");
  EXPECT_EQ(t_off->decode(ids), text);
  EXPECT_EQ(t_absent->decode(ids), text);
}

}  // namespace
}  // namespace textune::tokenizers
