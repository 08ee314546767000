// Learning-rate schedules with warmup, as transformers' optimization.py defines them
// (get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup, get_constant_schedule,
// get_constant_schedule_with_warmup) and Trainer applies them through torch's LambdaLR:
// the learning rate of optimizer step k (0-based) is learning_rate * lambda(k).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace textune::train {

/// TrainingArguments.lr_scheduler_type.
enum class SchedulerType { kLinear, kCosine, kConstant, kConstantWithWarmup };

/// Parses "linear", "cosine", "constant", "constant_with_warmup".
/// @throws textune::UsageError for another name, listing the choices.
SchedulerType parse_scheduler_type(const std::string& name);
/// The name of a scheduler type as TrainingArguments spells it.
std::string scheduler_type_name(SchedulerType type);

/// Warmup steps as TrainingArguments.get_warmup_steps computes them: `warmup_steps` when > 0,
/// else ceil(num_training_steps * warmup_ratio).
int64_t num_warmup_steps(int64_t num_training_steps, double warmup_ratio, int64_t warmup_steps);

/// A schedule over `num_training_steps` optimizer steps.
class LrSchedule {
 public:
  LrSchedule(SchedulerType type, double learning_rate, int64_t num_warmup_steps, int64_t num_training_steps);

  /// transformers' lr_lambda at optimizer step `step` (0-based):
  ///   warmup (linear, cosine, constant_with_warmup): step / max(1, warmup) while step < warmup;
  ///   linear: max(0, (total - step) / max(1, total - warmup));
  ///   cosine: max(0, 0.5 * (1 + cos(pi * 2 * 0.5 * progress))), progress = (step - warmup) / max(1, total - warmup);
  ///   constant: 1.
  double lr_lambda(int64_t step) const;
  /// The learning rate of optimizer step `step` (0-based): learning_rate * lr_lambda(step).
  double lr(int64_t step) const { return learning_rate_ * lr_lambda(step); }

  SchedulerType type() const { return type_; }
  int64_t warmup_steps() const { return warmup_; }
  int64_t total_steps() const { return total_; }

 private:
  SchedulerType type_;
  double learning_rate_;
  int64_t warmup_;
  int64_t total_;
};

}  // namespace textune::train
