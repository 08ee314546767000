// The one definition of a sequence classifier's problem type, shared by the data, models, eval,
// tasks and train layers (data::Task and models::ProblemType are aliases of it).
//
// Source: transformers' PretrainedConfig.problem_type and the loss selection of
// BertForSequenceClassification.forward: "single_label_classification" (cross-entropy),
// "multi_label_classification" (BCE with logits), "regression" (MSE).
#pragma once

#include <string>

namespace textune::core {

/// What a sequence classifier's labels are: one class per example, a set of classes per example,
/// or one float per example. kClassification is the same enumerator as kSingleLabel (the data
/// layer's historical spelling).
enum class ProblemType {
  kSingleLabel = 0,                ///< one label per example: "single_label_classification"
  kClassification = kSingleLabel,  ///< the same value, spelled as `--task classification`
  kMultiLabel,                     ///< a set of labels per example: "multi_label_classification"
  kRegression,                     ///< one float per example: "regression"
};

/// config.json's `problem_type` spelling: "single_label_classification",
/// "multi_label_classification" or "regression".
std::string problem_type_name(ProblemType type);

/// The inverse of problem_type_name (config.json spellings only).
/// @throws textune::DataError for another string, listing the three names.
ProblemType problem_type_from_name(const std::string& name);

/// Parses a `--task` value or a config spelling: "classification", "single-label", "single_label",
/// "single_label_classification"; "multi-label", "multi_label", "multilabel",
/// "multi_label_classification"; "regression".
/// @throws textune::UsageError otherwise, listing the names.
ProblemType parse_problem_type(const std::string& name);

}  // namespace textune::core
