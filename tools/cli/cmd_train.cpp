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
#include "saved_data.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/eval/evaluate.h"
#include "textune/eval/plot.h"
#include "textune/train/trainer.h"
#include "train_options.h"

namespace textune::cli {
namespace {

struct TrainCliOptions {
  ModelOption model;
  std::string train_file, eval_file, config;
  std::optional<std::string> resume;
  std::optional<std::string> pos_label;  ///< --pos_label: the positive class of a binary eval_f1
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

// The metric names an evaluation of `train_set`'s task gives (eval::scalar_metrics of a report on
// a few examples with zero logits) plus "loss": --metric_for_best_model must be one of them, with
// or without the "eval_" prefix (transformers' Trainer accepts both).
void check_metric_name(const train::TrainingArguments& args, const data::Dataset& train_set) {
  data::Dataset probe = train_set;
  probe.examples.resize(std::min<size_t>(probe.examples.size(), 4));
  const int64_t outputs = static_cast<int64_t>(probe.num_labels());
  const core::Json metrics =
      eval::scalar_metrics(eval::evaluation_report(torch::zeros({static_cast<int64_t>(probe.size()), outputs}), probe));
  std::vector<std::string> names = {"loss"};
  for (auto it = metrics.begin(); it != metrics.end(); ++it) names.push_back(it.key());
  const std::string key = args.best_metric_key();
  for (const auto& n : names)
    if (key == "eval_" + n) return;
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  throw UsageError("--metric_for_best_model " + args.metric_for_best_model + ": not a metric of " +
                   data::problem_type(train_set.task) + " (one of: " + list + ")");
}

// --max_length must fit the model's position embeddings, read from config.json before loading the
// weights (RoBERTa's positions start after padding_idx: max_position_embeddings - 2 tokens).
void check_max_length(const train::TrainingArguments& args, const std::string& model_dir) {
  if (!args.max_length) return;
  const core::Json cfg = core::read_model_config(model_dir);
  const std::string type = cfg.value("model_type", "");
  if (type == "modernbert" || !cfg.contains("max_position_embeddings") || !cfg["max_position_embeddings"].is_number())
    return;
  int64_t max = cfg["max_position_embeddings"].get<int64_t>();
  if (type == "roberta" || type == "xlm-roberta") max -= 2;
  if (static_cast<int64_t>(*args.max_length) > max)
    throw UsageError(fmt::format("--max_length {} is longer than the model allows ({})", *args.max_length, max));
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
      if (app.count("--task") == 0) o.data.task = data::parse_task(config["task"].get<std::string>());
      config.erase("task");
    }
    config_ptr = &config;
  }
  if (o.model.model.empty()) throw UsageError("--model is required");
  if (o.train_file.empty()) throw UsageError("--train is required");
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

  data::DataOptions dopt = o.data;
  dopt.require_labels = true;
  check_input_file(o.train_file, "--train");
  if (eval_given) check_input_file(o.eval_file, "--eval");
  data::Dataset train_set = data::load_dataset(o.train_file, dopt);
  std::optional<data::Dataset> eval_set;
  if (eval_given)
    eval_set = data::load_dataset(o.eval_file, dopt,
                                  train_set.task == data::Task::kRegression ? nullptr : &train_set.label_map);
  if (eval_given && !args.metric_for_best_model.empty()) check_metric_name(args, train_set);
  if (o.pos_label && train_set.task == data::Task::kClassification && train_set.label_map.size() == 2)
    eval::resolve_pos_label(train_set.label_map.labels(), o.pos_label);  // a usage error before the model loads
  const std::string model_dir = resolve_model_option(o.model);
  check_max_length(args, model_dir);
  models::PreTrainedModel model =
      // resumed: the checkpoint has the trained head (no "newly initialized" warning); its weights are
      // then loaded again with the optimizer state by Trainer::train
      train::load_for_training(resume ? *resume : model_dir, train_set, eval_set ? &*eval_set : nullptr, args.seed,
                               args.device);
  auto tokenizer = tokenizers::Tokenizer::from_dir(model_dir);

  core::Json saved_data = saved_data_json(o.data, train_set);  // textune_data.json, for eval and predict
  if (o.pos_label) saved_data["pos_label"] = *o.pos_label;
  train::Trainer trainer(model, tokenizer, model_dir, std::move(train_set), std::move(eval_set), args);
  auto last_report = std::make_shared<core::Json>();
  trainer.set_compute_metrics(
      [last_report, pos_label = o.pos_label](const torch::Tensor& logits, const data::Dataset& ds) {
        *last_report = eval::evaluation_report(logits, ds, 0.5, pos_label);
        return eval::scalar_metrics(*last_report);
      });
  // Records and plots beside the model, written into the final directory before it replaces the
  // output directory; those of an earlier run (resumed or overwritten) never survive beside it.
  std::string metric = args.best_metric_key();
  std::vector<std::string> plots;
  train::FinalRecords records;
  records.names = {"training_curves.png", "confusion_matrix.png", "eval_results.json"};
  for (const auto& f : saved_data_files()) records.names.push_back(f);
  records.write = [&](const std::string& staging, const train::TrainOutput& out) {
    write_saved_data(staging, saved_data, o.data);
    metric = args.plot_metric(eval_given, out.final_metrics.contains("eval_accuracy")  ? "accuracy"
                                          : out.final_metrics.contains("eval_pearson") ? "pearson"
                                                                                       : "f1");
    core::Json log = core::Json::array();
    {
      std::ifstream in(staging + "/training_log.jsonl");
      std::string line;
      while (std::getline(in, line))
        if (!line.empty()) log.push_back(core::Json::parse(line));
    }
    eval::plot_training_curves(log, metric, staging + "/training_curves.png");
    plots.push_back("training_curves.png");
    if (eval_given && last_report->contains("confusion_matrix")) {
      std::vector<std::string> labels;
      for (auto it = (*last_report)["per_class"].begin(); it != (*last_report)["per_class"].end(); ++it)
        labels.push_back(it.key());
      eval::plot_confusion_matrix(staging + "/confusion_matrix.png",
                                  (*last_report)["confusion_matrix"].get<std::vector<std::vector<int64_t>>>(), labels);
      plots.push_back("confusion_matrix.png");
    }
    if (eval_given) core::write_json_file(staging + "/eval_results.json", *last_report);
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
    "train", "Fine-tune a sequence classifier (single texts or pairs) on a CSV/TSV/JSONL/JSON/xlsx file",
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
      app.add_option_function<std::string>(
          "--pos_label,--pos-label", [o](const std::string& v) { o->pos_label = v; },
          "Two labels: the positive class of eval_f1, eval_precision and eval_recall (a label name or id; default: "
          "id 1, as scikit-learn's pos_label=1)");
      add_data_options(app, o->data);
      add_training_arguments(app, o->args);
      CLI::App* self = &app;
      return [o, self] { return run_train(*self, *o); };
    },
    20);

}  // namespace
}  // namespace textune::cli
