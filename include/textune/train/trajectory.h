// The optimizer trajectory of the golden fixtures: a few AdamW steps on one batch, exactly as
// ../shared/fixtures/reference/gen_fixtures.py records them with transformers' Trainer optimizer
// and schedule. Used by `textune verify --trajectory` and the training tests.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/models/verify.h"

namespace textune::train {

/// Called after clipping and before the optimizer update of step `step` (0-based), with the
/// model's (clipped) gradients in place: tests use it to show gradients in failure messages.
using TrajectoryStepHook = std::function<void(int64_t step, models::PreTrainedModel& model)>;

/// Runs golden.json's "trajectory" object on `batch`: `steps` times forward, loss.backward,
/// clip_grad_norm_(max_grad_norm), optimizer.step (textune's AdamW with weight_decay on
/// model->decay_parameter_names() only, betas, eps), scheduler.step (`schedule` with
/// `warmup_steps`, learning rate `lr`), zero_grad. The model is left in train mode with its final
/// parameters. The result's max_relative_gradient holds, per parameter, the largest |gradient| /
/// global gradient norm over the steps after clipping (for models::compare_final_parameter).
/// @throws textune::DataError when a key is missing or "order" names another sequence of operations.
models::TrajectoryResult run_trajectory(models::PreTrainedModel model, const models::ModelInputs& batch,
                                        const core::Json& trajectory, const TrajectoryStepHook& hook = {});

}  // namespace textune::train
