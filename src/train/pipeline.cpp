// The high-level Pipeline on the task interface: a fine-tuned model, its task (the directory's
// textune_task.json, else the task of the model's head) and its tokenizer (train::load_task_model).
// Inputs go through the task (from_inputs, featurize), the one inference loop (train::run_inference)
// and the task's predictor (train::predict, as `textune predict`), as transformers' pipelines split
// preprocess / _forward / postprocess.
#include "textune/pipeline.h"

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/models/model.h"
#include "textune/tasks/task.h"
#include "textune/train/evaluate.h"

namespace textune {
namespace {

/// The registry name of the task whose records predict() turns into Prediction.
constexpr const char* kTextClassification = "text-classification";
/// The registry name of the task whose records entities() turns into Entity
/// (tasks/token_classification.h's kTokenClassification).
constexpr const char* kTokenClassification = "token-classification";

/// An entity of the token-classification predictor's record ({"entity_group" or, with aggregation
/// "none", "entity"; "score", "word", "start", "end"}) as an Entity.
Entity to_entity(const core::Json& e) {
  Entity out;
  if (e.contains("entity_group"))
    out.entity_group = e["entity_group"].get<std::string>();
  else
    out.entity_group = e.value("entity", std::string());
  out.score = e.value("score", 0.0);
  out.word = e.value("word", std::string());
  out.start = e.value("start", size_t{0});
  out.end = e.value("end", size_t{0});
  return out;
}

/// The registry name of the task whose records answers() turns into Answer
/// (tasks/question_answering.h's kQuestionAnswering).
constexpr const char* kQuestionAnswering = "question-answering";

/// One answer of the question-answering predictor's record ({"answer", "score", "start", "end"}).
Answer to_answer(const core::Json& a) {
  Answer out;
  out.answer = a.value("answer", std::string());
  out.score = a.value("score", 0.0);
  out.start = a.value("start", size_t{0});
  out.end = a.value("end", size_t{0});
  return out;
}

/// A record of the text-classification predictor as a Prediction.
Prediction to_prediction(const core::Json& r) {
  Prediction p;
  p.label = r.value("label", std::string());
  p.score = r.value("score", 0.0);
  if (r.contains("scores"))
    for (auto it = r["scores"].begin(); it != r["scores"].end(); ++it)
      p.scores.emplace_back(it.key(), it.value().get<double>());
  if (r.contains("logits"))
    for (const auto& v : r["logits"]) p.logits.push_back(v.get<float>());
  if (r.contains("labels"))
    for (const auto& v : r["labels"]) p.labels.push_back(v.get<std::string>());
  p.truncated = r.value("truncated", false);
  return p;
}

class TaskPipeline final : public Pipeline {
 public:
  TaskPipeline(const std::string& dir, const PipelineOptions& options) {
    options_.device = options.device;
    options_.batch_size = options.batch_size;
    options_.max_length = options.max_length;
    options_.truncate = options.truncate;
    model_ = train::load_task_model(dir, options_);
    labels_ = model_.model->id2label();
    problem_type_ = models::problem_type_name(model_.model->problem_type());
  }

  std::vector<Prediction> predict(const std::vector<std::string>& texts) const override {
    std::vector<core::Json> inputs;
    inputs.reserve(texts.size());
    for (const auto& t : texts) inputs.emplace_back(t);
    return predictions(inputs);
  }

  std::vector<Prediction> predict(const std::vector<std::pair<std::string, std::string>>& pairs) const override {
    std::vector<core::Json> inputs;
    inputs.reserve(pairs.size());
    for (const auto& [a, b] : pairs) {
      core::Json j = core::Json::object();
      j["text"] = a;
      j["text_pair"] = b;
      inputs.push_back(std::move(j));
    }
    return predictions(inputs);
  }

  const std::vector<std::string>& labels() const override { return labels_; }
  size_t max_length() const override { return model_.max_length; }
  std::string problem_type() const override { return problem_type_; }
  std::string task() const override { return model_.task->name(); }

  std::vector<core::Json> predict_records(const std::vector<core::Json>& inputs) const override {
    if (inputs.empty()) return {};
    return train::predict(model_, model_.task->from_inputs(inputs), options_).records;
  }

  core::Json response(const core::Json& record, bool raw_scores) const override {
    tasks::ResponseOptions ro;
    ro.raw_scores = raw_scores;
    return model_.task->response(record, ro);
  }

  core::Json info() const override { return model_.task->info(); }

  void check_input(const core::Json& input) const override { model_.task->from_inputs({input}); }

  std::vector<std::vector<Entity>> entities(const std::vector<std::string>& texts) const override {
    if (model_.task->name() != kTokenClassification)
      throw UsageError(
          fmt::format("Pipeline::entities gives the entities of a token classifier; this model's task is "
                      "{}: use predict_records",
                      model_.task->name()));
    std::vector<core::Json> inputs(texts.begin(), texts.end());
    std::vector<std::vector<Entity>> out;
    out.reserve(texts.size());
    for (const auto& r : predict_records(inputs)) {
      std::vector<Entity> entities;
      if (r.contains("entities"))
        for (const auto& e : r["entities"]) entities.push_back(to_entity(e));
      out.push_back(std::move(entities));
    }
    return out;
  }

  std::vector<std::vector<Answer>> answers(
      const std::vector<std::pair<std::string, std::string>>& questions_and_contexts) const override {
    if (model_.task->name() != kQuestionAnswering)
      throw UsageError(
          fmt::format("Pipeline::answers answers questions with a question-answering model; this model's task is "
                      "{}: use predict_records",
                      model_.task->name()));
    std::vector<core::Json> inputs;
    inputs.reserve(questions_and_contexts.size());
    for (const auto& [question, context] : questions_and_contexts) {
      core::Json j = core::Json::object();
      j["question"] = question;
      j["context"] = context;
      inputs.push_back(std::move(j));
    }
    std::vector<std::vector<Answer>> out;
    out.reserve(inputs.size());
    // The predictor's record: {"answer", "score", "start", "end"} with top_k 1, {"answers": [...]} above.
    for (const auto& r : predict_records(inputs)) {
      std::vector<Answer> answers;
      if (r.contains("answers") && r["answers"].is_array())
        for (const auto& a : r["answers"]) answers.push_back(to_answer(a));
      else if (r.contains("answer"))
        answers.push_back(to_answer(r));
      out.push_back(std::move(answers));
    }
    return out;
  }

  std::optional<InputCost> input_cost(const core::Json& input) const override {
    if (!model_.task->windows_long_inputs()) return std::nullopt;
    const std::shared_ptr<tasks::Examples> examples = model_.task->from_inputs({input});
    tasks::FeatureOptions fo;
    fo.max_length = model_.max_length;
    fo.training = false;
    const tasks::Features features = model_.task->featurize(*examples, *model_.tokenizer, fo);
    InputCost cost;
    cost.features = features.size();
    cost.tokens = 0;
    for (size_t i = 0; i < features.size(); ++i) cost.tokens += features.length(i);
    return cost;
  }

  bool list_is_batch() const override { return model_.task->inputs_list_is_batch(); }
  bool windows_long_inputs() const override { return model_.task->windows_long_inputs(); }

 private:
  std::vector<Prediction> predictions(const std::vector<core::Json>& inputs) const {
    if (model_.task->name() != kTextClassification)
      throw UsageError(
          fmt::format("Pipeline::predict gives the predictions of a text classifier; this model's task is "
                      "{}: use predict_records",
                      model_.task->name()));
    std::vector<Prediction> out;
    for (const auto& r : predict_records(inputs)) out.push_back(to_prediction(r));
    return out;
  }

  train::EvaluateOptions options_;
  train::TaskModel model_;
  std::vector<std::string> labels_;
  std::string problem_type_;
};

}  // namespace

std::vector<core::Json> Pipeline::predict_records(const std::vector<core::Json>& inputs) const {
  throw UsageError("this pipeline has no task: predict_records is not available");
}

core::Json Pipeline::response(const core::Json& record, bool raw_scores) const {
  throw UsageError("this pipeline has no task: response is not available");
}

void Pipeline::check_input(const core::Json&) const {}

std::vector<std::vector<Entity>> Pipeline::entities(const std::vector<std::string>&) const {
  throw UsageError("this pipeline has no task: entities is not available");
}

std::vector<std::vector<Answer>> Pipeline::answers(const std::vector<std::pair<std::string, std::string>>&) const {
  throw UsageError("Pipeline::answers answers questions with a question-answering model; this pipeline has none");
}

core::Json Pipeline::info() const {
  return core::Json::object();
}

std::shared_ptr<Pipeline> Pipeline::load(const std::string& model_dir, const PipelineOptions& options) {
  return std::make_shared<TaskPipeline>(model_dir, options);
}

}  // namespace textune
