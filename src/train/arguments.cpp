// TrainingArguments: JSON round trip and validation (transformers' training_args.py).
#include <cmath>

#include "textune/core/error.h"
#include "textune/train/schedule.h"
#include "textune/train/trainer.h"

namespace textune::train {
namespace {

template <typename T>
void put_optional(core::Json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v; else j[key] = nullptr;
}

bool is_strategy(const std::string& s) { return s == "no" || s == "steps" || s == "epoch"; }

}  // namespace

core::Json TrainingArguments::to_json() const {
  core::Json j = core::Json::object();
  j["output_dir"] = output_dir;
  j["overwrite_output_dir"] = overwrite_output_dir;
  j["learning_rate"] = learning_rate;
  j["num_train_epochs"] = num_train_epochs;
  j["max_steps"] = max_steps;
  j["per_device_train_batch_size"] = per_device_train_batch_size;
  j["per_device_eval_batch_size"] = per_device_eval_batch_size;
  j["gradient_accumulation_steps"] = gradient_accumulation_steps;
  j["warmup_ratio"] = warmup_ratio;
  j["warmup_steps"] = warmup_steps;
  j["weight_decay"] = weight_decay;
  j["adam_beta1"] = adam_beta1;
  j["adam_beta2"] = adam_beta2;
  j["adam_epsilon"] = adam_epsilon;
  j["max_grad_norm"] = max_grad_norm;
  j["lr_scheduler_type"] = lr_scheduler_type;
  j["seed"] = seed;
  put_optional(j, "data_seed", data_seed);
  j["eval_strategy"] = eval_strategy;
  j["eval_steps"] = eval_steps;
  j["save_strategy"] = save_strategy;
  j["save_steps"] = save_steps;
  put_optional(j, "save_total_limit", save_total_limit);
  j["logging_steps"] = logging_steps;
  j["load_best_model_at_end"] = load_best_model_at_end;
  j["metric_for_best_model"] = metric_for_best_model.empty() ? core::Json(nullptr) : core::Json(metric_for_best_model);
  put_optional(j, "greater_is_better", greater_is_better);
  put_optional(j, "early_stopping_patience", early_stopping_patience);
  j["early_stopping_threshold"] = early_stopping_threshold;
  j["group_by_length"] = group_by_length;
  j["label_smoothing_factor"] = label_smoothing_factor;
  j["bf16"] = bf16;
  j["device"] = device;
  put_optional(j, "max_length", max_length);
  j["dataloader_drop_last"] = dataloader_drop_last;
  j["class_weights"] = class_weights;
  j["disable_tqdm"] = disable_tqdm;
  j["logging_nan_inf_filter"] = logging_nan_inf_filter;
  j["halt_on_nonfinite"] = halt_on_nonfinite;
  return j;
}

void TrainingArguments::update_from_json(const core::Json& j, const std::string& source) {
  if (!j.is_object()) throw DataError(source + ": expected a JSON object of training arguments");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const core::Json& v = it.value();
    try {
      if (k == "output_dir") output_dir = v.get<std::string>();
      else if (k == "overwrite_output_dir") overwrite_output_dir = v.get<bool>();
      else if (k == "learning_rate") learning_rate = v.get<double>();
      else if (k == "num_train_epochs") num_train_epochs = v.get<double>();
      else if (k == "max_steps") max_steps = v.get<int64_t>();
      else if (k == "per_device_train_batch_size") per_device_train_batch_size = v.get<int64_t>();
      else if (k == "per_device_eval_batch_size") per_device_eval_batch_size = v.get<int64_t>();
      else if (k == "gradient_accumulation_steps") gradient_accumulation_steps = v.get<int64_t>();
      else if (k == "warmup_ratio") warmup_ratio = v.get<double>();
      else if (k == "warmup_steps") warmup_steps = v.get<int64_t>();
      else if (k == "weight_decay") weight_decay = v.get<double>();
      else if (k == "adam_beta1") adam_beta1 = v.get<double>();
      else if (k == "adam_beta2") adam_beta2 = v.get<double>();
      else if (k == "adam_epsilon") adam_epsilon = v.get<double>();
      else if (k == "max_grad_norm") max_grad_norm = v.get<double>();
      else if (k == "lr_scheduler_type") lr_scheduler_type = v.get<std::string>();
      else if (k == "seed") seed = v.get<uint64_t>();
      else if (k == "data_seed") data_seed = v.is_null() ? std::nullopt : std::optional<uint64_t>(v.get<uint64_t>());
      else if (k == "eval_strategy" || k == "evaluation_strategy") eval_strategy = v.get<std::string>();
      else if (k == "eval_steps") eval_steps = v.get<int64_t>();
      else if (k == "save_strategy") save_strategy = v.get<std::string>();
      else if (k == "save_steps") save_steps = v.get<int64_t>();
      else if (k == "save_total_limit") save_total_limit = v.is_null() ? std::nullopt : std::optional<int64_t>(v.get<int64_t>());
      else if (k == "logging_steps") logging_steps = v.get<int64_t>();
      else if (k == "load_best_model_at_end") load_best_model_at_end = v.get<bool>();
      else if (k == "metric_for_best_model") metric_for_best_model = v.is_null() ? "" : v.get<std::string>();
      else if (k == "greater_is_better") greater_is_better = v.is_null() ? std::nullopt : std::optional<bool>(v.get<bool>());
      else if (k == "early_stopping_patience")
        early_stopping_patience = v.is_null() ? std::nullopt : std::optional<int64_t>(v.get<int64_t>());
      else if (k == "early_stopping_threshold") early_stopping_threshold = v.get<double>();
      else if (k == "group_by_length") group_by_length = v.get<bool>();
      else if (k == "label_smoothing_factor") label_smoothing_factor = v.get<double>();
      else if (k == "bf16") bf16 = v.get<bool>();
      else if (k == "device") device = v.get<std::string>();
      else if (k == "max_length" || k == "max_seq_length")
        max_length = v.is_null() ? std::nullopt : std::optional<size_t>(v.get<size_t>());
      else if (k == "dataloader_drop_last") dataloader_drop_last = v.get<bool>();
      else if (k == "class_weights") class_weights = v.get<std::string>();
      else if (k == "disable_tqdm") disable_tqdm = v.get<bool>();
      else if (k == "logging_nan_inf_filter")
        logging_nan_inf_filter = v.get<bool>();
      else if (k == "halt_on_nonfinite")
        halt_on_nonfinite = v.get<bool>();
      else throw UsageError(source + ": unknown training argument \"" + k + "\"");
    } catch (const core::Json::exception&) {
      throw UsageError(source + ": training argument \"" + k + "\" has the wrong type: " + v.dump());
    }
  }
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
  if (eval_strategy == "steps" && eval_steps <= 0 && logging_steps <= 0) bad("--eval_strategy steps needs --eval_steps > 0");
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

bool TrainingArguments::best_metric_greater_is_better() const {
  if (greater_is_better) return *greater_is_better;
  const std::string m = best_metric_key();
  return !(m.size() >= 4 && m.compare(m.size() - 4, 4, "loss") == 0);
}

}  // namespace textune::train
