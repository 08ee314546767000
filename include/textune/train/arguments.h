// transformers' TrainingArguments (training_args.py): the subset textune implements, with the same
// names and defaults, declared once in training_arguments_table (src/train/arguments.cpp), which
// feeds the command line, the --config JSON file and training_args.json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/core/options.h"

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
  /// Keys present override the fields of `*this`. Returns the names of the arguments it set.
  /// @throws textune::DataError for a `json` that is not an object; textune::UsageError naming
  /// `source` and the key for an unknown key or a value of the wrong type.
  std::vector<std::string> update_from_json(const core::Json& json, const std::string& source);
  /// transformers' TrainingArguments.__post_init__ defaults, then validate(): with an evaluation
  /// set, eval_strategy defaults to "epoch" (textune's choice; transformers' is "no"); eval_steps
  /// unset (0) falls back to logging_steps; load_best_model_at_end without an explicit
  /// save_strategy saves as it evaluates (save_strategy = eval_strategy, save_steps = eval_steps).
  /// `given`: the names of the arguments set explicitly (command line or config file).
  /// @throws textune::UsageError naming the option: an eval_strategy other than "no" without an
  /// evaluation set, an explicit eval_steps < 1, or what validate() refuses.
  void finalize(bool has_eval, const std::vector<std::string>& given);
  /// Checks values and their combinations (as TrainingArguments.__post_init__).
  /// @throws textune::UsageError naming the option.
  void validate() const;
  /// "eval_" + metric_for_best_model (default "eval_loss").
  std::string best_metric_key() const;
  /// greater_is_better, else false for a metric ending in "loss" and true otherwise (transformers).
  bool best_metric_greater_is_better() const;
  /// The metric plotted beside the training loss (training_curves.png): best_metric_key(), except
  /// that the default "eval_loss" with an evaluation set gives "eval_" + `main_metric` (the task's
  /// Task::main_metric(), e.g. "accuracy").
  std::string plot_metric(bool has_eval, const std::string& main_metric) const;
};

/// Every TrainingArguments option, declared once in field order with its help text, command-line
/// aliases and checks: it feeds the command line (tools/cli), the --config JSON file and
/// training_args.json (to_json / update_from_json). The table points into `args`, which must
/// outlive it.
core::OptionTable training_arguments_table(TrainingArguments& args);

}  // namespace textune::train
