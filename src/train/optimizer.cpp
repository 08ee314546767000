// AdamW (decoupled weight decay) and clip_grad_norm_, reproducing torch.optim.AdamW and
// torch.nn.utils.clip_grad_norm_ to float rounding. See include/textune/train/optimizer.h.
#include "textune/train/optimizer.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <unordered_set>

#include "textune/core/error.h"
#include "textune/core/torch_compat.h"

namespace textune::train {
namespace {

// The scalars of one update, computed in double as torch computes them in Python and then used as
// float32 the way a float tensor op uses a Python scalar.
struct UpdateScalars {
  float decay_factor;        // 1 - lr * wd
  float one_minus_beta1;     // lerp weight
  float beta2;
  float one_minus_beta2;
  float bias_correction2_sqrt;
  float eps;
  float neg_step_size;       // -lr / (1 - beta1^t)
  bool decay;
};

UpdateScalars scalars(int64_t step, double lr, const AdamWOptions& o, bool decay) {
  const double bias_correction1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
  UpdateScalars s;
  s.decay = decay && o.weight_decay != 0.0;
  s.decay_factor = static_cast<float>(1.0 - lr * o.weight_decay);
  s.one_minus_beta1 = static_cast<float>(1.0 - o.beta1);
  s.beta2 = static_cast<float>(o.beta2);
  s.one_minus_beta2 = static_cast<float>(1.0 - o.beta2);
  s.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  s.eps = static_cast<float>(o.eps);
  s.neg_step_size = static_cast<float>(-(lr / bias_correction1));
  return s;
}

// One pass over the elements of a contiguous float32 CPU parameter: every operation of torch's
// single-tensor AdamW applied to one element before moving to the next.
void fused_update_cpu(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                      int64_t n, const UpdateScalars& s) {
  at::parallel_for(0, n, 1 << 15, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float gi = g[i];
      float pi = p[i];
      if (s.decay) pi = pi * s.decay_factor;                       // param.mul_(1 - lr * wd)
      const float mi = m[i] + s.one_minus_beta1 * (gi - m[i]);     // exp_avg.lerp_(grad, 1 - beta1)
      const float vi = v[i] * s.beta2 + s.one_minus_beta2 * gi * gi;  // exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2)
      const float denom = std::sqrt(vi) / s.bias_correction2_sqrt + s.eps;
      p[i] = pi + s.neg_step_size * (mi / denom);                  // param.addcdiv_(exp_avg, denom, -step_size)
      m[i] = mi;
      v[i] = vi;
    }
  });
}

}  // namespace

AdamW::AdamW(std::vector<OptimizerParam> params, AdamWOptions options)
    : params_(std::move(params)), state_(params_.size()), options_(options) {
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& p = params_[i].param;
    state_[i].exp_avg = torch::zeros_like(p, torch::MemoryFormat::Preserve);
    state_[i].exp_avg_sq = torch::zeros_like(p, torch::MemoryFormat::Preserve);
  }
}

void adamw_reference_update(torch::Tensor param, const torch::Tensor& grad, torch::Tensor exp_avg,
                            torch::Tensor exp_avg_sq, int64_t step, double lr, const AdamWOptions& o, bool decay) {
  torch::NoGradGuard no_grad;
  if (decay && o.weight_decay != 0.0) param.mul_(1.0 - lr * o.weight_decay);
  exp_avg.lerp_(grad, 1.0 - o.beta1);
  exp_avg_sq.mul_(o.beta2).addcmul_(grad, grad, 1.0 - o.beta2);
  const double bias_correction1 = 1.0 - std::pow(o.beta1, static_cast<double>(step));
  const double bias_correction2 = 1.0 - std::pow(o.beta2, static_cast<double>(step));
  const double step_size = lr / bias_correction1;
  const double bias_correction2_sqrt = std::sqrt(bias_correction2);
  torch::Tensor denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(o.eps);
  param.addcdiv_(exp_avg, denom, -step_size);
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    torch::Tensor p = params_[i].param;
    const torch::Tensor& g = p.grad();
    if (!g.defined()) continue;
    State& st = state_[i];
    st.step += 1;
    const bool decay = params_[i].decay;
    if (p.is_cuda() && core::fused_adamw_available()) {
      if (!st.step_tensor.defined()) st.step_tensor = torch::zeros({}, p.options().dtype(torch::kFloat32));
      st.step_tensor.fill_(static_cast<double>(st.step));
      core::fused_adamw_step(p, g, st.exp_avg, st.exp_avg_sq, st.step_tensor, lr, options_.beta1, options_.beta2,
                             decay ? options_.weight_decay : 0.0, options_.eps);
      continue;
    }
    if (p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && g.scalar_type() == torch::kFloat32 &&
        p.is_contiguous() && st.exp_avg.is_contiguous() && st.exp_avg_sq.is_contiguous()) {
      torch::Tensor gc = g.contiguous();
      fused_update_cpu(p.data_ptr<float>(), gc.data_ptr<float>(), st.exp_avg.data_ptr<float>(),
                       st.exp_avg_sq.data_ptr<float>(), p.numel(), scalars(st.step, lr, options_, decay));
    } else {
      adamw_reference_update(p, g, st.exp_avg, st.exp_avg_sq, st.step, lr, options_, decay);
    }
  }
}

void AdamW::zero_grad() {
  for (auto& p : params_) {
    if (p.param.grad().defined()) p.param.mutable_grad() = torch::Tensor();
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.reserve(3 * params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& name = params_[i].name;
    out.emplace_back("exp_avg." + name, state_[i].exp_avg.detach().to(torch::kCPU).clone());
    out.emplace_back("exp_avg_sq." + name, state_[i].exp_avg_sq.detach().to(torch::kCPU).clone());
    out.emplace_back("step." + name, torch::full({}, state_[i].step, torch::kInt64));
  }
  return out;
}

void AdamW::load_state_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                               const std::string& source) {
  std::unordered_map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  auto get = [&](const std::string& key, const torch::Tensor& like) {
    auto it = by_name.find(key);
    if (it == by_name.end()) throw DataError(source + ": optimizer state has no tensor " + key);
    if (like.defined() && it->second.sizes() != like.sizes())
      throw DataError(source + ": optimizer state tensor " + key + " has the wrong shape");
    return it->second;
  };
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& name = params_[i].name;
    state_[i].exp_avg.copy_(get("exp_avg." + name, state_[i].exp_avg));
    state_[i].exp_avg_sq.copy_(get("exp_avg_sq." + name, state_[i].exp_avg_sq));
    state_[i].step = get("step." + name, torch::Tensor()).item<int64_t>();
  }
}

std::vector<OptimizerParam> model_parameters(torch::nn::Module& module, const std::vector<std::string>& decay_names) {
  std::unordered_set<std::string> decay(decay_names.begin(), decay_names.end());
  std::unordered_set<const void*> seen;
  std::vector<OptimizerParam> out;
  for (const auto& item : module.named_parameters(true)) {
    const torch::Tensor& t = item.value();
    if (!t.requires_grad()) continue;
    if (!seen.insert(t.unsafeGetTensorImpl()).second) continue;
    out.push_back({item.key(), t, decay.count(item.key()) != 0});
  }
  return out;
}

double clip_grad_norm(const std::vector<OptimizerParam>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params)
    if (p.param.grad().defined()) grads.push_back(p.param.grad());
  if (grads.empty()) return 0.0;
  std::vector<torch::Tensor> norms;
  norms.reserve(grads.size());
  for (const auto& g : grads) norms.push_back(at::linalg_vector_norm(g, 2));
  const torch::Device first = grads.front().device();
  for (auto& n : norms) n = n.to(first);
  torch::Tensor total = at::linalg_vector_norm(torch::stack(norms), 2);
  if (max_norm > 0) {
    torch::Tensor coef = torch::clamp_max(max_norm / (total + 1e-6), 1.0);
    for (auto& g : grads) g.mul_(coef.to(g.device()));
  }
  return total.item<double>();
}

}  // namespace textune::train
