// Tokenizer::cls_token_id and Tokenizer::padding_side, as transformers gives tokenizer.cls_token_id
// (convert_tokens_to_ids(cls_token), the cls token named by tokenizer_config.json /
// special_tokens_map.json) and tokenizer.padding_side ("padding_side" of tokenizer_config.json, else
// the tokenizer.json padding direction, else "right"). Expected ids are read from the fixtures'
// files, not from textune's output.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tokenizers {
namespace {

using core::Json;
namespace fs = std::filesystem;

/// The id the fixture's tokenizer.json vocabulary (or added tokens) gives `token`.
int64_t fixture_id(const std::string& dir, const std::string& token) {
  const Json j = core::read_json_file(dir + "/tokenizer.json");
  for (const Json& t : j["added_tokens"])
    if (t["content"] == token) return t["id"].get<int64_t>();
  return j["model"]["vocab"][token].get<int64_t>();
}

/// A copy of a fixture's tokenizer.json and tokenizer_config.json in `dst`, edited by the callers.
void copy_fixture(const std::string& name, const std::string& dst) {
  const std::string src = textune::testing::tokenizer_fixture(name);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy_file(src + "/" + f, dst + "/" + f, fs::copy_options::overwrite_existing);
}

TEST(TokenizerClsToken, IsTheConfigsClsToken) {
  for (const char* name : {"bert-base-cased", "bert-base-uncased", "bert-base-chinese", "roberta-base"}) {
    const std::string dir = textune::testing::tokenizer_fixture(name);
    const Json config = core::read_json_file(dir + "/tokenizer_config.json");
    const int64_t expected = fixture_id(dir, config["cls_token"].get<std::string>());
    auto tok = Tokenizer::from_dir(dir);
    ASSERT_TRUE(tok->cls_token_id().has_value()) << name;
    EXPECT_EQ(*tok->cls_token_id(), expected) << name;
  }
  // The definition's values, as the model cards give them: BERT's [CLS] 101, RoBERTa's <s> 0.
  EXPECT_EQ(Tokenizer::from_dir(textune::testing::tokenizer_fixture("bert-base-cased"))->cls_token_id(), 101);
  EXPECT_EQ(Tokenizer::from_dir(textune::testing::tokenizer_fixture("roberta-base"))->cls_token_id(), 0);
}

TEST(TokenizerClsToken, Gpt2HasNone) {
  auto tok = Tokenizer::from_dir(textune::testing::tokenizer_fixture("gpt2"));
  EXPECT_FALSE(tok->cls_token_id().has_value());
}

TEST(TokenizerClsToken, WithoutConfigComesFromThePostProcessor) {
  // No cls_token in tokenizer_config.json: BERT's TemplateProcessing opens with [CLS];
  // RoBERTa's RobertaProcessing names "cls": ["<s>", 0].
  for (const char* name : {"bert-base-cased", "roberta-base"}) {
    textune::testing::TempDir tmp;
    copy_fixture(name, tmp.path());
    Json config = core::read_json_file(tmp / "tokenizer_config.json");
    const std::string cls = config["cls_token"].get<std::string>();
    config.erase("cls_token");
    core::write_json_file(tmp / "tokenizer_config.json", config);
    auto tok = Tokenizer::from_dir(tmp.path());
    ASSERT_TRUE(tok->cls_token_id().has_value()) << name;
    EXPECT_EQ(*tok->cls_token_id(), fixture_id(tmp.path(), cls)) << name;
  }
}

TEST(TokenizerClsToken, AddedTokenObjectInTheConfig) {
  textune::testing::TempDir tmp;
  copy_fixture("bert-base-cased", tmp.path());
  Json config = core::read_json_file(tmp / "tokenizer_config.json");
  config["cls_token"] = Json{{"content", "[SEP]"}, {"lstrip", false}, {"normalized", false}, {"special", true}};
  core::write_json_file(tmp / "tokenizer_config.json", config);
  EXPECT_EQ(Tokenizer::from_dir(tmp.path())->cls_token_id(), fixture_id(tmp.path(), "[SEP]"));
}

TEST(TokenizerPaddingSide, RightByDefault) {
  for (const char* name : {"bert-base-cased", "roberta-base", "gpt2"})
    EXPECT_EQ(Tokenizer::from_dir(textune::testing::tokenizer_fixture(name))->padding_side(), Side::kRight) << name;
}

TEST(TokenizerPaddingSide, ConfigLeftGivesLeft) {
  textune::testing::TempDir tmp;
  copy_fixture("bert-base-cased", tmp.path());
  Json config = core::read_json_file(tmp / "tokenizer_config.json");
  config["padding_side"] = "left";
  core::write_json_file(tmp / "tokenizer_config.json", config);
  EXPECT_EQ(Tokenizer::from_dir(tmp.path())->padding_side(), Side::kLeft);
}

TEST(TokenizerPaddingSide, TokenizerJsonDirectionUnlessTheConfigSays) {
  textune::testing::TempDir tmp;
  copy_fixture("roberta-base", tmp.path());
  Json j = core::read_json_file(tmp / "tokenizer.json");
  j["padding"] =
      Json{{"strategy", "BatchLongest"}, {"direction", "Left"}, {"pad_to_multiple_of", nullptr}, {"pad_id", 1},
           {"pad_type_id", 0},           {"pad_token", "<pad>"}};
  core::write_json_file(tmp / "tokenizer.json", j);
  EXPECT_EQ(Tokenizer::from_dir(tmp.path())->padding_side(), Side::kLeft);
  Json config = core::read_json_file(tmp / "tokenizer_config.json");
  config["padding_side"] = "right";
  core::write_json_file(tmp / "tokenizer_config.json", config);
  EXPECT_EQ(Tokenizer::from_dir(tmp.path())->padding_side(), Side::kRight);
}

TEST(TokenizerPaddingSide, UnknownValueNamesTheFileAndKey) {
  textune::testing::TempDir tmp;
  copy_fixture("bert-base-cased", tmp.path());
  Json config = core::read_json_file(tmp / "tokenizer_config.json");
  config["padding_side"] = "middle";
  core::write_json_file(tmp / "tokenizer_config.json", config);
  try {
    Tokenizer::from_dir(tmp.path());
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("padding_side"), std::string::npos) << m;
    EXPECT_NE(m.find("middle"), std::string::npos) << m;
    EXPECT_NE(m.find("tokenizer"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace textune::tokenizers
