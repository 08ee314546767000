// The losses of transformers' task heads (the `labels` branches of each `...For...forward` and
// transformers/loss/loss_utils.py), with the class weights and label smoothing that the training
// layer adds for cross-entropy.
#pragma once

#include <torch/torch.h>

#include "textune/core/json.h"
#include "textune/models/model.h"

namespace textune::models {

/// The problem type a sequence classifier uses for `labels`, as transformers decides it:
/// config.json's "problem_type" when set; else regression when num_labels == 1, single-label when
/// the labels are integers, multi-label otherwise. When config.json had none, the decision is
/// written into `config` (transformers sets `config.problem_type` the same way, so a saved model
/// records it). @throws textune::DataError for an unknown problem_type string.
ProblemType resolve_problem_type(core::Json& config, int64_t num_labels, const torch::Tensor& labels);

/// The training-loss options of cross-entropy (transformers' Trainer keeps them, not the model):
/// per-class weights (C) and the label smoothing factor.
struct LossOptions {
  torch::Tensor class_weights;   ///< (C) float, or undefined for none
  double label_smoothing = 0.0;  ///< TrainingArguments.label_smoothing_factor
};

/// Sequence classification loss. logits (B, C); labels (B) int64 (single-label), (B, C) float
/// (multi-label), (B) or (B, 1) float (regression). Single-label: cross-entropy (mean), with
/// optional class weights (C) and label smoothing; multi-label: BCE-with-logits (mean over all
/// elements); regression: MSE (on squeezed tensors when num_labels == 1).
/// @throws textune::DataError when labels do not fit logits.
torch::Tensor sequence_classification_loss(const torch::Tensor& logits, const torch::Tensor& labels, ProblemType type,
                                           const LossOptions& options = {});

/// Token classification / masked LM loss: cross-entropy over (B*T, C) with -100 ignored, mean over
/// the counted tokens (weighted by class weights when given), optional label smoothing.
torch::Tensor token_classification_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                        const LossOptions& options = {});

/// Extractive QA loss: (CE(start) + CE(end)) / 2 where positions are clamped to [0, T] and T is
/// ignored (transformers' ForQuestionAnsweringLoss). start/end_logits (B, T), positions (B) or (B, 1).
torch::Tensor question_answering_loss(const torch::Tensor& start_logits, const torch::Tensor& end_logits,
                                      const torch::Tensor& start_positions, const torch::Tensor& end_positions);

}  // namespace textune::models
