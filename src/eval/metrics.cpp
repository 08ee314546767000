// Metrics as scikit-learn and scipy compute them; see metrics.h for the definitions.
#include "textune/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include <fmt/format.h>

namespace textune::eval {

namespace {

/// a / b, or 0 when b == 0 (sklearn's zero_division=0).
double safe_div(double a, double b) {
  return b == 0 ? 0.0 : a / b;
}

void check_sizes(size_t a, size_t b) {
  if (a != b) throw std::invalid_argument(fmt::format("metrics: {} true values but {} predictions", a, b));
}

/// A JSON number, or null for NaN/infinity (JSON cannot hold them).
core::Json number(double v) {
  return std::isfinite(v) ? core::Json(v) : core::Json();
}

core::Json scores_json(const ClassScores& s) {
  core::Json j = core::Json::object();
  j["precision"] = s.precision;
  j["recall"] = s.recall;
  j["f1"] = s.f1;
  j["support"] = s.support;
  return j;
}

ClassScores scores_from_counts(int64_t tp, int64_t fp, int64_t fn) {
  ClassScores s;
  s.precision = safe_div(tp, tp + fp);
  s.recall = safe_div(tp, tp + fn);
  s.f1 = safe_div(2.0 * tp, 2.0 * tp + fp + fn);
  s.support = tp + fn;
  return s;
}

}  // namespace

std::vector<std::vector<int64_t>> confusion_matrix(const std::vector<int64_t>& y_true,
                                                   const std::vector<int64_t>& y_pred, size_t num_labels) {
  check_sizes(y_true.size(), y_pred.size());
  std::vector<std::vector<int64_t>> c(num_labels, std::vector<int64_t>(num_labels, 0));
  for (size_t i = 0; i < y_true.size(); ++i) {
    const int64_t t = y_true[i], p = y_pred[i];
    if (t < 0 || p < 0 || static_cast<size_t>(t) >= num_labels || static_cast<size_t>(p) >= num_labels)
      throw std::invalid_argument(fmt::format("metrics: label id {} at position {} is outside 0..{}",
                                              (t < 0 || static_cast<size_t>(t) >= num_labels) ? t : p, i,
                                              num_labels == 0 ? 0 : num_labels - 1));
    ++c[static_cast<size_t>(t)][static_cast<size_t>(p)];
  }
  return c;
}

double accuracy_score(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred) {
  check_sizes(y_true.size(), y_pred.size());
  if (y_true.empty()) return 0.0;
  size_t correct = 0;
  for (size_t i = 0; i < y_true.size(); ++i) correct += y_true[i] == y_pred[i];
  return static_cast<double>(correct) / static_cast<double>(y_true.size());
}

std::vector<ClassScores> per_class_scores(const std::vector<std::vector<int64_t>>& c) {
  const size_t n = c.size();
  std::vector<ClassScores> out(n);
  for (size_t k = 0; k < n; ++k) {
    int64_t tp = c[k][k], fp = 0, fn = 0;
    for (size_t j = 0; j < n; ++j) {
      if (j == k) continue;
      fp += c[j][k];  // predicted k, truly j
      fn += c[k][j];  // truly k, predicted j
    }
    out[k] = scores_from_counts(tp, fp, fn);
  }
  return out;
}

ClassScores average_scores(const std::vector<std::vector<int64_t>>& c, Average average) {
  const size_t n = c.size();
  // sklearn's labels=None: the labels present in y_true or y_pred
  std::vector<bool> present(n, false);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j)
      if (c[i][j] > 0) present[i] = present[j] = true;
  const std::vector<ClassScores> per = per_class_scores(c);
  ClassScores out;
  int64_t total = 0;
  for (size_t k = 0; k < n; ++k)
    if (present[k]) total += per[k].support;
  out.support = total;
  if (average == Average::kMicro) {
    int64_t tp = 0, fp = 0, fn = 0;
    for (size_t k = 0; k < n; ++k) {
      if (!present[k]) continue;
      tp += c[k][k];
      for (size_t j = 0; j < n; ++j)
        if (j != k) {
          fp += c[j][k];
          fn += c[k][j];
        }
    }
    ClassScores s = scores_from_counts(tp, fp, fn);
    s.support = total;
    return s;
  }
  double weight_sum = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!present[k]) continue;
    const double w = average == Average::kMacro ? 1.0 : static_cast<double>(per[k].support);
    out.precision += w * per[k].precision;
    out.recall += w * per[k].recall;
    out.f1 += w * per[k].f1;
    weight_sum += w;
  }
  // sklearn: a weighted average with zero total support is 0 (zero_division=0)
  out.precision = safe_div(out.precision, weight_sum);
  out.recall = safe_div(out.recall, weight_sum);
  out.f1 = safe_div(out.f1, weight_sum);
  return out;
}

double matthews_corrcoef(const std::vector<std::vector<int64_t>>& c) {
  const size_t n = c.size();
  double samples = 0, correct = 0, sum_pt = 0, sum_pp = 0, sum_tt = 0;
  std::vector<double> t(n, 0), p(n, 0);
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      t[i] += static_cast<double>(c[i][j]);
      p[j] += static_cast<double>(c[i][j]);
      samples += static_cast<double>(c[i][j]);
    }
  for (size_t k = 0; k < n; ++k) {
    correct += static_cast<double>(c[k][k]);
    sum_pt += p[k] * t[k];
    sum_pp += p[k] * p[k];
    sum_tt += t[k] * t[k];
  }
  const double cov_ytyp = correct * samples - sum_pt;
  const double cov_ypyp = samples * samples - sum_pp;
  const double cov_ytyt = samples * samples - sum_tt;
  if (cov_ypyp * cov_ytyt == 0) return 0.0;
  return cov_ytyp / std::sqrt(cov_ytyt * cov_ypyp);
}

ClassificationMetrics classification_metrics(const std::vector<int64_t>& y_true, const std::vector<int64_t>& y_pred,
                                             size_t num_labels, int64_t pos_label) {
  if (num_labels == 2 && (pos_label < 0 || pos_label > 1))
    throw std::invalid_argument(
        fmt::format("metrics: pos_label {} is not a label id of a binary task (0 or 1)", pos_label));
  ClassificationMetrics m;
  m.confusion_matrix = confusion_matrix(y_true, y_pred, num_labels);
  m.num_examples = y_true.size();
  m.accuracy = accuracy_score(y_true, y_pred);
  const ClassScores macro = average_scores(m.confusion_matrix, Average::kMacro);
  const ClassScores micro = average_scores(m.confusion_matrix, Average::kMicro);
  const ClassScores weighted = average_scores(m.confusion_matrix, Average::kWeighted);
  m.precision_macro = macro.precision;
  m.recall_macro = macro.recall;
  m.f1_macro = macro.f1;
  m.precision_micro = micro.precision;
  m.recall_micro = micro.recall;
  m.f1_micro = micro.f1;
  m.precision_weighted = weighted.precision;
  m.recall_weighted = weighted.recall;
  m.f1_weighted = weighted.f1;
  m.mcc = matthews_corrcoef(m.confusion_matrix);
  m.per_class = per_class_scores(m.confusion_matrix);
  if (num_labels == 2) {  // sklearn's average="binary": the positive class alone
    m.pos_label = pos_label;
    const ClassScores& pos = m.per_class[static_cast<size_t>(pos_label)];
    m.precision = pos.precision;
    m.recall = pos.recall;
    m.f1 = pos.f1;
  } else {
    m.precision = m.precision_macro;
    m.recall = m.recall_macro;
    m.f1 = m.f1_macro;
  }
  return m;
}

core::Json ClassificationMetrics::to_json(const std::vector<std::string>& labels) const {
  if (labels.size() != per_class.size())
    throw std::invalid_argument(fmt::format("metrics: {} label names for {} classes", labels.size(), per_class.size()));
  core::Json j = core::Json::object();
  j["accuracy"] = accuracy;
  j["f1"] = f1;
  j["precision"] = precision;
  j["recall"] = recall;
  if (pos_label >= 0) j["pos_label"] = labels[static_cast<size_t>(pos_label)];
  j["f1_average"] = pos_label >= 0 ? "binary" : "macro";
  j["precision_macro"] = precision_macro;
  j["recall_macro"] = recall_macro;
  j["f1_macro"] = f1_macro;
  j["precision_micro"] = precision_micro;
  j["recall_micro"] = recall_micro;
  j["f1_micro"] = f1_micro;
  j["precision_weighted"] = precision_weighted;
  j["recall_weighted"] = recall_weighted;
  j["f1_weighted"] = f1_weighted;
  j["mcc"] = mcc;
  j["confusion_matrix"] = confusion_matrix;
  core::Json pc = core::Json::object();
  for (size_t k = 0; k < labels.size(); ++k) pc[labels[k]] = scores_json(per_class[k]);
  j["per_class"] = std::move(pc);
  j["num_examples"] = num_examples;
  return j;
}

// ---------------------------------------------------------------------------------------------
// regression

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x.size(), y.size());
  const size_t n = x.size();
  if (n < 2) return std::numeric_limits<double>::quiet_NaN();
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(n);
  const double my = std::accumulate(y.begin(), y.end(), 0.0) / static_cast<double>(n);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0 || syy == 0) return std::numeric_limits<double>::quiet_NaN();  // scipy: constant input
  const double r = sxy / (std::sqrt(sxx) * std::sqrt(syy));
  return std::clamp(r, -1.0, 1.0);  // scipy clips rounding excursions too
}

std::vector<double> rank_average(const std::vector<double>& x) {
  const size_t n = x.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return x[a] < x[b]; });
  std::vector<double> ranks(n);
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j + 1 < n && x[order[j + 1]] == x[order[i]]) ++j;
    // positions i..j (0-based) hold ranks i+1..j+1; each gets their mean
    const double r = (static_cast<double>(i + 1) + static_cast<double>(j + 1)) / 2.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = r;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x.size(), y.size());
  return pearson(rank_average(x), rank_average(y));
}

double mean_squared_error(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
  check_sizes(y_true.size(), y_pred.size());
  if (y_true.empty()) return 0.0;
  double s = 0;
  for (size_t i = 0; i < y_true.size(); ++i) s += (y_true[i] - y_pred[i]) * (y_true[i] - y_pred[i]);
  return s / static_cast<double>(y_true.size());
}

RegressionMetrics regression_metrics(const std::vector<double>& y_true, const std::vector<double>& y_pred) {
  RegressionMetrics m;
  m.num_examples = y_true.size();
  m.pearson = pearson(y_true, y_pred);
  m.spearman = spearman(y_true, y_pred);
  m.mse = mean_squared_error(y_true, y_pred);
  return m;
}

core::Json RegressionMetrics::to_json() const {
  core::Json j = core::Json::object();
  j["pearson"] = number(pearson);
  j["spearman"] = number(spearman);
  j["mse"] = number(mse);
  j["num_examples"] = num_examples;
  return j;
}

// ---------------------------------------------------------------------------------------------
// multi-label

MultiLabelMetrics multi_label_metrics(const std::vector<std::vector<int>>& y_true,
                                      const std::vector<std::vector<double>>& probabilities, double threshold) {
  check_sizes(y_true.size(), probabilities.size());
  MultiLabelMetrics m;
  m.num_examples = y_true.size();
  m.threshold = threshold;
  const size_t L = y_true.empty() ? 0 : y_true[0].size();
  std::vector<int64_t> tp(L, 0), fp(L, 0), fn(L, 0);
  size_t exact = 0;
  for (size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i].size() != L || probabilities[i].size() != L)
      throw std::invalid_argument(fmt::format("metrics: row {} has {} true labels and {} probabilities, expected {}", i,
                                              y_true[i].size(), probabilities[i].size(), L));
    bool same = true;
    for (size_t k = 0; k < L; ++k) {
      const bool t = y_true[i][k] != 0, p = probabilities[i][k] >= threshold;
      tp[k] += t && p;
      fp[k] += !t && p;
      fn[k] += t && !p;
      same = same && t == p;
    }
    exact += same;
  }
  m.subset_accuracy = y_true.empty() ? 0.0 : static_cast<double>(exact) / static_cast<double>(y_true.size());
  int64_t TP = 0, FP = 0, FN = 0;
  m.per_label.resize(L);
  double f1_sum = 0;
  for (size_t k = 0; k < L; ++k) {
    m.per_label[k] = scores_from_counts(tp[k], fp[k], fn[k]);
    f1_sum += m.per_label[k].f1;
    TP += tp[k];
    FP += fp[k];
    FN += fn[k];
  }
  // sklearn on indicator matrices averages over every label column (labels = range(L))
  m.f1_macro = L == 0 ? 0.0 : f1_sum / static_cast<double>(L);
  const ClassScores micro = scores_from_counts(TP, FP, FN);
  m.f1_micro = micro.f1;
  m.precision_micro = micro.precision;
  m.recall_micro = micro.recall;
  return m;
}

core::Json MultiLabelMetrics::to_json(const std::vector<std::string>& labels) const {
  if (labels.size() != per_label.size())
    throw std::invalid_argument(fmt::format("metrics: {} label names for {} labels", labels.size(), per_label.size()));
  core::Json j = core::Json::object();
  j["subset_accuracy"] = subset_accuracy;
  j["f1_micro"] = f1_micro;
  j["f1_macro"] = f1_macro;
  j["precision_micro"] = precision_micro;
  j["recall_micro"] = recall_micro;
  j["threshold"] = threshold;
  core::Json pl = core::Json::object();
  for (size_t k = 0; k < labels.size(); ++k) pl[labels[k]] = scores_json(per_label[k]);
  j["per_label"] = std::move(pl);
  j["num_examples"] = num_examples;
  return j;
}

}  // namespace textune::eval
