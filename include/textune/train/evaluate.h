// Evaluating and predicting with a fine-tuned model as library calls: what `textune eval` and
// `textune predict` do, for any registered task (include/textune/tasks/task.h). The model directory
// names its task (textune_task.json, else the task of the model's head); the task reads the file,
// featurizes it, and evaluates or post-processes the outputs of the one inference loop
// (train::run_inference).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "textune/core/json.h"
#include "textune/data/dataset.h"
#include "textune/models/model.h"
#include "textune/tasks/task.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::train {

/// Options of evaluate_model, predict_file and predict_inputs.
struct EvaluateOptions {
  size_t batch_size = 32;            ///< per_device_eval_batch_size: features per forward pass
  std::optional<size_t> max_length;  ///< tokens per feature; default: tasks::resolve_max_length's
  std::string device = "cpu";        ///< "cpu", "cuda", "cuda:1" (core::parse_device)
  /// false: an example longer than max_length is a textune::DataError ("input N is longer than M
  /// tokens (truncation is off)") instead of being cut.
  bool truncate = true;
  /// The file-reading options given by the caller (Task::configure_data); those left at their
  /// defaults come from the model directory's saved task options (the training run's columns...).
  data::DataOptions data;
  /// The task's options given by the caller ({"threshold": 0.3, "pos_label": "1"}), by the names
  /// the task declares (Task::declare_options); they win over the saved ones. Names the model's task
  /// does not declare are ignored (the command line offers the options of every task).
  core::Json task_options = core::Json::object();
};

/// Sets `options` ({name: value}) on `task` through its options table (Task::declare_options);
/// names it does not declare are ignored, each with a warning naming it and `source`.
/// @throws textune::UsageError for a value of the wrong type or out of range, naming `source` and the key.
void apply_task_options(tasks::Task& task, const core::Json& options, const std::string& source);

/// A fine-tuned model ready to evaluate or predict: the model (eval mode, on its device), its task
/// bound to it and configured, the tokenizer and the maximum length.
struct TaskModel {
  models::PreTrainedModel model = nullptr;
  std::shared_ptr<tasks::Task> task;
  std::shared_ptr<const tokenizers::Tokenizer> tokenizer;
  size_t max_length = 512;  ///< tasks::resolve_max_length
  torch::Device device = torch::kCPU;
};

/// Loads `model_dir` with its task (tasks::task_for_model, saved options restored), applies the
/// caller's data and task options, binds the task and resolves the maximum length.
/// @throws textune::DataError for a directory without a model, a task for its head or a tokenizer;
///         textune::UsageError for a bad device, max_length or task option.
TaskModel load_task_model(const std::string& model_dir, const EvaluateOptions& options);

/// What evaluate and evaluate_model found.
struct EvaluateResult {
  tasks::EvalReport report;           ///< the task's metrics (report: what `textune eval` prints)
  std::shared_ptr<tasks::Task> task;  ///< the model's task (Task::write_plots draws the report)
  size_t num_examples = 0;
  size_t num_truncated = 0;  ///< examples cut to max_length
  size_t max_length = 0;
};

/// The metrics of a loaded model on the labelled file `data_file` (Task::read, featurize, the
/// inference loop into Task::evaluator). Logs a warning when examples were truncated.
/// @throws textune::DataError for an unreadable file or labels that do not fit the model (the
///         task's validation report: file, row, column, reason).
EvaluateResult evaluate(const TaskModel& model, const std::string& data_file, const EvaluateOptions& options);

/// `textune eval`: evaluate(load_task_model(model_dir, options), data_file, options).
/// Logs a warning when examples were truncated.
/// @throws textune::DataError for an unreadable file or labels that do not fit the model (the
///         task's validation report: file, row, column, reason); as load_task_model.
EvaluateResult evaluate_model(const std::string& model_dir, const std::string& data_file,
                              const EvaluateOptions& options);

/// What predict_file and predict_inputs give: one record per example.
struct PredictResult {
  std::shared_ptr<tasks::Task> task;
  std::shared_ptr<tasks::Examples> examples;
  std::vector<core::Json> records;  ///< Predictor::finish, in example order
  size_t num_truncated = 0;         ///< examples cut to max_length
  size_t max_length = 0;
};

/// The records of a loaded model for `examples` (read by or given to model.task): featurize, the
/// inference loop into Task::predictor. Thread-safe (the C++ Pipeline calls it from many threads).
/// @throws textune::DataError as Task::featurize, and for a too-long example when truncate is false.
PredictResult predict(const TaskModel& model, std::shared_ptr<tasks::Examples> examples,
                      const EvaluateOptions& options);

/// `textune predict --input FILE`: the records of every example of `input_file` (labels not needed).
/// @throws as evaluate_model.
PredictResult predict_file(const std::string& model_dir, const std::string& input_file, const EvaluateOptions& options);

/// `textune predict TEXT...`: the records of inputs given in memory (strings or objects of the
/// task's input fields, Task::from_inputs).
/// @throws as evaluate_model.
PredictResult predict_inputs(const std::string& model_dir, const std::vector<core::Json>& inputs,
                             const EvaluateOptions& options);

/// The predictions as JSON lines (Task::prediction_json of each record), each ending in "\n".
std::string predictions_jsonl(const PredictResult& result);

/// The predictions as CSV (Task::prediction_table): strings quoted as RFC 4180 when they hold a
/// comma, a quote or a line break; numbers as "%.6g"; booleans as true/false; lines end in "\n".
std::string predictions_csv(const PredictResult& result);

}  // namespace textune::train
