// Differential test of the components the fixtures do not use, against the live reference: the
// fixture vocabularies with other normalizers, pre-tokenizers, post-processors, decoders and added
// tokens (lstrip/rstrip/single_word/normalized), generated texts, every field compared.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "tokenizers/reference_diff.h"

namespace textune::tokenizers {
namespace {

using core::Json;

Json load_fixture(const std::string& name) {
  return Json::parse(textune::testing::read_text(textune::testing::tokenizer_fixture(name) + "/tokenizer.json"));
}

Json added(uint32_t id, const std::string& content, bool single_word, bool lstrip, bool rstrip, bool normalized,
           bool special) {
  return Json{{"id", id},         {"content", content},       {"single_word", single_word}, {"lstrip", lstrip},
              {"rstrip", rstrip}, {"normalized", normalized}, {"special", special}};
}

void expect_same_as_reference(const Json& tokenizer_json, size_t n, uint64_t seed) {
  textune::testing::TempDir dir;
  const std::string path = dir / "tokenizer.json";
  textune::testing::write_text(path, tokenizer_json.dump());
  auto tok = Tokenizer::from_file(path);
  const auto requests = reference_diff::generate_requests(n, seed, reference_diff::added_token_contents(path));
  const auto rep = reference_diff::run_and_compare(*tok, textune::testing::source_dir(), path, requests);
  std::string examples;
  for (const auto& e : rep.examples) examples += "  " + e + "\n";
  EXPECT_EQ(rep.mismatched, 0u) << rep.mismatched << " of " << rep.requests << " requests differ:\n" << examples;
}

// WordPiece with a normalizer Sequence (NFD, StripAccents, Lowercase, Replace, Strip), a
// pre-tokenizer Sequence (WhitespaceSplit, Punctuation, Digits), BertProcessing, and added tokens
// with every flag.
TEST(ComponentsDifferential, WordPieceWithSequencesAndAddedTokenFlags) {
  Json j = load_fixture("bert-base-uncased");
  j["normalizer"] = Json{
      {"type", "Sequence"},
      {"normalizers", Json::array({Json{{"type", "NFD"}}, Json{{"type", "StripAccents"}}, Json{{"type", "Lowercase"}},
                                   Json{{"type", "Replace"}, {"pattern", Json{{"String", "``"}}}, {"content", "\""}},
                                   Json{{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}})}};
  j["pre_tokenizer"] = Json{{"type", "Sequence"},
                            {"pretokenizers", Json::array({Json{{"type", "WhitespaceSplit"}},
                                                           Json{{"type", "Punctuation"}, {"behavior", "Isolated"}},
                                                           Json{{"type", "Digits"}, {"individual_digits", true}}})}};
  j["post_processor"] =
      Json{{"type", "BertProcessing"}, {"sep", Json::array({"[SEP]", 102})}, {"cls", Json::array({"[CLS]", 101})}};
  j["added_tokens"].push_back(added(30522, "<ent>", false, true, true, false, false));
  j["added_tokens"].push_back(added(30523, "yes", true, false, false, true, false));
  j["added_tokens"].push_back(added(30524, "New York", false, false, true, true, true));
  expect_same_as_reference(j, 600, 11);
}

// WordPiece under NFKC and the Whitespace pre-tokenizer (\w+|[^\w\s]+), and a regex Split with
// MergedWithPrevious.
TEST(ComponentsDifferential, WhitespaceAndRegexSplit) {
  Json j = load_fixture("bert-base-cased");
  j["normalizer"] = Json{{"type", "NFKC"}};
  j["pre_tokenizer"] = Json{{"type", "Sequence"},
                            {"pretokenizers", Json::array({Json{{"type", "Split"},
                                                                {"pattern", Json{{"Regex", "[,;:]"}}},
                                                                {"behavior", "MergedWithPrevious"},
                                                                {"invert", false}},
                                                           Json{{"type", "Whitespace"}}})}};
  expect_same_as_reference(j, 600, 12);
}

// Byte-level BPE behind a Metaspace-free NFC normalizer, ByteLevel with add_prefix_space, the
// ByteLevel post-processor (offset trimming) and a Sequence decoder (Replace then ByteLevel).
TEST(ComponentsDifferential, ByteLevelBpeWithPrefixSpaceAndByteLevelProcessor) {
  Json j = load_fixture("gpt2");
  j["normalizer"] = Json{{"type", "NFC"}};
  j["pre_tokenizer"] =
      Json{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["post_processor"] =
      Json{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["decoder"] = Json{
      {"type", "Sequence"},
      {"decoders",
       Json::array(
           {Json{{"type", "Replace"}, {"pattern", Json{{"String", "!"}}}, {"content", "?"}},
            Json{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}})}};
  expect_same_as_reference(j, 600, 13);
}

// BPE over Metaspace pieces (prepend_scheme first, split) with the Metaspace decoder, a Prepend
// normalizer, and Strip + Fuse decoders.
TEST(ComponentsDifferential, MetaspaceAndDecoders) {
  Json j = load_fixture("roberta-base");
  j["normalizer"] =
      Json{{"type", "Sequence"},
           {"normalizers", Json::array({Json{{"type", "NFKD"}}, Json{{"type", "Prepend"}, {"prepend", "_"}}})}};
  j["pre_tokenizer"] =
      Json{{"type", "Metaspace"}, {"replacement", "\xC4\xA0"}, {"prepend_scheme", "first"}, {"split", true}};
  j["decoder"] =
      Json{{"type", "Sequence"},
           {"decoders",
            Json::array(
                {Json{{"type", "Metaspace"}, {"replacement", "\xC4\xA0"}, {"prepend_scheme", "first"}, {"split", true}},
                 Json{{"type", "Strip"}, {"content", "_"}, {"start", 1}, {"stop", 0}}, Json{{"type", "Fuse"}}})}};
  expect_same_as_reference(j, 600, 14);
}

}  // namespace
}  // namespace textune::tokenizers
