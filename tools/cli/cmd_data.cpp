// `textune data --input FILE [data options]`: previews what textune will train on (one JSON object
// per example on standard output, then the counts and the label distribution on standard error), or
// with `--output FILE` converts a dataset file to another format (.xlsx, .csv, .tsv, .jsonl, .json).
#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "checks.h"
#include "command.h"
#include "data_options.h"
#include "task_options.h"
#include "textune/core/error.h"
#include "textune/core/logging.h"
#include "textune/data/dataset.h"
#include "textune/data/table.h"
#include "textune/tasks/registry.h"

namespace textune::cli {
namespace {

struct DataCommandOptions {
  std::string input;
  std::string output;
  std::string task = "text-classification";  ///< --task: reads the file as this task does
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
  const std::unique_ptr<tasks::Task> task = tasks::create_task(o.task);
  task->configure_data(o.data);
  const std::shared_ptr<tasks::Examples> examples = task->preview(o.input);  // unlabeled files too
  const size_t n = o.limit ? std::min(o.limit, examples->size()) : examples->size();
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += examples->example_json(i).dump(-1, ' ', false) + "\n";
    if (out.size() > (1 << 20)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  if (core::verbosity() == core::Verbosity::kQuiet) return kExitOk;
  for (const auto& line : examples->summary()) std::cerr << line << "\n";
  return kExitOk;
}

const CommandRegistrar kRegistrar(
    "data", "Preview a dataset as textune reads it (JSON lines), or convert it (--output X.xlsx|.csv|.tsv|.jsonl)",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<DataCommandOptions>();
      app.add_option("--input,-i", o->input, "Dataset file (.csv .tsv .txt .jsonl .json .xlsx)")->required();
      app.add_option("--output,-o", o->output,
                     "Convert instead: write every column of the input to this file (.xlsx .csv .tsv .jsonl .json)");
      app.add_option("--limit", o->limit, "Print at most this many examples (0: all)")->check(at_least(0));
      add_task_option(app, o->task);
      add_data_options(app, o->data);
      return [o] { return run_data(*o); };
    },
    40);

}  // namespace
}  // namespace textune::cli
