// Differential test against the live reference (Hugging Face tokenizers through
// tools/reference): 2,000 generated requests per tokenizer.json fixture, fixed seed, every field of
// every encoding compared (see reference_diff.h). bench_tokenizer_diff runs the same for any count.
#include <gtest/gtest.h>

#include "support/test_support.h"
#include "tokenizers/reference_diff.h"

namespace textune::tokenizers {
namespace {

class DifferentialTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DifferentialTest, GeneratedTextsMatchTheReferenceInEveryField) {
  const std::string tj = textune::testing::tokenizer_fixture(GetParam()) + "/tokenizer.json";
  auto tok = Tokenizer::from_file(tj);
  const auto requests = reference_diff::generate_requests(2000, 20261129, reference_diff::added_token_contents(tj));
  const auto rep = reference_diff::run_and_compare(*tok, textune::testing::source_dir(), tj, requests);
  std::string examples;
  for (const auto& e : rep.examples) examples += "  " + e + "\n";
  EXPECT_EQ(rep.mismatched, 0u) << rep.mismatched << " of " << rep.requests << " requests differ for " << GetParam()
                                << ":\n"
                                << examples;
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, DifferentialTest,
                         ::testing::Values("bert-base-uncased", "bert-base-cased", "bert-base-chinese", "roberta-base",
                                           "gpt2"),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace textune::tokenizers
