// `textune eval` and `textune predict` as library calls. See include/textune/train/evaluate.h.
#include "textune/train/evaluate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "textune/core/device.h"
#include "textune/core/error.h"
#include "textune/core/logging.h"
#include "textune/core/options.h"
#include "textune/tasks/registry.h"
#include "textune/train/inference.h"

namespace textune::train {
namespace {

/// The features of `examples`; `warn`: log a warning when some were cut to max_length.
tasks::Features featurize(const TaskModel& m, const tasks::Examples& examples, bool warn) {
  tasks::FeatureOptions fo;
  fo.max_length = m.max_length;
  fo.training = false;
  tasks::Features features = m.task->featurize(examples, *m.tokenizer, fo);
  if (warn && features.num_truncated)
    spdlog::warn("{} of {} inputs were truncated to {} tokens", features.num_truncated, examples.size(), m.max_length);
  return features;
}

/// Runs the model over `features`, handing the outputs to `sink`.
void infer(const TaskModel& m, const tasks::Examples& examples, const tasks::Features& features,
           const EvaluateOptions& options, tasks::OutputSink& sink) {
  InferenceOptions io;
  io.batch_size = options.batch_size;
  io.collate.pad_token_id = m.tokenizer->pad_token_id().value_or(0);
  run_inference(m.model, *m.task, examples, features, io, {&sink});
}

}  // namespace

PredictResult predict(const TaskModel& m, std::shared_ptr<tasks::Examples> examples, const EvaluateOptions& options) {
  PredictResult r;
  r.task = m.task;
  r.examples = std::move(examples);
  r.max_length = m.max_length;
  const tasks::Features features = featurize(m, *r.examples, false);
  r.num_truncated = features.num_truncated;
  if (!options.truncate)
    for (size_t f = 0; f < features.truncated.size(); ++f)
      if (features.truncated[f])
        throw DataError(fmt::format("input {} is longer than {} tokens (truncation is off)",
                                    features.example_index[f] + 1, m.max_length));
  std::unique_ptr<tasks::Predictor> predictor = m.task->predictor(*r.examples, features);
  infer(m, *r.examples, features, options, *predictor);
  r.records = predictor->finish();
  return r;
}

namespace {

/// A CSV cell: RFC 4180 quoting for strings, "%.6g" for numbers.
std::string csv_cell(const core::Json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
      if (c == '"') out += '"';
      out += c;
    }
    return out + "\"";
  }
  if (v.is_number_integer()) return v.dump();
  if (v.is_number()) return fmt::format("{:.6g}", v.get<double>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.is_null() ? "" : v.dump();
}

}  // namespace

void apply_task_options(tasks::Task& task, const core::Json& options, const std::string& source) {
  if (!options.is_object() || options.empty()) return;
  core::OptionTable table(task.name());
  task.declare_options(table);
  // another task's option (the command line offers every task's) does nothing here: say so
  for (auto it = options.begin(); it != options.end(); ++it)
    if (!table.find(it.key()))
      spdlog::warn("{}: {} is not an option of {} (it belongs to another task): ignored", source,
                   source == "the command line" ? "--" + it.key() : "\"" + it.key() + "\"", task.name());
  table.update_from_json(options, source, /*allow_unknown=*/true);
}

TaskModel load_task_model(const std::string& model_dir, const EvaluateOptions& options) {
  TaskModel m;
  m.device = core::parse_device(options.device);
  models::LoadOptions lo;
  lo.device = m.device;
  m.model = models::load_pretrained(model_dir, lo);
  m.task = tasks::task_for_model(model_dir, m.model->task());
  m.task->configure_data(options.data);
  apply_task_options(*m.task, options.task_options, "the task options");
  m.task->bind_model(m.model);
  m.model->eval();
  m.tokenizer = tokenizers::Tokenizer::from_dir(model_dir);
  m.max_length = tasks::resolve_max_length(m.model, *m.tokenizer, options.max_length, m.task->default_max_length());
  return m;
}

EvaluateResult evaluate(const TaskModel& m, const std::string& data_file, const EvaluateOptions& options) {
  const std::shared_ptr<tasks::Examples> examples = m.task->read(data_file, true);
  const tasks::Features features = featurize(m, *examples, true);
  std::unique_ptr<tasks::Evaluator> evaluator = m.task->evaluator(*examples, features);
  infer(m, *examples, features, options, *evaluator);
  EvaluateResult r;
  r.report = evaluator->finish();
  r.task = m.task;
  r.num_examples = examples->size();
  r.num_truncated = features.num_truncated;
  r.max_length = m.max_length;
  return r;
}

EvaluateResult evaluate_model(const std::string& model_dir, const std::string& data_file,
                              const EvaluateOptions& options) {
  return evaluate(load_task_model(model_dir, options), data_file, options);
}

PredictResult predict_file(const std::string& model_dir, const std::string& input_file,
                           const EvaluateOptions& options) {
  const TaskModel m = load_task_model(model_dir, options);
  return predict(m, m.task->read(input_file, false), options);
}

PredictResult predict_inputs(const std::string& model_dir, const std::vector<core::Json>& inputs,
                             const EvaluateOptions& options) {
  const TaskModel m = load_task_model(model_dir, options);
  return predict(m, m.task->from_inputs(inputs), options);
}

std::string predictions_jsonl(const PredictResult& result) {
  std::string out;
  for (size_t i = 0; i < result.records.size(); ++i)
    out += result.task->prediction_json(*result.examples, i, result.records[i]).dump() + "\n";
  return out;
}

std::string predictions_csv(const PredictResult& result) {
  std::string out;
  for (const auto& row : result.task->prediction_table(*result.examples, result.records)) {
    for (size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + csv_cell(row[c]);
    out += "\n";
  }
  return out;
}

}  // namespace textune::train
