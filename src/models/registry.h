// The registry from config.json's `model_type` and `architectures` to a constructor
// (transformers' `AutoModel...` mappings). Each family file registers its architectures in one
// function, listed in registry.cpp's `register_builtin_families`.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/models/model.h"

namespace textune::models {

/// Builds a model with freshly constructed (not yet initialised) parameters from a config.json
/// object. @throws textune::DataError for a config it cannot build.
using ModelBuilder = std::function<PreTrainedModel(const core::Json& config)>;

/// One buildable architecture.
struct ArchitectureSpec {
  std::string architecture;  ///< "BertForSequenceClassification"
  std::string model_type;    ///< "bert"
  TaskKind task = TaskKind::kBase;
  ModelBuilder build;
};

/// Builds `Impl(args...)` as a PreTrainedModel holder.
template <typename Impl, typename... Args>
PreTrainedModel make_model(Args&&... args) {
  return PreTrainedModel(std::shared_ptr<PreTrainedModelImpl>(std::make_shared<Impl>(std::forward<Args>(args)...)));
}

/// Wraps a family's base-model pointer as a PreTrainedModel holder.
template <typename Impl>
PreTrainedModel as_model(const std::shared_ptr<Impl>& impl) {
  return PreTrainedModel(std::shared_ptr<PreTrainedModelImpl>(impl));
}

/// Adds an architecture. Called from the family registration functions.
void register_architecture(ArchitectureSpec spec);

/// The spec of `architecture`, or nullptr.
const ArchitectureSpec* find_architecture(const std::string& architecture);

/// The spec of `model_type`'s architecture for `task`, or nullptr.
const ArchitectureSpec* find_architecture_for_task(const std::string& model_type, TaskKind task);

/// All registered specs, sorted by architecture name.
std::vector<const ArchitectureSpec*> all_architectures();

// Family registration functions (one per file under src/models).
void register_bert_family();
void register_roberta_family();
void register_distilbert_family();
void register_electra_family();
void register_deberta_v2_family();
void register_modernbert_family();

}  // namespace textune::models
