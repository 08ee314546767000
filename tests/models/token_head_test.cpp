// Training a ...ForTokenClassification from a base checkpoint creates the head as transformers does
// (`AutoModelForTokenClassification.from_pretrained(base, num_labels=3, id2label=..., label2id=...)`):
// the architecture of the model type, `classifier` a new Linear(hidden, num_labels) initialised by
// `_init_weights` (weight ~ normal(0, initializer_range), bias zero), the labels in config.json, the
// base weights loaded unchanged, and a warning that lists exactly the new tensors.
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "model_fixtures.h"
#include "textune/core/json.h"
#include "textune/models/model.h"

namespace {

using namespace textune;
using namespace textune::testing;

struct BaseCase {
  std::string fixture;                     // ../shared/fixtures/models/NAME
  std::string architecture;                // expected head class
  std::vector<std::string> drop_prefixes;  // head tensors of the fixture (absent from a base checkpoint)
  std::string base_architecture;           // architectures of the base checkpoint's config.json
  std::string base_tensor;                 // an encoder tensor that must load unchanged
};

const std::vector<BaseCase>& cases() {
  static const std::vector<BaseCase> c = {
      // bert-mlm as a pretrained base (as bert-base-cased: the encoder plus an MLM head, unused here).
      {"bert-mlm", "BertForTokenClassification", {}, "", "bert.encoder.layer.0.attention.self.query.weight"},
      {"roberta-seqcls",
       "RobertaForTokenClassification",
       {"classifier."},
       "RobertaModel",
       "roberta.encoder.layer.0.attention.self.query.weight"},
      {"distilbert-seqcls",
       "DistilBertForTokenClassification",
       {"pre_classifier.", "classifier."},
       "DistilBertModel",
       "distilbert.transformer.layer.0.attention.q_lin.weight"},
  };
  return c;
}

void PrintTo(const BaseCase& c, std::ostream* os) {
  *os << c.fixture;
}

class TokenHead : public ::testing::TestWithParam<BaseCase> {};

TEST_P(TokenHead, ANewHeadIsMadeAsTransformersMakesIt) {
  const BaseCase& c = GetParam();
  TempDir tmp;
  std::string dir = model_fixture(c.fixture);
  if (!c.drop_prefixes.empty()) {
    dir = tmp / "base";
    write_variant(c.fixture, dir, drop(c.drop_prefixes), [&](core::Json& config) {
      config["architectures"] = core::Json::array({c.base_architecture});
      config.erase("id2label");
      config.erase("label2id");
    });
  }
  const std::vector<std::string> labels = {"O", "B-PER", "I-PER"};
  models::LoadOptions lo;
  lo.task = models::TaskKind::kTokenClassification;
  lo.labels = labels;
  models::LoadReport report;
  LogCapture log;
  auto model = models::load_pretrained(dir, lo, &report);
  const std::string warnings = log.text();

  EXPECT_EQ(report.architecture, c.architecture);
  // save_pretrained writes the class that was built (transformers: config.architectures =
  // [model.__class__.__name__] on save), with the new labels.
  models::save_pretrained_into(model, tmp.path());
  const core::Json saved = core::read_json_file(tmp / "config.json");
  EXPECT_EQ(saved["architectures"], core::Json::array({c.architecture}));
  EXPECT_EQ(saved["id2label"], core::Json({{"0", "O"}, {"1", "B-PER"}, {"2", "I-PER"}}));
  // (config.json's keys are sorted, as transformers' to_json_string(sort_keys=True) writes them)
  EXPECT_EQ(saved["label2id"], core::Json({{"B-PER", 1}, {"I-PER", 2}, {"O", 0}}));
  // Exactly the head is new, and the warning says so (transformers' "newly initialized: [...]").
  std::vector<std::string> missing = report.missing_keys;
  std::sort(missing.begin(), missing.end());
  EXPECT_EQ(missing, (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
  EXPECT_NE(warnings.find("newly initialized: [classifier.bias, classifier.weight]"), std::string::npos) << warnings;
  EXPECT_TRUE(report.mismatched_keys.empty());

  // config.json's labels (PretrainedConfig: num_labels = len(id2label)).
  EXPECT_EQ(model->num_labels(), 3);
  EXPECT_EQ(model->id2label(), labels);
  const core::Json& config = model->config();
  EXPECT_EQ(config["id2label"], core::Json({{"0", "O"}, {"1", "B-PER"}, {"2", "I-PER"}}));
  EXPECT_EQ(config["label2id"], core::Json({{"O", 0}, {"B-PER", 1}, {"I-PER", 2}}));

  // The head: Linear(hidden, 3); bias zero; weight normal(0, sigma) with sigma = initializer_range.
  const int64_t hidden = config.contains("dim") ? config["dim"].get<int64_t>() : config["hidden_size"].get<int64_t>();
  torch::Tensor weight, bias, base;
  for (const auto& p : model->named_parameters()) {
    if (p.key() == "classifier.weight") weight = p.value().detach();
    if (p.key() == "classifier.bias") bias = p.value().detach();
    if (p.key() == c.base_tensor) base = p.value().detach();
  }
  ASSERT_TRUE(weight.defined() && bias.defined() && base.defined());
  ASSERT_EQ(weight.sizes(), (std::vector<int64_t>{3, hidden}));
  ASSERT_EQ(bias.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(bias.abs().max().item<float>(), 0.0f);
  // For n draws of N(0, sigma^2): the sample mean has standard error sigma / sqrt(n) and the sample
  // standard deviation sigma / sqrt(2 (n - 1)) (normal approximation of the chi distribution).
  // Five standard errors: a correct initialiser fails with probability below 1e-6.
  const double sigma = model->initializer_range();
  EXPECT_DOUBLE_EQ(sigma, config.value("initializer_range", 0.02));
  const double n = static_cast<double>(weight.numel());
  const double mean = weight.to(torch::kFloat64).mean().item<double>();
  const double sd = weight.to(torch::kFloat64).std().item<double>();
  EXPECT_LT(std::abs(mean), 5 * sigma / std::sqrt(n)) << "mean " << mean;
  EXPECT_LT(std::abs(sd - sigma), 5 * sigma / std::sqrt(2 * (n - 1))) << "std " << sd;

  // The base weights are the checkpoint's.
  const Tensors file = read_tensors(dir + "/model.safetensors");
  auto it = std::find_if(file.begin(), file.end(), [&](const auto& t) { return t.first == c.base_tensor; });
  ASSERT_NE(it, file.end());
  EXPECT_TRUE(torch::equal(base, it->second.to(base.dtype())));
}

INSTANTIATE_TEST_SUITE_P(Bases, TokenHead, ::testing::ValuesIn(cases()), [](const auto& info) {
  std::string n = info.param.fixture;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

}  // namespace
