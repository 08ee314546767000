// The fixtures' optimizer trajectory with textune's AdamW and schedule. See trajectory.h.
#include "textune/train/trajectory.h"

#include <cmath>
#include <map>

#include "textune/core/error.h"
#include "textune/train/optimizer.h"
#include "textune/train/schedule.h"

namespace textune::train {
namespace {

const core::Json& key(const core::Json& j, const char* name) {
  if (!j.is_object() || !j.contains(name)) throw DataError(std::string("golden.json trajectory has no \"") + name + "\"");
  return j.at(name);
}

/// Folds |gradient| / (global gradient norm) of this step into `max_rel`, elementwise per parameter.
void record_relative_gradients(const std::vector<OptimizerParam>& params,
                               std::map<std::string, torch::Tensor>& max_rel) {
  torch::NoGradGuard no_grad;
  double sq = 0;
  for (const auto& p : params)
    if (p.param.grad().defined()) sq += p.param.grad().to(torch::kFloat64).pow(2).sum().item<double>();
  const double norm = std::max(std::sqrt(sq), 1e-30);
  for (const auto& p : params) {
    if (!p.param.grad().defined()) continue;
    const torch::Tensor rel = p.param.grad().abs().to(torch::kFloat64) / norm;
    auto it = max_rel.find(p.name);
    if (it == max_rel.end()) max_rel.emplace(p.name, rel);
    else it->second = torch::maximum(it->second, rel);
  }
}

/// Folds |gradient| of this step into `min_abs`, elementwise per parameter.
void record_min_abs_gradients(const std::vector<OptimizerParam>& params, std::map<std::string, torch::Tensor>& min_abs) {
  torch::NoGradGuard no_grad;
  for (const auto& p : params) {
    if (!p.param.grad().defined()) continue;
    const torch::Tensor a = p.param.grad().abs().to(torch::kFloat64);
    auto it = min_abs.find(p.name);
    if (it == min_abs.end()) min_abs.emplace(p.name, a);
    else it->second = torch::minimum(it->second, a);
  }
}

}  // namespace

models::TrajectoryResult run_trajectory(models::PreTrainedModel model, const models::ModelInputs& batch,
                                        const core::Json& trajectory, const TrajectoryStepHook& hook) {
  static const std::string kOrder =
      "forward, loss.backward, clip_grad_norm_(1.0), optimizer.step, scheduler.step, zero_grad";
  const double max_grad_norm = key(trajectory, "max_grad_norm").get<double>();
  if (trajectory.contains("order")) {
    std::string order = trajectory.at("order").get<std::string>();
    std::string expected = kOrder;
    if (max_grad_norm != 1.0) expected.replace(expected.find("(1.0)"), 5, "(" + std::to_string(max_grad_norm) + ")");
    if (order != expected) throw DataError("golden.json trajectory order \"" + order + "\" is not the one textune runs: " + expected);
  }
  const int64_t steps = key(trajectory, "steps").get<int64_t>();
  AdamWOptions opt;
  opt.lr = key(trajectory, "lr").get<double>();
  opt.weight_decay = key(trajectory, "weight_decay").get<double>();
  const auto& betas = key(trajectory, "betas");
  opt.beta1 = betas.at(0).get<double>();
  opt.beta2 = betas.at(1).get<double>();
  opt.eps = key(trajectory, "eps").get<double>();
  const LrSchedule schedule(parse_scheduler_type(key(trajectory, "schedule").get<std::string>()), opt.lr,
                            key(trajectory, "warmup_steps").get<int64_t>(), steps);

  model->train();
  AdamW optimizer(model_parameters(*model, model->decay_parameter_names()), opt);
  optimizer.zero_grad();
  models::TrajectoryResult result;
  result.adam_epsilon = opt.eps;
  for (int64_t step = 0; step < steps; ++step) {
    models::ModelOutputs out = model->forward(batch);
    if (!out.loss.defined()) throw DataError("the trajectory batch has no labels: the model computed no loss");
    out.loss.backward();
    const double grad_norm = clip_grad_norm(optimizer.params(), max_grad_norm);
    record_relative_gradients(optimizer.params(), result.max_relative_gradient);
    if (hook) hook(step, model);
    const double lr = schedule.lr(step);
    if (lr > 0) record_min_abs_gradients(optimizer.params(), result.min_abs_gradient);
    optimizer.step(lr);
    optimizer.zero_grad();
    result.loss_per_step.push_back(out.loss.item<double>());
    result.grad_norm_per_step.push_back(grad_norm);
    result.lr_used_per_step.push_back(lr);
  }
  return result;
}

}  // namespace textune::train
