// Evaluation metrics, computed exactly as the tools people cite compute them:
// scikit-learn's sklearn/metrics/_classification.py (accuracy_score, precision_recall_fscore_support
// with zero_division=0, matthews_corrcoef, confusion_matrix, multilabel averaging) and
// scipy.stats (pearsonr, spearmanr with average ranks for ties), mean squared error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "textune/core/json.h"

namespace textune::eval {

/// Averaging of per-class scores (sklearn's `average=`).
enum class Average {
  kMacro,     ///< unweighted mean over the labels
  kMicro,     ///< from the summed true positives, false positives and false negatives
  kWeighted,  ///< mean weighted by support (number of true instances of each label)
};

/// Scores of one class.
struct ClassScores {
  double precision = 0;  ///< tp / (tp + fp); 0 when the class is never predicted (zero_division=0)
  double recall = 0;     ///< tp / (tp + fn); 0 when the class never occurs
  double f1 = 0;         ///< 2 tp / (2 tp + fp + fn); 0 when tp + fp + fn == 0
  int64_t support = 0;   ///< tp + fn: true instances of the class
};

/// Confusion matrix C (num_labels x num_labels): C[i][j] counts examples of true label i predicted
/// as j (rows true, columns predicted, in id order; sklearn's confusion_matrix with labels=0..n-1).
/// @throws std::invalid_argument when the sizes differ or a label is outside 0..num_labels-1.
std::vector<std::vector<int64_t>> confusion_matrix(const std::vector<int64_t>& y_true,
                                                   const std::vector<int64_t>& y_pred, size_t num_labels);

/// Fraction of exact matches (sklearn's accuracy_score). 0 for empty input.
double accuracy_score(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred);

/// Precision, recall and F1 of every class 0..C-1 of a confusion matrix (zero_division=0).
std::vector<ClassScores> per_class_scores(const std::vector<std::vector<int64_t>>& confusion);

/// Precision, recall and F1 averaged as sklearn's precision_recall_fscore_support(labels=None,
/// zero_division=0): averages run over the labels that occur in y_true or y_pred (sklearn's
/// unique_labels), so a class absent from both does not pull the macro average down; a class that
/// occurs but is never predicted counts with precision 0 and F1 0. Macro F1 is the mean of the
/// per-class F1 (not the F1 of the mean precision and recall). `support` is the number of examples.
ClassScores average_scores(const std::vector<std::vector<int64_t>>& confusion, Average average);

/// Matthews correlation coefficient, multiclass (sklearn's matthews_corrcoef, Gorodkin's R_K):
/// with t_k true counts, p_k predicted counts, c correct, s samples,
/// MCC = (c s - sum_k p_k t_k) / sqrt((s^2 - sum_k p_k^2)(s^2 - sum_k t_k^2)); 0 when the denominator is 0.
double matthews_corrcoef(const std::vector<std::vector<int64_t>>& confusion);

/// Every single-label classification metric `textune eval` reports.
struct ClassificationMetrics {
  size_t num_examples = 0;
  double accuracy = 0;
  /// The headline precision, recall and F1, as GLUE and sklearn's f1_score report them: with two
  /// labels the scores of the positive class (`average="binary"`, `pos_label`), with more labels
  /// the macro averages. MRPC's and QQP's "F1" is this one.
  double precision = 0, recall = 0, f1 = 0;
  /// The positive class id when there are two labels (binary averaging); -1 otherwise (macro).
  int64_t pos_label = -1;
  double precision_macro = 0, recall_macro = 0, f1_macro = 0;
  double precision_micro = 0, recall_micro = 0, f1_micro = 0;
  double precision_weighted = 0, recall_weighted = 0, f1_weighted = 0;
  double mcc = 0;
  std::vector<std::vector<int64_t>> confusion_matrix;  ///< rows true, columns predicted, in id order
  std::vector<ClassScores> per_class;                  ///< every id 0..num_labels-1

  /// {"accuracy", "f1", "precision", "recall", "pos_label" (the positive label's name; two labels
  /// only), "f1_average" ("binary" or "macro"), "precision_macro", "recall_macro", "f1_macro",
  /// "precision_micro", "recall_micro", "f1_micro", "precision_weighted", "recall_weighted",
  /// "f1_weighted", "mcc", "confusion_matrix", "per_class": {label: {"precision", "recall", "f1",
  /// "support"}}, "num_examples"}. `labels`: names in id order (size num_labels).
  core::Json to_json(const std::vector<std::string>& labels) const;
};

/// All classification metrics from ids in 0..num_labels-1. With num_labels == 2, `precision`,
/// `recall` and `f1` are those of class `pos_label` (sklearn's default pos_label=1; zero_division=0
/// when that class is never predicted or never occurs); with more labels they are the macro
/// averages and `pos_label` is ignored.
/// @throws std::invalid_argument as confusion_matrix, or for a pos_label outside 0..1 with two labels.
ClassificationMetrics classification_metrics(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                                             size_t num_labels, int64_t pos_label = 1);

/// Pearson's correlation coefficient (scipy.stats.pearsonr's statistic), computed in double with
/// the means subtracted first. NaN when either input is constant or has fewer than 2 values.
/// @throws std::invalid_argument when the sizes differ.
double pearson(const std::vector<double>& x, const std::vector<double>& y);

/// Ranks 1..n, ties given the average of the ranks they span (scipy.stats.rankdata "average").
std::vector<double> rank_average(const std::vector<double>& x);

/// Spearman's rank correlation (scipy.stats.spearmanr): Pearson's r of the average ranks.
/// NaN when either input is constant. @throws std::invalid_argument when the sizes differ.
double spearman(const std::vector<double>& x, const std::vector<double>& y);

/// Mean squared error (sklearn's mean_squared_error). 0 for empty input.
/// @throws std::invalid_argument when the sizes differ.
double mean_squared_error(const std::vector<double>& y_true, const std::vector<double>& y_pred);

/// Regression metrics `textune eval` reports.
struct RegressionMetrics {
  size_t num_examples = 0;
  double pearson = 0, spearman = 0, mse = 0;
  /// {"pearson", "spearman", "mse", "num_examples"}; NaN written as null.
  core::Json to_json() const;
};

RegressionMetrics regression_metrics(const std::vector<double>& y_true, const std::vector<double>& y_pred);

/// Multi-label metrics at a threshold (sklearn on label-indicator matrices: subset accuracy is
/// accuracy_score, F1 per label with zero_division=0, micro from the summed counts, macro the mean
/// over every label).
struct MultiLabelMetrics {
  size_t num_examples = 0;
  double threshold = 0.5;
  double subset_accuracy = 0;  ///< fraction of rows whose predicted label set equals the true set
  double f1_micro = 0, f1_macro = 0;
  double precision_micro = 0, recall_micro = 0;
  std::vector<ClassScores> per_label;

  /// {"subset_accuracy", "f1_micro", "f1_macro", "precision_micro", "recall_micro", "threshold",
  /// "per_label": {label: {...}}, "num_examples"}.
  core::Json to_json(const std::vector<std::string>& labels) const;
};

/// `y_true[i][k]` is 1 when row i has label k; label k is predicted when `probabilities[i][k] >=
/// threshold` (the sigmoid of the logit; the same rule as Prediction::labels).
/// @throws std::invalid_argument when the shapes differ.
MultiLabelMetrics multi_label_metrics(const std::vector<std::vector<int>>& y_true,
                                      const std::vector<std::vector<double>>& probabilities, double threshold = 0.5);

}  // namespace textune::eval
