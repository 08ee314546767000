// `textune data --input FILE [data options]`: previews what textune will train on (one JSON object
// per example on standard output, then the counts and the label distribution on standard error), or
// with `--output FILE` converts a dataset file to another format (.xlsx, .csv, .tsv, .jsonl, .json).
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "checks.h"
#include "command.h"
#include "data_options.h"
#include "textune/core/error.h"
#include "textune/core/logging.h"
#include "textune/data/dataset.h"
#include "textune/data/table.h"

namespace textune::cli {
namespace {

struct DataCommandOptions {
  std::string input;
  std::string output;
  data::DataOptions data;
  size_t limit = 0;
};

int run_convert(const DataCommandOptions& o) {
  const data::Table table = data::read_table(o.input, o.data.read);
  data::write_table(o.output, table);
  if (core::verbosity() != core::Verbosity::kQuiet)
    std::cerr << fmt::format("wrote {} rows and {} columns of {} to {}\n", table.rows.size(), table.columns.size(),
                             o.input, o.output);
  if (!table.problems.empty())
    std::cerr << fmt::format("warning: {} rows of {} could not be read and were left out; the first: {}\n",
                             table.problems.size(), o.input, table.problems.front().to_string());
  return kExitOk;
}

int run_data(DataCommandOptions o) {
  check_input_file(o.input, "--input");  // exit 1 naming the path, as train and eval
  if (!o.output.empty()) return run_convert(o);
  o.data.require_labels = false;  // a preview shows unlabeled files too
  if (!o.data.label_column.empty() || o.data.task == data::Task::kRegression) o.data.require_labels = true;
  const data::Dataset ds = data::load_dataset(o.input, o.data);
  const size_t n = o.limit ? std::min(o.limit, ds.size()) : ds.size();
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += data::example_to_json(ds, ds.examples[i]).dump(-1, ' ', false) + "\n";
    if (out.size() > (1 << 20)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  if (core::verbosity() == core::Verbosity::kQuiet) return kExitOk;

  std::string columns = fmt::format("text column \"{}\"", ds.text_column);
  if (ds.text_pair_column) columns += fmt::format(", text pair column \"{}\"", *ds.text_pair_column);
  columns += ds.label_column ? fmt::format(", label column \"{}\"", *ds.label_column) : ", no labels";
  std::cerr << fmt::format("{} example{} from {} ({}; {} row{} read, {} invalid row{} skipped)\n", ds.size(),
                           ds.size() == 1 ? "" : "s", o.input, columns, ds.report.num_rows,
                           ds.report.num_rows == 1 ? "" : "s", ds.report.num_invalid_rows,
                           ds.report.num_invalid_rows == 1 ? "" : "s");
  if (ds.task == data::Task::kRegression && ds.has_labels()) {
    double lo = ds.examples.front().value, hi = lo, sum = 0;
    for (const auto& e : ds.examples) {
      lo = std::min(lo, e.value);
      hi = std::max(hi, e.value);
      sum += e.value;
    }
    std::cerr << fmt::format("label: min {:g}, mean {:.4g}, max {:g}\n", lo, sum / static_cast<double>(ds.size()), hi);
  } else if (ds.has_labels()) {
    const auto counts = ds.label_counts();
    std::cerr << fmt::format("labels ({}{}):\n", ds.label_map.size(),
                             ds.task == data::Task::kMultiLabel ? ", rows per label" : "");
    for (size_t k = 0; k < counts.size(); ++k)
      std::cerr << fmt::format("  {:>3}  {:<24} {:>8} {:>6.1f}%\n", k, ds.label_map.label(static_cast<int64_t>(k)),
                               counts[k], 100.0 * static_cast<double>(counts[k]) / static_cast<double>(ds.size()));
  }
  return kExitOk;
}

const CommandRegistrar kRegistrar(
    "data", "Preview a dataset as textune reads it (JSON lines), or convert it (--output X.xlsx|.csv|.tsv|.jsonl)",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<DataCommandOptions>();
      app.add_option("--input,-i", o->input, "Dataset file (.csv .tsv .txt .jsonl .json .xlsx)")
          ->required();
      app.add_option("--output,-o", o->output,
                     "Convert instead: write every column of the input to this file (.xlsx .csv .tsv .jsonl .json)");
      app.add_option("--limit", o->limit, "Print at most this many examples (0: all)")->check(at_least(0));
      add_data_options(app, o->data);
      return [o] { return run_data(*o); };
    },
    40);

}  // namespace
}  // namespace textune::cli
