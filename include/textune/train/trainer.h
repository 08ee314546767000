// The training loop for sequence classification (single-label, multi-label, regression), reproducing
// what transformers' Trainer does with the same TrainingArguments: AdamW with decay groups, a
// schedule with warmup, gradient accumulation and clipping, evaluation every epoch or N steps, early
// stopping (EarlyStoppingCallback), checkpoint-N/ directories with exact resume, save_total_limit
// rotation that keeps the best checkpoint, load_best_model_at_end, and trainer_state.json.
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
#include "textune/tokenizers/tokenizer.h"

namespace textune::train {

/// transformers' TrainingArguments, the subset textune implements, with the same names and defaults.
struct TrainingArguments {
  std::string output_dir;
  bool overwrite_output_dir = false;
  double learning_rate = 5e-5;
  double num_train_epochs = 3.0;
  int64_t max_steps = -1;  ///< > 0 overrides num_train_epochs
  int64_t per_device_train_batch_size = 8;
  int64_t per_device_eval_batch_size = 8;
  int64_t gradient_accumulation_steps = 1;
  double warmup_ratio = 0.0;
  int64_t warmup_steps = 0;
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
  double max_grad_norm = 1.0;
  std::string lr_scheduler_type = "linear";
  uint64_t seed = 42;
  std::optional<uint64_t> data_seed;  ///< default: seed
  std::string eval_strategy = "no";   ///< "no", "steps", "epoch"
  int64_t eval_steps = 0;             ///< 0: logging_steps, as transformers
  std::string save_strategy = "steps";
  int64_t save_steps = 500;
  std::optional<int64_t> save_total_limit;
  int64_t logging_steps = 500;        ///< log_history entries (the JSON-lines log has every step)
  bool load_best_model_at_end = false;
  std::string metric_for_best_model;  ///< default "loss" ("eval_" prefix optional)
  std::optional<bool> greater_is_better;  ///< default: false for *loss, true otherwise
  std::optional<int64_t> early_stopping_patience;  ///< EarlyStoppingCallback
  double early_stopping_threshold = 0.0;
  bool group_by_length = false;
  double label_smoothing_factor = 0.0;
  bool bf16 = false;                  ///< bf16 autocast (CUDA only; ignored with a warning on CPU)
  std::string device = "cpu";
  std::optional<size_t> max_length;   ///< truncation in tokens; default: the model's maximum
  bool dataloader_drop_last = false;
  /// "" none, "auto" (n_samples / (n_classes * count), scikit-learn's "balanced"), or a JSON file:
  /// {label: weight} or [w0, w1, ...] in id order.
  std::string class_weights;
  bool disable_tqdm = false;          ///< no progress bar
  /// transformers' logging_nan_inf_filter: a micro-batch loss that is NaN or infinite adds, instead
  /// of itself, `window_sum / (1 + steps_in_window)` to the logged loss (nan_inf_filtered_sum).
  /// It changes what is logged only; the step is taken as computed.
  bool logging_nan_inf_filter = true;
  /// textune's own guard (transformers has none): stop at the first step whose loss or gradient
  /// norm is NaN or infinite, before the optimizer applies it, with a DataError naming the step;
  /// the checkpoints saved so far are kept and no final model is written. false: the step is taken
  /// as transformers takes it (logging then follows logging_nan_inf_filter), but a checkpoint or
  /// final model whose weights are not all finite is still never written (DataError at that save).
  bool halt_on_nonfinite = true;

  /// The arguments as JSON (training_args.json in every checkpoint).
  core::Json to_json() const;
  /// Reads a JSON config file with the same keys (unknown keys are an error naming them).
  /// Keys present override the fields of `*this`. @throws textune::UsageError / DataError.
  void update_from_json(const core::Json& json, const std::string& source);
  /// Checks values and their combinations (as TrainingArguments.__post_init__).
  /// @throws textune::UsageError naming the option.
  void validate() const;
  /// "eval_" + metric_for_best_model (default "eval_loss").
  std::string best_metric_key() const;
  bool best_metric_greater_is_better() const;
};

/// One entry of the JSON-lines log and of trainer_state.json's log_history.
using LogEntry = core::Json;

/// What `Trainer::train` did.
struct TrainOutput {
  int64_t global_step = 0;
  double training_loss = 0;            ///< mean loss over the steps this run took
  std::vector<double> step_losses;     ///< loss of every optimizer step of this run, in order
  core::Json final_metrics;            ///< the last evaluation of the saved model (eval_*), if any
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
  torch::Tensor logits;  ///< (N, C) in dataset order, float32
};

/// transformers' compute_metrics: metrics (without the "eval_" prefix) from the logits (N, C) of
/// the evaluation set in dataset order. The eval layer provides the standard ones
/// (eval::compute_metrics); the training layer does not depend on it.
using ComputeMetrics = std::function<core::Json(const torch::Tensor& logits, const data::Dataset& dataset)>;

/// Runs `model` in eval mode over `encodings` (no gradients) in batches of `batch_size` sorted by
/// length (padding only to the longest of each batch) and returns the logits (N, C) in input order.
/// `dataset` (optional) supplies labels; then `loss`, when given, receives the mean loss weighted by
/// batch size, as the Trainer's eval_loss.
torch::Tensor predict_logits(models::PreTrainedModel model, const std::vector<tokenizers::Encoding>& encodings,
                             size_t batch_size, const data::CollateOptions& collate,
                             const data::Dataset* dataset = nullptr, double* loss = nullptr);

/// ModelInputs of a collated batch on `device` (token_type_ids left out for models without them).
models::ModelInputs to_model_inputs(const data::Batch& batch, const models::PreTrainedModel& model,
                                    const torch::Device& device);

/// Trains a sequence classifier.
class Trainer {
 public:
  /// @param model a classifier whose head matches `train.label_map` (see load_for_training).
  /// @param tokenizer_dir where the tokenizer files are (copied next to every saved model).
  /// @param eval optional evaluation set, labelled with the training label map.
  /// @throws textune::UsageError for invalid arguments.
  Trainer(models::PreTrainedModel model, std::shared_ptr<const tokenizers::Tokenizer> tokenizer,
          std::string tokenizer_dir, data::Dataset train, std::optional<data::Dataset> eval,
          TrainingArguments args);
  ~Trainer();

  /// Runs training to the end (or early stop), writes checkpoints while it goes, then the final model
  /// (config.json, model.safetensors, tokenizer files), trainer_state.json, training_args.json, the
  /// JSON-lines log (training_log.jsonl) and the FinalRecords into output_dir.
  /// @param resume_from_checkpoint a checkpoint-N directory to continue from exactly.
  /// @throws textune::DataError when a checkpoint cannot be read, textune::UsageError when
  ///         output_dir is not empty and neither resuming nor overwriting.
  TrainOutput train(const std::optional<std::string>& resume_from_checkpoint = std::nullopt);

  /// Evaluates the current model on the evaluation set. @throws textune::UsageError without one.
  EvalOutput evaluate();

  void set_stop_callback(StopCallback callback);
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
models::PreTrainedModel load_for_training(const std::string& model_dir, data::Dataset& train,
                                          data::Dataset* eval, uint64_t seed, const std::string& device);

/// Class weights for single-label cross-entropy: "auto" gives n / (C * count_c) (scikit-learn's
/// compute_class_weight("balanced")), a file gives {label: weight} or [w_0, ...] in id order.
/// @throws textune::DataError when a class has no example (auto), a label is unknown or a weight is
///         missing or not positive.
torch::Tensor class_weights_for(const std::string& spec, const data::Dataset& train);

}  // namespace textune::train
