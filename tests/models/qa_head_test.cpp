// Training question answering from a base checkpoint creates the head as transformers does
// (`AutoModelForQuestionAnswering.from_pretrained(base)`, as run_qa.py loads it): the model type's
// ...ForQuestionAnswering, `qa_outputs` a new Linear(hidden, 2) initialised by `_init_weights` (weight ~
// normal(0, initializer_range), bias zero), the base weights loaded unchanged, and a warning that lists
// exactly the new tensors. Made through the question-answering task's prepare_model, as `textune train
// --task qa` makes it. A sequence classifier of 3 labels as the base gets the two outputs of a
// PretrainedConfig's default labels (transformers' own QA head would not fit 3).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include "model_fixtures.h"
#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/tasks/question_answering.h"
#include "textune/tasks/registry.h"

namespace {

using namespace textune;
using namespace textune::testing;

struct BaseCase {
  std::string fixture;                     // ../shared/fixtures/models/NAME
  std::string architecture;                // expected head class
  std::vector<std::string> drop_prefixes;  // head tensors of the fixture (absent from a base checkpoint)
  std::string base_architecture;           // architectures of the base checkpoint's config.json ("": as is)
  std::string base_tensor;                 // an encoder tensor that must load unchanged
};

const std::vector<BaseCase>& cases() {
  static const std::vector<BaseCase> c = {
      // bert-mlm as a pretrained base (as bert-base-cased: the encoder plus an MLM head, unused here).
      {"bert-mlm", "BertForQuestionAnswering", {}, "", "bert.encoder.layer.0.attention.self.query.weight"},
      {"roberta-seqcls",
       "RobertaForQuestionAnswering",
       {"classifier."},
       "RobertaModel",
       "roberta.encoder.layer.0.attention.self.query.weight"},
      {"distilbert-seqcls",
       "DistilBertForQuestionAnswering",
       {"pre_classifier.", "classifier."},
       "DistilBertModel",
       "distilbert.transformer.layer.0.attention.q_lin.weight"},
      // a fine-tuned 3-label classifier as the base: its classifier is left unused
      {"bert-seqcls", "BertForQuestionAnswering", {}, "", "bert.encoder.layer.0.attention.self.query.weight"},
  };
  return c;
}

void PrintTo(const BaseCase& c, std::ostream* os) {
  *os << c.fixture;
}

class QaHead : public ::testing::TestWithParam<BaseCase> {};

TEST_P(QaHead, ANewHeadIsMadeAsTransformersMakesIt) {
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
  // one training question (the head does not depend on the data)
  core::write_json_file(tmp / "train.json",
                        core::Json{{"data",
                                    {{{"title", "t"},
                                      {"paragraphs",
                                       {{{"context", "Denver won."},
                                         {"qas",
                                          {{{"id", "q1"},
                                            {"question", "Who won?"},
                                            {"answers", {{{"text", "Denver"}, {"answer_start", 0}}}}}}}}}}}}}});
  auto task = tasks::create_task("qa");
  auto train = task->read(tmp / "train.json", true);
  tasks::ModelSetup setup;
  setup.model_dir = dir;
  LogCapture log;
  auto model = task->prepare_model(setup, *train, nullptr);
  const std::string warnings = log.text();

  EXPECT_EQ(model->architecture(), c.architecture);
  EXPECT_EQ(model->task(), models::TaskKind::kQuestionAnswering);
  EXPECT_NO_THROW(task->bind_model(model));
  // Exactly the head is new, and the warning says so (transformers' "newly initialized: [...]").
  EXPECT_NE(warnings.find("newly initialized: [qa_outputs.bias, qa_outputs.weight]"), std::string::npos) << warnings;
  // The same load, with the loader's report: the missing keys are exactly the head.
  models::LoadOptions lo;
  lo.task = models::TaskKind::kQuestionAnswering;
  lo.ignore_mismatched_sizes = true;
  if (c.fixture == "bert-seqcls") lo.labels = std::vector<std::string>{"LABEL_0", "LABEL_1"};
  models::LoadReport report;
  models::load_pretrained(dir, lo, &report);
  std::vector<std::string> missing = report.missing_keys;
  std::sort(missing.begin(), missing.end());
  EXPECT_EQ(missing, (std::vector<std::string>{"qa_outputs.bias", "qa_outputs.weight"}));

  // save_pretrained writes the class that was built, with two outputs.
  models::save_pretrained_into(model, tmp.path());
  const core::Json saved = core::read_json_file(tmp / "config.json");
  EXPECT_EQ(saved["architectures"], core::Json::array({c.architecture}));
  if (saved.contains("id2label")) EXPECT_EQ(saved["id2label"].size(), 2u) << saved.dump();

  // The head: Linear(hidden, 2); bias zero; weight normal(0, sigma) with sigma = initializer_range.
  const core::Json& config = model->config();
  const int64_t hidden = config.contains("dim") ? config["dim"].get<int64_t>() : config["hidden_size"].get<int64_t>();
  torch::Tensor weight, bias, base;
  for (const auto& p : model->named_parameters()) {
    if (p.key() == "qa_outputs.weight") weight = p.value().detach();
    if (p.key() == "qa_outputs.bias") bias = p.value().detach();
    if (p.key() == c.base_tensor) base = p.value().detach();
  }
  ASSERT_TRUE(weight.defined() && bias.defined() && base.defined());
  ASSERT_EQ(weight.sizes(), (std::vector<int64_t>{2, hidden}));
  ASSERT_EQ(bias.sizes(), (std::vector<int64_t>{2}));
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

INSTANTIATE_TEST_SUITE_P(Bases, QaHead, ::testing::ValuesIn(cases()), [](const auto& info) {
  std::string n = info.param.fixture;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

}  // namespace
