// The optimizer trajectory of the golden fixtures: a few AdamW steps on one batch, exactly as
// ../shared/fixtures/reference/gen_fixtures.py records them with transformers' Trainer optimizer
// and schedule. Used by `textune verify --trajectory` and the training tests.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/models/verify.h"

namespace textune::train {

/// Called after clipping and before the optimizer update of step `step` (0-based), with the
/// model's (clipped) gradients in place: tests use it to show gradients in failure messages.
using TrajectoryStepHook = std::function<void(int64_t step, models::PreTrainedModel& model)>;

/// What the trajectory saw of each parameter's gradients, for judging final-parameter differences.
struct TrajectoryRecord {
  models::TrajectoryResult result;
  /// Per parameter (same shape): the largest |gradient| / (global gradient norm) over the steps,
  /// after clipping. An element that stays within float rounding of zero (<= kNearZeroGradient)
  /// gets Adam steps of +-lr whose sign is rounding noise (fixtures/README.md).
  std::map<std::string, torch::Tensor> max_relative_gradient;
  /// The last step's gradient of each parameter (after clipping), for messages.
  std::map<std::string, torch::Tensor> last_gradient;
  /// Sum of the learning rates used: 2 x this bounds how far sign noise can move a parameter.
  double lr_sum = 0;
};

/// Relative gradient below which an element counts as zero up to float32 rounding (a sum of terms
/// that cancels exactly, such as a QA head's bias under a softmax over positions).
constexpr double kNearZeroGradient = 1e-6;

/// How a final parameter compares with the reference.
struct ParamComparison {
  double max_error = 0;        ///< over the elements whose gradient was not within rounding of zero
  int64_t noise_elements = 0;  ///< elements excused as Adam sign noise (differ by more than atol)
  double max_noise_error = 0;  ///< their largest difference (always <= 2 x lr_sum, else not excused)
  std::string message;         ///< the excused elements with their gradient values
};

/// Compares `ours` with `reference` elementwise: an element that differs by more than `atol` is
/// excused only when its gradient was within rounding of zero at every step (max relative gradient
/// <= kNearZeroGradient) and it moved by at most 2 x lr_sum; the message lists each excused element
/// with its gradient values. Tolerances are never loosened otherwise.
ParamComparison compare_final_parameter(const std::string& name, const torch::Tensor& ours,
                                        const torch::Tensor& reference, const TrajectoryRecord& record, double atol);

/// The names transformers' Trainer gives weight decay: the model's decay_parameter_names() plus the
/// aliases of tied weights whose target decays (transformers walks every module, so a tied MLM
/// decoder is listed under its own name too). Sorted.
std::vector<std::string> decay_parameter_names(const models::PreTrainedModel& model);

/// As run_trajectory, also recording gradients (see TrajectoryRecord).
TrajectoryRecord run_trajectory_recorded(models::PreTrainedModel model, const models::ModelInputs& batch,
                                         const core::Json& trajectory);

/// Runs golden.json's "trajectory" object on `batch`: `steps` times forward, loss.backward,
/// clip_grad_norm_(max_grad_norm), optimizer.step (textune's AdamW with weight_decay on
/// model->decay_parameter_names() only, betas, eps), scheduler.step (`schedule` with
/// `warmup_steps`, learning rate `lr`), zero_grad. The model is left in train mode with its final
/// parameters.
/// @throws textune::DataError when a key is missing or "order" names another sequence of operations.
models::TrajectoryResult run_trajectory(models::PreTrainedModel model, const models::ModelInputs& batch,
                                        const core::Json& trajectory, const TrajectoryStepHook& hook = {});

}  // namespace textune::train
