// `textune data` for text classification: the preview read (labels when the file has them) and the
// summary after the examples (columns, counts, label distribution), moved from tools/cli/cmd_data.cpp.
#include <algorithm>

#include <fmt/format.h>

#include "textune/tasks/text_classification.h"

namespace textune::tasks {

std::vector<std::string> ClassificationExamples::summary() const {
  const data::Dataset& ds = dataset_;
  std::vector<std::string> lines;
  std::string columns = fmt::format("text column \"{}\"", ds.text_column);
  if (ds.text_pair_column) columns += fmt::format(", text pair column \"{}\"", *ds.text_pair_column);
  columns += ds.label_column ? fmt::format(", label column \"{}\"", *ds.label_column) : ", no labels";
  lines.push_back(fmt::format("{} example{} from {} ({}; {} row{} read, {} invalid row{} skipped)", ds.size(),
                              ds.size() == 1 ? "" : "s", ds.source, columns, ds.report.num_rows,
                              ds.report.num_rows == 1 ? "" : "s", ds.report.num_invalid_rows,
                              ds.report.num_invalid_rows == 1 ? "" : "s"));
  if (!ds.has_labels() || ds.examples.empty()) return lines;
  if (ds.task == core::ProblemType::kRegression) {
    double lo = ds.examples.front().value, hi = lo, sum = 0;
    for (const auto& e : ds.examples) {
      lo = std::min(lo, e.value);
      hi = std::max(hi, e.value);
      sum += e.value;
    }
    lines.push_back(
        fmt::format("label: min {:g}, mean {:.4g}, max {:g}", lo, sum / static_cast<double>(ds.size()), hi));
    return lines;
  }
  const auto counts = ds.label_counts();
  lines.push_back(fmt::format("labels ({}{}):", ds.label_map.size(),
                              ds.task == core::ProblemType::kMultiLabel ? ", rows per label" : ""));
  for (size_t k = 0; k < counts.size(); ++k)
    lines.push_back(fmt::format("  {:>3}  {:<24} {:>8} {:>6.1f}%", k, ds.label_map.label(static_cast<int64_t>(k)),
                                counts[k], 100.0 * static_cast<double>(counts[k]) / static_cast<double>(ds.size())));
  return lines;
}

std::shared_ptr<Examples> TextClassificationTask::preview(const std::string& path) const {
  data::DataOptions o = data_;
  o.task = problem_type_;
  o.require_labels = !o.label_column.empty() || problem_type_ == core::ProblemType::kRegression;
  data::Dataset ds = data::load_dataset(path, o);
  return std::make_shared<ClassificationExamples>(std::move(ds), true);
}

}  // namespace textune::tasks
