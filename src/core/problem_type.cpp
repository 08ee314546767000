#include "textune/core/problem_type.h"

#include "textune/core/error.h"

namespace textune::core {

std::string problem_type_name(ProblemType type) {
  switch (type) {
    case ProblemType::kSingleLabel:
      return "single_label_classification";
    case ProblemType::kMultiLabel:
      return "multi_label_classification";
    case ProblemType::kRegression:
      return "regression";
  }
  return "";
}

ProblemType problem_type_from_name(const std::string& name) {
  if (name == "single_label_classification") return ProblemType::kSingleLabel;
  if (name == "multi_label_classification") return ProblemType::kMultiLabel;
  if (name == "regression") return ProblemType::kRegression;
  throw DataError("unknown problem_type \"" + name +
                  "\" (expected \"single_label_classification\", \"multi_label_classification\" or \"regression\")");
}

ProblemType parse_problem_type(const std::string& name) {
  if (name == "classification" || name == "single_label_classification" || name == "single-label" ||
      name == "single_label")
    return ProblemType::kSingleLabel;
  if (name == "multi-label" || name == "multi_label" || name == "multi_label_classification" || name == "multilabel")
    return ProblemType::kMultiLabel;
  if (name == "regression") return ProblemType::kRegression;
  throw UsageError("unknown task \"" + name + "\" (expected classification, multi-label or regression)");
}

}  // namespace textune::core
