// `textune eval --model DIR --data FILE [--output FILE]`: the metrics of a fine-tuned model on a
// labelled file, printed as one JSON object, with the task's plots as PNG (text classification:
// scikit-learn's metrics and the confusion matrix), through train::evaluate_model.
#include <filesystem>
#include <iostream>

#include "checks.h"
#include "command.h"
#include "data_options.h"
#include "model_options.h"
#include "task_options.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/train/evaluate.h"

namespace textune::cli {
namespace {

struct EvalCliOptions {
  ModelOption model;
  std::string data_file, output, plot, output_dir;
  train::EvaluateOptions eval;  ///< batch size, max length, device, data options
  TaskOptions task_options;     ///< every registered task's options (the model's task takes those given)
};

/// The task's plots of `result` (Task::write_plots): at `plot` when given (a task with several plots:
/// PLOT_NAME.png beside it), else beside the `output` report (OUTPUT_NAME.png), else none.
void write_plots(const train::EvaluateResult& result, const std::string& plot, const std::string& output) {
  namespace fs = std::filesystem;
  if (plot.empty() && output.empty()) return;
  const std::string stem = fs::path(plot.empty() ? output : plot).replace_extension("").string() + "_";
  // Drawn under a temporary prefix, then named: a single plot becomes exactly --plot.
  const std::string prefix = plot.empty() ? stem : plot + ".part-";
  const std::vector<std::string> paths = result.task->write_plots(result.report, prefix);
  for (const auto& path : paths) {
    std::string name = path.substr(prefix.size());
    std::string dest = path;
    if (!plot.empty()) {
      dest = paths.size() == 1 ? plot : stem + name;
      std::error_code ec;
      fs::rename(path, dest, ec);
      if (ec) throw DataError(dest + ": cannot write the plot: " + ec.message());
    }
    // "confusion_matrix.png" -> "confusion matrix: PATH"
    name = fs::path(name).replace_extension("").string();
    for (char& c : name)
      if (c == '_') c = ' ';
    std::cerr << name << ": " << dest << "\n";
  }
}

/// The files of the evaluation (EvalReport::files: question answering's predictions.json ...), written
/// with 4-space indentation (run_qa.py's json.dumps(indent=4)): beside the --output report as
/// OUTPUT_NAME (report.json -> report_predictions.json), and into --output_dir as NAME.
void write_report_files(const tasks::EvalReport& report, const std::string& output, const std::string& output_dir) {
  namespace fs = std::filesystem;
  for (const auto& [name, content] : report.files) {
    std::vector<std::string> paths;
    if (!output.empty()) paths.push_back(fs::path(output).replace_extension("").string() + "_" + name);
    if (!output_dir.empty()) paths.push_back((fs::path(output_dir) / name).string());
    for (const auto& path : paths) {
      core::write_json_file(path, content, 4);
      std::cerr << fs::path(name).replace_extension("").string() << ": " << path << "\n";
    }
  }
}

int run_eval(EvalCliOptions& o) {
  // every option and path is checked before the model loads
  parse_device(o.eval.device);
  if (!o.output.empty()) check_output_file(o.output, "--output");
  if (!o.plot.empty()) check_output_file(o.plot, "--plot");
  if (!o.output_dir.empty() && !std::filesystem::is_directory(o.output_dir))
    throw UsageError("--output_dir " + o.output_dir + ": no such directory");
  check_input_file(o.data_file, "--data");
  const std::string dir = resolve_model_option(o.model);
  // the training run's options (saved with the model) are the defaults; options given here win
  o.eval.data.require_labels = true;
  o.eval.task_options = o.task_options.given();
  const train::EvaluateResult result = train::evaluate_model(dir, o.data_file, o.eval);
  const core::Json& report = result.report.report;
  // a task's text report (token classification: seqeval's classification_report) goes to standard error
  if (report.contains("report_text") && report["report_text"].is_string())
    std::cerr << report["report_text"].get<std::string>() << "\n";
  std::cout << report.dump(2) << "\n";
  if (!o.output.empty()) core::write_json_file(o.output, report);
  write_report_files(result.report, o.output, o.output_dir);
  // The plots go where they were asked for (--plot), or beside the --output report; never unasked
  // into the current directory.
  write_plots(result, o.plot, o.output);
  return 0;
}

const CommandRegistrar kRegistrar(
    "eval",
    "Evaluate a fine-tuned model on a labelled file (classifiers: accuracy, F1, MCC, confusion matrix; ner: seqeval; "
    "qa: SQuAD or CMRC 2018 exact match and F1)",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<EvalCliOptions>();
      add_model_options(app, o->model, true, "Fine-tuned model");
      app.add_option("--data,--validation_file,--test_file", o->data_file, "Labelled data file")->required();
      app.add_option("--output", o->output, "Also write the JSON report to this file (its directory must exist)");
      app.add_option("--output_dir,--output-dir", o->output_dir,
                     "Also write the evaluation's files (question answering: predictions.json, "
                     "nbest_predictions.json, null_odds.json) into this existing directory (with --output they "
                     "are also written beside it as OUTPUT_predictions.json ...)");
      app.add_option("--plot", o->plot,
                     "Confusion matrix PNG (default with --output: OUTPUT_confusion_matrix.png beside it; "
                     "without --output or --plot: no plot)");
      app.add_option("--per_device_eval_batch_size,--batch-size,--batch_size", o->eval.batch_size)
          ->capture_default_str()
          ->check(at_least(1));
      app.add_option_function<size_t>(
             "--max_length,--max-length", [o](const size_t& v) { o->eval.max_length = v; },
             "Truncate inputs to N tokens (default: the model's maximum)")
          ->check(at_least(1));
      app.add_option("--device", o->eval.device, device_help())->capture_default_str();
      DataOptionGroups groups;
      add_data_options(app, o->eval.data, groups);
      o->task_options.add_to(app);
      return [o] { return run_eval(*o); };
    },
    30);

}  // namespace
}  // namespace textune::cli
