// `textune train --model DIR --train FILE [--eval FILE] --output DIR --task ... [options]`:
// fine-tunes a sequence classifier (transformers' run_classification.py / run_glue.py, in C++).
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "command.h"
#include "data_options.h"
#include "model_options.h"
#include "train_options.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/eval/evaluate.h"
#include "textune/eval/plot.h"
#include "textune/train/trainer.h"

namespace textune::cli {
namespace {

struct TrainCliOptions {
  ModelOption model;
  std::string train_file, eval_file, config;
  std::optional<std::string> resume;
  data::DataOptions data;
  train::TrainingArguments args;
};

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
  train::TrainingArguments args = merge_training_arguments(app, o.args, config_ptr, o.config);
  if (args.output_dir.empty()) throw UsageError("--output is required");
  const bool eval_given = !o.eval_file.empty();
  const bool strategy_given = app.count("--eval_strategy") > 0 || (config_ptr && (config.contains("eval_strategy") ||
                                                                                 config.contains("evaluation_strategy")));
  if (eval_given && !strategy_given) args.eval_strategy = "epoch";
  if (!eval_given && args.eval_strategy != "no")
    throw UsageError("--eval_strategy " + args.eval_strategy + " needs an evaluation file (--eval FILE)");
  if (args.eval_strategy == "steps" && args.eval_steps <= 0) args.eval_steps = args.logging_steps;
  const bool save_given = app.count("--save_strategy") > 0 || (config_ptr && config.contains("save_strategy"));
  if (args.load_best_model_at_end && !save_given) {
    args.save_strategy = args.eval_strategy;
    if (args.eval_strategy == "steps") args.save_steps = args.eval_steps;
  }
  args.validate();

  std::optional<std::string> resume;
  if (o.resume) {
    resume = o.resume->empty() ? train::last_checkpoint(args.output_dir) : o.resume;
    if (!resume) throw UsageError("--resume: no checkpoint-N directory in " + args.output_dir);
  }

  const std::string model_dir = resolve_model_option(o.model);
  data::DataOptions dopt = o.data;
  dopt.require_labels = true;
  data::Dataset train_set = data::load_dataset(o.train_file, dopt);
  std::optional<data::Dataset> eval_set;
  if (eval_given)
    eval_set = data::load_dataset(o.eval_file, dopt,
                                  train_set.task == data::Task::kRegression ? nullptr : &train_set.label_map);
  models::PreTrainedModel model =
      train::load_for_training(model_dir, train_set, eval_set ? &*eval_set : nullptr, args.seed, args.device);
  auto tokenizer = tokenizers::Tokenizer::from_dir(model_dir);

  train::Trainer trainer(model, tokenizer, model_dir, std::move(train_set), std::move(eval_set), args);
  auto last_report = std::make_shared<core::Json>();
  trainer.set_compute_metrics([last_report](const torch::Tensor& logits, const data::Dataset& ds) {
    *last_report = eval::evaluation_report(logits, ds);
    return eval::scalar_metrics(*last_report);
  });
  // Records and plots beside the model, written into the final directory before it replaces the
  // output directory; those of an earlier run (resumed or overwritten) never survive beside it.
  std::string metric = args.best_metric_key();
  std::vector<std::string> plots;
  train::FinalRecords records;
  records.names = {"training_curves.png", "confusion_matrix.png", "eval_results.json"};
  records.write = [&](const std::string& staging, const train::TrainOutput& out) {
    if (metric == "eval_loss" && eval_given)
      metric = out.final_metrics.contains("eval_accuracy") ? "eval_accuracy"
               : out.final_metrics.contains("eval_pearson") ? "eval_pearson"
                                                            : "eval_f1";
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
  train::TrainOutput out = trainer.train(resume);
  const std::string dir = args.output_dir;
  for (auto& p : plots) p = dir + "/" + p;

  core::Json summary = core::Json::object();
  summary["output_dir"] = dir;
  summary["global_step"] = out.global_step;
  summary["train_loss"] = out.training_loss;
  summary["stopped_early"] = out.stopped_early;
  summary["best_model_checkpoint"] = out.best_model_checkpoint ? core::Json(*out.best_model_checkpoint) : core::Json(nullptr);
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
      add_data_options(app, o->data);
      add_training_arguments(app, o->args);
      CLI::App* self = &app;
      return [o, self] { return run_train(*self, *o); };
    },
    20);

}  // namespace
}  // namespace textune::cli
