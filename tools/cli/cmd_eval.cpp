// `textune eval --model DIR --data FILE [--output FILE]`: scikit-learn's metrics of a fine-tuned
// classifier on a labelled file, printed as one JSON object, with the confusion matrix as a PNG.
#include <filesystem>
#include <iostream>

#include "checks.h"
#include "command.h"
#include "data_options.h"
#include "model_options.h"
#include "saved_data.h"
#include "textune/core/error.h"
#include "textune/core/logging.h"
#include "textune/data/batching.h"
#include "textune/eval/evaluate.h"
#include "textune/eval/plot.h"
#include "textune/models/model.h"
#include "textune/train/trainer.h"

namespace textune::cli {
namespace {

struct EvalCliOptions {
  ModelOption model;
  std::string data_file, output, plot;
  size_t batch_size = 32;
  std::optional<size_t> max_length;
  double threshold = 0.5;
  std::optional<std::string> pos_label;
  std::string device = "cpu";
  data::DataOptions data;
};

int run_eval(const EvalCliOptions& o) {
  // every option and path is checked before the model loads
  const torch::Device device = parse_device(o.device);
  if (!o.output.empty()) check_output_file(o.output, "--output");
  if (!o.plot.empty()) check_output_file(o.plot, "--plot");
  check_input_file(o.data_file, "--data");
  const std::string dir = resolve_model_option(o.model);
  // the training run's data options (textune_data.json) are the defaults; flags given here win
  data::DataOptions dopt = o.data;
  std::optional<std::string> pos_label = o.pos_label;
  if (const auto saved = read_saved_data(dir)) {
    apply_saved_data(*saved, dopt, true);
    if (!pos_label && saved->json.contains("pos_label")) {
      pos_label = saved->json["pos_label"].get<std::string>();
      spdlog::info("--pos_label {} from {}", *pos_label, saved->path);
    }
  }
  models::LoadOptions lo;
  lo.device = device;
  models::PreTrainedModel model = models::load_pretrained(dir, lo);
  if (model->task() != models::TaskKind::kSequenceClassification)
    throw DataError(dir + " holds a " + model->architecture() + ", not a sequence classifier");
  auto tokenizer = tokenizers::Tokenizer::from_dir(dir);
  dopt.require_labels = true;
  dopt.task = model->problem_type();
  data::LabelMap labels(model->id2label());
  data::Dataset ds = data::load_dataset(o.data_file, dopt, dopt.task == data::Task::kRegression ? nullptr : &labels);
  size_t max_length = model->max_sequence_length() ? static_cast<size_t>(*model->max_sequence_length()) : 512;
  if (auto t = tokenizer->model_max_length()) max_length = std::min(max_length, *t);
  if (o.max_length) max_length = *o.max_length;
  size_t truncated = 0;
  auto enc = data::encode_dataset(*tokenizer, ds, max_length, &truncated);
  if (truncated) spdlog::warn("{} of {} inputs were truncated to {} tokens", truncated, ds.size(), max_length);
  data::CollateOptions co;
  co.pad_token_id = tokenizer->pad_token_id().value_or(0);
  torch::Tensor logits = train::predict_logits(model, enc, o.batch_size, co);
  if (o.pos_label && ds.task == data::Task::kClassification && ds.label_map.size() != 2)
    spdlog::warn("--pos_label {} is ignored: f1, precision and recall are macro averages for {} labels", *o.pos_label,
                 ds.label_map.size());
  core::Json report = eval::evaluation_report(logits, ds, o.threshold, pos_label);
  std::cout << report.dump(2) << "\n";
  if (!o.output.empty()) core::write_json_file(o.output, report);
  // The plot goes where it was asked for (--plot), or beside the --output report; never unasked
  // into the current directory.
  std::string plot = o.plot;
  if (plot.empty() && !o.output.empty())
    plot = std::filesystem::path(o.output).replace_extension("").string() + "_confusion_matrix.png";
  if (report.contains("confusion_matrix") && !plot.empty()) {
    eval::plot_confusion_matrix(plot, report["confusion_matrix"].get<std::vector<std::vector<int64_t>>>(),
                                ds.label_map.labels());
    std::cerr << "confusion matrix: " << plot << "\n";
  }
  return 0;
}

const CommandRegistrar kRegistrar(
    "eval", "Evaluate a fine-tuned classifier on a labelled file (accuracy, F1, MCC, confusion matrix)",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<EvalCliOptions>();
      add_model_options(app, o->model, true, "Fine-tuned model");
      app.add_option("--data,--validation_file,--test_file", o->data_file, "Labelled data file")->required();
      app.add_option("--output", o->output, "Also write the JSON report to this file (its directory must exist)");
      app.add_option("--plot", o->plot,
                     "Confusion matrix PNG (default with --output: OUTPUT_confusion_matrix.png beside it; "
                     "without --output or --plot: no plot)");
      app.add_option("--per_device_eval_batch_size,--batch-size,--batch_size", o->batch_size)
          ->capture_default_str()
          ->check(at_least(1));
      app.add_option_function<size_t>(
             "--max_length,--max-length", [o](const size_t& v) { o->max_length = v; },
             "Truncate inputs to N tokens (default: the model's maximum)")
          ->check(at_least(1));
      app.add_option("--threshold", o->threshold, "Multi-label: probability at which a label is predicted")
          ->capture_default_str();
      app.add_option_function<std::string>(
          "--pos_label,--pos-label", [o](const std::string& v) { o->pos_label = v; },
          "Two labels: the positive class whose f1, precision and recall are reported (a label name, or an id; "
          "default: id 1, as scikit-learn's pos_label=1). More labels: those are macro averages");
      app.add_option("--device", o->device, device_help())->capture_default_str();
      DataOptionGroups groups;
      groups.task = false;  // the model's problem_type decides
      add_data_options(app, o->data, groups);
      return [o] { return run_eval(*o); };
    },
    30);

}  // namespace
}  // namespace textune::cli
