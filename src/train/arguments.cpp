// TrainingArguments: JSON round trip and validation (transformers' training_args.py).
#include <cmath>

#include "textune/core/error.h"
#include "textune/core/options.h"
#include "textune/train/arguments.h"
#include "textune/train/schedule.h"

namespace textune::train {
namespace {

bool is_strategy(const std::string& s) {
  return s == "no" || s == "steps" || s == "epoch";
}

bool contains(const std::vector<std::string>& names, const char* name) {
  for (const auto& n : names)
    if (n == name) return true;
  return false;
}

}  // namespace

core::OptionTable training_arguments_table(TrainingArguments& a) {
  core::OptionTable t("Training (transformers' TrainingArguments)");
  const std::vector<std::string> strategies = {"no", "steps", "epoch"};
  t.add("output_dir", &a.output_dir, "Directory for the model, checkpoints, logs and plots").aliases = {"output",
                                                                                                        "output-dir"};
  t.add("overwrite_output_dir", &a.overwrite_output_dir, "Replace a non-empty output directory");
  t.add("learning_rate", &a.learning_rate, "Peak learning rate of AdamW");
  t.add("num_train_epochs", &a.num_train_epochs, "Epochs (may be fractional)");
  t.add("max_steps", &a.max_steps, "Optimizer steps; > 0 overrides --num_train_epochs");
  t.add("per_device_train_batch_size", &a.per_device_train_batch_size, "Training batch size");
  t.add("per_device_eval_batch_size", &a.per_device_eval_batch_size, "Evaluation batch size");
  t.add("gradient_accumulation_steps", &a.gradient_accumulation_steps, "Batches per optimizer step");
  t.add("warmup_ratio", &a.warmup_ratio, "Fraction of the steps spent warming up");
  t.add("warmup_steps", &a.warmup_steps, "Warmup steps (wins over --warmup_ratio)");
  t.add("weight_decay", &a.weight_decay, "AdamW weight decay (not on biases and norms)");
  t.add("adam_beta1", &a.adam_beta1, "AdamW beta1");
  t.add("adam_beta2", &a.adam_beta2, "AdamW beta2");
  t.add("adam_epsilon", &a.adam_epsilon, "AdamW epsilon");
  t.add("max_grad_norm", &a.max_grad_norm, "Gradient clipping norm (0: off)");
  t.add("lr_scheduler_type", &a.lr_scheduler_type, "Learning-rate schedule after warmup").choices = {
      "linear", "cosine", "constant", "constant_with_warmup"};
  t.add("seed", &a.seed, "Seed of the head's initialisation, dropout and the data order");
  t.add("data_seed", &a.data_seed, "Seed of the data order (default: --seed)");
  auto& eval_strategy =
      t.add("eval_strategy", &a.eval_strategy, "no, steps or epoch (default: epoch when --eval is given)");
  eval_strategy.json_aliases = {"evaluation_strategy"};
  eval_strategy.choices = strategies;
  t.add("eval_steps", &a.eval_steps, "Evaluate every N steps (eval_strategy steps; default: --logging_steps)").cli_min =
      1;
  t.add("save_strategy", &a.save_strategy, "no, steps or epoch").choices = strategies;
  t.add("save_steps", &a.save_steps, "Save a checkpoint every N steps");
  t.add("save_total_limit", &a.save_total_limit, "Keep at most N checkpoints (the best is kept)");
  t.add("logging_steps", &a.logging_steps, "Steps between log_history entries");
  t.add("load_best_model_at_end", &a.load_best_model_at_end, "End with the best checkpoint's weights");
  // an empty string is "unset" (null in JSON), as transformers' None
  auto& metric = t.add("metric_for_best_model", &a.metric_for_best_model,
                       "Metric for the best model and early stopping: loss, accuracy, f1, f1_macro, mcc, pearson, ...");
  metric.optional = true;
  metric.get = [&a]() {
    return a.metric_for_best_model.empty() ? core::Json(nullptr) : core::Json(a.metric_for_best_model);
  };
  metric.set = [&a, set = metric.set](const core::Json& v, const std::string& source) {
    if (v.is_null())
      a.metric_for_best_model.clear();
    else
      set(v, source);
  };
  t.add("greater_is_better", &a.greater_is_better, "Default: false for *loss metrics");
  t.add("early_stopping_patience", &a.early_stopping_patience, "Stop after N evaluations without improvement");
  t.add("early_stopping_threshold", &a.early_stopping_threshold,
        "Improvement over the best metric that resets the patience (EarlyStoppingCallback)");
  t.add("group_by_length", &a.group_by_length, "Batch examples of similar length (less padding)");
  t.add("label_smoothing_factor", &a.label_smoothing_factor, "Label smoothing of the cross-entropy loss, in [0, 1)");
  t.add("bf16", &a.bf16, "bf16 autocast (CUDA)");
  t.add("device", &a.device, "Device to run on: cpu, cuda or cuda:N");
  auto& max_length = t.add("max_length", &a.max_length, "Truncate inputs to N tokens (default: the model's maximum)");
  max_length.aliases = {"max-length"};
  max_length.json_aliases = {"max_seq_length"};
  max_length.cli_min = 1;
  t.add("dataloader_drop_last", &a.dataloader_drop_last, "Drop the last incomplete training batch");
  t.add("class_weights", &a.class_weights,
        "auto (n / (classes * count)) or a JSON file {\"label\": weight, ...} (or [w0, w1, ...] in id order)")
      .aliases = {"class-weights"};
  t.add("disable_tqdm", &a.disable_tqdm, "No progress bar");
  t.add("logging_nan_inf_filter", &a.logging_nan_inf_filter,
        "A NaN/inf loss is logged as the mean of its logging window (transformers' filter)");
  t.add("halt_on_nonfinite", &a.halt_on_nonfinite,
        "Stop at the first NaN/inf loss or gradient norm (exit 1, checkpoints kept, no final model)");
  return t;
}

core::Json TrainingArguments::to_json() const {
  // the table only reads the fields here
  return training_arguments_table(const_cast<TrainingArguments&>(*this)).to_json();
}

std::vector<std::string> TrainingArguments::update_from_json(const core::Json& j, const std::string& source) {
  if (!j.is_object()) throw DataError(source + ": expected a JSON object of training arguments");
  return training_arguments_table(*this).update_from_json(j, source);
}

void TrainingArguments::finalize(bool has_eval, const std::vector<std::string>& given) {
  if (has_eval && !contains(given, "eval_strategy")) eval_strategy = "epoch";
  if (!has_eval && eval_strategy != "no")
    throw UsageError("--eval_strategy " + eval_strategy + " needs an evaluation file (--eval FILE)");
  // transformers: eval_steps unset falls back to logging_steps; an explicit 0 or less is an error
  if (contains(given, "eval_steps") && eval_steps <= 0)
    throw UsageError("--eval_steps must be >= 1, not " + std::to_string(eval_steps) +
                     " (leave it out to evaluate every --logging_steps)");
  if (eval_strategy == "steps" && eval_steps <= 0) eval_steps = logging_steps;
  if (load_best_model_at_end && !contains(given, "save_strategy")) {
    save_strategy = eval_strategy;
    if (eval_strategy == "steps") save_steps = eval_steps;
  }
  validate();
}

void TrainingArguments::validate() const {
  auto bad = [](const std::string& m) { throw UsageError(m); };
  if (!(learning_rate >= 0) || !std::isfinite(learning_rate)) bad("--learning_rate must be a non-negative number");
  if (max_steps <= 0 && !(num_train_epochs > 0)) bad("--num_train_epochs must be > 0 (or give --max_steps)");
  if (per_device_train_batch_size < 1) bad("--per_device_train_batch_size must be >= 1");
  if (per_device_eval_batch_size < 1) bad("--per_device_eval_batch_size must be >= 1");
  if (gradient_accumulation_steps < 1) bad("--gradient_accumulation_steps must be >= 1");
  if (warmup_ratio < 0 || warmup_ratio > 1) bad("--warmup_ratio must be in [0, 1]");
  if (warmup_steps < 0) bad("--warmup_steps must be >= 0");
  if (weight_decay < 0) bad("--weight_decay must be >= 0");
  if (max_grad_norm < 0) bad("--max_grad_norm must be >= 0 (0 disables clipping)");
  if (label_smoothing_factor < 0 || label_smoothing_factor >= 1) bad("--label_smoothing_factor must be in [0, 1)");
  parse_scheduler_type(lr_scheduler_type);
  if (!is_strategy(eval_strategy)) bad("--eval_strategy must be no, steps or epoch, not \"" + eval_strategy + "\"");
  if (!is_strategy(save_strategy)) bad("--save_strategy must be no, steps or epoch, not \"" + save_strategy + "\"");
  if (eval_strategy == "steps" && eval_steps <= 0 && logging_steps <= 0)
    bad("--eval_strategy steps needs --eval_steps > 0");
  if (save_strategy == "steps" && save_steps <= 0) bad("--save_strategy steps needs --save_steps > 0");
  if (save_total_limit && *save_total_limit < 1) bad("--save_total_limit must be >= 1");
  if (logging_steps < 1) bad("--logging_steps must be >= 1");
  if (early_stopping_patience && *early_stopping_patience < 1) bad("--early_stopping_patience must be >= 1");
  if (early_stopping_patience && eval_strategy == "no")
    bad("--early_stopping_patience needs evaluation: give --eval FILE and --eval_strategy steps|epoch");
  if (load_best_model_at_end) {
    if (eval_strategy == "no") bad("--load_best_model_at_end needs --eval_strategy steps|epoch");
    if (save_strategy != eval_strategy)
      bad("--load_best_model_at_end needs --save_strategy equal to --eval_strategy (" + save_strategy + " vs " +
          eval_strategy + ")");
    const int64_t es = eval_steps > 0 ? eval_steps : logging_steps;
    if (save_strategy == "steps" && save_steps % es != 0)
      bad("--load_best_model_at_end needs --save_steps (" + std::to_string(save_steps) +
          ") to be a multiple of --eval_steps (" + std::to_string(es) + ")");
  }
  if (max_length && *max_length < 2) bad("--max_length must be >= 2");
  if (output_dir.empty()) bad("--output is required");
}

std::string TrainingArguments::best_metric_key() const {
  std::string m = metric_for_best_model.empty() ? "loss" : metric_for_best_model;
  if (m.rfind("eval_", 0) != 0) m = "eval_" + m;
  return m;
}

std::string TrainingArguments::plot_metric(bool has_eval, const std::string& main_metric) const {
  const std::string key = best_metric_key();
  return key == "eval_loss" && has_eval ? "eval_" + main_metric : key;
}

bool TrainingArguments::best_metric_greater_is_better() const {
  if (greater_is_better) return *greater_is_better;
  const std::string m = best_metric_key();
  return !(m.size() >= 4 && m.compare(m.size() - 4, 4, "loss") == 0);
}

}  // namespace textune::train
