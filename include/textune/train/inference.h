// The one evaluation/inference loop, shared by the Trainer's evaluation, `textune eval`,
// `textune predict`, the C++ Pipeline and `textune serve`: a task's features in batches, sorted by
// length so that each batch pads only to its own longest feature, through the model without
// gradients, every batch's outputs handed to the sinks (the task's Evaluator and/or Predictor).
//
// Sources: transformers' Trainer.evaluation_loop / prediction_step (eval mode, no gradients, the
// loss averaged over batches weighted by their size) and its pipelines' batched forward.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <vector>

#include <torch/types.h>

#include "textune/data/batching.h"
#include "textune/models/model.h"
#include "textune/tasks/task.h"

namespace textune::train {

/// Options of run_inference.
struct InferenceOptions {
  size_t batch_size = 8;         ///< features per batch (per_device_eval_batch_size); 0 counts as 1
  data::CollateOptions collate;  ///< padding (pad id, side, multiple) given to Task::collate
  /// bf16 autocast of the forward pass (transformers' --bf16); only on a CUDA model, a no-op elsewhere.
  bool bf16 = false;
  /// Compute the loss (Task::loss, e.g. the Trainer's eval_loss) when the examples are labelled.
  /// false: labels and answer positions are left out of the model's inputs.
  bool compute_loss = false;
  /// Seed of the random generator handed to Task::collate (random collators; MLM masking), used
  /// when `generator` is null.
  uint64_t seed = 42;
  /// The random generator handed to Task::collate; null: a CPU generator seeded with `seed`.
  torch::Generator* generator = nullptr;
  /// Asked before every batch; returning true stops the loop with InferenceCancelled (serve: the
  /// client went away or the server is stopping).
  std::function<bool()> cancelled;
};

/// Thrown by run_inference when InferenceOptions::cancelled returns true. The model's mode is
/// restored; the sinks hold only the batches run so far.
class InferenceCancelled : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Runs `model` over every feature of `features` (made by `task` from `examples`) and gives each
/// batch's outputs to every sink in `sinks`, in the order of the list.
///
/// Features are sorted by length, longest first (std::stable_sort: equal lengths keep their order),
/// and cut into batches of options.batch_size, collated by task.collate (on the CPU, then moved to
/// the model's device). The model runs in eval mode (its previous mode is restored on return, also
/// on an exception) under torch::NoGradGuard. The sinks receive the CPU batch (its `features` name
/// the rows) and outputs whose loss, logits, start_logits and end_logits are on the CPU as float32
/// (hidden states and the pooler output are left out).
///
/// @returns the mean of task.loss over the batches, weighted by their number of features (the
///          Trainer's eval_loss), when options.compute_loss and examples.has_labels(); NaN otherwise
///          or when no batch gave a loss.
/// @throws InferenceCancelled (see InferenceOptions::cancelled), and what the task and the model
///         throw (textune::DataError for inputs that do not fit the model).
double run_inference(models::PreTrainedModel model, const tasks::Task& task, const tasks::Examples& examples,
                     const tasks::Features& features, const InferenceOptions& options,
                     const std::vector<tasks::OutputSink*>& sinks);

/// `inputs` with every tensor (ids, mask, type ids, labels, answer positions) on `device`.
models::ModelInputs inputs_to_device(const models::ModelInputs& inputs, const torch::Device& device);

/// The device of `model`'s parameters (the CPU for a model without parameters).
torch::Device model_device(const models::PreTrainedModel& model);

}  // namespace textune::train
