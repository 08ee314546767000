// The task-agnostic training loop (the task featurizes, collates, gives the loss and evaluates:
// tasks/task.h), reproducing what transformers' Trainer does with the same TrainingArguments: AdamW with decay groups,
// a schedule with warmup, gradient accumulation and clipping, evaluation every epoch or N steps, early stopping
// (EarlyStoppingCallback), checkpoint-N/ directories with exact resume, save_total_limit rotation that keeps the best
// checkpoint, load_best_model_at_end, and trainer_state.json.
//
// Sources: transformers/trainer.py (_inner_training_loop, _maybe_log_save_evaluate,
// _rotate_checkpoints), training_args.py (names and defaults), trainer_callback.py (TrainerState,
// EarlyStoppingCallback).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/data/batching.h"
#include "textune/data/dataset.h"
#include "textune/models/model.h"
#include "textune/tasks/task.h"
#include "textune/tokenizers/tokenizer.h"
#include "textune/train/arguments.h"

namespace textune::train {

/// One entry of the JSON-lines log and of trainer_state.json's log_history.
using LogEntry = core::Json;

/// What `Trainer::train` did.
struct TrainOutput {
  int64_t global_step = 0;
  double training_loss = 0;         ///< mean loss over the steps this run took
  std::vector<double> step_losses;  ///< loss of every optimizer step of this run, in order
  core::Json final_metrics;         ///< the last evaluation of the saved model (eval_*), if any
  std::optional<std::string> best_model_checkpoint;
  bool stopped_early = false;
};

/// Called after every optimizer step with the global step; return true to stop training there
/// (after the step's evaluation and checkpoint). Tests use it to interrupt a run.
using StopCallback = std::function<bool(int64_t global_step)>;

/// Files a caller adds beside the final model at the end of a run (the CLI's plots and evaluation
/// report). `write(dir, output)` writes them into `dir`, the staging directory that then replaces
/// output_dir in one rename (core::AtomicDirectory), so they appear together with the model they
/// describe; `dir` already holds the model, trainer_state.json and training_log.jsonl. Files with
/// these `names` that an earlier run left in output_dir (a resumed or overwritten run) are dropped,
/// not carried over, whether or not this run writes them again.
struct FinalRecords {
  std::vector<std::string> names;
  std::function<void(const std::string& dir, const TrainOutput& output)> write;
};

/// Metrics of a model on a labelled dataset (`eval_*` keys as the Trainer logs them): eval_loss,
/// eval_runtime, eval_samples_per_second, eval_steps_per_second, and what ComputeMetrics adds.
struct EvalOutput {
  core::Json metrics;
  torch::Tensor logits;  ///< (N, C) in dataset order, float32; only with set_compute_metrics
};

/// transformers' compute_metrics: metrics (without the "eval_" prefix) from the logits (N, C) of
/// the evaluation set in dataset order. The eval layer provides the standard ones
/// (eval::compute_metrics); the training layer does not depend on it.
using ComputeMetrics = std::function<core::Json(const torch::Tensor& logits, const data::Dataset& dataset)>;

/// Trains a model for a task (tasks/task.h). The Trainer featurizes the examples (Task::featurize,
/// max_length from tasks::resolve_max_length), collates (Task::collate), takes the task's loss
/// (Task::prepare_loss, Task::loss), evaluates with the task's evaluator through the one inference
/// loop (train/inference.h) and saves the task beside every model (tasks::save_task).
class Trainer {
 public:
  /// @param model the model with the task's head, bound to `task` (Task::prepare_model).
  /// @param tokenizer_dir where the tokenizer files are (copied next to every saved model).
  /// @param train labelled training examples read by `task`.
  /// @param eval optional labelled evaluation examples (null: none).
  /// @throws textune::UsageError for invalid arguments; textune::DataError for no training example
  ///         and what Task::featurize throws.
  Trainer(models::PreTrainedModel model, std::shared_ptr<const tokenizers::Tokenizer> tokenizer,
          std::string tokenizer_dir, std::shared_ptr<tasks::Task> task, std::shared_ptr<tasks::Examples> train,
          std::shared_ptr<tasks::Examples> eval, TrainingArguments args);
  /// Text classification of data::Datasets (the API before the tasks layer): wraps them into the
  /// text-classification task (tasks::wrap_dataset) bound to `model` (see load_for_training).
  Trainer(models::PreTrainedModel model, std::shared_ptr<const tokenizers::Tokenizer> tokenizer,
          std::string tokenizer_dir, data::Dataset train, std::optional<data::Dataset> eval, TrainingArguments args);
  ~Trainer();

  /// Runs training to the end (or early stop), writes checkpoints while it goes, then the final model
  /// (config.json, model.safetensors, tokenizer files), trainer_state.json, training_args.json, the
  /// JSON-lines log (training_log.jsonl) and the FinalRecords into output_dir.
  /// @param resume_from_checkpoint a checkpoint-N directory to continue from exactly.
  /// @throws textune::DataError when a checkpoint cannot be read, textune::UsageError when
  ///         output_dir is not empty and neither resuming nor overwriting.
  TrainOutput train(const std::optional<std::string>& resume_from_checkpoint = std::nullopt);

  /// Evaluates the current model on the evaluation set: eval_loss (Task::loss, the training
  /// objective), the evaluator's scalars as eval_* (or, with set_compute_metrics, those), and the
  /// runtime keys. @throws textune::UsageError without an evaluation set.
  EvalOutput evaluate();
  /// The full report of the last evaluation by the task's evaluator (empty before any, and when
  /// set_compute_metrics replaces the evaluator).
  const tasks::EvalReport& last_eval_report() const;
  /// The task trained.
  std::shared_ptr<tasks::Task> task() const;

  void set_stop_callback(StopCallback callback);
  /// Replaces the task's evaluator by `compute_metrics` on the (N, C) logits (text classification
  /// only: the evaluation examples must be tasks::ClassificationExamples).
  void set_compute_metrics(ComputeMetrics compute_metrics);
  void set_final_records(FinalRecords records);
  models::PreTrainedModel model() const;
  const TrainingArguments& args() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The newest checkpoint-N directory in `output_dir` (largest N), if any.
std::optional<std::string> last_checkpoint(const std::string& output_dir);

/// The checkpoint `--resume` without a value continues from: the newest checkpoint-N of an
/// interrupted `--overwrite_output_dir` run (kept, until it finishes, in the hidden sibling
/// `.NAME.run-XXXXXXXX` of output_dir, so that output_dir holds the complete previous run meanwhile),
/// else the newest checkpoint-N in output_dir (symbolic links followed), else none.
std::optional<std::string> find_resume_checkpoint(const std::string& output_dir);

/// transformers' logging_nan_inf_filter (Trainer._inner_training_loop): adds the loss `value` of one
/// micro-batch to `window_sum`, the losses summed since the last log over `steps_in_window`
/// completed optimizer steps. A NaN or infinite value with `filter` adds
/// `window_sum / (1 + steps_in_window)` instead (the mean of the window counting the current step as
/// zero: transformers' `tr_loss / (1 + global_step - _globalstep_last_logged)`); 0 when the window
/// is empty. The logged loss is the returned sum over the window divided by its number of steps.
double nan_inf_filtered_sum(double window_sum, double value, int64_t steps_in_window, bool filter);

/// Loads `model_dir` as a sequence classifier for `dataset`'s task and labels: the checkpoint's head
/// is kept when its labels are the dataset's (same set; the dataset is then renumbered to the
/// checkpoint's ids), else a new head is created (transformers' ignore_mismatched_sizes).
/// Forwards to tasks::load_classifier_for_training (`device` parsed by core::parse_device).
models::PreTrainedModel load_for_training(const std::string& model_dir, data::Dataset& train, data::Dataset* eval,
                                          uint64_t seed, const std::string& device);

/// Class weights for single-label cross-entropy: "auto" gives n / (C * count_c) (scikit-learn's
/// compute_class_weight("balanced")), a file gives {label: weight} or [w_0, ...] in id order.
/// @throws textune::DataError when a class has no example (auto), a label is unknown or a weight is
///         missing or not positive. Forwards to tasks::class_weights_for.
torch::Tensor class_weights_for(const std::string& spec, const data::Dataset& train);

}  // namespace textune::train
