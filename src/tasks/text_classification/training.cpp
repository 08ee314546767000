// Text classification's training side: the head for the training labels and the training loss
// (class weights, label smoothing). See include/textune/tasks/text_classification.h.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "models/losses.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/eval/evaluate.h"
#include "textune/tasks/text_classification.h"

namespace textune::tasks {
namespace {

/// Weights of a JSON file: [w0, w1, ...] in id order or {label: weight}.
std::vector<double> weights_from_file(const std::string& spec, const data::Dataset& train) {
  const size_t c = train.label_map.size();
  std::vector<double> w(c, 0.0);
  const core::Json j = core::read_json_file(spec);
  if (j.is_array()) {
    if (j.size() != c)
      throw DataError(
          fmt::format("{}: {} class weights for {} labels (expected one per label, in id order)", spec, j.size(), c));
    for (size_t k = 0; k < c; ++k) {
      if (!j[k].is_number()) throw DataError(fmt::format("{}: weight {} is not a number", spec, k));
      w[k] = j[k].get<double>();
    }
  } else if (j.is_object()) {
    std::vector<bool> seen(c, false);
    for (auto it = j.begin(); it != j.end(); ++it) {
      auto id = train.label_map.id(it.key());
      if (!id) throw DataError(spec + ": label \"" + it.key() + "\" is not a training label");
      if (!it.value().is_number()) throw DataError(spec + ": weight of \"" + it.key() + "\" is not a number");
      w[*id] = it.value().get<double>();
      seen[*id] = true;
    }
    for (size_t k = 0; k < c; ++k)
      if (!seen[k]) throw DataError(spec + ": no weight for label \"" + train.label_map.label(k) + "\"");
  } else {
    throw DataError(spec + ": expected {label: weight} or [w0, w1, ...]");
  }
  for (size_t k = 0; k < c; ++k)
    if (!(w[k] > 0) || !std::isfinite(w[k]))
      throw DataError(fmt::format("{}: weight of \"{}\" must be a positive number", spec, train.label_map.label(k)));
  return w;
}

/// Renumbers the label ids of `datasets` from `labels` (the training file's order) to `existing`
/// (a checkpoint's order of the same labels).
void remap_labels(const std::vector<std::string>& labels, const data::LabelMap& existing,
                  std::initializer_list<data::Dataset*> datasets) {
  std::vector<int64_t> remap(labels.size());
  for (size_t k = 0; k < labels.size(); ++k) remap[k] = *existing.id(labels[k]);
  for (data::Dataset* d : datasets) {
    if (!d) continue;
    for (auto& ex : d->examples) {
      if (ex.label >= 0) ex.label = remap[ex.label];
      for (auto& id : ex.label_ids) id = remap[id];
      std::sort(ex.label_ids.begin(), ex.label_ids.end());
    }
    d->label_map = existing;
  }
}

}  // namespace

torch::Tensor class_weights_for(const std::string& spec, const data::Dataset& train) {
  if (spec.empty()) return {};
  if (train.task != core::ProblemType::kSingleLabel)
    throw UsageError("--class-weights applies to single-label classification only");
  const size_t c = train.label_map.size();
  std::vector<double> w(c, 0.0);
  if (spec == "auto") {
    const auto counts = train.label_counts();
    const double n = static_cast<double>(train.size());
    for (size_t k = 0; k < c; ++k) {
      if (counts[k] == 0)
        throw DataError("--class-weights auto: label \"" + train.label_map.label(k) + "\" has no training example");
      w[k] = n / (static_cast<double>(c) * static_cast<double>(counts[k]));
    }
  } else {
    w = weights_from_file(spec, train);
  }
  return torch::tensor(std::vector<float>(w.begin(), w.end()), torch::kFloat32);
}

models::PreTrainedModel load_classifier_for_training(const std::string& model_dir, data::Dataset& train,
                                                     data::Dataset* eval, uint64_t seed, const torch::Device& device) {
  if (train.task == core::ProblemType::kSingleLabel) {
    const auto counts = train.label_counts();
    std::vector<size_t> present;
    for (size_t k = 0; k < counts.size(); ++k)
      if (counts[k] > 0) present.push_back(k);
    if (present.size() == 1)
      throw DataError(fmt::format("{}: the training data has only one label (\"{}\"): classification needs at least 2",
                                  train.source, train.label_map.label(static_cast<int64_t>(present[0]))));
  }
  models::LoadOptions lo;
  lo.task = models::TaskKind::kSequenceClassification;
  lo.seed = seed;
  lo.device = device;
  lo.problem_type = train.task;
  const bool regression = train.task == core::ProblemType::kRegression;
  std::vector<std::string> labels = regression ? std::vector<std::string>{"LABEL_0"} : train.label_map.labels();
  // Keep a fine-tuned head when it already has exactly these labels (maybe in another order).
  const core::Json cfg = core::read_model_config(model_dir);
  if (!regression && cfg.contains("id2label")) {
    data::LabelMap existing;
    try {
      existing = data::LabelMap::from_config(cfg);
    } catch (const DataError&) {
    }
    if (!existing.is_placeholder() && existing.size() == labels.size()) {
      std::vector<std::string> a = existing.labels(), b = labels;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a == b && existing.labels() != labels) {
        remap_labels(labels, existing, {&train, eval});
        labels = existing.labels();
      }
    }
  }
  lo.labels = labels;
  lo.ignore_mismatched_sizes = true;
  models::LoadReport report;
  return models::load_pretrained(model_dir, lo, &report);
}

models::PreTrainedModel TextClassificationTask::prepare_model(const ModelSetup& setup, Examples& train,
                                                              Examples* eval) {
  data::Dataset& train_ds = classification_dataset(train);
  data::Dataset* eval_ds = eval ? &classification_dataset(*eval) : nullptr;
  // a usage error before the model loads
  if (pos_label_ && train_ds.task == core::ProblemType::kSingleLabel && train_ds.label_map.size() == 2)
    eval::resolve_pos_label(train_ds.label_map.labels(), pos_label_);
  models::PreTrainedModel model =
      load_classifier_for_training(setup.model_dir, train_ds, eval_ds, setup.seed, setup.device);
  problem_type_ = train_ds.task;
  data_.task = problem_type_;
  label_map_ = train_ds.label_map;
  data::Dataset columns;  // what textune_data.json records of the training file
  columns.source = train_ds.source;
  columns.task = train_ds.task;
  columns.text_column = train_ds.text_column;
  columns.text_pair_column = train_ds.text_pair_column;
  columns.label_column = train_ds.label_column;
  train_columns_ = std::move(columns);
  bound_ = true;
  return model;
}

void TextClassificationTask::prepare_loss(const Examples& train, const TrainingLoss& options,
                                          const torch::Device& device) {
  class_weights_ = class_weights_for(options.class_weights, classification_dataset(train));
  if (class_weights_.defined()) class_weights_ = class_weights_.to(device);
  label_smoothing_ = options.label_smoothing_factor;
}

torch::Tensor TextClassificationTask::loss(const Batch& batch, const models::ModelOutputs& outputs) const {
  // Without class weights and label smoothing the model's own loss is the objective, unchanged. Label
  // smoothing applies to single-label cross-entropy only, as in the model's loss.
  if ((!class_weights_.defined() && label_smoothing_ == 0) || problem_type_ != core::ProblemType::kSingleLabel ||
      !batch.inputs.labels.defined() || !outputs.logits.defined())
    return outputs.loss;
  torch::Tensor logits = outputs.logits;
  // autocast computes cross-entropy in float32: the same numbers outside it
  if (logits.scalar_type() == torch::kBFloat16 || logits.scalar_type() == torch::kHalf)
    logits = logits.to(torch::kFloat32);
  models::LossOptions o;
  o.class_weights = class_weights_;
  o.label_smoothing = label_smoothing_;
  return models::sequence_classification_loss(logits, batch.inputs.labels.to(logits.device()), problem_type_, o);
}

}  // namespace textune::tasks
