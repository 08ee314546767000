// Unigram model, Precompiled normalizer and the SentencePiece-to-tokenizer.json conversion against the
// live reference (Hugging Face tokenizers through tools/reference): tokenizer.json pipelines built at
// test time from the opus-mt-uk-en source.spm (Precompiled + Replace + Metaspace + Unigram + template),
// 2,000 generated requests each with a fixed seed, every field compared (reference_diff.h).
#include <filesystem>
#include <fstream>

#include "support/test_support.h"
#include "tokenizers/reference_diff.h"
#include "tokenizers/sentencepiece_convert.h"

namespace textune::tokenizers {
namespace {

std::string source_spm() { return textune::testing::tokenizer_fixture("marian") + "/source.spm"; }

/// Runs generated requests through `tok` and through the reference loading `tokenizer_json`; every
/// field of every answer must agree (requests whose stride leaves no room are refused by textune and
/// not sent: the reference panics on them). `truncate_pairs` false: pairs are not truncated (see the T5
/// case).
void expect_same_as_reference(const Tokenizer& tok, const std::string& tokenizer_json, uint64_t seed,
                              bool truncate_pairs = true) {
  auto requests = reference_diff::generate_requests(2000, seed, reference_diff::added_token_contents(tokenizer_json));
  if (!truncate_pairs)
    for (auto& r : requests)
      if (!r["pair"].is_null()) r["truncation"] = nullptr;
  const auto rep = reference_diff::run_and_compare(tok, textune::testing::source_dir(), tokenizer_json, requests);
  std::string examples;
  for (const auto& e : rep.examples) examples += "  " + e + "\n";
  EXPECT_EQ(rep.mismatched, 0u) << rep.mismatched << " of " << rep.requests << " requests differ:\n" << examples;
}

std::string write_json(const textune::testing::TempDir& tmp, const nlohmann::json& j, const std::string& name) {
  const std::string path = tmp / name;
  std::ofstream(path) << j.dump();
  return path;
}

TEST(SentencePieceDifferential, PrecompiledMetaspaceUnigram) {
  // Marian's layout: "$A </s>", "$A $B </s>".
  textune::testing::TempDir tmp;
  SpmConvertOptions o;
  o.eos_token = "</s>";
  o.pair_single_eos = true;
  const std::string path =
      write_json(tmp, sentencepiece_tokenizer_json(spm::read_model_proto(source_spm()), o, "source.spm"), "tokenizer.json");
  expect_same_as_reference(*Tokenizer::from_file(path), path, 20261130);
}

TEST(SentencePieceDifferential, UnigramByteFallback) {
  // The same pieces plus the 256 <0xXX> pieces and byte_fallback, decoded through ByteFallback.
  textune::testing::TempDir tmp;
  SpmConvertOptions o;
  o.eos_token = "</s>";
  o.add_byte_fallback = true;
  const std::string path =
      write_json(tmp, sentencepiece_tokenizer_json(spm::read_model_proto(source_spm()), o, "source.spm"), "tokenizer.json");
  expect_same_as_reference(*Tokenizer::from_file(path), path, 20261131);
}

TEST(SentencePieceDifferential, T5DirectoryFromSpieceModel) {
  // A T5-style directory (spiece.model, no tokenizer.json) loaded through Tokenizer::from_dir, against
  // the reference on the pipeline T5Tokenizer builds for it.
  textune::testing::TempDir tmp;
  const std::string dir = tmp / "t5";
  std::filesystem::create_directory(dir);
  std::filesystem::copy_file(source_spm(), dir + "/spiece.model");
  textune::testing::write_text(dir + "/tokenizer_config.json", R"({"tokenizer_class": "T5Tokenizer", "extra_ids": 4})");
  auto tok = Tokenizer::from_dir(dir);
  SpmConvertOptions o;
  o.precompiled_normalizer = false;
  o.whitespace_split = true;
  o.eos_token = "</s>";
  o.pair_type_id = 0;
  o.extra_special_tokens = {"<extra_id_3>", "<extra_id_2>", "<extra_id_1>", "<extra_id_0>"};
  const std::string path =
      write_json(tmp, sentencepiece_tokenizer_json(spm::read_model_proto(source_spm()), o, "source.spm"), "t5.json");
  EXPECT_EQ(tok->token_to_id("<extra_id_0>"), 32003);
  EXPECT_EQ(tok->token_to_id("<extra_id_3>"), 32000);
  // Pairs untruncated: with both texts of type 0 the reference types the second text 1 in some
  // overflowing windows of a pair, a quirk of its overflow handling outside the SentencePiece parts.
  expect_same_as_reference(*tok, path, 20261132, /*truncate_pairs=*/false);
}

}  // namespace
}  // namespace textune::tokenizers
