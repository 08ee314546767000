#include "support/test_support.h"

using textune::testing::model_fixture;
using textune::testing::run_cli;

TEST(CliInfo, ReportsArchitectureLabelsAndParameterCount) {
  auto r = run_cli("info --json --model " + model_fixture("bert-seqcls"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["model_type"], "bert");
  EXPECT_EQ(j["architectures"][0], "BertForSequenceClassification");
  EXPECT_EQ(j["hidden_size"], 32);
  EXPECT_EQ(j["num_hidden_layers"], 2);
  EXPECT_EQ(j["id2label"]["2"], "positive");
  EXPECT_EQ(j["dtype"], "float32");
  // Parameter count from the safetensors header: the sum of every tensor's element count,
  // 209676 bytes of F32 in the file's data buffer.
  EXPECT_EQ(j["num_parameters"], 209676 / 4);
}

TEST(CliInfo, MissingDirectoryIsDataErrorOnOneLine) {
  auto r = run_cli("info --model /nonexistent/model");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "error: no such folder: /nonexistent/model (expected a model directory, or a Hub model id such as "
            "bert-base-uncased or org/name; / exists but holds no nonexistent)\n");
}

TEST(CliInfo, MissingOptionIsUsageError) {
  auto r = run_cli("info");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--model is required"), std::string::npos) << r.err;
}

TEST(Cli, UnknownSubcommandIsUsageError) {
  auto r = run_cli("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
}
