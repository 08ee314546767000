// Parity check of a model against golden tensors produced by Hugging Face transformers
// (../shared/fixtures/models/NAME/golden.safetensors, made by fixtures/reference/gen_fixtures.py):
// the library side of `textune verify`.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/models/model.h"

namespace textune::models {

/// What the optimizer trajectory produced, one entry per step.
struct TrajectoryResult {
  std::vector<double> loss_per_step;
  std::vector<double> grad_norm_per_step;  ///< total norm before clipping
  std::vector<double> lr_used_per_step;    ///< learning rate the step used
  /// Optional, per parameter (same shape): the largest |gradient| / global gradient norm over the
  /// steps, after clipping; read by compare_final_parameter. (Filled by the training layer.)
  std::map<std::string, torch::Tensor> max_relative_gradient;
  /// Optional, per parameter (same shape): the smallest |gradient| after clipping over the steps
  /// that moved the parameters (learning rate > 0); read by compare_final_parameter.
  std::map<std::string, torch::Tensor> min_abs_gradient;
  double adam_epsilon = 0;  ///< the optimizer's eps (0: unknown)
};

/// Relative gradient (|gradient| / global gradient norm) at or below which an element counts as
/// zero up to float32 rounding: a sum of terms that cancels exactly, such as a QA head's bias under a
/// softmax over positions, or the last LayerNorm's bias in front of it.
constexpr double kNearZeroGradient = 1e-6;

/// How one final parameter of the trajectory compares with the reference.
struct ParamComparison {
  double max_error = 0;        ///< max |ours - reference| over the elements not excused
  int64_t noise_elements = 0;  ///< elements excused as Adam sign noise (they differ by more than atol)
  std::string message;         ///< the excused elements with their values and gradients; empty when none
};

/// Compares a final parameter after the trajectory with the reference elementwise (both any shape
/// with the same number of elements). Adam divides by the root of the squared gradient, so an
/// element whose gradient stays within rounding of zero moves by +-lr per step with a random sign
/// (../shared/fixtures/README.md): such an element is excused only when either
///  - its result.max_relative_gradient is <= kNearZeroGradient at every step and it differs by at
///    most 2 x the summed learning rates of result.lr_used_per_step, or
///  - at some step that moved it, its |gradient| (result.min_abs_gradient) was below Adam's eps
///    (result.adam_epsilon): that step moved it by lr x g / (|g| + eps), so a last-bit difference
///    in a gradient that small (a sum that cancels to within rounding) changes the step by a
///    comparable fraction of lr; it must then differ by at most 2 x the largest learning rate used.
/// The message names each excused element (up to 5) with our value, the reference and its
/// gradients. Nothing else is excused, and without the gradient records for `name` nothing is.
ParamComparison compare_final_parameter(const std::string& name, const torch::Tensor& ours,
                                        const torch::Tensor& reference, const TrajectoryResult& result, double atol);

/// Runs golden.json's "trajectory" object (`steps` optimizer steps on `batch` with transformers
/// Trainer's AdamW, decay groups, linear warmup schedule and gradient clipping, in the order its
/// "order" field gives), leaving the final parameters in `model`, which is in train mode.
/// The training layer implements it; `textune verify` passes it in (tools/cli/cmd_verify.cpp).
using TrajectoryRunner =
    std::function<TrajectoryResult(PreTrainedModel model, const ModelInputs& batch, const core::Json& trajectory)>;

/// Options of `verify`. Tolerances default to ../shared/fixtures/README.md's.
struct VerifyOptions {
  std::string model_dir;  ///< the checkpoint to check (load_pretrained)
  std::string golden;     ///< golden.safetensors
  /// Optional: trajectory.safetensors, or the directory holding it and golden.json.
  std::string trajectory;
  /// Needed when `trajectory` is set. @see TrajectoryRunner
  TrajectoryRunner run_trajectory;
  double output_atol = 1e-5;      ///< logits, hidden states, losses: absolute
  double grad_rtol = 1e-4;        ///< gradients: relative to the largest |element| of the reference
  double trajectory_atol = 1e-5;  ///< loss_per_step and final parameters: absolute
  /// Report every tensor's error, not only the worst per group.
  bool details = false;
};

/// The worst error over one group of tensors ("outputs", "hidden_states", "loss", "grads",
/// "trajectory_loss", "trajectory_params", ...).
struct VerifyGroup {
  std::string name;
  std::string metric;  ///< "max_abs_error" or "max_rel_error"
  double max_error = 0;
  double tolerance = 0;
  std::string worst;   ///< the tensor with the largest error
  int64_t tensors = 0;
  bool pass = true;
  /// Reported only: its pass does not decide the verdict (trajectory_grad_norm).
  bool informational = false;
  /// Every tensor's error, in file order (filled always; printed by to_json when details).
  std::vector<std::pair<std::string, double>> errors;
};

/// The outcome of `verify`.
struct VerifyReport {
  bool pass = true;
  std::string model_dir, golden, architecture;
  std::vector<VerifyGroup> groups;
  /// Final parameters with elements excused as Adam sign noise near zero gradients, one line per
  /// parameter with the elements' gradients (compare_final_parameter's messages).
  std::vector<std::string> notes;
  std::vector<std::string> problems;  ///< missing or extra outputs, shape mismatches
  /// The largest |element| of the reference gradient over all parameters (the scale gradient
  /// errors are relative to); 0 when no gradients were compared.
  double grad_scale = 0;
  /// {"pass", "model", "golden", "architecture", "groups": {NAME: {..., "errors": {...} when
  /// details}}, "notes": [...] when any, "problems": [...]}.
  core::Json to_json(bool details = false) const;
};

/// The batch of a golden file: its input.input_ids, input.attention_mask, input.token_type_ids,
/// input.labels, input.start_positions, input.end_positions tensors (copied).
/// @throws textune::DataError when the file cannot be read, has no input.input_ids, or holds an
///         input.* tensor verify does not know.
ModelInputs read_golden_inputs(const std::string& golden_path);

/// Feeds the golden inputs to `model` and compares: in eval mode with hidden states, every eval.*
/// tensor (eval.logits / start_logits / end_logits, eval.loss, eval.hidden_states.i); in train
/// mode, one forward and backward, train.loss and every grad.PARAM against the parameter's
/// gradient, each as max|ours - ref| divided by the largest |element| of the whole reference
/// gradient (all parameters), the README's definition. (Per tensor, 1e-4 is beyond float32: the
/// reference itself is up to 3e-4 of a small tensor's scale away from a float64 computation, and
/// the key biases' gradients, zero in exact arithmetic, are pure rounding noise.)
/// The model's gradients are cleared afterwards. A forward pass that throws (inputs the model
/// cannot take) is reported as a problem, not thrown.
/// @throws textune::DataError when the golden file cannot be read.
VerifyReport verify_model(PreTrainedModel model, const std::string& golden_path, const VerifyOptions& options = {});

/// Loads options.model_dir, runs verify_model, then (when options.trajectory is set) reloads the
/// model, runs options.run_trajectory and compares loss_per_step, lr_used_per_step,
/// grad_norm_per_step (relative, grad_rtol) and every final.PARAM (compare_final_parameter).
/// @throws textune::DataError for unreadable inputs; textune::UsageError when a trajectory is asked
///         for but no runner is given ("not available").
VerifyReport verify(const VerifyOptions& options);

}  // namespace textune::models
