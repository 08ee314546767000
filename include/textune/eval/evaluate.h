// Evaluating a sequence classifier on a labelled dataset, and the plots of a training run: what
// `textune eval` prints and what `textune train` leaves in its output directory.
#pragma once

#include <string>

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
core::Json evaluation_report(const torch::Tensor& logits, const data::Dataset& dataset, double threshold = 0.5);

/// The scalar entries of evaluation_report (what the Trainer logs as eval_*), plus "f1" (macro F1;
/// micro F1 for multi-label) as transformers' text-classification examples name it.
core::Json scalar_metrics(const core::Json& report);

/// Draws the training curves of a transformers-shaped log (trainer_state.json's log_history, or the
/// lines of training_log.jsonl): training loss against steps on the left axis and `metric` (an
/// eval_* key, e.g. "eval_accuracy"; skipped when absent) on the right, as PNG at `path`.
/// @throws textune::DataError when the file cannot be written or there is nothing to plot.
void plot_training_curves(const core::Json& log, const std::string& metric, const std::string& path);

}  // namespace textune::eval
