// Parity with Hugging Face transformers on every encoder fixture: outputs, hidden states, losses
// and gradients (../shared/fixtures/models/NAME/golden.safetensors, tolerances from its README).
#include <filesystem>

#include "model_fixtures.h"
#include "textune/core/error.h"
#include "textune/models/model.h"
#include "textune/models/verify.h"

namespace {

using namespace textune;
using namespace textune::testing;

int64_t count_prefix(const std::string& path, const std::string& prefix) {
  int64_t n = 0;
  const auto file = core::SafetensorsFile::open(path);
  for (const auto& info : file.tensors()) n += info.name.rfind(prefix, 0) == 0;
  return n;
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, VerifyPassesOnOutputsHiddenStatesLossAndEveryGradient) {
  const std::string dir = model_fixture(GetParam());
  const std::string golden = dir + "/golden.safetensors";
  models::VerifyOptions o;
  o.model_dir = dir;
  o.golden = golden;
  const models::VerifyReport r = models::verify(o);
  EXPECT_TRUE(r.pass) << r.to_json(true).dump(2);
  EXPECT_TRUE(r.problems.empty());
  std::map<std::string, models::VerifyGroup> groups;
  for (const auto& g : r.groups) groups[g.name] = g;
  // every golden tensor was compared: the logits, the hidden states, both losses, every gradient
  const int64_t outputs = count_prefix(golden, "eval.logits") + count_prefix(golden, "eval.start_logits") +
                          count_prefix(golden, "eval.end_logits");
  EXPECT_EQ(groups["outputs"].tensors, outputs);
  EXPECT_EQ(groups["hidden_states"].tensors, count_prefix(golden, "eval.hidden_states."));
  EXPECT_EQ(groups["loss"].tensors, 2);  // eval.loss and train.loss
  EXPECT_EQ(groups["grads"].tensors, count_prefix(golden, "grad."));
  EXPECT_EQ(groups["grads"].tensors, count_prefix(dir + "/model.safetensors", ""));  // every parameter
}

TEST_P(Parity, DecayParameterNamesAreTrainers) {
  const std::string dir = model_fixture(GetParam());
  const core::Json golden = core::read_json_file(dir + "/golden.json");
  const auto expected = golden["trajectory"]["decay_parameter_names"].get<std::vector<std::string>>();
  EXPECT_EQ(models::load_pretrained(dir)->decay_parameter_names(), expected);
}

INSTANTIATE_TEST_SUITE_P(Encoders, Parity, ::testing::ValuesIn(encoder_fixtures()),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(Parity, VerifyCatchesAPerturbedWeight) {
  // One weight moved by 1e-3 must fail both the outputs and the gradients it feeds.
  auto model = models::load_pretrained(model_fixture("bert-seqcls"));
  {
    torch::NoGradGuard g;
    model->named_parameters()["bert.encoder.layer.1.output.dense.weight"][0][0] += 1e-3;
  }
  const auto r = models::verify_model(model, model_fixture("bert-seqcls") + "/golden.safetensors");
  EXPECT_FALSE(r.pass);
  for (const auto& g : r.groups)
    if (g.name == "hidden_states") {
      EXPECT_FALSE(g.pass);
      EXPECT_EQ(g.worst, "eval.hidden_states.2");  // the first hidden state after layer 1
    }
}

TEST(Parity, XlmRobertaIsRobertaUnderItsOwnNames) {
  // XLM-RoBERTa is RoBERTa's computation registered as model_type "xlm-roberta"; the roberta-seqcls
  // golden tensors therefore hold for it too.
  TempDir tmp;
  write_variant("roberta-seqcls", tmp / "xlmr", nullptr, [](core::Json& c) {
    c["model_type"] = "xlm-roberta";
    c["architectures"] = core::Json::array({"XLMRobertaForSequenceClassification"});
  });
  auto model = models::load_pretrained(tmp / "xlmr");
  EXPECT_EQ(model->architecture(), "XLMRobertaForSequenceClassification");
  const auto r = models::verify_model(model, model_fixture("roberta-seqcls") + "/golden.safetensors");
  EXPECT_TRUE(r.pass) << r.to_json().dump(2);
}

TEST(Parity, ForwardInBFloat16StaysCloseToTheFloat32Reference) {
  // Loading with dtype bf16 converts every parameter; logits move by bf16 rounding only.
  models::LoadOptions o;
  o.dtype = torch::kBFloat16;
  auto model = models::load_pretrained(model_fixture("bert-seqcls"), o);
  EXPECT_EQ(model->parameters().front().scalar_type(), torch::kBFloat16);
  const auto in = models::read_golden_inputs(model_fixture("bert-seqcls") + "/golden.safetensors");
  torch::NoGradGuard g;
  auto out = model->forward(in);
  auto ref = core::SafetensorsFile::open(model_fixture("bert-seqcls") + "/golden.safetensors").get("eval.logits");
  EXPECT_LT((out.logits.to(torch::kFloat32) - ref).abs().max().item<double>(), 0.05);
}

}  // namespace
