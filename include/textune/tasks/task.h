// The task interface: everything that differs between what users fine-tune for (text
// classification, token classification, extractive QA, translation, masked-LM pretraining) sits
// behind this class, so that train, eval, predict, the C++ Pipeline and serve are task-agnostic.
//
// Data flows one way (docs/architecture.md):
//   file --read--> Examples --featurize--> Features (one example gives N features)
//        --collate--> Batch (ModelInputs) --model--> ModelOutputs
//        --> Evaluator (metrics) / Predictor (user-facing records) / loss (training)
//
// Sources: the per-task scripts of transformers' examples/pytorch (run_classification.py,
// run_glue.py, run_ner.py, run_qa.py + utils_qa.py, run_translation.py, run_mlm.py) and its
// pipelines/ (TextClassificationPipeline, TokenClassificationPipeline, ...), which split each task
// into preprocess / _forward / postprocess the same way.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "textune/core/json.h"
#include "textune/core/options.h"
#include "textune/data/batching.h"
#include "textune/data/dataset.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tasks {

/// Examples read by a task from one file (or given in memory). Opaque above the tasks layer: train,
/// eval, predict and serve only count them, show them and hand them back to their task.
class Examples {
 public:
  virtual ~Examples() = default;
  /// Number of examples.
  virtual size_t size() const = 0;
  /// Whether the examples carry labels (training, evaluation) or not (prediction).
  virtual bool has_labels() const = 0;
  /// The file they were read from ("<inputs>" for inputs given in memory).
  virtual const std::string& source() const = 0;
  /// What reading found wrong (file, row, column, reason), and the counts.
  virtual const data::ValidationReport& report() const = 0;
  /// Example `i` as JSON, for `textune data` and beside predictions: the task's input fields
  /// ("text", "text_pair", "tokens", "question", ...) and, when labelled, "label".
  /// @throws std::out_of_range for i >= size().
  virtual core::Json example_json(size_t i) const = 0;
  /// What `textune data` prints after the examples: the columns used, the counts and the label
  /// distribution, one line each. Default: none.
  virtual std::vector<std::string> summary() const { return {}; }
};

/// Task-specific data per feature (token labels, QA offsets, masking state...). A task derives from
/// it and reads it back in its own collate / evaluator / predictor.
struct FeatureData {
  virtual ~FeatureData() = default;
};

/// The unpadded model inputs of every example: one example gives N >= 0 features (QA windows over a
/// long context, windows over a long NER sentence; one for text classification).
struct Features {
  std::vector<tokenizers::Encoding> encodings;  ///< one per feature, special tokens included
  std::vector<size_t> example_index;            ///< feature -> the example it came from
  size_t num_truncated = 0;                     ///< examples cut to max_length (said once in the log)
  std::vector<uint8_t> truncated;               ///< per feature: 1 when its example was cut to fit
  std::shared_ptr<const FeatureData> data;      ///< owned by the task; may be null
  size_t size() const { return encodings.size(); }
  /// Length in tokens of feature `i` (for length-sorted inference and group_by_length).
  size_t length(size_t i) const { return encodings[i].size(); }
};

/// How featurize cuts and windows.
struct FeatureOptions {
  size_t max_length = 512;  ///< tokens per feature, special tokens included (train::resolve_max_length)
  bool training = false;    ///< the training split (a task may window or truncate differently)
};

/// A collated batch: model inputs on the CPU and the features its rows hold.
struct Batch {
  models::ModelInputs inputs;    ///< input_ids/attention_mask/token_type_ids (B, T); labels when labelled
  std::vector<size_t> features;  ///< feature index of each row, in row order
};

/// Receives every batch's outputs while the one inference loop runs (train/inference.h).
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  /// `outputs` hold the batch's rows in `batch.features` order, on the CPU, float32.
  virtual void add(const Batch& batch, const models::ModelOutputs& outputs) = 0;
};

/// Metrics of one evaluation.
struct EvalReport {
  /// The scalars the Trainer logs with an "eval_" prefix ({"accuracy": 0.9, "f1": 0.88, ...}).
  core::Json scalars = core::Json::object();
  /// The full report `textune eval` prints (per-class tables, confusion matrix, ...).
  core::Json report = core::Json::object();
  /// Files the evaluation writes beside its report, name -> JSON content (question answering:
  /// predictions.json, nbest_predictions.json, null_odds.json as run_qa.py writes them): `textune eval`
  /// writes them beside --output (OUTPUT_NAME), `train` into the output directory with the prefix
  /// "eval_" (utils_qa's prefix). Written with 4-space indentation (json.dump(indent=4)).
  std::vector<std::pair<std::string, core::Json>> files;
};

/// A streaming evaluator: add() while the loop runs, then finish() once.
class Evaluator : public OutputSink {
 public:
  /// The metrics over everything added. @throws textune::DataError when outputs do not fit the labels.
  virtual EvalReport finish() = 0;
};

/// A streaming predictor: add() while the loop runs, then finish() once.
class Predictor : public OutputSink {
 public:
  /// One user-facing record per example, in example order (for text classification
  /// {"label", "score", "scores": {label: p}, "logits": [...], "truncated"}; the shape is the task's).
  virtual std::vector<core::Json> finish() = 0;
};

/// Where a task loads the model it trains.
struct ModelSetup {
  std::string model_dir;                 ///< the checkpoint to start from
  uint64_t seed = 42;                    ///< for a newly initialised head
  torch::Device device = torch::kCPU;
};

/// The training-loss options of TrainingArguments that a task may use (transformers keeps label
/// smoothing in the Trainer, not in the model's inputs).
struct TrainingLoss {
  std::string class_weights;          ///< "", "auto" or a JSON file (TrainingArguments::class_weights)
  double label_smoothing_factor = 0;  ///< TrainingArguments::label_smoothing_factor
};

/// Thrown by Task::response for a record it cannot answer (NaN scores...): serve answers 424
/// (TEI's Backend error) with the message.
class ResponseError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Options of one HTTP /predict request that shape the answer (TEI's `raw_scores`, ...).
struct ResponseOptions {
  bool raw_scores = false;
};

/// One task. An instance holds the task's options (declared in declare_options) and, once bound to
/// a model (prepare_model or bind_model), the model's labels. Not thread-safe while being configured;
/// const methods may be called from many threads once bound.
class Task {
 public:
  virtual ~Task() = default;

  /// The registry name, as transformers' pipelines spell tasks ("text-classification").
  virtual std::string name() const = 0;
  /// The head this task trains and predicts with.
  virtual models::TaskKind model_kind() const = 0;
  /// The task's own default max_length when none is given (question answering: run_qa.py's
  /// max_seq_length 384), capped by the model's maximum (resolve_max_length). nullopt: the model's.
  virtual std::optional<size_t> default_max_length() const { return std::nullopt; }
  /// Whether serve reads `{"inputs": [a, b]}` as a batch of two inputs and `{"inputs": {...}}` as one
  /// input of the task's fields (the Inference API's shapes for token classification and question
  /// answering), rather than as TEI's text pair (text classification: false).
  virtual bool inputs_list_is_batch() const { return false; }
  /// Whether the task predicts inputs longer than max_length in windows (token classification,
  /// question answering) rather than cutting them: serve then refuses no input for its length.
  virtual bool windows_long_inputs() const { return false; }

  // ---- options ----
  /// Declares the task's options (one table feeds the command line, --config and the task's saved
  /// state in a model directory). Values live in the task object.
  virtual void declare_options(core::OptionTable& table) {}
  /// The task's state to save beside a model (options that eval/predict/serve need as defaults,
  /// e.g. the text columns): written as "options" of textune_task.json.
  virtual core::Json saved_options() const { return core::Json::object(); }
  /// Restores saved_options() of a model directory as defaults (options given explicitly win).
  virtual void restore_options(const core::Json& saved, const std::string& source) {}
  /// Writes extra files of the task into a (staging) model directory (textune_data.json ...).
  virtual void save_files(const std::string& dir) const {}
  /// Reads the task's own files of a model directory back (the counterpart of save_files; e.g.
  /// textune_data.json's defaults), after restore_options. tasks::task_for_model calls it, with or
  /// without a textune_task.json. @throws textune::DataError naming a file that is malformed.
  virtual void restore_files(const std::string& dir) {}

  // ---- data ----
  /// The file-reading options given on the command line or by the caller (columns, format, sheet,
  /// encoding, skip_invalid...); restore_options() later fills only those still at their defaults.
  virtual void configure_data(const data::DataOptions& options) {}
  /// Reads the examples of `path`. `labelled`: every example must have a label (training,
  /// evaluation). After bind_model/prepare_model, labels are checked against the model's.
  /// @throws textune::DataError with the validation report's summary (file, row, column, reason).
  virtual std::shared_ptr<Examples> read(const std::string& path, bool labelled) const = 0;
  /// Inputs given in memory (predict TEXT..., serve): each a string or an object of the task's
  /// input fields ({"text", "text_pair"}). @throws textune::DataError naming the input.
  virtual std::shared_ptr<Examples> from_inputs(const std::vector<core::Json>& inputs) const = 0;
  /// Reads `path` for a preview (`textune data`): labels when the file has them (or must have them,
  /// as the task's options say), none otherwise. Default: read(path, false).
  virtual std::shared_ptr<Examples> preview(const std::string& path) const { return read(path, false); }
  /// Tokenizes and windows every example. @throws textune::DataError as Tokenizer::encode_batch.
  virtual Features featurize(const Examples& examples, const tokenizers::Tokenizer& tokenizer,
                             const FeatureOptions& options) const = 0;
  /// Pads features `rows` into one batch (data::collate), labels included when the examples have
  /// them. `generator`: the random source of random collators (MLM masking); others ignore it.
  virtual Batch collate(const Examples& examples, const Features& features, const std::vector<size_t>& rows,
                        const data::CollateOptions& options, torch::Generator& generator) const = 0;

  // ---- model ----
  /// Loads `setup.model_dir` with this task's head for the training labels (kept when the checkpoint
  /// already has them, else created and initialised as transformers does). May renumber the
  /// examples' label ids to the checkpoint's. Binds the task to the model.
  virtual models::PreTrainedModel prepare_model(const ModelSetup& setup, Examples& train, Examples* eval) = 0;
  /// Binds the task to a fine-tuned model (eval, predict, serve): takes its labels.
  /// @throws textune::DataError when the model has another head than the task needs.
  virtual void bind_model(const models::PreTrainedModel& model) = 0;
  /// Prepares the training loss from the training examples (class weights ...) on `device`.
  /// @throws textune::UsageError / DataError for options that do not fit the task or the data.
  virtual void prepare_loss(const Examples& train, const TrainingLoss& options, const torch::Device& device) {}
  /// The training loss of a batch; default: the model's own loss (outputs.loss).
  virtual torch::Tensor loss(const Batch& batch, const models::ModelOutputs& outputs) const { return outputs.loss; }

  // ---- outputs ----
  /// A streaming evaluator over `examples`/`features` (labelled).
  virtual std::unique_ptr<Evaluator> evaluator(const Examples& examples, const Features& features) const = 0;
  /// A streaming predictor that turns outputs into one record per example.
  virtual std::unique_ptr<Predictor> predictor(const Examples& examples, const Features& features) const = 0;
  /// The scalar metric names the evaluator reports (without "eval_"), e.g. {"accuracy", "f1"}.
  virtual std::vector<std::string> metric_names() const = 0;
  /// The metric to plot beside the training loss and to pick the best model by default ("accuracy").
  virtual std::string main_metric() const = 0;
  /// Writes the report's plots (confusion matrix, per-type bars) as PNG files named from `base`
  /// (a path without extension); returns the paths written.
  virtual std::vector<std::string> write_plots(const EvalReport& report, const std::string& base) const { return {}; }
  /// The file names write_plots may write after `base` ({"confusion_matrix.png"}): a training run
  /// drops those an earlier run left in its output directory.
  virtual std::vector<std::string> plot_names() const { return {}; }
  /// The HTTP answer for one record of Predictor::finish (TEI's classification shape for text
  /// classification). @throws std::runtime_error for a record it cannot answer.
  virtual core::Json response(const core::Json& record, const ResponseOptions& options) const { return record; }
  /// What `/info` says of the task besides its name (labels, problem_type...).
  virtual core::Json info() const { return core::Json::object(); }

  // ---- predictions written to files (`textune predict`, train::predict_file) ----
  /// The object `textune predict` writes as one JSON line for example `i` and its record (from
  /// Predictor::finish). Default (src/tasks/prediction_output.cpp): the example's fields
  /// (example_json(i) without "label"), then the record's.
  virtual core::Json prediction_json(const Examples& examples, size_t i, const core::Json& record) const;
  /// The table `textune predict --output X.csv` writes: the header row, then one row per record.
  /// Cells are JSON scalars: the writer quotes strings as RFC 4180 and prints numbers with "%.6g".
  /// Default: the columns of prediction_json's scalar fields (strings, numbers, booleans) for the
  /// first record; a record without a column gets an empty cell.
  virtual std::vector<std::vector<core::Json>> prediction_table(const Examples& examples,
                                                                const std::vector<core::Json>& records) const;
};

}  // namespace textune::tasks
