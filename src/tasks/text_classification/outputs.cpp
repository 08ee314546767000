// Text classification's outputs: the evaluator (eval::evaluation_report over the collected logits),
// the predictor (transformers' TextClassificationPipeline with top_k=None: softmax over the labels,
// sigmoid per label for multi_label_classification, the raw value for regression), the plots, TEI's
// answer and the prediction files. See include/textune/tasks/text_classification.h.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/eval/evaluate.h"
#include "textune/eval/plot.h"
#include "textune/tasks/text_classification.h"

namespace textune::tasks {
namespace {

/// Rows of a batch's outputs as (b, C) float32 on the CPU.
torch::Tensor batch_logits(const models::ModelOutputs& outputs) {
  return outputs.logits.to(torch::kCPU, torch::kFloat32).contiguous();
}

/// One record per example from the logits, as the Pipeline has always computed them.
class ClassificationPredictor : public Predictor {
 public:
  ClassificationPredictor(const Features& features, size_t num_examples, std::vector<std::string> labels,
                          core::ProblemType type, double threshold)
      : features_(features), records_(num_examples), labels_(std::move(labels)), type_(type), threshold_(threshold) {}

  void add(const Batch& batch, const models::ModelOutputs& outputs) override {
    const torch::Tensor logits = batch_logits(outputs);  // (b, C)
    torch::Tensor probs;
    if (type_ == core::ProblemType::kMultiLabel)
      probs = torch::sigmoid(logits);
    else if (type_ == core::ProblemType::kRegression)
      probs = logits;
    else
      probs = torch::softmax(logits, 1);
    auto la = logits.accessor<float, 2>();
    auto pa = probs.accessor<float, 2>();
    for (size_t r = 0; r < batch.features.size(); ++r) {
      const size_t f = batch.features[r];
      records_[features_.example_index[f]] = record(la[r], pa[r], logits.size(1), features_.truncated.at(f) != 0);
    }
  }

  std::vector<core::Json> finish() override { return std::move(records_); }

 private:
  template <class Row>
  core::Json record(const Row& la, const Row& pa, int64_t c_count, bool truncated) const {
    core::Json logits = core::Json::array(), scores = core::Json::object(), predicted = core::Json::array();
    int64_t best = 0;
    for (int64_t c = 0; c < c_count; ++c) {
      logits.push_back(la[c]);
      const std::string& name = c < static_cast<int64_t>(labels_.size()) ? labels_[c] : labels_.back();
      scores[name] = static_cast<double>(pa[c]);
      if (pa[c] > pa[best]) best = c;
      if (type_ == core::ProblemType::kMultiLabel && pa[c] >= threshold_) predicted.push_back(name);
    }
    core::Json j = core::Json::object();
    j["label"] = best < static_cast<int64_t>(labels_.size()) ? labels_[best] : labels_.back();
    j["score"] = static_cast<double>(pa[best]);
    j["scores"] = std::move(scores);
    if (type_ == core::ProblemType::kMultiLabel) j["labels"] = std::move(predicted);
    j["logits"] = std::move(logits);
    if (truncated) j["truncated"] = true;
    return j;
  }

  const Features& features_;
  std::vector<core::Json> records_;
  std::vector<std::string> labels_;
  core::ProblemType type_;
  double threshold_;
};

double score_value(const core::Json& v) {
  return v.is_number() ? v.get<double>() : std::nan("");  // NaN does not survive JSON text: null
}

}  // namespace

LogitsCollector::LogitsCollector(const Features& features, size_t num_examples)
    : features_(features), num_examples_(num_examples), logits_(torch::empty({0, 0}, torch::kFloat32)) {}

void LogitsCollector::add(const Batch& batch, const models::ModelOutputs& outputs) {
  const torch::Tensor l = batch_logits(outputs);  // (b, C)
  if (logits_.size(0) == 0 && num_examples_ > 0)
    logits_ = torch::zeros({static_cast<int64_t>(num_examples_), l.size(1)}, torch::kFloat32);
  std::vector<int64_t> rows;
  for (size_t f : batch.features) rows.push_back(static_cast<int64_t>(features_.example_index.at(f)));
  logits_.index_copy_(0, torch::tensor(rows, torch::kInt64), l);
}

ClassificationEvaluator::ClassificationEvaluator(const data::Dataset& dataset, const Features& features,
                                                 double threshold, std::optional<std::string> pos_label)
    : dataset_(dataset), logits_(features, dataset.size()), threshold_(threshold), pos_label_(std::move(pos_label)) {}

EvalReport ClassificationEvaluator::finish() {
  EvalReport r;
  r.report = eval::evaluation_report(logits_.logits(), dataset_, threshold_, pos_label_);
  r.scalars = eval::scalar_metrics(r.report);
  return r;
}

namespace {
// A probability threshold outside [0, 1] (or NaN) would predict every label or none.
double checked_threshold(double threshold) {
  if (!(threshold >= 0.0 && threshold <= 1.0))
    throw UsageError(fmt::format("--threshold {}: must be a probability from 0 to 1", threshold));
  return threshold;
}
}  // namespace

std::unique_ptr<Evaluator> TextClassificationTask::evaluator(const Examples& examples, const Features& features) const {
  checked_threshold(threshold_);
  return std::make_unique<ClassificationEvaluator>(classification_dataset(examples), features, threshold_, pos_label());
}

std::unique_ptr<Predictor> TextClassificationTask::predictor(const Examples& examples, const Features& features) const {
  if (labels().empty()) throw UsageError(std::string(kTextClassification) + ": predictor before bind_model");
  return std::make_unique<ClassificationPredictor>(features, examples.size(), labels(), problem_type_,
                                                   checked_threshold(threshold_));
}

std::vector<std::string> TextClassificationTask::write_plots(const EvalReport& report, const std::string& base) const {
  const core::Json& r = report.report;
  if (!r.contains("confusion_matrix") || !r.contains("per_class")) return {};
  std::vector<std::string> names;
  for (auto it = r["per_class"].begin(); it != r["per_class"].end(); ++it) names.push_back(it.key());
  const bool png = base.size() >= 4 && base.compare(base.size() - 4, 4, ".png") == 0;
  const std::string path = png ? base : base + "confusion_matrix.png";
  eval::plot_confusion_matrix(path, r["confusion_matrix"].get<std::vector<std::vector<int64_t>>>(), names);
  return {path};
}

core::Json TextClassificationTask::response(const core::Json& record, const ResponseOptions& options) const {
  const auto& names = labels();
  std::vector<std::pair<std::string, double>> scored;
  if (options.raw_scores) {
    const core::Json logits = record.value("logits", core::Json::array());
    if (logits.size() != names.size())
      throw ResponseError(fmt::format("the model returned {} logits for {} labels", logits.size(), names.size()));
    for (size_t i = 0; i < names.size(); ++i) scored.emplace_back(names[i], score_value(logits[i]));
  } else {
    const core::Json scores = record.value("scores", core::Json::object());
    if (scores.empty()) throw ResponseError("the model returned no scores");
    for (auto it = scores.begin(); it != scores.end(); ++it) scored.emplace_back(it.key(), score_value(it.value()));
  }
  for (const auto& [label, score] : scored)
    if (std::isnan(score)) throw ResponseError("score is NaN");
  std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  core::Json out = core::Json::array();
  for (const auto& [label, score] : scored) {
    core::Json p = core::Json::object();
    p["label"] = label;
    p["score"] = score;
    out.push_back(std::move(p));
  }
  return out;
}

core::Json TextClassificationTask::prediction_json(const Examples& examples, size_t i, const core::Json& record) const {
  core::Json j = examples.example_json(i);
  j.erase("label");
  for (const char* key : {"label", "score", "scores", "labels", "truncated"})
    if (record.contains(key)) j[key] = record[key];
  return j;
}

std::vector<std::vector<core::Json>> TextClassificationTask::prediction_table(
    const Examples& examples, const std::vector<core::Json>& records) const {
  const bool pairs = classification_dataset(examples).has_pairs();
  std::vector<std::vector<core::Json>> table;
  std::vector<core::Json> header = {"text"};
  if (pairs) header.emplace_back("text_pair");
  header.emplace_back("label");
  header.emplace_back("score");
  for (const auto& l : labels()) header.emplace_back("score_" + l);
  table.push_back(std::move(header));
  for (size_t i = 0; i < records.size(); ++i) {
    const core::Json ex = examples.example_json(i);
    std::vector<core::Json> row = {ex["text"]};
    if (pairs) row.push_back(ex["text_pair"]);
    row.push_back(records[i]["label"]);
    row.push_back(records[i]["score"]);
    for (auto it = records[i]["scores"].begin(); it != records[i]["scores"].end(); ++it) row.push_back(it.value());
    table.push_back(std::move(row));
  }
  return table;
}

}  // namespace textune::tasks
