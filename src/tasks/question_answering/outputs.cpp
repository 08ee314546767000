// Question answering's outputs: the evaluator (run_qa.py's post_processing_function and
// compute_metrics: utils_qa's postprocess_qa_predictions, then squad, squad_v2 or cmrc2018), the
// predictor (QuestionAnsweringPipeline's answers), the HTTP answer and the prediction files. See
// include/textune/tasks/question_answering.h.
#include <cmath>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "task_data.h"
#include "textune/core/error.h"
#include "textune/core/utf8.h"
#include "textune/eval/squad.h"
#include "textune/tasks/question_answering.h"

namespace textune::tasks {

using question_answering::feature_data;
using question_answering::QaFeatureData;

namespace question_answering {

std::vector<float> row_logits(const torch::Tensor& logits, const torch::Tensor& attention_mask, int64_t r,
                              size_t size) {
  const int64_t width = logits.size(1);
  const auto len = static_cast<int64_t>(size);
  if (len > width)
    throw DataError(fmt::format("{}: a window of {} tokens got {} logits", kQuestionAnswering, size, width));
  // left padding: the row's tokens end at the right edge
  const bool left = attention_mask.defined() && width > len && attention_mask[r][0].item<int64_t>() == 0;
  const int64_t offset = left ? width - len : 0;
  const torch::Tensor row = logits[r].narrow(0, offset, len).to(torch::kCPU, torch::kFloat32).contiguous();
  const float* p = row.data_ptr<float>();
  return std::vector<float>(p, p + len);
}

}  // namespace question_answering

namespace {

using question_answering::row_logits;

/// Whether most letters of the contexts are CJK ideographs (CMRC 2018 rather than SQuAD).
bool mostly_cjk(const data::QaDataset& ds) {
  size_t cjk = 0, other = 0;
  const std::string* previous = nullptr;
  for (const auto& e : ds.examples) {
    if (previous && *previous == e.context) continue;
    previous = &e.context;
    for (char32_t c : core::utf8_decode(e.context)) {
      if ((c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0xF900 && c <= 0xFAFF) ||
          (c >= 0x20000 && c <= 0x2FFFF))
        ++cjk;
      else if ((c >= U'a' && c <= U'z') || (c >= U'A' && c <= U'Z') ||
               (c >= 0xC0 && c <= 0x24F && c != 0xD7 && c != 0xF7) || (c >= 0x370 && c <= 0x1FFF) ||
               (c >= 0x3040 && c <= 0x30FF) || (c >= 0xAC00 && c <= 0xD7AF))
        ++other;
    }
  }
  return cjk > other;
}

const std::vector<std::string>& v2_metric_names() {
  static const std::vector<std::string> n = {
      "exact",    "f1",          "total",      "HasAns_exact",      "HasAns_f1", "HasAns_total",  "NoAns_exact",
      "NoAns_f1", "NoAns_total", "best_exact", "best_exact_thresh", "best_f1",   "best_f1_thresh"};
  return n;
}

/// Every window's start and end logits, by feature, from batches in any order.
class LogitCollector {
 public:
  explicit LogitCollector(const Features& features)
      : features_(features),
        data_(feature_data(features)),
        start_(features.size()),
        end_(features.size()),
        seen_(features.size(), 0) {}

  void add(const Batch& batch, const models::ModelOutputs& outputs) {
    if (!outputs.start_logits.defined() || !outputs.end_logits.defined())
      throw DataError(std::string(kQuestionAnswering) +
                      ": the model gave no start/end logits (not a "
                      "question-answering model)");
    const torch::Tensor start = outputs.start_logits.to(torch::kCPU, torch::kFloat32);
    const torch::Tensor end = outputs.end_logits.to(torch::kCPU, torch::kFloat32);
    const torch::Tensor mask = batch.inputs.attention_mask;
    for (size_t r = 0; r < batch.features.size(); ++r) {
      const size_t f = batch.features[r];
      if (f >= features_.size()) throw DataError(fmt::format("{}: feature {} out of range", kQuestionAnswering, f));
      const size_t size = data_.windows[f].encoding.size();
      start_[f] = row_logits(start, mask, static_cast<int64_t>(r), size);
      end_[f] = row_logits(end, mask, static_cast<int64_t>(r), size);
      seen_[f] = 1;
    }
  }

  /// @throws textune::DataError when a window got no logits.
  void check_complete() const {
    for (size_t f = 0; f < seen_.size(); ++f)
      if (!seen_[f])
        throw DataError(fmt::format("{}: window {} of {} got no logits", kQuestionAnswering, f, seen_.size()));
  }

  const QaFeatureData& data() const { return data_; }
  const std::vector<std::vector<float>>& start() const { return start_; }
  const std::vector<std::vector<float>>& end() const { return end_; }

 private:
  const Features& features_;
  const QaFeatureData& data_;
  std::vector<std::vector<float>> start_, end_;
  std::vector<uint8_t> seen_;
};

class QaEvaluator : public Evaluator {
 public:
  QaEvaluator(const QuestionAnsweringExamples& examples, const Features& features, QaPostprocessOptions post,
              std::string metric)
      : examples_(examples), collector_(features), post_(post), metric_(std::move(metric)) {}

  void add(const Batch& batch, const models::ModelOutputs& outputs) override { collector_.add(batch, outputs); }

  EvalReport finish() override {
    collector_.check_complete();
    const data::QaDataset& ds = examples_.dataset();
    std::vector<std::string> contexts, ids;
    std::vector<eval::QaGold> gold;
    for (const auto& e : ds.examples) {
      contexts.push_back(e.context);
      ids.push_back(e.id);
      eval::QaGold g;
      g.id = e.id;
      for (const auto& a : e.answers) g.answers.push_back(a.text);
      gold.push_back(std::move(g));
    }
    const QaPostprocessResult result =
        postprocess_qa_predictions(contexts, collector_.data().windows, collector_.start(), collector_.end(), post_);
    std::map<std::string, std::string> predictions;
    for (size_t i = 0; i < ids.size() && i < result.predictions.size(); ++i)
      predictions[ids[i]] = result.predictions[i];
    core::Json results;
    EvalReport r;
    if (metric_ == "squad_v2") {
      std::map<std::string, double> na_probs;
      if (post_.version_2_with_negative)
        for (size_t i = 0; i < ids.size() && i < result.null_odds.size(); ++i) na_probs[ids[i]] = result.null_odds[i];
      results = eval::squad_v2(gold, predictions, na_probs.empty() ? nullptr : &na_probs);
      for (auto it = results.begin(); it != results.end(); ++it)
        if (it.value().is_number()) r.scalars[it.key()] = it.value();
    } else if (metric_ == "cmrc2018") {
      results = eval::cmrc2018(gold, predictions);
      r.scalars["exact_match"] = results.value("EM", 0.0);
      r.scalars["f1"] = results.value("F1", 0.0);
    } else {
      results = eval::squad_v1(gold, predictions);
      r.scalars["exact_match"] = results.value("exact_match", 0.0);
      r.scalars["f1"] = results.value("f1", 0.0);
    }
    r.report = core::Json::object();
    r.report["metric"] = metric_;
    r.report["results"] = results;
    r.report["num_examples"] = ds.examples.size();
    r.report["num_windows"] = collector_.data().windows.size();
    r.files = qa_prediction_files(ids, result, post_.version_2_with_negative);
    return r;
  }

 private:
  const QuestionAnsweringExamples& examples_;
  LogitCollector collector_;
  QaPostprocessOptions post_;
  std::string metric_;
};

core::Json answer_json(const QaAnswerSpan& a) {
  core::Json j = core::Json::object();
  j["answer"] = a.answer;
  j["score"] = a.score;
  j["start"] = a.start;
  j["end"] = a.end;
  return j;
}

class QaPredictor : public Predictor {
 public:
  QaPredictor(const QuestionAnsweringExamples& examples, const Features& features, QaPipelineOptions options)
      : examples_(examples), collector_(features), options_(options) {}

  void add(const Batch& batch, const models::ModelOutputs& outputs) override { collector_.add(batch, outputs); }

  std::vector<core::Json> finish() override {
    collector_.check_complete();
    const QaFeatureData& fd = collector_.data();
    std::vector<core::Json> records;
    for (size_t i = 0; i < examples_.size(); ++i) {
      std::vector<const QaWindow*> windows;
      std::vector<const std::vector<float>*> start, end;
      if (i < fd.by_example.size())
        for (size_t f : fd.by_example[i]) {
          windows.push_back(&fd.windows[f]);
          start.push_back(&collector_.start()[f]);
          end.push_back(&collector_.end()[f]);
        }
      const std::vector<QaAnswerSpan> answers =
          pipeline_answers(examples_.dataset().examples[i].context, windows, start, end, options_);
      if (options_.top_k == 1 && answers.size() == 1) {
        records.push_back(answer_json(answers.front()));
        continue;
      }
      core::Json list = core::Json::array();
      for (const auto& a : answers) list.push_back(answer_json(a));
      records.push_back(core::Json{{"answers", std::move(list)}});
    }
    return records;
  }

 private:
  const QuestionAnsweringExamples& examples_;
  LogitCollector collector_;
  QaPipelineOptions options_;
};

void check_answer(const core::Json& a) {
  if (!a.is_object() || !a.contains("answer") || !a.contains("score") || !a["score"].is_number())
    throw ResponseError("the model returned no answer");
  if (std::isnan(a["score"].get<double>())) throw ResponseError("score is NaN");
}

}  // namespace

std::unique_ptr<Evaluator> QuestionAnsweringTask::evaluator(const Examples& examples, const Features& features) const {
  const QuestionAnsweringExamples& ex = qa_examples(examples);
  if (!ex.has_labels()) throw UsageError(std::string(kQuestionAnswering) + ": evaluation needs answers");
  feature_data(features);
  if (options_.n_best_size < 1 || options_.max_answer_length < 1)
    throw UsageError("--n_best_size and --max_answer_length must be >= 1");
  QaPostprocessOptions post;
  post.n_best_size = static_cast<size_t>(options_.n_best_size);
  post.max_answer_length = static_cast<size_t>(options_.max_answer_length);
  post.version_2_with_negative = options_.version_2_with_negative.value_or(detected_v2_.value_or(false));
  post.null_score_diff_threshold = options_.null_score_diff_threshold;
  std::string metric = options_.metric;
  if (metric.empty()) {
    if (mostly_cjk(ex.dataset()))
      metric = "cmrc2018";
    else if (post.version_2_with_negative || ex.dataset().has_impossible)
      metric = "squad_v2";  // (v1.1's script has no score for a question without answers)
    else
      metric = "squad";
  }
  if (ex.dataset().has_impossible && !post.version_2_with_negative)
    spdlog::warn(
        "{}: some questions are unanswerable, but the model was trained without version_2_with_negative: "
        "it never predicts no answer",
        ex.source());
  return std::make_unique<QaEvaluator>(ex, features, post, metric);
}

std::unique_ptr<Predictor> QuestionAnsweringTask::predictor(const Examples& examples, const Features& features) const {
  const QuestionAnsweringExamples& ex = qa_examples(examples);
  feature_data(features);
  if (options_.top_k < 1 || options_.max_answer_len < 1) throw UsageError("--top_k and --max_answer_len must be >= 1");
  QaPipelineOptions o;
  o.top_k = static_cast<size_t>(options_.top_k);
  o.max_answer_len = static_cast<size_t>(options_.max_answer_len);
  o.handle_impossible_answer = options_.handle_impossible_answer;
  return std::make_unique<QaPredictor>(ex, features, o);
}

std::vector<std::string> QuestionAnsweringTask::metric_names() const {
  const bool v2 = options_.version_2_with_negative.value_or(detected_v2_.value_or(false));
  if (options_.metric == "squad_v2" || (options_.metric.empty() && v2)) return v2_metric_names();
  return {"exact_match", "f1"};
}

core::Json QuestionAnsweringTask::response(const core::Json& record, const ResponseOptions&) const {
  if (record.is_object() && record.contains("answers")) {
    if (!record["answers"].is_array()) throw ResponseError("the model returned no answers");
    for (const auto& a : record["answers"]) check_answer(a);
    return record["answers"];
  }
  check_answer(record);
  return record;
}

core::Json QuestionAnsweringTask::prediction_json(const Examples& examples, size_t i, const core::Json& record) const {
  const QuestionAnsweringExamples& ex = qa_examples(examples);
  if (i >= ex.size()) throw std::out_of_range(fmt::format("example {} of {}: out of range", i, ex.size()));
  const data::QaExample& e = ex.dataset().examples[i];
  core::Json j = core::Json::object();
  j["id"] = e.id;
  j["question"] = e.question;
  if (record.is_object())
    for (auto it = record.begin(); it != record.end(); ++it) j[it.key()] = it.value();
  return j;
}

}  // namespace textune::tasks
