// `textune verify`: exit codes and the JSON report, run as a user runs it.
#include "model_fixtures.h"
#include "textune/core/error.h"
#include "textune/models/verify.h"

namespace {

using namespace textune::testing;

TEST(CliVerify, PassingFixturePrintsAReportAndExitsZero) {
  const std::string dir = model_fixture("electra-seqcls");
  const auto r = run_cli("verify --model '" + dir + "' --golden '" + dir + "/golden.safetensors'");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_TRUE(report["pass"].get<bool>());
  EXPECT_EQ(report["architecture"], "ElectraForSequenceClassification");
  for (const char* g : {"outputs", "hidden_states", "loss", "grads"}) {
    ASSERT_TRUE(report["groups"].contains(g)) << g;
    EXPECT_TRUE(report["groups"][g]["pass"].get<bool>()) << g;
  }
  EXPECT_EQ(report["groups"]["grads"]["tensors"], 43);  // every grad.* of the golden file
}

TEST(CliVerify, MismatchExitsOne) {
  // bert-seqcls's weights against bert-regression's golden tensors: same inputs, other model.
  const auto r = run_cli("verify --model '" + model_fixture("bert-seqcls") + "' --golden '" +
                         model_fixture("bert-regression") + "/golden.safetensors'");
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_FALSE(report["pass"].get<bool>());
  EXPECT_FALSE(report["problems"].empty());  // logits of shape [3, 3] against [3, 1]
}

TEST(CliVerify, TrajectoryWithoutARunnerIsAUsageError) {
  // The library leaves the optimizer to the training layer: without a runner, --trajectory is
  // refused (the command passes textune's own; tests/cli/verify_trajectory_test.cpp runs it).
  const std::string dir = model_fixture("bert-seqcls");
  textune::models::VerifyOptions options;
  options.model_dir = dir;
  options.golden = dir + "/golden.safetensors";
  options.trajectory = dir + "/trajectory.safetensors";
  try {
    textune::models::verify(options);
    FAIL() << "expected a UsageError";
  } catch (const textune::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--trajectory is not available"), std::string::npos) << e.what();
  }
}

TEST(CliVerify, MissingModelDirectoryIsADataError) {
  const auto r = run_cli("verify --model /nonexistent --golden /nonexistent/golden.safetensors");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("/nonexistent"), std::string::npos) << r.err;
}

}  // namespace
