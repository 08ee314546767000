#include "models/heads.h"

#include <fmt/format.h>

#include "models/config_view.h"
#include "models/layers.h"
#include "models/losses.h"
#include "textune/core/error.h"

namespace textune::models {

TokenClassificationModelImpl::TokenClassificationModelImpl(const core::Json& config, PreTrainedModel base,
                                                           HeadOptions options)
    : options_(std::move(options)) {
  config_ = config;
  base_ = register_module(options_.base_prefix, base);
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
  classifier_ = register_module("classifier", make_linear(options_.hidden_size, config_num_labels(config_)));
}

ModelOutputs TokenClassificationModelImpl::forward(const ModelInputs& inputs) {
  ModelOutputs out = base_->forward(inputs);
  auto logits = classifier_(dropout_(out.last_hidden_state));  // (B, T, C)
  if (inputs.labels.defined()) out.loss = token_classification_loss(logits, inputs.labels);
  out.logits = logits;
  return out;
}

QuestionAnsweringModelImpl::QuestionAnsweringModelImpl(const core::Json& config, PreTrainedModel base,
                                                       HeadOptions options)
    : options_(std::move(options)) {
  config_ = config;
  const int64_t num_labels = config_num_labels(config_);
  if (num_labels != 2)
    throw DataError(fmt::format("{} needs 2 outputs (start and end), but config.json describes {} labels",
                                options_.architecture, num_labels));
  base_ = register_module(options_.base_prefix, base);
  dropout_ = register_module("dropout", torch::nn::Dropout(options_.dropout));
  qa_outputs_ = register_module("qa_outputs", make_linear(options_.hidden_size, 2));
}

ModelOutputs QuestionAnsweringModelImpl::forward(const ModelInputs& inputs) {
  ModelOutputs out = base_->forward(inputs);
  auto logits = qa_outputs_(dropout_(out.last_hidden_state));  // (B, T, 2)
  out.start_logits = logits.select(-1, 0).contiguous();         // (B, T)
  out.end_logits = logits.select(-1, 1).contiguous();           // (B, T)
  if (inputs.start_positions.defined() || inputs.end_positions.defined())
    out.loss = question_answering_loss(out.start_logits, out.end_logits, inputs.start_positions,
                                       inputs.end_positions);
  return out;
}

void attach_sequence_classification_loss(ModelOutputs& out, torch::Tensor logits, const ModelInputs& inputs,
                                         core::Json& config) {
  if (inputs.labels.defined()) {
    const ProblemType type = resolve_problem_type(config, logits.size(-1), inputs.labels);
    out.loss = sequence_classification_loss(logits, inputs.labels, type);
  }
  out.logits = std::move(logits);
}

}  // namespace textune::models
