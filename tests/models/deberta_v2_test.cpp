// DeBERTa-v2/v3 beyond what the shared suites check on the deberta-v3-seqcls fixture (verify, round
// trip and decay names run through encoder_fixtures() in parity_test.cpp and checkpoint_test.cpp):
// the log-bucket positions by hand, the base model's hidden states, the heads without a fixture
// checked against the reference hidden states, DeBERTa's own default loss, a new head on a base
// checkpoint, and the older pos_att_type spelling.
#include <cmath>
#include <filesystem>

#include "models/deberta_v2.h"
#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/core/safetensors.h"
#include "textune/models/model.h"
#include "textune/models/verify.h"
#include "textune/train/trajectory.h"

namespace {

using namespace textune;

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}
using namespace textune::testing;

const char* kFixture = "deberta-v3-seqcls";

std::vector<std::string> sorted_names(const std::string& path) {
  std::vector<std::string> out;
  const auto file = core::SafetensorsFile::open(path);
  for (const auto& info : file.tensors()) out.push_back(info.name);
  std::sort(out.begin(), out.end());
  return out;
}

torch::Tensor golden(const std::string& name) {
  return core::SafetensorsFile::open(model_fixture(kFixture) + "/golden.safetensors").get(name).clone();
}

torch::Tensor weight(const std::string& name) {
  return core::SafetensorsFile::open(model_fixture(kFixture) + "/model.safetensors").get(name).clone();
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(DebertaV2, LogBucketPositionsByHand) {
  // bucket_size 16 (mid 8), max_position 64: |d| <= 8 is kept; beyond, sign(d) * (ceil(log(|d|/8) /
  // log(63/8) * 7) + 8). |d| = 9: log(1.125)/log(7.875) * 7 = 0.3993 -> 1 -> 9; |d| = 11: 1.0803 -> 2 ->
  // 10; |d| = 20: 3.1079 -> 4 -> 12; |d| = 63: 7 -> 15; |d| = 200: 10.918 -> 11 -> 19 (not clamped here).
  auto d = torch::tensor({0, 1, -5, 8, -8, 9, 11, -11, 20, 63, 200}, torch::kLong);
  auto b = models::make_log_bucket_position(d, 16, 64);
  std::vector<float> expected = {0, 1, -5, 8, -8, 9, 10, -10, 12, 15, 19};
  ASSERT_EQ(b.numel(), static_cast<int64_t>(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i)
    EXPECT_EQ(b[i].item<float>(), expected[i]) << "distance " << d[i].item<int64_t>();

  // build_relative_position: q - k, (1, Q, K)
  auto rel = models::build_relative_position(3, 4, -1, -1);
  ASSERT_EQ(rel.sizes(), (std::vector<int64_t>{1, 3, 4}));
  EXPECT_EQ(rel[0][2][0].item<int64_t>(), 2);
  EXPECT_EQ(rel[0][0][3].item<int64_t>(), -3);
}

TEST(DebertaV2, BaseModelReproducesTheReferenceHiddenStates) {
  // DebertaV2Model from the classifier's checkpoint (deberta.* names, head tensors unused).
  models::LoadOptions o;
  o.architecture = "DebertaV2Model";
  models::LoadReport report;
  auto model = models::load_pretrained(model_fixture(kFixture), o, &report);
  EXPECT_EQ(sorted(report.unexpected_keys), (std::vector<std::string>{"classifier.bias", "classifier.weight",
                                                                      "pooler.dense.bias", "pooler.dense.weight"}));
  auto in = models::read_golden_inputs(model_fixture(kFixture) + "/golden.safetensors");
  in.labels = torch::Tensor();
  in.output_hidden_states = true;
  torch::NoGradGuard no_grad;
  auto out = model->forward(in);
  ASSERT_EQ(out.hidden_states.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_LT(max_diff(out.hidden_states[i], golden("eval.hidden_states." + std::to_string(i))), 1e-5) << i;
  EXPECT_LT(max_diff(out.last_hidden_state, golden("eval.hidden_states.2")), 1e-5);
  EXPECT_FALSE(model->max_sequence_length().has_value());  // relative positions only
}

TEST(DebertaV2, TokenClassificationIsTheClassifierOverTheReferenceHiddenStates) {
  // DebertaV2ForTokenClassification: logits = classifier(last_hidden_state) (dropout 0 in eval). The
  // checkpoint's classifier (3 labels) is reused, so the reference is classifier(eval.hidden_states.2).
  models::LoadOptions o;
  o.architecture = "DebertaV2ForTokenClassification";
  auto model = models::load_pretrained(model_fixture(kFixture), o);
  auto in = models::read_golden_inputs(model_fixture(kFixture) + "/golden.safetensors");
  in.labels = torch::tensor({{-100, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, -100}}).expand({3, 12}).clone();
  torch::NoGradGuard no_grad;
  auto out = model->forward(in);
  auto ref = torch::nn::functional::linear(golden("eval.hidden_states.2"), weight("classifier.weight"),
                                           weight("classifier.bias"));  // (B, T, 3)
  EXPECT_LT(max_diff(out.logits, ref), 1e-5);
  auto ref_loss = torch::nn::functional::cross_entropy(ref.view({-1, 3}), in.labels.view({-1}));
  EXPECT_NEAR(out.loss.item<double>(), ref_loss.item<double>(), 1e-5);
}

TEST(DebertaV2, LegacyMaskedLMHeadIsTiedToTheWordEmbeddings) {
  // DebertaV2ForMaskedLM (legacy): logits = LayerNorm(gelu(dense(h))) @ word_embeddings^T + bias.
  // The checkpoint lacks cls.*: transform.dense is initialised, the LayerNorm is (1, 0), bias 0.
  models::LoadOptions o;
  o.architecture = "DebertaV2ForMaskedLM";
  models::LoadReport report;
  auto model = models::load_pretrained(model_fixture(kFixture), o, &report);
  EXPECT_EQ(
      sorted(report.missing_keys),
      (std::vector<std::string>{"cls.predictions.bias", "cls.predictions.transform.LayerNorm.bias",
                                "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.dense.bias",
                                "cls.predictions.transform.dense.weight"}));
  auto params = model->named_parameters();
  EXPECT_FALSE(params.contains("cls.predictions.decoder.weight"));
  EXPECT_EQ(model->tied_weights().at("cls.predictions.decoder.weight"), "deberta.embeddings.word_embeddings.weight");
  auto in = models::read_golden_inputs(model_fixture(kFixture) + "/golden.safetensors");
  in.labels = torch::Tensor();
  torch::NoGradGuard no_grad;
  auto out = model->forward(in);
  auto x = torch::gelu(torch::nn::functional::linear(golden("eval.hidden_states.2"),
                                                     params["cls.predictions.transform.dense.weight"],
                                                     params["cls.predictions.transform.dense.bias"]));
  x = torch::layer_norm(x, {32}, {}, {}, 1e-7);
  auto ref = torch::matmul(x, weight("deberta.embeddings.word_embeddings.weight").t());  // (B, T, V)
  EXPECT_LT(max_diff(out.logits, ref), 1e-4);
  // saved as transformers saves it: the tied decoder left out
  TempDir tmp;
  models::save_pretrained(model, tmp / "mlm");
  const auto names = sorted_names(tmp / "mlm/model.safetensors");
  EXPECT_TRUE(std::count(names.begin(), names.end(), "cls.predictions.bias"));
  EXPECT_FALSE(std::count(names.begin(), names.end(), "cls.predictions.decoder.weight"));
  EXPECT_FALSE(std::count(names.begin(), names.end(), "cls.predictions.decoder.bias"));
}

TEST(DebertaV2, NewMaskedLMHeadUsesLmPredictionsNames) {
  // legacy false: lm_predictions.lm_head.{dense, LayerNorm, bias}, logits against the word embeddings.
  TempDir tmp;
  std::filesystem::create_directories(tmp / "m");
  core::Json config = core::read_json_file(model_fixture(kFixture) + "/config.json");
  config["legacy"] = false;
  config["architectures"] = core::Json::array({"DebertaV2ForMaskedLM"});
  core::write_json_file(tmp / "m/config.json", config);
  std::filesystem::copy_file(model_fixture(kFixture) + "/model.safetensors", tmp / "m/model.safetensors");
  auto model = models::load_pretrained(tmp / "m");
  auto params = model->named_parameters();
  for (const char* n : {"lm_predictions.lm_head.dense.weight", "lm_predictions.lm_head.LayerNorm.weight",
                        "lm_predictions.lm_head.bias"})
    EXPECT_TRUE(params.contains(n)) << n;
  EXPECT_TRUE(model->tied_weights().empty());
  auto in = models::read_golden_inputs(model_fixture(kFixture) + "/golden.safetensors");
  in.labels = torch::Tensor();
  torch::NoGradGuard no_grad;
  auto out = model->forward(in);
  auto x = torch::gelu(torch::nn::functional::linear(golden("eval.hidden_states.2"),
                                                     params["lm_predictions.lm_head.dense.weight"],
                                                     params["lm_predictions.lm_head.dense.bias"]));
  x = torch::layer_norm(x, {32}, {}, {}, 1e-7);
  EXPECT_LT(max_diff(out.logits, torch::matmul(x, weight("deberta.embeddings.word_embeddings.weight").t())), 1e-4);
}

TEST(DebertaV2, LabelsBelowZeroAreLeftOutOfTheDefaultLoss) {
  // Without problem_type, DebertaV2ForSequenceClassification keeps only the examples whose label is
  // >= 0 and leaves config.json's problem_type unset. Reference: cross-entropy of the reference
  // logits over rows 0 and 2.
  auto model = models::load_pretrained(model_fixture(kFixture));
  auto in = models::read_golden_inputs(model_fixture(kFixture) + "/golden.safetensors");
  in.labels = torch::tensor({2, -1, 0}, torch::kLong);
  torch::NoGradGuard no_grad;
  auto out = model->forward(in);
  auto logits = golden("eval.logits");
  auto ref = torch::nn::functional::cross_entropy(logits.index_select(0, torch::tensor({0, 2})), torch::tensor({2, 0}));
  EXPECT_NEAR(out.loss.item<double>(), ref.item<double>(), 1e-5);
  EXPECT_FALSE(model->config().contains("problem_type"));
}

TEST(DebertaV2, BaseCheckpointGetsANewPoolerAndClassifier) {
  // A base checkpoint (no pooler, no classifier) loads as a classifier with a warning listing them.
  TempDir tmp;
  std::filesystem::create_directories(tmp / "base");
  std::vector<std::pair<std::string, torch::Tensor>> kept;
  const auto file = core::SafetensorsFile::open(model_fixture(kFixture) + "/model.safetensors");
  for (auto& [name, t] : file.all())
    if (name.rfind("deberta.", 0) == 0) kept.emplace_back(name, t.clone());
  core::save_safetensors_pretrained(tmp / "base/model.safetensors", kept);
  core::Json config = core::read_json_file(model_fixture(kFixture) + "/config.json");
  config["architectures"] = core::Json::array({"DebertaV2Model"});
  core::write_json_file(tmp / "base/config.json", config);
  models::LoadOptions o;
  o.task = models::TaskKind::kSequenceClassification;
  models::LoadReport report;
  auto model = models::load_pretrained(tmp / "base", o, &report);
  EXPECT_EQ(report.architecture, "DebertaV2ForSequenceClassification");
  EXPECT_EQ(sorted(report.missing_keys), (std::vector<std::string>{"classifier.bias", "classifier.weight",
                                                                   "pooler.dense.bias", "pooler.dense.weight"}));
  auto params = model->named_parameters();
  EXPECT_EQ(params["classifier.bias"].abs().max().item<double>(), 0.0);
  const double sd = params["pooler.dense.weight"].std().item<double>();
  EXPECT_GT(sd, 0.01);  // normal(0, initializer_range 0.02)
  EXPECT_LT(sd, 0.03);
}

TEST(DebertaV2, PositionAttentionTypeAsAPipeSeparatedString) {
  // Older DeBERTa-v2 configs spell pos_att_type "p2c|c2p": the same model as the list.
  TempDir tmp;
  std::filesystem::create_directories(tmp / "m");
  core::Json config = core::read_json_file(model_fixture(kFixture) + "/config.json");
  config["pos_att_type"] = "p2c|c2p";
  core::write_json_file(tmp / "m/config.json", config);
  std::filesystem::copy_file(model_fixture(kFixture) + "/model.safetensors", tmp / "m/model.safetensors");
  auto r = models::verify_model(models::load_pretrained(tmp / "m"), model_fixture(kFixture) + "/golden.safetensors");
  EXPECT_TRUE(r.pass) << r.to_json().dump(2);
}

}  // namespace

namespace {

TEST(DebertaV2, Float64RunStaysFiniteAndMatchesTheReference) {
  // Padding queries see no key at all (the mask is query AND key); their scores are filled with
  // float64's lowest value, which a softmax forced into float32 turned into -inf and NaN.
  models::LoadOptions o;
  o.dtype = torch::kFloat64;
  auto model = models::load_pretrained(model_fixture(kFixture), o);
  const auto r = models::verify_model(model, model_fixture(kFixture) + "/golden.safetensors");
  EXPECT_TRUE(r.pass) << r.to_json().dump(2);
  EXPECT_TRUE(r.problems.empty()) << r.to_json().dump(2);
}

TEST(DebertaV2, Float64TrajectoryMeetsEveryToleranceOfTheReference) {
  // In float32 final.pooler.dense.weight[12][2] lands 1.3e-5 from the reference: its first
  // gradient (-6.6e-9) is the sum of three terms near 3e-3 over the batch (labels 0, 1, 2 under an
  // almost uniform softmax), so one ulp of the pooled hidden state moves it by 10%, and Adam, whose
  // eps (1e-8) is of the same size, turns that into 1.3e-5. In float64 the same model and optimizer
  // meet every tolerance: the formula is transformers'; the float32 miss is rounding.
  const std::string dir = model_fixture(kFixture);
  const core::Json t = core::read_json_file(dir + "/golden.json")["trajectory"];
  models::LoadOptions o;
  o.dtype = torch::kFloat64;
  auto model = models::load_pretrained(dir, o);
  const auto result = train::run_trajectory(model, models::read_golden_inputs(dir + "/golden.safetensors"), t);
  for (size_t k = 0; k < result.loss_per_step.size(); ++k) {
    EXPECT_NEAR(result.loss_per_step[k], t["loss_per_step"][k].get<double>(), 1e-5) << "step " << k;
    const double norm = t["grad_norm_per_step"][k].get<double>();
    EXPECT_NEAR(result.grad_norm_per_step[k], norm, 1e-4 * std::max(1.0, norm)) << "step " << k;
  }
  const auto final = core::SafetensorsFile::open(dir + "/trajectory.safetensors");
  for (const auto& p : model->named_parameters()) {
    const auto c = models::compare_final_parameter(p.key(), p.value().detach(), final.get("final." + p.key()),
                                                   result, 1e-5);
    EXPECT_LE(c.max_error, 1e-5) << p.key();
    EXPECT_EQ(c.noise_elements, 0) << c.message;
  }
}

}  // namespace
