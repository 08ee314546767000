// Training options, declared once. See train_options.h.
#include "train_options.h"

#include "checks.h"

namespace textune::cli {
namespace {

template <typename T>
CLI::Option* optional_option(CLI::App& app, const std::string& name, std::optional<T>& target, const std::string& help,
                             const std::string& group) {
  return app.add_option_function<T>(name, [&target](const T& v) { target = v; }, help)->group(group);
}

}  // namespace

void add_training_arguments(CLI::App& app, train::TrainingArguments& a) {
  const std::string g = "Training (transformers' TrainingArguments)";
  app.add_option("--output,--output_dir,--output-dir", a.output_dir, "Directory for the model, checkpoints, logs and plots")
      ->group(g);
  app.add_flag("--overwrite_output_dir", a.overwrite_output_dir, "Replace a non-empty output directory")->group(g);
  app.add_option("--learning_rate", a.learning_rate, "Peak learning rate of AdamW")->capture_default_str()->group(g);
  app.add_option("--num_train_epochs", a.num_train_epochs, "Epochs (may be fractional)")->capture_default_str()->group(g);
  app.add_option("--max_steps", a.max_steps, "Optimizer steps; > 0 overrides --num_train_epochs")->capture_default_str()->group(g);
  app.add_option("--per_device_train_batch_size", a.per_device_train_batch_size, "Training batch size")
      ->capture_default_str()->group(g);
  app.add_option("--per_device_eval_batch_size", a.per_device_eval_batch_size, "Evaluation batch size")
      ->capture_default_str()->group(g);
  app.add_option("--gradient_accumulation_steps", a.gradient_accumulation_steps, "Batches per optimizer step")
      ->capture_default_str()->group(g);
  app.add_option("--warmup_ratio", a.warmup_ratio, "Fraction of the steps spent warming up")->capture_default_str()->group(g);
  app.add_option("--warmup_steps", a.warmup_steps, "Warmup steps (wins over --warmup_ratio)")->capture_default_str()->group(g);
  app.add_option("--weight_decay", a.weight_decay, "AdamW weight decay (not on biases and norms)")->capture_default_str()->group(g);
  app.add_option("--adam_beta1", a.adam_beta1)->capture_default_str()->group(g);
  app.add_option("--adam_beta2", a.adam_beta2)->capture_default_str()->group(g);
  app.add_option("--adam_epsilon", a.adam_epsilon)->capture_default_str()->group(g);
  app.add_option("--max_grad_norm", a.max_grad_norm, "Gradient clipping norm (0: off)")->capture_default_str()->group(g);
  app.add_option("--lr_scheduler_type", a.lr_scheduler_type)
      ->check(CLI::IsMember({"linear", "cosine", "constant", "constant_with_warmup"}))
      ->capture_default_str()->group(g);
  app.add_option("--seed", a.seed)->capture_default_str()->check(at_least(0))->group(g);
  optional_option(app, "--data_seed", a.data_seed, "Seed of the data order (default: --seed)", g)->check(at_least(0));
  app.add_option("--eval_strategy,--evaluation_strategy", a.eval_strategy,
                 "no, steps or epoch (default: epoch when --eval is given)")
      ->check(CLI::IsMember({"no", "steps", "epoch"}))->group(g);
  app.add_option("--eval_steps", a.eval_steps, "Evaluate every N steps (eval_strategy steps; default: --logging_steps)")
      ->check(at_least(1))
      ->group(g);
  app.add_option("--save_strategy", a.save_strategy, "no, steps or epoch")
      ->check(CLI::IsMember({"no", "steps", "epoch"}))->capture_default_str()->group(g);
  app.add_option("--save_steps", a.save_steps, "Save a checkpoint every N steps")->capture_default_str()->group(g);
  optional_option(app, "--save_total_limit", a.save_total_limit, "Keep at most N checkpoints (the best is kept)", g);
  app.add_option("--logging_steps", a.logging_steps, "Steps between log_history entries")->capture_default_str()->group(g);
  app.add_flag("--load_best_model_at_end", a.load_best_model_at_end, "End with the best checkpoint's weights")->group(g);
  app.add_option("--metric_for_best_model", a.metric_for_best_model,
                 "Metric for the best model and early stopping: loss, accuracy, f1, f1_macro, mcc, pearson, ...")
      ->group(g);
  optional_option(app, "--greater_is_better", a.greater_is_better, "Default: false for *loss metrics", g);
  optional_option(app, "--early_stopping_patience", a.early_stopping_patience,
                  "Stop after N evaluations without improvement", g);
  app.add_option("--early_stopping_threshold", a.early_stopping_threshold)->capture_default_str()->group(g);
  app.add_flag("--group_by_length", a.group_by_length, "Batch examples of similar length (less padding)")->group(g);
  app.add_option("--label_smoothing_factor", a.label_smoothing_factor)->capture_default_str()->group(g);
  app.add_flag("--bf16", a.bf16, "bf16 autocast (CUDA)")->group(g);
  app.add_option("--device", a.device, device_help())->capture_default_str()->group(g);
  app.add_option_function<size_t>(
         "--max_length,--max_seq_length,--max-length", [&a](const size_t& v) { a.max_length = v; },
         "Truncate inputs to N tokens (default: the model's maximum)")
      ->check(at_least(1))
      ->group(g);
  app.add_flag("--dataloader_drop_last", a.dataloader_drop_last)->group(g);
  app.add_option("--class-weights,--class_weights", a.class_weights,
                 "auto (n / (classes * count)) or a JSON file {\"label\": weight, ...} (or [w0, w1, ...] in id order)")
      ->group(g);
  app.add_flag("--disable_tqdm", a.disable_tqdm, "No progress bar")->group(g);
  app.add_option("--logging_nan_inf_filter", a.logging_nan_inf_filter,
                 "A NaN/inf loss is logged as the mean of its logging window (transformers' filter)")
      ->capture_default_str()
      ->group(g);
  app.add_option("--halt_on_nonfinite", a.halt_on_nonfinite,
                 "Stop at the first NaN/inf loss or gradient norm (exit 1, checkpoints kept, no final model)")
      ->capture_default_str()
      ->group(g);
}

train::TrainingArguments merge_training_arguments(const CLI::App& app, const train::TrainingArguments& cli,
                                                  const core::Json* config, const std::string& config_path) {
  train::TrainingArguments merged;
  if (config) merged.update_from_json(*config, config_path);
  core::Json m = merged.to_json();
  const core::Json c = cli.to_json();
  for (auto it = c.begin(); it != c.end(); ++it) {
    std::string name = "--" + it.key();
    if (it.key() == "class_weights") name = "--class-weights";
    if (it.key() == "output_dir") name = "--output";
    if (it.key() == "max_length") name = "--max_length";
    if (it.key() == "eval_strategy") name = "--eval_strategy";
    try {
      if (app.count(name) > 0) m[it.key()] = it.value();
    } catch (const CLI::OptionNotFound&) {
    }
  }
  merged.update_from_json(m, config_path.empty() ? "command line" : config_path);
  return merged;
}

}  // namespace textune::cli
