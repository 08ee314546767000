// The one place for LibTorch-version differences (DESIGN.md, "Build targets"): the same source
// compiles against Debian's LibTorch 1.13 (CPU) and the pip wheel's LibTorch 2.x (CUDA). Every
// `#if TORCH_VERSION_MAJOR` of the project lives in src/core/torch_compat.cpp; callers use these
// functions and never test the version themselves.
#pragma once

#include <torch/types.h>

namespace textune::core {

/// bf16 autocast of the forward pass on CUDA (transformers' `--bf16`) for the guard's lifetime;
/// a no-op when constructed with `enable` false. On exit autocast is switched off and its cast
/// cache cleared. LibTorch 2.x: at::autocast::set_autocast_dtype/set_autocast_enabled(kCUDA, ...);
/// 1.13: set_autocast_gpu_dtype/set_enabled. CUDA's default autocast dtype is fp16, so bf16 is
/// asked for explicitly.
class AutocastGuard {
 public:
  explicit AutocastGuard(bool enable);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool enabled_;
};

/// Whether fused_adamw_step can run (LibTorch 2.x has at::_fused_adamw_; 1.13 does not).
bool fused_adamw_available();

/// One AdamW step of one CUDA parameter with at::_fused_adamw_ (torch.optim.AdamW(fused=True),
/// amsgrad and maximize off): updates `param`, `exp_avg` and `exp_avg_sq` in place. `step` is a
/// float32 scalar tensor on the parameter's device holding the step count after this step (1 for the
/// first). `weight_decay` is decoupled (0 for parameters outside the decay group).
/// @throws std::logic_error when fused_adamw_available() is false.
void fused_adamw_step(const torch::Tensor& param, const torch::Tensor& grad, const torch::Tensor& exp_avg,
                      const torch::Tensor& exp_avg_sq, const torch::Tensor& step, double lr, double beta1, double beta2,
                      double weight_decay, double eps);

/// Attention softmax(q k^T * scale + bias) v with dropout `dropout_p` on the probabilities (pass 0
/// outside training). Shapes: q (B, NH, Tq, D), k and v (B, NH, Tk, D), bias broadcastable to
/// (B, NH, Tq, Tk) (additive, e.g. (B, 1, 1, Tk) from padding_attention_bias) or undefined; returns
/// (B, NH, Tq, D). LibTorch 2.x: at::scaled_dot_product_attention (not causal). 1.13: transformers'
/// eager_attention_forward (matmul, scale, add bias, softmax in float32 or wider, dropout, matmul).
torch::Tensor scaled_dot_product_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                           const torch::Tensor& bias, double dropout_p, double scale);

}  // namespace textune::core
