// `textune verify --trajectory` on every encoder fixture: outputs, gradients and the 6-step
// optimizer trajectory (textune's AdamW, decay groups, schedule, clipping) against transformers.
#include "support/test_support.h"
#include "textune/core/json.h"
#include "textune/models/model.h"

using textune::testing::model_fixture;
using textune::testing::run_cli;

namespace {

class VerifyTrajectory : public ::testing::TestWithParam<std::string> {};

TEST_P(VerifyTrajectory, PassesWithinTheFixtureTolerances) {
  const std::string dir = model_fixture(GetParam());
  const auto cfg = textune::core::read_json_file(dir + "/config.json");
  const auto types = textune::models::supported_model_types();
  if (std::find(types.begin(), types.end(), cfg["model_type"].get<std::string>()) == types.end())
    GTEST_SKIP() << GetParam() << ": model_type not built yet";
  auto r = run_cli("verify --model " + dir + " --golden " + dir + "/golden.safetensors --trajectory " + dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["pass"].get<bool>()) << r.out;
  EXPECT_TRUE(j["groups"].contains("trajectory_params")) << r.out;
  EXPECT_TRUE(j["groups"].contains("trajectory_loss")) << r.out;
}

INSTANTIATE_TEST_SUITE_P(EncoderFixtures, VerifyTrajectory,
                         ::testing::Values("bert-seqcls", "bert-regression", "bert-multilabel", "bert-tokcls",
                                           "bert-qa", "bert-mlm", "roberta-seqcls", "roberta-tokcls", "roberta-qa",
                                           "distilbert-seqcls", "distilbert-tokcls", "distilbert-qa",
                                           "electra-seqcls", "deberta-v3-seqcls", "modernbert-seqcls"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
