#include "models/losses.h"

#include <fmt/format.h>

#include "textune/core/error.h"

namespace textune::models {
namespace F = torch::nn::functional;

ProblemType resolve_problem_type(core::Json& config, int64_t num_labels, const torch::Tensor& labels) {
  if (config.contains("problem_type") && config["problem_type"].is_string())
    return problem_type_from_name(config["problem_type"].get<std::string>());
  ProblemType type;
  if (num_labels == 1)
    type = ProblemType::kRegression;
  else if (labels.defined() && (labels.scalar_type() == torch::kLong || labels.scalar_type() == torch::kInt))
    type = ProblemType::kSingleLabel;
  else
    type = ProblemType::kMultiLabel;
  config["problem_type"] = problem_type_name(type);
  return type;
}

namespace {

F::CrossEntropyFuncOptions ce_options(const LossOptions& inputs) {
  F::CrossEntropyFuncOptions o;
  o.ignore_index(-100).label_smoothing(inputs.label_smoothing);
  if (inputs.class_weights.defined()) o.weight(inputs.class_weights);
  return o;
}

void check_class_weights(const LossOptions& inputs, int64_t num_labels) {
  if (inputs.class_weights.defined() && (inputs.class_weights.dim() != 1 || inputs.class_weights.size(0) != num_labels))
    throw DataError(fmt::format("class_weights has shape {}, expected ({}) (one weight per label)",
                                c10::str(inputs.class_weights.sizes()), num_labels));
}

}  // namespace

torch::Tensor sequence_classification_loss(const torch::Tensor& logits, const torch::Tensor& labels, ProblemType type,
                                           const LossOptions& inputs) {
  const int64_t num_labels = logits.size(-1);
  switch (type) {
    case ProblemType::kRegression: {
      auto target = labels.to(logits.scalar_type());
      if (num_labels == 1) {
        if (target.numel() != logits.size(0))
          throw DataError(
              fmt::format("regression labels have shape {}, expected ({})", c10::str(labels.sizes()), logits.size(0)));
        return F::mse_loss(logits.squeeze(), target.squeeze());
      }
      if (target.sizes() != logits.sizes())
        throw DataError(fmt::format("regression labels have shape {}, expected {}", c10::str(labels.sizes()),
                                    c10::str(logits.sizes())));
      return F::mse_loss(logits, target);
    }
    case ProblemType::kSingleLabel: {
      if (labels.numel() != logits.size(0))
        throw DataError(fmt::format("labels have shape {}, expected ({}) (one label id per example)",
                                    c10::str(labels.sizes()), logits.size(0)));
      check_class_weights(inputs, num_labels);
      return F::cross_entropy(logits.view({-1, num_labels}), labels.view({-1}).to(torch::kLong), ce_options(inputs));
    }
    case ProblemType::kMultiLabel: {
      if (labels.sizes() != logits.sizes())
        throw DataError(fmt::format("multi-label labels have shape {}, expected {} (a 0/1 row per example)",
                                    c10::str(labels.sizes()), c10::str(logits.sizes())));
      return F::binary_cross_entropy_with_logits(logits, labels.to(logits.scalar_type()));
    }
  }
  return {};
}

torch::Tensor token_classification_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                        const LossOptions& inputs) {
  const int64_t num_labels = logits.size(-1);
  if (labels.numel() * num_labels != logits.numel())
    throw DataError(fmt::format("token labels have shape {}, expected {} (one label id per token, -100 ignored)",
                                c10::str(labels.sizes()), c10::str(logits.sizes().slice(0, logits.dim() - 1))));
  check_class_weights(inputs, num_labels);
  return F::cross_entropy(logits.reshape({-1, num_labels}), labels.reshape({-1}).to(torch::kLong), ce_options(inputs));
}

torch::Tensor question_answering_loss(const torch::Tensor& start_logits, const torch::Tensor& end_logits,
                                      const torch::Tensor& start_positions, const torch::Tensor& end_positions) {
  if (!start_positions.defined() || !end_positions.defined())
    throw DataError("question answering needs both start_positions and end_positions");
  const int64_t ignored = start_logits.size(1);
  auto prepare = [&](const torch::Tensor& pos, const char* name) {
    auto p = pos;
    if (p.dim() > 1) p = p.squeeze(-1);
    if (p.numel() != start_logits.size(0))
      throw DataError(fmt::format("{} has shape {}, expected ({})", name, c10::str(pos.sizes()), start_logits.size(0)));
    return p.to(torch::kLong).clamp(0, ignored);
  };
  auto o = F::CrossEntropyFuncOptions().ignore_index(ignored);
  auto start_loss = F::cross_entropy(start_logits, prepare(start_positions, "start_positions"), o);
  auto end_loss = F::cross_entropy(end_logits, prepare(end_positions, "end_positions"), o);
  return (start_loss + end_loss) / 2;
}

}  // namespace textune::models
