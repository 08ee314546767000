// `textune eval` and `textune predict` as library calls (include/textune/train/evaluate.h): the
// report of evaluate_model is eval::evaluation_report of the model's logits, computed here one
// example at a time without padding; predict_file's records, JSON lines and CSV follow the
// text-classification shape (softmax scores, argmax label, no logits in the files).
#include <cmath>
#include <sstream>

#include <fmt/format.h>

#include "textune/core/fs.h"
#include "textune/data/dataset.h"
#include "textune/eval/evaluate.h"
#include "textune/train/evaluate.h"
#include "tiny_setup.h"

using namespace textune;
using namespace textune::testing;

namespace {

class EvaluateModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    const std::string base = *tmp_ / "base";
    write_tiny_bert(base, 0.0);
    models::LoadOptions lo;
    lo.architecture = "BertForSequenceClassification";
    lo.labels = std::vector<std::string>{"neg", "pos"};
    auto model = models::load_pretrained(base, lo);
    model_ = *tmp_ / "classifier";
    core::AtomicDirectory out(model_);
    models::save_pretrained_into(model, out.staging_path());
    tokenizers::copy_tokenizer_files(base, out.staging_path());
    out.commit();
    data_ = *tmp_ / "dev.tsv";
    write_text(data_, tiny_tsv(20));
  }
  static void TearDownTestSuite() { delete tmp_; }

  /// The logits (N, 2) of every example of data_, one forward pass per example (no padding).
  static torch::Tensor reference_logits(const data::Dataset& ds) {
    auto model = models::load_pretrained(model_, {});
    model->eval();
    auto tokenizer = tokenizers::Tokenizer::from_dir(model_);
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> rows;
    for (const auto& ex : ds.examples) {
      const auto e = tokenizer->encode(ex.text, std::nullopt, {});
      const int64_t t = static_cast<int64_t>(e.size());
      models::ModelInputs in;
      in.input_ids = torch::tensor(e.ids, torch::kInt64).view({1, t});
      in.attention_mask = torch::ones({1, t}, torch::kInt64);
      in.token_type_ids = torch::zeros({1, t}, torch::kInt64);
      rows.push_back(model.ptr()->forward(in).logits.to(torch::kFloat32));
    }
    return torch::cat(rows, 0);
  }

  static TempDir* tmp_;
  static std::string model_, data_;
};
TempDir* EvaluateModel::tmp_ = nullptr;
std::string EvaluateModel::model_, EvaluateModel::data_;

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

TEST_F(EvaluateModel, ReportIsTheEvaluationReportOfTheModelsLogits) {
  train::EvaluateOptions o;
  o.batch_size = 3;  // length-sorted, padded batches
  const train::EvaluateResult r = train::evaluate_model(model_, data_, o);
  EXPECT_EQ(r.task->name(), "text-classification");
  EXPECT_EQ(r.num_examples, 20u);
  EXPECT_EQ(r.num_truncated, 0u);
  EXPECT_EQ(r.max_length, 64u);  // max_position_embeddings and the tokenizer's model_max_length
  data::LabelMap labels(std::vector<std::string>{"neg", "pos"});
  const data::Dataset ds = data::load_dataset(data_, {}, &labels);
  const core::Json expected = eval::evaluation_report(reference_logits(ds), ds);
  const core::Json& got = r.report.report;
  EXPECT_EQ(got["confusion_matrix"], expected["confusion_matrix"]) << got.dump();
  EXPECT_EQ(got["num_examples"], 20);
  for (const char* k : {"accuracy", "f1", "f1_macro", "mcc"})
    EXPECT_NEAR(got[k].get<double>(), expected[k].get<double>(), 1e-9) << k;
  EXPECT_EQ(r.report.scalars, eval::scalar_metrics(got));
}

TEST_F(EvaluateModel, PredictFileGivesSoftmaxRecordsAsJsonLinesAndCsv) {
  train::EvaluateOptions o;
  o.batch_size = 4;
  const train::PredictResult r = train::predict_file(model_, data_, o);
  ASSERT_EQ(r.records.size(), 20u);
  const data::Dataset ds = data::load_dataset(data_, {});
  const torch::Tensor logits = reference_logits(ds);
  const auto jsonl = lines_of(train::predictions_jsonl(r));
  const auto csv = lines_of(train::predictions_csv(r));
  ASSERT_EQ(jsonl.size(), 20u);
  ASSERT_EQ(csv.size(), 21u);
  EXPECT_EQ(csv[0], "text,label,score,score_neg,score_pos");
  for (size_t i = 0; i < 20; ++i) {
    const double l0 = logits[i][0].item<double>(), l1 = logits[i][1].item<double>();
    const double p1 = 1.0 / (1.0 + std::exp(l0 - l1)), p0 = 1.0 - p1;  // softmax of two logits
    const std::string label = l1 > l0 ? "pos" : "neg";
    const core::Json j = core::Json::parse(jsonl[i]);
    std::vector<std::string> keys;
    for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"text", "label", "score", "scores"})) << jsonl[i];
    EXPECT_EQ(j["text"], ds.examples[i].text);
    EXPECT_EQ(j["label"], label);
    EXPECT_NEAR(j["scores"]["neg"].get<double>(), p0, 1e-5);
    EXPECT_NEAR(j["scores"]["pos"].get<double>(), p1, 1e-5);
    EXPECT_DOUBLE_EQ(j["score"].get<double>(), j["scores"][label].get<double>());
    EXPECT_EQ(csv[i + 1], ds.examples[i].text + "," + label + "," + fmt::format("{:.6g}", j["score"].get<double>()) +
                              "," + fmt::format("{:.6g}", j["scores"]["neg"].get<double>()) + "," +
                              fmt::format("{:.6g}", j["scores"]["pos"].get<double>()));
  }
}

TEST_F(EvaluateModel, TaskOptionsOfTheCallerWinAndUnknownOnesAreIgnored) {
  train::EvaluateOptions o;
  o.task_options = {{"pos_label", "neg"}, {"num_beams", 4}};  // num_beams: another task's option
  const train::EvaluateResult r = train::evaluate_model(model_, data_, o);
  // f1 of the positive class "neg" (id 0): sklearn's f1_score(pos_label=0) from the confusion matrix
  const auto cm = r.report.report["confusion_matrix"];  // rows: true labels, columns: predictions
  const double tp = cm[0][0].get<double>(), fp = cm[1][0].get<double>(), fn = cm[0][1].get<double>();
  const double f1 = tp == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
  EXPECT_NEAR(r.report.report["f1"].get<double>(), f1, 1e-12);
  o.task_options = {{"threshold", "high"}};
  EXPECT_THROW(train::evaluate_model(model_, data_, o), UsageError);
}
