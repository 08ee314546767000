// The fixtures' optimizer trajectory with textune's AdamW and schedule. See trajectory.h.
#include "textune/train/trajectory.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "textune/core/error.h"
#include "textune/train/optimizer.h"
#include "textune/train/schedule.h"

namespace textune::train {
namespace {

const core::Json& key(const core::Json& j, const char* name) {
  if (!j.is_object() || !j.contains(name)) throw DataError(std::string("golden.json trajectory has no \"") + name + "\"");
  return j.at(name);
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
  AdamW optimizer(model_parameters(*model, decay_parameter_names(model)), opt);
  optimizer.zero_grad();
  models::TrajectoryResult result;
  for (int64_t step = 0; step < steps; ++step) {
    models::ModelOutputs out = model->forward(batch);
    if (!out.loss.defined()) throw DataError("the trajectory batch has no labels: the model computed no loss");
    out.loss.backward();
    const double grad_norm = clip_grad_norm(optimizer.params(), max_grad_norm);
    if (hook) hook(step, model);
    const double lr = schedule.lr(step);
    optimizer.step(lr);
    optimizer.zero_grad();
    result.loss_per_step.push_back(out.loss.item<double>());
    result.grad_norm_per_step.push_back(grad_norm);
    result.lr_used_per_step.push_back(lr);
  }
  return result;
}

std::vector<std::string> decay_parameter_names(const models::PreTrainedModel& model) {
  std::vector<std::string> names = model->decay_parameter_names();
  std::set<std::string> decay(names.begin(), names.end());
  for (const auto& [alias, target] : model->tied_weights())
    if (decay.count(target) && !decay.count(alias)) names.push_back(alias);
  std::sort(names.begin(), names.end());
  return names;
}

TrajectoryRecord run_trajectory_recorded(models::PreTrainedModel model, const models::ModelInputs& batch,
                                         const core::Json& trajectory) {
  TrajectoryRecord rec;
  rec.result = run_trajectory(model, batch, trajectory, [&](int64_t, models::PreTrainedModel& m) {
    torch::NoGradGuard no_grad;
    std::vector<std::pair<std::string, torch::Tensor>> grads;
    double sq = 0;
    for (const auto& p : m->named_parameters(true)) {
      if (!p.value().grad().defined()) continue;
      grads.emplace_back(p.key(), p.value().grad());
      sq += p.value().grad().to(torch::kFloat64).pow(2).sum().item<double>();
    }
    const double norm = std::max(std::sqrt(sq), 1e-30);
    for (auto& [name, g] : grads) {
      torch::Tensor rel = g.abs().to(torch::kFloat64) / norm;
      auto it = rec.max_relative_gradient.find(name);
      if (it == rec.max_relative_gradient.end()) rec.max_relative_gradient[name] = rel;
      else it->second = torch::maximum(it->second, rel);
      rec.last_gradient[name] = g.clone();
    }
  });
  for (double lr : rec.result.lr_used_per_step) rec.lr_sum += lr;
  return rec;
}

ParamComparison compare_final_parameter(const std::string& name, const torch::Tensor& ours,
                                        const torch::Tensor& reference, const TrajectoryRecord& record, double atol) {
  ParamComparison c;
  const torch::Tensor diff = (ours.detach().to(torch::kFloat64) - reference.to(torch::kFloat64)).abs().reshape(-1);
  torch::Tensor noise = torch::zeros_like(diff, torch::kBool);
  auto rel = record.max_relative_gradient.find(name);
  if (rel != record.max_relative_gradient.end())
    noise = (rel->second.reshape(-1) <= kNearZeroGradient) & (diff <= 2.0 * record.lr_sum);
  const torch::Tensor counted = torch::where(noise, torch::zeros_like(diff), diff);
  c.max_error = diff.numel() ? counted.max().item<double>() : 0.0;
  const torch::Tensor excused = (noise & (diff > atol)).nonzero().reshape(-1);
  c.noise_elements = excused.numel();
  if (c.noise_elements == 0) return c;
  c.max_noise_error = diff.index_select(0, excused).max().item<double>();
  auto last = record.last_gradient.find(name);
  std::string msg = name + ": " + std::to_string(c.noise_elements) +
                    " element(s) differ as Adam sign noise (gradient within rounding of zero at every step):";
  for (int64_t k = 0; k < std::min<int64_t>(c.noise_elements, 5); ++k) {
    const int64_t i = excused[k].item<int64_t>();
    char buf[200];
    std::snprintf(buf, sizeof buf, " [%lld] ours %.6g, reference %.6g, max |grad|/norm %.3g, last grad %.3g;",
                  static_cast<long long>(i), ours.reshape(-1)[i].item<double>(), reference.reshape(-1)[i].item<double>(),
                  rel->second.reshape(-1)[i].item<double>(),
                  last != record.last_gradient.end() ? last->second.reshape(-1)[i].item<double>() : 0.0);
    msg += buf;
  }
  c.message = msg;
  return c;
}

}  // namespace textune::train
