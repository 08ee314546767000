// AdamW with Hugging Face's decay groups, and gradient clipping by global norm.
//
// Sources: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019); the update as
// torch.optim.AdamW computes it (torch/optim/adam.py, `_single_tensor_adam` with
// decoupled_weight_decay, the path torch takes for CPU tensors); torch.nn.utils.clip_grad_norm_;
// transformers' Trainer.create_optimizer (two parameter groups: `get_decay_parameter_names` with
// weight_decay, the rest with 0).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "textune/core/json.h"

namespace textune::train {

/// Hyper-parameters of AdamW (torch.optim.AdamW's names and TrainingArguments' defaults).
struct AdamWOptions {
  double lr = 5e-5;            ///< learning_rate; replaced every step by the schedule
  double beta1 = 0.9;          ///< adam_beta1
  double beta2 = 0.999;        ///< adam_beta2
  double eps = 1e-8;           ///< adam_epsilon
  double weight_decay = 0.0;   ///< applied only to parameters marked for decay
};

/// One parameter the optimizer updates.
struct OptimizerParam {
  std::string name;       ///< Hugging Face name (the first name of a tied tensor)
  torch::Tensor param;    ///< the model's parameter (updated in place)
  bool decay = false;     ///< in transformers' decay group
};

/// AdamW, updating each parameter in one fused pass over its elements (no intermediate tensors).
///
/// Per parameter p with gradient g, at its step t (1-based), with lr from the schedule:
///   p <- p * (1 - lr * wd)                  (decay group only; wd = 0 otherwise)
///   m <- lerp(m, g, 1 - beta1)
///   v <- v * beta2 + (1 - beta2) * g * g
///   p <- p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
/// in float32 with the scalars computed in double, as torch.optim.AdamW orders the operations, so
/// results agree with it to float rounding. Parameters whose gradient is undefined are skipped
/// (their step count does not advance), as torch does. On CUDA with LibTorch 2.x the update is
/// `at::_fused_adamw_`.
class AdamW {
 public:
  /// @param params the parameters (tied tensors once: see `model_parameters`).
  AdamW(std::vector<OptimizerParam> params, AdamWOptions options);

  /// Applies one update with learning rate `lr` to every parameter that has a gradient.
  void step(double lr);
  /// Sets every gradient to undefined (`zero_grad(set_to_none=True)`, torch's default).
  void zero_grad();

  const std::vector<OptimizerParam>& params() const { return params_; }
  const AdamWOptions& options() const { return options_; }
  /// Steps taken by parameter `i` (0 before its first update).
  int64_t step_count(size_t i) const { return state_[i].step; }

  /// The state as tensors named "exp_avg.NAME" / "exp_avg_sq.NAME", plus "step.NAME" (int64 scalar),
  /// for a checkpoint's optimizer.safetensors. Tensors are copies on the CPU.
  std::vector<std::pair<std::string, torch::Tensor>> state_tensors() const;
  /// Restores what `state_tensors` saved. @throws textune::DataError when a tensor is missing or
  /// has the wrong shape (naming it and `source`).
  void load_state_tensors(const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                          const std::string& source);

 private:
  struct State {
    int64_t step = 0;
    torch::Tensor exp_avg, exp_avg_sq;
    torch::Tensor step_tensor;  // float scalar on the parameter's device, for _fused_adamw_
  };
  std::vector<OptimizerParam> params_;
  std::vector<State> state_;
  AdamWOptions options_;
};

/// The reference AdamW update of one parameter written as whole-tensor operations, exactly as
/// torch's `_single_tensor_adam` sequences them (used by tests and by devices without a fused path).
/// `step` is the 1-based step after incrementing.
void adamw_reference_update(torch::Tensor param, const torch::Tensor& grad, torch::Tensor exp_avg,
                            torch::Tensor exp_avg_sq, int64_t step, double lr, const AdamWOptions& options,
                            bool decay);

/// The parameters of `module` once each (a tensor shared under two names, such as a tied MLM
/// decoder, is listed under its first name), in registration order, with `decay` set for the
/// names in `decay_names`.
std::vector<OptimizerParam> model_parameters(torch::nn::Module& module, const std::vector<std::string>& decay_names);

/// Clips gradients in place as torch.nn.utils.clip_grad_norm_(params, max_norm) with norm 2: the
/// total norm is the 2-norm of the per-tensor 2-norms; every gradient is multiplied by
/// min(1, max_norm / (total + 1e-6)) (computed as a float32 tensor, as torch does).
/// Parameters without a gradient are ignored.
/// @return the total norm before clipping (float32 value as a double). max_norm <= 0: only measures.
double clip_grad_norm(const std::vector<OptimizerParam>& params, double max_norm);

}  // namespace textune::train
