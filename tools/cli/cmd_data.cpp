// `textune data --input FILE [data options]`: previews what textune will train on (one JSON object
// per example on standard output, then the counts and the label distribution on standard error), or
// with `--output FILE` converts a dataset file to another format (.xlsx, .csv, .tsv, .jsonl, .json).
// NER files (--task ner, a .conll/.bio/.iob input or a .conll output) are read
// as training reads them (data::read_ner through the token-classification task, its --tag-scheme,
// --tag-column, ... options) and converted to CoNLL (data::write_conll) or `datasets` JSON/JSONL.
#include <algorithm>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "checks.h"
#include "command.h"
#include "data_options.h"
#include "task_options.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/logging.h"
#include "textune/data/dataset.h"
#include "textune/data/ner.h"
#include "textune/data/table.h"
#include "textune/tasks/registry.h"
#include "textune/tasks/token_classification.h"
#include "textune/train/evaluate.h"

namespace textune::cli {
namespace {

struct DataCommandOptions {
  std::string input;
  std::string output;
  std::string task;  ///< --task: reads the file as this task does (default: see resolve_task)
  data::DataOptions data;
  TaskOptions task_options;  ///< every registered task's options (--tag-scheme, --threshold, ...)
  size_t limit = 0;
};

std::string lower_extension(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

/// The task to read the file as: --task when given; else token classification for a .conll/.bio/.iob
/// input or a .conll output; else text classification (which refuses --format conll/msra, saying
/// --task token-classification).
std::string resolve_task(const DataCommandOptions& o) {
  if (!o.task.empty()) return o.task;
  const std::string in = lower_extension(o.input), out = lower_extension(o.output);
  const bool ner = in == ".conll" || in == ".bio" || in == ".iob" || out == ".conll";
  return ner ? "token-classification" : "text-classification";
}

/// Writes NER sentences as `path`'s extension says: .conll (token TAB tag), .jsonl or .json (the
/// records of Hugging Face `datasets`: {"tokens": [...], "ner_tags": [...]}, tags as strings).
void write_ner(const std::string& path, const std::vector<data::TaggedSentence>& sentences) {
  const std::string ext = lower_extension(path);
  if (ext == ".conll" || ext == ".bio" || ext == ".iob" || ext == ".txt") return data::write_conll(path, sentences);
  if (ext != ".jsonl" && ext != ".json")
    throw UsageError(fmt::format("--output {}: NER sentences are written as .conll, .jsonl or .json", path));
  std::string out;
  core::Json all = core::Json::array();
  for (const auto& s : sentences) {
    core::Json j = core::Json::object();
    j["tokens"] = s.tokens;
    j["ner_tags"] = s.tags;
    if (ext == ".jsonl")
      out += j.dump(-1, ' ', false) + "\n";
    else
      all.push_back(std::move(j));
  }
  if (ext == ".json") out = all.dump(-1, ' ', false) + "\n";
  core::write_file_atomic(path, out);
}

int run_convert_ner(const DataCommandOptions& o, tasks::Task& task) {
  check_output_file(o.output, "--output");  // its directory must exist, as eval's and predict's --output
  const std::shared_ptr<tasks::Examples> examples = task.read(o.input, true);  // validated, as training reads it
  const auto* ner = dynamic_cast<const tasks::TokenClassificationExamples*>(examples.get());
  if (!ner) throw UsageError("--output: this task's examples cannot be converted");
  const data::NerDataset& ds = ner->dataset();
  write_ner(o.output, ds.sentences);
  if (core::verbosity() != core::Verbosity::kQuiet)
    std::cerr << fmt::format("wrote {} sentences of {} to {}{}\n", ds.sentences.size(), o.input, o.output,
                             ds.report.num_invalid_rows
                                 ? fmt::format(" ({} invalid sentences left out)", ds.report.num_invalid_rows)
                                 : std::string());
  return kExitOk;
}

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

int run_data(const DataCommandOptions& o) {
  check_input_file(o.input, "--input");  // exit 1 naming the path, as train and eval
  const std::unique_ptr<tasks::Task> task = tasks::create_task(resolve_task(o));
  train::apply_task_options(*task, o.task_options.given(), "the command line");
  const bool ner = task->name() == "token-classification";
  if (!o.output.empty() && !ner) return run_convert(o);
  task->configure_data(o.data);
  if (!o.output.empty()) return run_convert_ner(o, *task);
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
      add_task_option(app, o->task)
          ->description(
              "Read the file as this task does (default: token-classification for a .conll/.bio/.iob input or "
              "a .conll output; else text-classification)");
      add_data_options(app, o->data);
      o->task_options.add_to(app);
      return [o] { return run_data(*o); };
    },
    40);

}  // namespace
}  // namespace textune::cli
