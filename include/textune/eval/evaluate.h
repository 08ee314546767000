// Evaluating a sequence classifier on a labelled dataset, and the plots of a training run: what
// `textune eval` prints and what `textune train` leaves in its output directory.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "textune/core/json.h"
#include "textune/data/dataset.h"

namespace textune::eval {

/// The report `textune eval` prints, from the logits (N, C) of `dataset` in dataset order:
/// classification: ClassificationMetrics::to_json (accuracy, precision/recall/f1 macro, micro and
/// weighted, mcc, confusion_matrix with rows the true labels in id order, per_class, num_examples),
/// predictions = argmax; multi-label: MultiLabelMetrics::to_json at `threshold` on sigmoid(logits);
/// regression: pearson, spearman, mse on logits[:, 0].
/// @throws textune::DataError when the dataset has no labels or the logits do not fit it.
/// "f1", "precision" and "recall" are GLUE's and sklearn's f1_score defaults: the positive class's
/// scores for two labels, the macro averages for more (ClassificationMetrics). `pos_label` names the
/// positive class (a label name, or a label id when no name matches; default: id 1, sklearn's
/// pos_label=1); it is resolved with resolve_pos_label.
/// @throws textune::DataError when the dataset has no labels or the logits do not fit it;
///         textune::UsageError for an unknown pos_label.
core::Json evaluation_report(const torch::Tensor& logits, const data::Dataset& dataset, double threshold = 0.5,
                             const std::optional<std::string>& pos_label = std::nullopt);

/// The id of the positive class `pos_label` among `labels` (names in id order): the label with that
/// name, else a decimal id 0..n-1; nullopt gives id 1 (sklearn's pos_label=1).
/// @throws textune::UsageError naming --pos_label and the labels when it is neither.
int64_t resolve_pos_label(const std::vector<std::string>& labels, const std::optional<std::string>& pos_label);

/// The scalar entries of evaluation_report (what the Trainer logs as eval_*): "f1" is the report's
/// "f1" (positive class for two labels, macro for more) and, for multi-label, the micro F1, as
/// transformers' text-classification examples name it.
core::Json scalar_metrics(const core::Json& report);

/// Draws the training curves of a transformers-shaped log (trainer_state.json's log_history, or the
/// lines of training_log.jsonl): training loss against steps on the left axis and `metric` (an
/// eval_* key, e.g. "eval_accuracy"; skipped when absent) on the right, as PNG at `path`.
/// @throws textune::DataError when the file cannot be written or there is nothing to plot.
void plot_training_curves(const core::Json& log, const std::string& metric, const std::string& path);

}  // namespace textune::eval
