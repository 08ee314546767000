// The model API beyond parity: labels and problem types, losses with class weights and label
// smoothing, activations, input checks, from_config initialisation, the registry.
#include <cmath>

#include "model_fixtures.h"
#include "models/layers.h"
#include "models/losses.h"
#include "textune/core/error.h"
#include "textune/models/model.h"
#include "textune/models/verify.h"

namespace {

using namespace textune;
using namespace textune::testing;

models::ModelInputs golden_batch(const std::string& fixture) {
  return models::read_golden_inputs(model_fixture(fixture) + "/golden.safetensors");
}

TEST(ModelApi, LabelsProblemTypesAndLimitsFromConfig) {
  auto seq = models::load_pretrained(model_fixture("bert-seqcls"));
  EXPECT_EQ(seq->id2label(), (std::vector<std::string>{"negative", "neutral", "positive"}));
  EXPECT_EQ(seq->num_labels(), 3);
  EXPECT_EQ(seq->task(), models::TaskKind::kSequenceClassification);
  EXPECT_EQ(seq->problem_type(), models::ProblemType::kSingleLabel);
  EXPECT_EQ(seq->model_type(), "bert");
  EXPECT_EQ(seq->max_sequence_length(), 64);  // max_position_embeddings
  EXPECT_EQ(models::load_pretrained(model_fixture("bert-multilabel"))->problem_type(),
            models::ProblemType::kMultiLabel);  // config.json says so
  EXPECT_EQ(models::load_pretrained(model_fixture("bert-regression"))->problem_type(),
            models::ProblemType::kRegression);  // inferred: one label
  // RoBERTa positions start after pad_token_id (1): 40 - 1 - 1 tokens fit
  EXPECT_EQ(models::load_pretrained(model_fixture("roberta-seqcls"))->max_sequence_length(), 38);
  auto qa = models::load_pretrained(model_fixture("distilbert-qa"));
  EXPECT_EQ(qa->task(), models::TaskKind::kQuestionAnswering);
  EXPECT_EQ(qa->num_labels(), 2);
  EXPECT_EQ(models::load_pretrained(model_fixture("bert-tokcls"))->id2label(),
            (std::vector<std::string>{"LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3", "LABEL_4"}));
}

TEST(ModelApi, ProblemTypeInferredFromLabelsIsRecordedLikeTransformers) {
  // bert-regression's config.json has no problem_type; transformers sets "regression" on the
  // first forward with labels (num_labels == 1), so a saved model records it.
  auto model = models::load_pretrained(model_fixture("bert-regression"));
  EXPECT_FALSE(model->config().contains("problem_type"));
  torch::NoGradGuard g;
  model->forward(golden_batch("bert-regression"));
  EXPECT_EQ(model->config()["problem_type"], "regression");
  // with several labels the labels' dtype decides: float labels make it multi-label
  auto seq = models::load_pretrained(model_fixture("bert-seqcls"));
  auto in = golden_batch("bert-seqcls");
  in.labels = torch::tensor({{1.f, 0.f, 1.f}, {0.f, 0.f, 1.f}, {0.f, 1.f, 0.f}});
  const auto out = seq->forward(in);
  EXPECT_EQ(seq->config()["problem_type"], "multi_label_classification");
  // BCE-with-logits, mean over all elements (its definition)
  auto z = out.logits.to(torch::kFloat64), y = in.labels.to(torch::kFloat64);
  auto expected = -(y * torch::log(torch::sigmoid(z)) + (1 - y) * torch::log(1 - torch::sigmoid(z))).mean();
  EXPECT_NEAR(out.loss.item<double>(), expected.item<double>(), 1e-6);
}

TEST(ModelApi, ClassWeightsFollowCrossEntropysWeightedMean) {
  // PyTorch's CrossEntropyLoss(weight=w), reduction mean: sum_i w[y_i] * -log p_i[y_i] / sum_i w[y_i].
  auto model = models::load_pretrained(model_fixture("bert-seqcls"));
  auto in = golden_batch("bert-seqcls");
  models::LossOptions options;  // the training loss's options (tasks::TextClassificationTask::loss)
  options.class_weights = torch::tensor({0.2f, 1.0f, 3.0f});
  torch::NoGradGuard g;
  const auto out = model->forward(in);
  const auto loss = models::sequence_classification_loss(out.logits, in.labels, model->problem_type(), options);
  auto logp = torch::log_softmax(out.logits.to(torch::kFloat64), 1);
  double num = 0, den = 0;
  for (int64_t i = 0; i < 3; ++i) {
    const int64_t y = in.labels[i].item<int64_t>();
    const double w = options.class_weights[y].item<double>();
    num += -w * logp[i][y].item<double>();
    den += w;
  }
  EXPECT_NEAR(loss.item<double>(), num / den, 1e-6);
  options.class_weights = torch::ones({4});
  EXPECT_THROW(models::sequence_classification_loss(out.logits, in.labels, model->problem_type(), options), DataError);
}

TEST(ModelApi, LabelSmoothingMixesTheUniformTarget) {
  // label_smoothing e: the target is (1 - e) one-hot + e / C, so the loss is
  // (1 - e) * NLL + e * mean over classes of -log p (PyTorch's CrossEntropyLoss definition).
  auto model = models::load_pretrained(model_fixture("bert-tokcls"));
  auto in = golden_batch("bert-tokcls");
  models::LossOptions options;
  options.label_smoothing = 0.1;
  torch::NoGradGuard g;
  const auto out = model->forward(in);
  const auto loss = models::token_classification_loss(out.logits, in.labels, options);
  auto logp = torch::log_softmax(out.logits.to(torch::kFloat64), -1).reshape({-1, 5});
  auto labels = in.labels.reshape({-1});
  double nll = 0, uniform = 0;
  int64_t n = 0;
  for (int64_t i = 0; i < labels.size(0); ++i) {
    const int64_t y = labels[i].item<int64_t>();
    if (y == -100) continue;  // ignored positions
    nll += -logp[i][y].item<double>();
    uniform += -logp[i].mean().item<double>();
    ++n;
  }
  EXPECT_NEAR(loss.item<double>(), 0.9 * nll / n + 0.1 * uniform / n, 1e-6);
}

TEST(ModelApi, InputsAreChecked) {
  auto model = models::load_pretrained(model_fixture("bert-seqcls"));
  models::ModelInputs in;
  in.input_ids = torch::ones({1, 65}, torch::kLong);
  std::string err = error_of([&] { model->forward(in); });
  EXPECT_NE(err.find("65 tokens, longer than the 64 positions"), std::string::npos) << err;
  in.input_ids = torch::full({1, 4}, 1000, torch::kLong);
  err = error_of([&] { model->forward(in); });
  EXPECT_NE(err.find("input_ids holds id 1000"), std::string::npos) << err;
  in.input_ids = torch::ones({1, 4}, torch::kLong);
  in.attention_mask = torch::ones({1, 5}, torch::kLong);
  err = error_of([&] { model->forward(in); });
  EXPECT_NE(err.find("attention_mask has shape [1, 5] but input_ids has shape [1, 4]"), std::string::npos) << err;
  in.attention_mask = torch::Tensor();
  in.input_ids = torch::ones({4}, torch::kLong);
  EXPECT_THROW(model->forward(in), DataError);
  auto qa = models::load_pretrained(model_fixture("bert-qa"));
  auto qin = golden_batch("bert-qa");
  qin.end_positions = torch::Tensor();
  EXPECT_THROW(qa->forward(qin), DataError);
}

TEST(ModelApi, PaddingDoesNotChangeTheRealTokens) {
  // Extra padding (mask 0) must leave the logits of a sequence unchanged: attention ignores it
  // and RoBERTa's position ids skip it.
  for (const std::string fixture : {"bert-seqcls", "roberta-seqcls", "distilbert-seqcls", "electra-seqcls"}) {
    auto model = models::load_pretrained(model_fixture(fixture));
    auto in = golden_batch(fixture);
    in.labels = torch::Tensor();
    torch::NoGradGuard g;
    const auto ref = model->forward(in).logits;
    const int64_t pad = fixture.rfind("roberta", 0) == 0 ? 1 : 0;
    models::ModelInputs padded = in;
    padded.input_ids = torch::cat({in.input_ids, torch::full({3, 5}, pad, torch::kLong)}, 1);
    padded.attention_mask = torch::cat({in.attention_mask, torch::zeros({3, 5}, torch::kLong)}, 1);
    if (in.token_type_ids.defined())
      padded.token_type_ids = torch::cat({in.token_type_ids, torch::zeros({3, 5}, torch::kLong)}, 1);
    EXPECT_LT((model->forward(padded).logits - ref).abs().max().item<double>(), 1e-6) << fixture;
  }
}

TEST(ModelApi, FromConfigInitialisesAsTransformers) {
  // _init_weights: Linear/Embedding normal(0, initializer_range), padding row and biases zero,
  // LayerNorm weight one and bias zero.
  core::Json cfg = core::read_json_file(model_fixture("bert-mlm") + "/config.json");
  auto model = models::from_config(cfg);
  auto p = model->named_parameters();
  const auto emb = p["bert.embeddings.word_embeddings.weight"];
  EXPECT_EQ(emb[0].abs().max().item<double>(), 0.0);  // pad_token_id 0
  const double std_dev = emb.slice(0, 1).std().item<double>();
  EXPECT_NEAR(std_dev, 0.02, 0.0005);  // 31,968 samples: the sample std is within 2.5% of 0.02
  EXPECT_TRUE(torch::equal(p["bert.encoder.layer.0.output.LayerNorm.weight"], torch::ones({32})));
  EXPECT_EQ(p["bert.encoder.layer.0.attention.self.query.bias"].abs().max().item<double>(), 0.0);
  EXPECT_EQ(p["cls.predictions.bias"].abs().max().item<double>(), 0.0);
  // seeded: the same seed gives the same model, another seed another
  auto again = models::from_config(cfg);
  EXPECT_TRUE(torch::equal(again->named_parameters()["bert.embeddings.word_embeddings.weight"], emb));
  models::LoadOptions o;
  o.seed = 7;
  EXPECT_FALSE(torch::equal(models::from_config(cfg, o)->named_parameters()["bert.embeddings.word_embeddings.weight"],
                            emb));
}

TEST(ModelApi, TaskChoosesTheFamilysHead) {
  models::LoadOptions o;
  o.task = models::TaskKind::kTokenClassification;
  o.labels = std::vector<std::string>{"O", "B", "I"};
  models::LoadReport report;
  auto model = models::load_pretrained(model_fixture("electra-seqcls"), o, &report);
  EXPECT_EQ(model->architecture(), "ElectraForTokenClassification");
  EXPECT_EQ(report.missing_keys, (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
  EXPECT_EQ(model->id2label(), (std::vector<std::string>{"O", "B", "I"}));
  const auto archs = models::supported_architectures();
  for (const char* a : {"BertForSequenceClassification", "RobertaForMaskedLM", "XLMRobertaForTokenClassification",
                        "DistilBertForQuestionAnswering", "ElectraForMaskedLM", "BertModel"})
    EXPECT_NE(std::find(archs.begin(), archs.end(), a), archs.end()) << a;
  EXPECT_EQ(models::supported_model_types(), (std::vector<std::string>{"bert", "deberta-v2", "distilbert", "electra",
                                                                       "modernbert", "roberta", "xlm-roberta"}));
}

TEST(ModelApi, MaskedLMHeadsOfEveryFamilyBuildAndTie) {
  // Each family's MLM head leaves exactly the tied decoder weight (and BERT/RoBERTa's decoder
  // bias) out of its parameters.
  struct Case {
    const char* fixture;
    const char* arch;
    const char* tied;
  };
  for (const Case c : {Case{"bert-seqcls", "BertForMaskedLM", "cls.predictions.decoder.weight"},
                       Case{"roberta-seqcls", "RobertaForMaskedLM", "lm_head.decoder.weight"},
                       Case{"distilbert-seqcls", "DistilBertForMaskedLM", "vocab_projector.weight"},
                       Case{"electra-seqcls", "ElectraForMaskedLM", "generator_lm_head.weight"}}) {
    models::LoadOptions o;
    o.architecture = c.arch;
    auto model = models::load_pretrained(model_fixture(c.fixture), o);
    EXPECT_TRUE(model->tied_weights().count(c.tied)) << c.arch;
    EXPECT_FALSE(model->named_parameters().contains(c.tied)) << c.arch;
    auto in = golden_batch(c.fixture);
    in.labels = torch::full_like(in.input_ids, -100);
    in.labels.index_put_({torch::indexing::Slice(), 2}, in.input_ids.select(1, 2));
    auto out = model->forward(in);
    EXPECT_EQ(out.logits.size(2), 1000) << c.arch;
    EXPECT_TRUE(std::isfinite(out.loss.item<double>()));
  }
}

TEST(Activations, MatchTheirDefinitions) {
  using models::Activation;
  const auto x = torch::tensor({-2.0, -0.5, 0.0, 1.0, 3.0}, torch::kFloat64);
  auto at = [&](Activation a) { return models::apply_activation(x, a); };
  for (int64_t i = 0; i < x.size(0); ++i) {
    const double v = x[i].item<double>();
    const double gelu = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));                       // x * Phi(x)
    const double tanh_gelu = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(at(Activation::kGelu)[i].item<double>(), gelu, 1e-12);
    EXPECT_NEAR(at(Activation::kGeluNew)[i].item<double>(), tanh_gelu, 1e-12);
    EXPECT_NEAR(at(Activation::kGeluPytorchTanh)[i].item<double>(), tanh_gelu, 1e-12);
    EXPECT_NEAR(at(Activation::kGeluFast)[i].item<double>(), tanh_gelu, 1e-9);
    EXPECT_NEAR(at(Activation::kQuickGelu)[i].item<double>(), v / (1 + std::exp(-1.702 * v)), 1e-12);
    EXPECT_NEAR(at(Activation::kRelu)[i].item<double>(), std::max(v, 0.0), 0);
    EXPECT_NEAR(at(Activation::kSilu)[i].item<double>(), v / (1 + std::exp(-v)), 1e-12);
  }
  EXPECT_EQ(models::activation_from_name("swish", "x"), Activation::kSilu);
  EXPECT_THROW(models::activation_from_name("mish", "x"), DataError);
}

}  // namespace

namespace {

TEST(ModelApi, DistilBertSinusoidalPositionsStartAsTheTableAndTrain) {
  // sinusoidal_pos_embds: position p, column 2i holds sin(p / 10000^(2i/dim)) and column 2i+1
  // cos of the same angle (create_sinusoidal_embeddings); transformers 5 then trains them.
  textune::core::Json cfg =
      textune::core::read_json_file(textune::testing::model_fixture("distilbert-seqcls") + "/config.json");
  cfg["sinusoidal_pos_embds"] = true;
  auto model = textune::models::from_config(cfg);
  const auto w = model->named_parameters()["distilbert.embeddings.position_embeddings.weight"];
  EXPECT_TRUE(w.requires_grad());
  const int64_t dim = 32;
  for (int64_t pos : {0, 1, 7, 63})
    for (int64_t j : {0, 1, 2, 3, 30, 31}) {
      const double angle = pos / std::pow(10000.0, 2.0 * (j / 2) / dim);
      EXPECT_NEAR(w[pos][j].item<double>(), j % 2 == 0 ? std::sin(angle) : std::cos(angle), 1e-7) << pos << "," << j;
    }
}

}  // namespace
