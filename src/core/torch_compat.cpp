// Every LibTorch-version `#if` of the project (see include/textune/core/torch_compat.h).
#include "textune/core/torch_compat.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

#include <stdexcept>

namespace textune::core {

AutocastGuard::AutocastGuard(bool enable) : enabled_(enable) {
  if (!enabled_) return;
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
  at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  at::autocast::set_enabled(true);
#endif
}

AutocastGuard::~AutocastGuard() {
  if (!enabled_) return;
#if TORCH_VERSION_MAJOR >= 2
  at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
  at::autocast::set_enabled(false);
#endif
  at::autocast::clear_cache();
}

bool fused_adamw_available() {
#if TORCH_VERSION_MAJOR >= 2
  return true;
#else
  return false;
#endif
}

void fused_adamw_step(const torch::Tensor& param, const torch::Tensor& grad, const torch::Tensor& exp_avg,
                      const torch::Tensor& exp_avg_sq, const torch::Tensor& step, double lr, double beta1, double beta2,
                      double weight_decay, double eps) {
#if TORCH_VERSION_MAJOR >= 2
  at::_fused_adamw_({param}, {grad}, {exp_avg}, {exp_avg_sq}, {}, {step}, lr, beta1, beta2, weight_decay, eps,
                    /*amsgrad=*/false, /*maximize=*/false);
#else
  throw std::logic_error("fused_adamw_step needs LibTorch 2 (at::_fused_adamw_)");
#endif
}

torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           const torch::Tensor& bias, double dropout_p, double scale) {
#if TORCH_VERSION_MAJOR >= 2
  return at::scaled_dot_product_attention(q, k, v, bias.defined() ? c10::optional<at::Tensor>(bias) : c10::nullopt,
                                          dropout_p, /*is_causal=*/false, scale);
#else
  // Reference path (transformers' eager_attention_forward): (B, NH, T, D) x (B, NH, D, T) -> (B, NH, T, T)
  auto scores = torch::matmul(q, k.transpose(-1, -2)).mul_(scale);
  if (bias.defined()) scores.add_(bias);
  // float32 or wider: half precision is upcast, float64 keeps its precision
  auto probs = torch::softmax(scores, -1, at::promote_types(scores.scalar_type(), torch::kFloat32)).to(q.scalar_type());
  if (dropout_p > 0) probs = torch::dropout(probs, dropout_p, /*train=*/true);
  return torch::matmul(probs, v);  // (B, NH, T, D)
#endif
}

}  // namespace textune::core
