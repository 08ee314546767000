// Parity check of a model against golden tensors produced by Hugging Face transformers
// (../shared/fixtures/models/NAME/golden.safetensors, made by fixtures/reference/gen_fixtures.py):
// the library side of `textune verify`.
#pragma once

#include <functional>
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
};

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
  /// Every tensor's error, in file order (filled always; printed by to_json when details).
  std::vector<std::pair<std::string, double>> errors;
};

/// The outcome of `verify`.
struct VerifyReport {
  bool pass = true;
  std::string model_dir, golden, architecture;
  std::vector<VerifyGroup> groups;
  std::vector<std::string> problems;  ///< missing or extra outputs, shape mismatches
  /// The largest |element| of the reference gradient over all parameters (the scale gradient
  /// errors are relative to); 0 when no gradients were compared.
  double grad_scale = 0;
  /// {"pass", "model", "golden", "architecture", "groups": {NAME: {..., "errors": {...} when
  /// details}}, "problems": [...]}.
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
/// model, runs options.run_trajectory and compares loss_per_step and every final.PARAM.
/// @throws textune::DataError for unreadable inputs; textune::UsageError when a trajectory is asked
///         for but no runner is given ("not available").
VerifyReport verify(const VerifyOptions& options);

}  // namespace textune::models
