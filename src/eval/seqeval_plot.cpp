// The plots of a seqeval result: per-type scores as grouped bars, the entity-type confusion matrix.
#include <cmath>

#include "textune/eval/plot.h"
#include "textune/eval/seqeval.h"

namespace textune::eval {

void plot_seqeval(const SeqevalResult& result, const std::string& bars_path, const std::string& confusion_path) {
  // bars: each type, then the micro average ("overall" in evaluate's JSON); precision, recall, F1
  std::vector<std::string> categories = result.types;
  categories.push_back("overall");
  std::vector<BarSeries> series = {{"precision", {}}, {"recall", {}}, {"f1", {}}};
  auto add = [&](const TypeScores& s) {
    series[0].values.push_back(s.precision);
    series[1].values.push_back(s.recall);
    series[2].values.push_back(s.f1);
  };
  for (const auto& s : result.per_type) add(s);
  add(result.micro);
  BarChartOptions bars;
  bars.title = "Entity precision, recall and F1 by type (seqeval)";
  bars.y_label = "score";
  bars.y_max = 1.0;
  plot_bar_chart(bars_path, categories, series, bars);

  std::vector<std::string> labels = result.types;
  labels.push_back("O");
  std::vector<std::vector<int64_t>> matrix = result.entity_confusion;
  if (matrix.size() != labels.size())  // a result not made by seqeval(): an empty matrix of the right size
    matrix.assign(labels.size(), std::vector<int64_t>(labels.size(), 0));
  ConfusionMatrixOptions cm;
  cm.title = "Entity types (rows gold, columns predicted; same span)";
  plot_confusion_matrix(confusion_path, matrix, labels, cm);
}

}  // namespace textune::eval
