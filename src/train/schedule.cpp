// Learning-rate schedules of transformers' optimization.py. See include/textune/train/schedule.h.
#include "textune/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "textune/core/error.h"

namespace textune::train {

SchedulerType parse_scheduler_type(const std::string& name) {
  if (name == "linear") return SchedulerType::kLinear;
  if (name == "cosine") return SchedulerType::kCosine;
  if (name == "constant") return SchedulerType::kConstant;
  if (name == "constant_with_warmup") return SchedulerType::kConstantWithWarmup;
  throw UsageError("unknown lr_scheduler_type \"" + name +
                   "\" (expected linear, cosine, constant or constant_with_warmup)");
}

std::string scheduler_type_name(SchedulerType type) {
  switch (type) {
    case SchedulerType::kLinear: return "linear";
    case SchedulerType::kCosine: return "cosine";
    case SchedulerType::kConstant: return "constant";
    case SchedulerType::kConstantWithWarmup: return "constant_with_warmup";
  }
  return "linear";
}

int64_t num_warmup_steps(int64_t num_training_steps, double warmup_ratio, int64_t warmup_steps) {
  if (warmup_steps > 0) return warmup_steps;
  return static_cast<int64_t>(std::ceil(static_cast<double>(num_training_steps) * warmup_ratio));
}

LrSchedule::LrSchedule(SchedulerType type, double learning_rate, int64_t num_warmup_steps, int64_t num_training_steps)
    : type_(type), learning_rate_(learning_rate), warmup_(num_warmup_steps), total_(num_training_steps) {}

double LrSchedule::lr_lambda(int64_t step) const {
  const double s = static_cast<double>(step);
  if (type_ == SchedulerType::kConstant) return 1.0;
  if (step < warmup_) return s / static_cast<double>(std::max<int64_t>(1, warmup_));
  switch (type_) {
    case SchedulerType::kLinear:
      return std::max(0.0, static_cast<double>(total_ - step) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_)));
    case SchedulerType::kCosine: {
      const double progress = static_cast<double>(step - warmup_) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
      const double num_cycles = 0.5;
      return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * num_cycles * 2.0 * progress)));
    }
    case SchedulerType::kConstantWithWarmup:
    case SchedulerType::kConstant:
      return 1.0;
  }
  return 1.0;
}

}  // namespace textune::train
