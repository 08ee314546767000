// `textune train --model DIR --train FILE [--eval FILE] --output DIR --task ... [options]`:
// fine-tunes a sequence classifier (transformers' run_classification.py / run_glue.py, in C++).
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "checks.h"
#include "command.h"
#include "data_options.h"
#include "model_options.h"
#include "task_options.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/eval/evaluate.h"
#include "textune/tasks/registry.h"
#include "textune/train/evaluate.h"
#include "textune/train/trainer.h"
#include "train_options.h"

namespace textune::cli {
namespace {

struct TrainCliOptions {
  ModelOption model;
  std::string train_file, eval_file, config;
  std::optional<std::string> resume;
  std::string task = "text-classification";  ///< --task: a registered task or an alias (tasks::create_task)
  TaskOptions task_options;                  ///< every registered task's options (--pos_label, ...)
  data::DataOptions data;
  train::TrainingArguments args;
};

// SIGINT / SIGTERM during training: the handler only records the signal; the step in progress
// (and its evaluation) finishes, then the stop callback throws Interrupted before anything more is
// written. A second signal kills at once (SA_RESETHAND).
volatile std::sig_atomic_t g_signal = 0;
extern "C" void record_signal(int sig) {
  g_signal = sig;
}

struct Interrupted {
  int signal;
  int64_t step;
};

// Handlers installed for the lifetime of the object, the previous ones restored after.
class InterruptHandlers {
 public:
  InterruptHandlers() {
    struct sigaction sa {};
    sa.sa_handler = record_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptHandlers() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptHandlers(const InterruptHandlers&) = delete;
  InterruptHandlers& operator=(const InterruptHandlers&) = delete;

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

// --metric_for_best_model must be "loss" or one of the task's metrics (Task::metric_names), with or
// without the "eval_" prefix (transformers' Trainer accepts both).
void check_metric_name(const train::TrainingArguments& args, const tasks::Task& task) {
  std::vector<std::string> names = {"loss"};
  for (const auto& n : task.metric_names()) names.push_back(n);
  const std::string key = args.best_metric_key();
  for (const auto& n : names)
    if (key == "eval_" + n) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw UsageError("--metric_for_best_model " + args.metric_for_best_model + ": not a metric of " + task.name() +
                   " (one of: " + list + ")");
}

int run_train(const CLI::App& app, TrainCliOptions& o) {
  core::Json config;
  const core::Json* config_ptr = nullptr;
  if (!o.config.empty()) {
    config = core::read_json_file(o.config);
    if (!config.is_object()) throw UsageError(o.config + ": expected a JSON object of training options");
    // keys of the command itself; the rest are TrainingArguments
    for (const char* k : {"model", "model_name_or_path"})
      if (config.contains(k)) {
        if (app.count("--model") == 0) o.model.model = config[k].get<std::string>();
        config.erase(k);
      }
    for (const char* k : {"train", "train_file"})
      if (config.contains(k)) {
        if (o.train_file.empty()) o.train_file = config[k].get<std::string>();
        config.erase(k);
      }
    for (const char* k : {"eval", "validation_file"})
      if (config.contains(k)) {
        if (o.eval_file.empty()) o.eval_file = config[k].get<std::string>();
        config.erase(k);
      }
    if (config.contains("task")) {
      if (app.count("--task") == 0) o.task = config["task"].get<std::string>();
      config.erase("task");
    }
    config_ptr = &config;
  }
  if (o.model.model.empty()) throw UsageError("--model is required");
  if (o.train_file.empty()) throw UsageError("--train is required");
  // the task and its options: the --config file's, then the command line's
  std::shared_ptr<tasks::Task> task = tasks::create_task(o.task);
  core::Json task_options = o.task_options.take_from(config);
  const core::Json task_given = o.task_options.given();
  for (auto it = task_given.begin(); it != task_given.end(); ++it) task_options[it.key()] = it.value();
  train::apply_task_options(*task, task_options, o.config.empty() ? "the command line" : o.config);
  std::vector<std::string> given;  // set by the config file or the command line
  train::TrainingArguments args = merge_training_arguments(app, o.args, config_ptr, o.config, &given);
  if (args.output_dir.empty()) throw UsageError("--output is required");
  const bool eval_given = !o.eval_file.empty();
  args.finalize(eval_given, given);  // transformers' __post_init__ defaults, then validate()
  // Everything is checked before the model loads (which may mean a download): the options, the
  // device, the output directory, the data files and the metric for the best model.
  parse_device(args.device);
  if (args.max_length && *args.max_length < 1) throw UsageError("--max_length must be >= 1");

  std::optional<std::string> resume;
  if (o.resume) {
    resume = o.resume->empty() ? train::find_resume_checkpoint(args.output_dir) : o.resume;
    if (!resume) throw UsageError("--resume: no checkpoint-N directory in " + args.output_dir);
  } else {
    check_output_dir(args.output_dir, args.overwrite_output_dir, ", or --resume to continue");
  }
  if (!args.class_weights.empty() && args.class_weights != "auto")
    check_input_file(args.class_weights, "--class-weights");

  check_input_file(o.train_file, "--train");
  if (eval_given) check_input_file(o.eval_file, "--eval");
  task->configure_data(o.data);
  std::shared_ptr<tasks::Examples> train_set = task->read(o.train_file, true);
  std::shared_ptr<tasks::Examples> eval_set;
  if (eval_given) eval_set = task->read(o.eval_file, true);
  if (eval_given && !args.metric_for_best_model.empty()) check_metric_name(args, *task);
  const std::string model_dir = resolve_model_option(o.model);
  tasks::ModelSetup setup;
  // resumed: the checkpoint has the trained head (no "newly initialized" warning); its weights are
  // then loaded again with the optimizer state by Trainer::train
  setup.model_dir = resume ? *resume : model_dir;
  setup.seed = args.seed;
  setup.device = parse_device(args.device);
  models::PreTrainedModel model = task->prepare_model(setup, *train_set, eval_set.get());
  auto tokenizer = tokenizers::Tokenizer::from_dir(model_dir);

  train::Trainer trainer(model, tokenizer, model_dir, task, train_set, eval_set, args);
  // Records and plots beside the model, written into the final directory before it replaces the
  // output directory; those of an earlier run (resumed or overwritten) never survive beside it.
  std::string metric = args.best_metric_key();
  std::vector<std::string> plots;
  train::FinalRecords records;
  records.names = {"training_curves.png", "eval_results.json"};
  for (const auto& f : task->plot_names()) records.names.push_back(f);
  records.write = [&](const std::string& staging, const train::TrainOutput& out) {
    metric = args.plot_metric(eval_given, task->main_metric());
    core::Json log = core::Json::array();
    {
      std::ifstream in(staging + "/training_log.jsonl");
      std::string line;
      while (std::getline(in, line))
        if (!line.empty()) log.push_back(core::Json::parse(line));
    }
    eval::plot_training_curves(log, metric, staging + "/training_curves.png");
    plots.push_back("training_curves.png");
    if (eval_given) {
      const tasks::EvalReport& report = trainer.last_eval_report();
      for (const auto& path : task->write_plots(report, staging + "/"))
        plots.push_back(path.substr(staging.size() + 1));
      core::write_json_file(staging + "/eval_results.json", report.report);
    }
    // The evaluation's files (question answering: eval_predictions.json, eval_nbest_predictions.json,
    // eval_null_odds.json, as run_qa.py names them), with 4-space indentation. Those an earlier run's
    // evaluation left (eval_*.json carried over from the output directory) do not survive beside them.
    std::error_code ec;
    std::vector<std::filesystem::path> earlier;
    for (const auto& e : std::filesystem::directory_iterator(staging, ec)) {
      const std::string name = e.path().filename().string();
      if (name != "eval_results.json" && name.rfind("eval_", 0) == 0 && e.path().extension() == ".json" &&
          e.is_regular_file(ec))
        earlier.push_back(e.path());
    }
    for (const auto& p : earlier) std::filesystem::remove(p, ec);
    if (eval_given)
      for (const auto& [name, content] : trainer.last_eval_report().files)
        core::write_json_file(staging + "/eval_" + name, content, 4);
  };
  trainer.set_final_records(records);
  trainer.set_stop_callback([](int64_t step) -> bool {
    if (g_signal) throw Interrupted{static_cast<int>(g_signal), step};
    return false;
  });
  train::TrainOutput out;
  try {
    InterruptHandlers handlers;
    out = trainer.train(resume);
  } catch (const Interrupted& i) {
    const auto checkpoint = train::find_resume_checkpoint(args.output_dir);
    std::cerr << "\n"
              << fmt::format("training interrupted ({}) at step {}, before the final model was written to {}; ",
                             i.signal == SIGINT ? "SIGINT" : "SIGTERM", i.step, args.output_dir)
              << (checkpoint ? "`textune train ... --resume` continues from the last checkpoint, " + *checkpoint
                             : std::string("no checkpoint was saved yet, so --resume has nothing to continue from"))
              << "\n";
    return 128 + i.signal;
  }
  const std::string dir = args.output_dir;
  for (auto& p : plots) p = dir + "/" + p;

  core::Json summary = core::Json::object();
  summary["output_dir"] = dir;
  summary["global_step"] = out.global_step;
  summary["train_loss"] = out.training_loss;
  summary["stopped_early"] = out.stopped_early;
  summary["best_model_checkpoint"] =
      out.best_model_checkpoint ? core::Json(*out.best_model_checkpoint) : core::Json(nullptr);
  if (eval_given) summary["eval"] = out.final_metrics;
  summary["plots"] = plots;
  std::cout << summary.dump(2) << "\n";
  std::cerr << "model saved in " << dir << " (load it with `textune eval --model " << dir
            << "` or transformers' from_pretrained); plots: ";
  for (size_t i = 0; i < plots.size(); ++i) std::cerr << (i ? ", " : "") << plots[i];
  std::cerr << "\n";
  return 0;
}

const CommandRegistrar kRegistrar(
    "train", "Fine-tune a model for a task (--task: text classification of texts or pairs, ner, qa) on a data file",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<TrainCliOptions>();
      add_model_options(app, o->model, false, "Pretrained model (or `textune init` output)");
      app.add_option("--train,--train_file", o->train_file, "Training data file");
      app.add_option("--eval,--validation_file", o->eval_file, "Evaluation data file (labels as in training)");
      app.add_option("--config", o->config, "JSON file of training options (TrainingArguments keys)");
      app.add_option_function<std::string>(
             "--resume,--resume_from_checkpoint", [o](const std::string& v) { o->resume = v; },
             "Continue exactly from a checkpoint-N directory (no value: the newest in --output)")
          ->expected(0, 1);
      add_task_option(app, o->task);
      add_data_options(app, o->data);
      o->task_options.add_to(app);
      add_training_arguments(app, o->args);
      CLI::App* self = &app;
      return [o, self] { return run_train(*self, *o); };
    },
    20);

}  // namespace
}  // namespace textune::cli
