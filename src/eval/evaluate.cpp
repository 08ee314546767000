// Evaluation reports and training plots. See include/textune/eval/evaluate.h.
#include "textune/eval/evaluate.h"

#include <cmath>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/eval/metrics.h"
#include "textune/eval/plot.h"

namespace textune::eval {

int64_t resolve_pos_label(const std::vector<std::string>& labels, const std::optional<std::string>& pos_label) {
  if (!pos_label) return 1;
  for (size_t k = 0; k < labels.size(); ++k)
    if (labels[k] == *pos_label) return static_cast<int64_t>(k);
  const std::string& s = *pos_label;
  if (!s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos) {
    const int64_t id = std::stoll(s);
    if (id < static_cast<int64_t>(labels.size())) return id;
  }
  std::string list;
  for (size_t k = 0; k < labels.size(); ++k) list += fmt::format("{}{} (id {})", k ? ", " : "", labels[k], k);
  throw UsageError(fmt::format("--pos_label {}: not a label of the model (labels: {})", s, list));
}

core::Json evaluation_report(const torch::Tensor& logits_in, const data::Dataset& dataset, double threshold,
                             const std::optional<std::string>& pos_label) {
  if (!dataset.has_labels()) throw DataError(dataset.source + ": no label column to evaluate against");
  const torch::Tensor logits = logits_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t n = static_cast<int64_t>(dataset.size());
  if (logits.dim() != 2 || logits.size(0) != n)
    throw DataError(fmt::format("{}: {} examples but the model gave {} rows of logits", dataset.source, n,
                                logits.dim() == 2 ? logits.size(0) : 0));
  switch (dataset.task) {
    case data::Task::kClassification: {
      const size_t c = dataset.label_map.size();
      if (logits.size(1) != static_cast<int64_t>(c))
        throw DataError(fmt::format("the model has {} outputs but the dataset {} labels", logits.size(1), c));
      torch::Tensor pred = logits.argmax(1).contiguous();
      std::vector<int64_t> y_true, y_pred(pred.data_ptr<int64_t>(), pred.data_ptr<int64_t>() + n);
      for (const auto& ex : dataset.examples) y_true.push_back(ex.label);
      const int64_t pos = c == 2 ? resolve_pos_label(dataset.label_map.labels(), pos_label) : 1;
      return classification_metrics(y_true, y_pred, c, pos).to_json(dataset.label_map.labels());
    }
    case data::Task::kMultiLabel: {
      const size_t c = dataset.label_map.size();
      if (logits.size(1) != static_cast<int64_t>(c))
        throw DataError(fmt::format("the model has {} outputs but the dataset {} labels", logits.size(1), c));
      torch::Tensor p = torch::sigmoid(logits).to(torch::kFloat64).contiguous();
      std::vector<std::vector<int>> y_true(n, std::vector<int>(c, 0));
      std::vector<std::vector<double>> probs(n, std::vector<double>(c));
      const double* pp = p.data_ptr<double>();
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t id : dataset.examples[i].label_ids) y_true[i][id] = 1;
        for (size_t k = 0; k < c; ++k) probs[i][k] = pp[i * c + k];
      }
      return multi_label_metrics(y_true, probs, threshold).to_json(dataset.label_map.labels());
    }
    case data::Task::kRegression: {
      std::vector<double> y_true, y_pred;
      for (int64_t i = 0; i < n; ++i) {
        y_true.push_back(dataset.examples[i].value);
        y_pred.push_back(logits[i][0].item<double>());
      }
      return regression_metrics(y_true, y_pred).to_json();
    }
  }
  return core::Json::object();
}

core::Json scalar_metrics(const core::Json& report) {
  core::Json out = core::Json::object();
  for (auto it = report.begin(); it != report.end(); ++it)
    if (it.value().is_number() && it.key() != "num_examples" && it.key() != "threshold") out[it.key()] = it.value();
  if (!out.contains("f1") && report.contains("f1_micro")) out["f1"] = report["f1_micro"];  // multi-label
  return out;
}

void plot_training_curves(const core::Json& log, const std::string& metric, const std::string& path) {
  Series loss{"training loss", {}, {}, 0, false};
  Series eval_loss{"eval_loss", {}, {}, 0, true};
  Series m{metric, {}, {}, 1, true};
  for (const auto& e : log) {
    if (!e.is_object() || !e.contains("step")) continue;
    const double step = e["step"].get<double>();
    if (e.contains("loss") && e["loss"].is_number()) {
      loss.x.push_back(step);
      loss.y.push_back(e["loss"].get<double>());
    }
    if (e.contains("eval_loss") && e["eval_loss"].is_number()) {
      eval_loss.x.push_back(step);
      eval_loss.y.push_back(e["eval_loss"].get<double>());
    }
    if (metric != "eval_loss" && e.contains(metric) && e[metric].is_number()) {
      m.x.push_back(step);
      m.y.push_back(e[metric].get<double>());
    }
  }
  std::vector<Series> series;
  if (!loss.x.empty()) series.push_back(loss);
  if (!eval_loss.x.empty()) series.push_back(eval_loss);
  if (!m.x.empty()) series.push_back(m);
  if (series.empty()) throw DataError("nothing to plot: the training log has no loss");
  LineChartOptions o;
  o.title = "Training";
  o.x_label = "step";
  o.y_label = "loss";
  o.y2_label = m.x.empty() ? "" : metric;
  plot_line_chart(path, series, o);
}

}  // namespace textune::eval
