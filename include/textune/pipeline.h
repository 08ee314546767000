// The high-level C++ API: load a fine-tuned model with its task and tokenizer, and predict.
//
// Implemented in src/train/pipeline.cpp on the task interface (include/textune/tasks/task.h): the
// model directory names its task (textune_task.json, else the task of its head), and every task
// predicts through the same inference loop (train::run_inference). Used by `textune predict`,
// `textune serve` and applications.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "textune/core/json.h"

namespace textune {

/// Options of Pipeline::load.
struct PipelineOptions {
  std::string device = "cpu";        ///< "cpu", "cuda", "cuda:1"
  size_t batch_size = 32;            ///< texts per forward pass inside predict()
  std::optional<size_t> max_length;  ///< default: the model's maximum
  bool truncate = true;              ///< false: a text longer than max_length is an error
};

/// One prediction of a sequence classifier.
struct Prediction {
  std::string label;  ///< the top label (multi-label: the top one; see `labels`)
  double score = 0;   ///< its probability (softmax; sigmoid for multi-label; the value for regression)
  std::vector<std::pair<std::string, double>> scores;  ///< every label with its probability, in id order
  std::vector<float> logits;                           ///< raw scores, in id order
  std::vector<std::string> labels;                     ///< multi-label: every label whose probability >= threshold
  bool truncated = false;                              ///< the input was cut to max_length
};

/// One entity found by a token classifier, as transformers' TokenClassificationPipeline gives it
/// (pipelines/token_classification.py) and the Hugging Face Inference API answers it.
struct Entity {
  std::string entity_group;  ///< the entity type ("PER"); with aggregation "none" the token's label ("B-PER")
  double score = 0;          ///< softmax probability (aggregated over the entity's tokens as the strategy says)
  std::string word;          ///< the entity's text as the tokenizer decodes its tokens
  size_t start = 0;          ///< first code point in the input text (a Python string index)
  size_t end = 0;            ///< one past the last code point (end exclusive)
};

/// One answer of an extractive question-answering model, as transformers' QuestionAnsweringPipeline
/// gives it (pipelines/question_answering.py) and the Hugging Face Inference API answers it.
struct Answer {
  std::string answer;  ///< the context's text from start to end
  double score = 0;    ///< the start probability times the end probability (softmax over the context)
  size_t start = 0;    ///< first code point in the context (a Python string index)
  size_t end = 0;      ///< one past the last code point (end exclusive)
};

/// A fine-tuned model with its task and tokenizer, ready to predict.
/// Thread-safe: `predict` and `predict_records` may be called from many threads at once.
class Pipeline {
 public:
  /// Loads a model directory written by `textune train` or `save_pretrained`: the model, its task
  /// (tasks::task_for_model: textune_task.json, else the task of the model's head) bound to it, the
  /// tokenizer and the maximum length (tasks::resolve_max_length).
  /// @throws textune::DataError when the directory has no model, no task for its head or no tokenizer;
  ///         textune::UsageError for a device this build or machine cannot use (core::parse_device).
  static std::shared_ptr<Pipeline> load(const std::string& model_dir, const PipelineOptions& options = {});
  virtual ~Pipeline() = default;

  /// Predicts single texts with a text classifier (the records of predict_records as Prediction).
  /// @throws textune::DataError for a too-long text when truncate is false;
  ///         textune::UsageError when the model's task is not text classification (use predict_records).
  virtual std::vector<Prediction> predict(const std::vector<std::string>& texts) const = 0;
  /// Predicts text pairs (as predict(texts)).
  virtual std::vector<Prediction> predict(const std::vector<std::pair<std::string, std::string>>& pairs) const = 0;

  /// The entities of raw texts, for a token classifier ("token-classification"): one list per text,
  /// in text order, entities by start, as the model's aggregation_strategy (textune_task.json; default
  /// "simple") groups them. Long texts are predicted in stride windows, merged.
  /// @throws textune::UsageError when the model's task is not token classification;
  ///         textune::DataError for an input the task refuses.
  virtual std::vector<std::vector<Entity>> entities(const std::vector<std::string>& texts) const;

  /// The answers of questions about contexts (pairs of question and context), for an extractive
  /// question-answering model ("question-answering"): one list per question, best first, of the
  /// model's top_k answers (textune_task.json; default 1), as its max_answer_len and
  /// handle_impossible_answer say (an impossible answer is {"", score, 0, 0}). Long contexts are
  /// predicted in doc_stride windows.
  /// @throws textune::UsageError when the model's task is not question answering;
  ///         textune::DataError for an empty question or context, or a context over max_windows windows.
  virtual std::vector<std::vector<Answer>> answers(
      const std::vector<std::pair<std::string, std::string>>& questions_and_contexts) const;

  /// The task's registry name ("text-classification"; tasks/registry.h).
  virtual std::string task() const { return "text-classification"; }
  /// Predicts any task: `inputs` are strings or objects of the task's input fields ({"text",
  /// "text_pair"} for text classification); one record per input, in input order, shaped by the task
  /// (tasks::Predictor; text classification: {"label", "score", "scores", "logits", ...}).
  /// @throws textune::DataError for an input the task refuses (empty text...) or, when truncate is
  ///         false, one longer than max_length ("input N is longer than M tokens (truncation is off)");
  ///         textune::UsageError from the default implementation (a pipeline without a task).
  virtual std::vector<core::Json> predict_records(const std::vector<core::Json>& inputs) const;
  /// The HTTP answer for one record of predict_records (tasks::Task::response; TEI's shape for text
  /// classification; `raw_scores`: the logits instead of probabilities).
  /// @throws tasks::ResponseError (a std::runtime_error) for a record the task cannot answer (a NaN score).
  virtual core::Json response(const core::Json& record, bool raw_scores) const;
  /// Checks one input as predict_records reads it, without predicting (serve answers 422 for that
  /// request alone instead of failing its whole batch). Default: nothing.
  /// @throws textune::DataError naming what is wrong (an empty text, a field of the wrong type...).
  virtual void check_input(const core::Json& input) const;
  /// Whether serve reads `{"inputs": ["a", "b"]}` as a batch of two inputs and `{"inputs": {...}}` as
  /// one input of the task's fields (tasks::Task::inputs_list_is_batch), rather than as TEI's text
  /// pair (the default: false).
  virtual bool list_is_batch() const { return false; }
  /// Whether the task predicts inputs longer than max_length in windows (tasks::Task::
  /// windows_long_inputs) rather than cutting them: serve then refuses no input for its length.
  virtual bool windows_long_inputs() const { return false; }

  /// What one input costs a batch of the inference loop: the features (windows) it becomes and their
  /// tokens, special tokens included, unpadded.
  struct InputCost {
    size_t features = 1;
    size_t tokens = 0;
  };
  /// The features and tokens of one input as predict_records would featurize it (the task's
  /// from_inputs and featurize at max_length), for serve's batch budget: a windowed task
  /// (windows_long_inputs: question answering's doc_stride windows, token classification's stride
  /// windows) counts every window. nullopt when the task does not window (the caller counts the
  /// input's tokens itself, one feature; the default).
  /// @throws textune::DataError for an input the task refuses (as check_input), or one over the
  ///         task's window limit (question answering's max_windows).
  virtual std::optional<InputCost> input_cost(const core::Json& input) const { return std::nullopt; }
  /// What /info says of the task besides its name (tasks::Task::info: labels, problem_type...).
  virtual core::Json info() const;

  /// Labels in id order.
  virtual const std::vector<std::string>& labels() const = 0;
  /// Maximum input length in tokens.
  virtual size_t max_length() const = 0;
  /// "single_label_classification", "multi_label_classification" or "regression".
  virtual std::string problem_type() const = 0;
};

}  // namespace textune
