// The text-classification task: options, features, batches, binding to a model, metric names and
// what serve says of it. See include/textune/tasks/text_classification.h.
#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/data/batching.h"
#include "textune/tasks/text_classification.h"

namespace textune::tasks {

TextClassificationTask::TextClassificationTask(core::ProblemType problem_type) : problem_type_(problem_type) {
  data_.task = problem_type;
}

void TextClassificationTask::declare_options(core::OptionTable& table) {
  table.add("threshold", &threshold_, "Multi-label: probability at which a label is predicted").group =
      kTextClassification;
  auto& pos = table.add("pos_label", &pos_label_,
                        "Two labels: the positive class of f1, precision and recall (a label name, or an id; default: "
                        "id 1, as scikit-learn's pos_label=1). More labels: those are macro averages");
  pos.aliases = {"pos-label"};
  pos.group = kTextClassification;
}

core::Json TextClassificationTask::saved_options() const {
  return core::Json{{"threshold", threshold_}};
}

void TextClassificationTask::restore_options(const core::Json& saved, const std::string& source) {
  if (!saved.is_object()) throw DataError(source + ": \"options\" must be an object");
  for (auto it = saved.begin(); it != saved.end(); ++it) {
    if (it.key() != "threshold")
      throw DataError(fmt::format("{}: unknown option \"{}\" of {} (its options: threshold)", source, it.key(),
                                  kTextClassification));
    const core::Json& t = it.value();
    if (!t.is_number() || !(t.get<double>() >= 0.0 && t.get<double>() <= 1.0))
      throw DataError(fmt::format("{}: \"threshold\" must be a number from 0 to 1, not {}", source, t.dump()));
    threshold_ = t.get<double>();
  }
}

const std::vector<std::string>& TextClassificationTask::labels() const {
  static const std::vector<std::string> kNone;
  return label_map_ ? label_map_->labels() : kNone;
}

Features TextClassificationTask::featurize(const Examples& examples, const tokenizers::Tokenizer& tokenizer,
                                           const FeatureOptions& options) const {
  const data::Dataset& ds = classification_dataset(examples);
  Features f;
  std::vector<uint8_t> truncated;
  f.encodings = data::encode_dataset(tokenizer, ds, options.max_length, &f.num_truncated, &truncated);
  f.truncated = std::move(truncated);
  f.example_index.resize(f.encodings.size());
  for (size_t i = 0; i < f.example_index.size(); ++i) f.example_index[i] = i;  // one feature per example
  return f;
}

Batch TextClassificationTask::collate(const Examples& examples, const Features& features,
                                      const std::vector<size_t>& rows, const data::CollateOptions& options,
                                      torch::Generator& generator) const {
  // One feature per example (featurize): feature i is example i, so `rows` index both.
  const data::Dataset& ds = classification_dataset(examples);
  data::Batch b = data::collate(features.encodings, rows, examples.has_labels() ? &ds : nullptr, options);
  Batch out;
  out.inputs.input_ids = std::move(b.input_ids);
  out.inputs.attention_mask = std::move(b.attention_mask);
  out.inputs.token_type_ids = std::move(b.token_type_ids);
  out.inputs.labels = std::move(b.labels);
  out.features = rows;
  return out;
}

void TextClassificationTask::bind_model(const models::PreTrainedModel& model) {
  if (model->task() != models::TaskKind::kSequenceClassification)
    throw DataError("the model is a " + model->architecture() + ", not a sequence classifier");
  problem_type_ = model->problem_type();
  data_.task = problem_type_;
  label_map_ = data::LabelMap(model->id2label());
  bound_ = true;
}

std::vector<std::string> TextClassificationTask::metric_names() const {
  // The numeric keys of eval::scalar_metrics(eval::evaluation_report(...)) for the problem type
  // (ClassificationMetrics, MultiLabelMetrics and RegressionMetrics ::to_json), in report order.
  switch (problem_type_) {
    case core::ProblemType::kSingleLabel:
      return {"accuracy",        "f1",           "precision",          "recall",
              "precision_macro", "recall_macro", "f1_macro",           "precision_micro",
              "recall_micro",    "f1_micro",     "precision_weighted", "recall_weighted",
              "f1_weighted",     "mcc"};
    case core::ProblemType::kMultiLabel:
      return {"subset_accuracy", "f1_micro", "f1_macro", "precision_micro", "recall_micro", "f1"};
    case core::ProblemType::kRegression:
      return {"pearson", "spearman", "mse"};
  }
  return {};
}

std::string TextClassificationTask::main_metric() const {
  switch (problem_type_) {
    case core::ProblemType::kSingleLabel:
      return "accuracy";
    case core::ProblemType::kMultiLabel:
      return "f1";
    case core::ProblemType::kRegression:
      return "pearson";
  }
  return "accuracy";
}

core::Json TextClassificationTask::info() const {
  const auto& names = labels();
  core::Json id2label = core::Json::object(), label2id = core::Json::object();
  for (size_t i = 0; i < names.size(); ++i) {
    id2label[std::to_string(i)] = names[i];
    label2id[names[i]] = i;
  }
  core::Json j = core::Json::object();
  j["labels"] = names;
  j["problem_type"] = core::problem_type_name(problem_type_);
  j["id2label"] = std::move(id2label);
  j["label2id"] = std::move(label2id);
  return j;
}

}  // namespace textune::tasks
