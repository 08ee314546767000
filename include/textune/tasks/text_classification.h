// The text-classification task ("text-classification", transformers' TextClassificationPipeline and
// examples/pytorch/text-classification/run_classification.py + run_glue.py): one label per text or
// text pair (single_label_classification), a set of labels (multi_label_classification) or one
// number (regression), with a ...ForSequenceClassification head.
//
// What is public here: the examples type wrapping a data::Dataset (the Trainer's data::Dataset
// constructor and tests use it), the task class with its options, and the pieces the train layer
// forwards its old functions to (load_for_training, class_weights_for). The implementation is in
// src/tasks/text_classification/.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "textune/core/json.h"
#include "textune/core/problem_type.h"
#include "textune/data/dataset.h"
#include "textune/models/model.h"
#include "textune/tasks/task.h"

namespace textune::tasks {

/// The registry name of the task.
inline constexpr const char* kTextClassification = "text-classification";

/// The examples of text classification: a data::Dataset (texts, pairs, labels, label map,
/// validation report).
class ClassificationExamples : public Examples {
 public:
  /// `labelled`: whether the labels take part (collate, evaluation); a prediction file that happens
  /// to have a label column is read with labelled = false.
  explicit ClassificationExamples(data::Dataset dataset, bool labelled = true);

  size_t size() const override { return dataset_.size(); }
  bool has_labels() const override { return labelled_; }
  const std::string& source() const override { return dataset_.source; }
  const data::ValidationReport& report() const override { return dataset_.report; }
  /// data::example_to_json: {"text", "text_pair" (pairs), "label" (when labelled)}.
  core::Json example_json(size_t i) const override;
  /// The columns used, the rows read and skipped, and the label distribution (counts per label, or
  /// min/mean/max for regression) — src/tasks/text_classification/summary.cpp.
  std::vector<std::string> summary() const override;

  const data::Dataset& dataset() const { return dataset_; }
  data::Dataset& mutable_dataset() { return dataset_; }

 private:
  data::Dataset dataset_;
  bool labelled_ = true;
};

/// Wraps `dataset` (labelled when it has a label column) for the task interface.
std::shared_ptr<ClassificationExamples> wrap_dataset(data::Dataset dataset);

/// The dataset of examples made by text classification.
/// @throws textune::UsageError when `examples` come from another task.
const data::Dataset& classification_dataset(const Examples& examples);
data::Dataset& classification_dataset(Examples& examples);

/// Class weights of single-label cross-entropy (transformers' examples weigh classes the same way
/// with `torch.nn.CrossEntropyLoss(weight=...)`): "" none (undefined tensor), "auto" n / (C * count_c)
/// (scikit-learn's class_weight="balanced"), or a JSON file [w0, w1, ...] in id order or
/// {label: weight}. Returns (C) float32 on the CPU.
/// @throws textune::UsageError for a problem type other than single-label; textune::DataError for a
///         label without training example (auto), a file that does not fit the labels or a weight
///         that is not a positive number.
torch::Tensor class_weights_for(const std::string& spec, const data::Dataset& train);

/// Loads `model_dir` with a sequence-classification head for the labels of `train` (train::
/// load_for_training): at least two labels present for single-label; problem_type from the data; a
/// fine-tuned head kept when the checkpoint already has exactly these labels, in which case the ids
/// of `train` and `eval` are renumbered to the checkpoint's order; otherwise a new head initialised
/// with `seed` (ignore_mismatched_sizes).
/// @throws textune::DataError for one label only, or what models::load_pretrained throws.
models::PreTrainedModel load_classifier_for_training(const std::string& model_dir, data::Dataset& train,
                                                     data::Dataset* eval, uint64_t seed, const torch::Device& device);

/// Collects the (N, C) float32 logits of N examples from length-sorted batches (row r of a batch
/// goes to example features.example_index[batch.features[r]]).
class LogitsCollector : public OutputSink {
 public:
  LogitsCollector(const Features& features, size_t num_examples);
  void add(const Batch& batch, const models::ModelOutputs& outputs) override;
  /// (N, C) in example order; (0, 0) when nothing was added. Rows of examples never added are zero.
  const torch::Tensor& logits() const { return logits_; }

 private:
  const Features& features_;
  size_t num_examples_;
  torch::Tensor logits_;
};

/// The evaluator of text classification: logits collected, then eval::evaluation_report.
class ClassificationEvaluator : public Evaluator {
 public:
  ClassificationEvaluator(const data::Dataset& dataset, const Features& features, double threshold,
                          std::optional<std::string> pos_label);
  void add(const Batch& batch, const models::ModelOutputs& outputs) override { logits_.add(batch, outputs); }
  /// scalars: eval::scalar_metrics(report); report: eval::evaluation_report(logits, dataset,
  /// threshold, pos_label).
  EvalReport finish() override;
  /// The (N, C) logits in example order (the Trainer's EvalOutput.logits and ComputeMetrics).
  const torch::Tensor& logits() const { return logits_.logits(); }

 private:
  const data::Dataset& dataset_;
  LogitsCollector logits_;
  double threshold_;
  std::optional<std::string> pos_label_;
};

/// The text-classification task. Its problem type comes from the alias it was created under
/// ("regression", "multi-label", ...; "text-classification" and "classification": single-label),
/// then from the model it is bound to.
class TextClassificationTask : public Task {
 public:
  explicit TextClassificationTask(core::ProblemType problem_type = core::ProblemType::kSingleLabel);

  std::string name() const override { return kTextClassification; }
  models::TaskKind model_kind() const override { return models::TaskKind::kSequenceClassification; }

  /// "threshold" (multi-label: the probability at which a label is predicted, 0.5) and "pos_label"
  /// (two labels: the positive class of f1/precision/recall; a label name or an id).
  void declare_options(core::OptionTable& table) override;
  /// {"threshold": t}: the multi-label threshold training used, the default of eval, predict and
  /// serve. The data options and pos_label stay in textune_data.json (save_files), which eval and
  /// predict read back (restore_files), as before textune_task.json existed.
  core::Json saved_options() const override;
  /// Takes "threshold" of saved_options() (a number in [0, 1]) as the default; options given by the
  /// caller are applied afterwards and win.
  /// @throws textune::DataError naming `source` for another key or a bad value.
  void restore_options(const core::Json& saved, const std::string& source) override;
  /// Writes textune_data.json (the data options given to training, the columns used, the problem
  /// type, pos_label) and label_names.txt (a copy of the label-names file, when one was given).
  void save_files(const std::string& dir) const override;
  /// Reads `dir`/textune_data.json when present: its data options become the defaults of read()
  /// and from_inputs(), its pos_label the default pos_label.
  /// @throws textune::DataError naming the file when it is not a JSON object of the right types.
  void restore_files(const std::string& dir) override;
  /// The files save_files writes (textune_data.json, label_names.txt).
  static std::vector<std::string> saved_file_names();

  void configure_data(const data::DataOptions& options) override;
  std::shared_ptr<Examples> read(const std::string& path, bool labelled) const override;
  std::shared_ptr<Examples> from_inputs(const std::vector<core::Json>& inputs) const override;
  /// Labels when a label column is given, the problem type is regression, or the file has one.
  std::shared_ptr<Examples> preview(const std::string& path) const override;
  Features featurize(const Examples& examples, const tokenizers::Tokenizer& tokenizer,
                     const FeatureOptions& options) const override;
  Batch collate(const Examples& examples, const Features& features, const std::vector<size_t>& rows,
                const data::CollateOptions& options, torch::Generator& generator) const override;

  models::PreTrainedModel prepare_model(const ModelSetup& setup, Examples& train, Examples* eval) override;
  /// @throws textune::DataError "the model is a X, not a sequence classifier" for another head.
  void bind_model(const models::PreTrainedModel& model) override;
  void prepare_loss(const Examples& train, const TrainingLoss& options, const torch::Device& device) override;
  /// outputs.loss, or, with class weights or label smoothing on a single-label problem, the
  /// cross-entropy of outputs.logits with them (models::sequence_classification_loss).
  torch::Tensor loss(const Batch& batch, const models::ModelOutputs& outputs) const override;

  std::unique_ptr<Evaluator> evaluator(const Examples& examples, const Features& features) const override;
  std::unique_ptr<Predictor> predictor(const Examples& examples, const Features& features) const override;
  std::vector<std::string> metric_names() const override;
  std::string main_metric() const override;
  /// The confusion matrix (single-label) as PNG: at `base` itself when it ends with ".png", else at
  /// base + "confusion_matrix.png" (base a prefix: "DIR/" or "OUT_").
  std::vector<std::string> write_plots(const EvalReport& report, const std::string& base) const override;
  /// {"confusion_matrix.png"}.
  std::vector<std::string> plot_names() const override { return {"confusion_matrix.png"}; }
  /// TEI's classification answer: [{"label", "score"}, ...] sorted by score, highest first (stable);
  /// raw_scores: the logits instead of the probabilities.
  /// @throws ResponseError "score is NaN", "the model returned no scores", "the model returned N
  ///         logits for M labels".
  core::Json response(const core::Json& record, const ResponseOptions& options) const override;
  /// {"labels": [...], "problem_type": "...", "id2label": {...}, "label2id": {...}}.
  core::Json info() const override;
  /// `textune predict`'s JSON line: text, text_pair (pairs), label, score, scores, labels
  /// (multi-label), truncated (when cut); not the logits.
  core::Json prediction_json(const Examples& examples, size_t i, const core::Json& record) const override;
  /// `textune predict --output X.csv`: text, text_pair (pairs), label, score, score_LABEL per label.
  std::vector<std::vector<core::Json>> prediction_table(const Examples& examples,
                                                        const std::vector<core::Json>& records) const override;

  core::ProblemType problem_type() const { return problem_type_; }
  /// The labels in id order (the model's once bound; the training file's after the first labelled read).
  const std::vector<std::string>& labels() const;
  double threshold() const { return threshold_; }
  /// pos_label as given, else the one textune_data.json recorded (restore_files).
  std::optional<std::string> pos_label() const { return pos_label_ ? pos_label_ : saved_pos_label_; }
  /// The data options read() uses before textune_data.json's defaults are applied.
  const data::DataOptions& data_options() const { return data_; }

 private:
  data::DataOptions effective_options(bool labelled) const;
  void check_pairs(bool has_pairs) const;
  void pos_label_notes(const data::LabelMap* map) const;

  core::ProblemType problem_type_;
  data::DataOptions data_;
  double threshold_ = 0.5;
  std::optional<std::string> pos_label_;
  std::optional<std::string> saved_pos_label_;  // textune_data.json's, the default of pos_label_
  // textune_data.json of the bound model directory (restore_files), if any.
  std::optional<core::Json> saved_data_;
  std::string saved_data_path_, model_dir_;
  // The label map: the model's once bound, else the first labelled file's (so that the evaluation file
  // of a training run gets the training file's ids, as `textune train` always did).
  mutable std::optional<data::LabelMap> label_map_;
  bool bound_ = false;
  // For textune_data.json: what training read (columns used, problem type).
  std::optional<data::Dataset> train_columns_;
  torch::Tensor class_weights_;
  double label_smoothing_ = 0;
};

}  // namespace textune::tasks
