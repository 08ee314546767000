// Task heads that are the same in every encoder family (transformers repeats them per family):
// token classification (dropout + `classifier`) and extractive QA (`qa_outputs`), plus the
// sequence-classification bookkeeping every family shares (problem type, loss).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "textune/models/model.h"

namespace textune::models {

/// What a head needs to know about the base model it sits on.
struct HeadOptions {
  std::string architecture;  ///< "BertForTokenClassification"
  std::string base_prefix;   ///< "bert": the base is registered under this name
  int64_t hidden_size = 0;   ///< H of the base's last_hidden_state
  double dropout = 0.0;      ///< dropout before the head's Linear (0: none)
};

/// `...ForTokenClassification`: logits = classifier(dropout(last_hidden_state)), (B, T, C);
/// loss: cross-entropy over tokens with -100 ignored. Parameters: BASE_PREFIX.*, classifier.*.
class TokenClassificationModelImpl : public PreTrainedModelImpl {
 public:
  /// @param base the base model (BertModel without pooler, ...), registered as options.base_prefix.
  TokenClassificationModelImpl(const core::Json& config, PreTrainedModel base, HeadOptions options);
  ModelOutputs forward(const ModelInputs& inputs) override;
  std::string architecture() const override { return options_.architecture; }
  TaskKind task() const override { return TaskKind::kTokenClassification; }
  std::optional<int64_t> max_sequence_length() const override { return base_->max_sequence_length(); }
  std::string base_model_prefix() const override { return options_.base_prefix; }
  std::vector<std::string> initializable_prefixes() const override { return {"classifier."}; }

 private:
  HeadOptions options_;
  PreTrainedModel base_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

/// `...ForQuestionAnswering`: start/end logits = qa_outputs(dropout(last_hidden_state)) split on
/// the last dimension, each (B, T); loss as question_answering_loss. Parameters: BASE_PREFIX.*,
/// qa_outputs.* (2 outputs: config.json's num_labels must be 2).
class QuestionAnsweringModelImpl : public PreTrainedModelImpl {
 public:
  QuestionAnsweringModelImpl(const core::Json& config, PreTrainedModel base, HeadOptions options);
  ModelOutputs forward(const ModelInputs& inputs) override;
  std::string architecture() const override { return options_.architecture; }
  TaskKind task() const override { return TaskKind::kQuestionAnswering; }
  std::optional<int64_t> max_sequence_length() const override { return base_->max_sequence_length(); }
  std::string base_model_prefix() const override { return options_.base_prefix; }
  std::vector<std::string> initializable_prefixes() const override { return {"qa_outputs."}; }

 private:
  HeadOptions options_;
  PreTrainedModel base_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear qa_outputs_{nullptr};
};

/// Fills `out.loss` for a sequence classifier when `inputs.labels` is defined (problem type
/// resolved as transformers does, recorded in `config`), and moves `logits` into `out`.
void attach_sequence_classification_loss(ModelOutputs& out, torch::Tensor logits, const ModelInputs& inputs,
                                         core::Json& config);

}  // namespace textune::models
