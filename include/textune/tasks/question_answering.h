// The extractive question-answering task ("question-answering", aliases "qa", "question_answering"):
// the answer span of a question in a context, with a ...ForQuestionAnswering head.
// - Features and training as transformers' examples/pytorch/question-answering/run_qa.py
//   (prepare_train_features / prepare_validation_features: question first, only_second truncation,
//   max_seq_length 384, doc_stride 128, overflowing windows; start/end_positions the answer's token
//   span, the CLS index for a window without it and for unanswerable questions).
// - Evaluation post-processing as utils_qa.py's postprocess_qa_predictions (n_best_size,
//   max_answer_length, null_score_diff_threshold; predictions.json, nbest_predictions.json,
//   null_odds.json) and the metric of the data: squad, squad_v2 or cmrc2018 (eval/squad.h).
// - Prediction as transformers' pipelines/question_answering.py (QuestionAnsweringPipeline:
//   {answer, score, start, end} with top_k, handle_impossible_answer, max_answer_len, align_to_words).
//
// NOTE: interface pinned by the lead so that features, post-processing, the task, serve and the CLI
// can be written in parallel. Implementation: src/tasks/question_answering/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "textune/core/json.h"
#include "textune/data/qa.h"
#include "textune/tasks/task.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tasks {

/// The registry name of the task (transformers' pipeline task name).
inline constexpr const char* kQuestionAnswering = "question-answering";

// ---------------------------------------------------------------------------------------------
// Windows (src/tasks/question_answering/features.cpp).

/// How questions and contexts are cut into windows.
struct QaWindowOptions {
  size_t max_length = 384;  ///< tokens per window, special tokens included (run_qa's max_seq_length)
  size_t doc_stride = 128;  ///< tokens of overlap between a context's windows (run_qa's doc_stride)
  /// tokenizer.padding_side == "right" (run_qa's pad_on_right): the question first and only_second
  /// truncation; false: the context first and only_first truncation.
  bool pad_on_right = true;
  /// An example whose context needs more windows than this is refused (textune::DataError naming the
  /// question id); 0: no limit.
  size_t max_windows = 50;
  /// TruncationOptions::early_exit. false (default): the windows cover the whole context, as run_qa.py
  /// means and tokenizers <= 0.22.2 gives. true: tokenizers 0.23.1/0.23.2's early exit (PR #1990),
  /// whose overflow windows stop after the first max_length tokens of the context
  /// (huggingface/tokenizers issue #2091, fix pending in PR #2098); the tokenizer fixtures' qa_windows
  /// rows were made with 0.23.2, so true reproduces them exactly.
  bool early_exit = false;
};

/// One window of one example, with what post-processing needs.
struct QaWindow {
  tokenizers::Encoding encoding;  ///< the window (special tokens included, not padded; no overflowing)
  size_t example_index = 0;       ///< the example it came from
  /// Per token: the code-point span [begin, end) in the context for context tokens, nullopt for the
  /// question's tokens and special tokens (utils_qa sets their offset_mapping to None).
  std::vector<std::optional<std::pair<size_t, size_t>>> context_offsets;
  size_t cls_index = 0;  ///< the CLS token's index (input_ids.index(cls_token_id); 0 when none)
  /// Training labels (run_qa's prepare_train_features): the answer's first and last token, or
  /// cls_index both when the window does not hold the whole answer or the question is unanswerable.
  /// -1 when the example has no answers (prediction).
  int64_t start_position = -1, end_position = -1;
};

/// run_qa's prepare_train_features (training: answers to positions, the first answer of each
/// question) and prepare_validation_features (the same windows, with context_offsets) for
/// `examples` (in order). Encodes in parallel (Tokenizer::encode_batch with return_overflowing_tokens,
/// stride doc_stride, truncation only_second or only_first, QaWindowOptions::early_exit). The question is
/// left-stripped, as run_qa does (`examples["question"].lstrip()`).
/// @throws textune::UsageError when doc_stride leaves no room (doc_stride >= max_length minus the
///         question's tokens minus the special tokens: "--doc_stride 128 leaves no room for the context
///         with --max_seq_length 64 and the question "..." of N tokens"; the reference panics there);
///         textune::DataError naming the question id when its context needs more than max_windows
///         windows, or when the question alone fills max_length.
std::vector<QaWindow> qa_windows(const std::vector<data::QaExample>& examples, const tokenizers::Tokenizer& tokenizer,
                                 const QaWindowOptions& options);

// ---------------------------------------------------------------------------------------------
// Post-processing (src/tasks/question_answering/postprocess.cpp).

/// utils_qa.py's postprocess_qa_predictions options (its defaults).
struct QaPostprocessOptions {
  size_t n_best_size = 20;
  size_t max_answer_length = 30;  ///< in tokens, end - start + 1
  bool version_2_with_negative = false;
  double null_score_diff_threshold = 0.0;
};

/// One entry of nbest_predictions.json.
struct QaNbestEntry {
  std::string text;        ///< context[offsets] ("" for the null answer, "empty" when nothing was valid)
  double probability = 0;  ///< softmax over the n-best scores
  double start_logit = 0, end_logit = 0;
  size_t start = 0, end = 0;  ///< code points into the context (offsets; 0,0 for the null answer)
};

/// The post-processed predictions of every example, in example order.
struct QaPostprocessResult {
  std::vector<std::string> predictions;          ///< the answer text ("" for a null answer, v2.0)
  std::vector<std::vector<QaNbestEntry>> nbest;  ///< the n-best list, best first
  std::vector<double> null_odds;                 ///< v2.0: score_null - best non-null score; else empty
};

/// postprocess_qa_predictions of utils_qa.py: for every example, over all its windows, the
/// n_best_size best start and end indices (np.argsort(...)[-1 : -n_best_size - 1 : -1]), pairs
/// dropped when outside the context (no context_offsets), end < start or longer than
/// max_answer_length; the min null score (start_logits[cls] + end_logits[cls]) over the windows;
/// the best n_best_size kept, probabilities by softmax; v2.0: "" when the null score beats the best
/// by more than null_score_diff_threshold. `start_logits[f]` and `end_logits[f]` are window f's
/// logits (length >= windows[f].encoding.size(); logits past the window's tokens are padding: as in
/// run_qa's padded features they take part in the argsort and spans on them are dropped). `contexts[e]`
/// is example e's context. Scores are float32 sums and the softmax float32 as numpy computes them
/// (float64 with the "empty" fallback); equal logits rank the later index first (a stable argsort,
/// which np.argsort is on up to 16 values). Source: src/tasks/question_answering/postprocess.cpp.
/// @throws textune::DataError when the logits do not fit the windows (fewer than the window's tokens,
///         NaN, another number of rows than windows) or a window names no example.
QaPostprocessResult postprocess_qa_predictions(const std::vector<std::string>& contexts,
                                               const std::vector<QaWindow>& windows,
                                               const std::vector<std::vector<float>>& start_logits,
                                               const std::vector<std::vector<float>>& end_logits,
                                               const QaPostprocessOptions& options);

/// predictions.json ({id: text}), nbest_predictions.json ({id: [{"start_logit", "end_logit", "text",
/// "probability"}, ...]}) and, v2.0, null_odds.json ({id: diff}), as run_qa.py writes them
/// (json.dumps(indent=4), key order as the examples'): name -> content. `prefix`: "eval" gives
/// "eval_predictions.json" ... (utils_qa's prefix); "" the plain names.
std::vector<std::pair<std::string, core::Json>> qa_prediction_files(const std::vector<std::string>& ids,
                                                                    const QaPostprocessResult& result,
                                                                    bool version_2_with_negative,
                                                                    const std::string& prefix = "");

/// QuestionAnsweringPipeline's options (pipelines/question_answering.py), its defaults.
struct QaPipelineOptions {
  size_t top_k = 1;
  size_t max_answer_len = 15;
  bool handle_impossible_answer = false;
  bool align_to_words = true;
};

/// One answer of the pipeline.
struct QaAnswerSpan {
  std::string answer;         ///< the context's text between start and end
  double score = 0;           ///< the product of the start and end probabilities
  size_t start = 0, end = 0;  ///< code points into the context (Python string indices, end exclusive)
};

/// QuestionAnsweringPipeline.postprocess for one example over its windows: per window, logits of
/// tokens outside the context (p_mask) and padding set to -10000, softmax, the null score
/// start[cls]*end[cls] (handle_impossible_answer), decode_spans (the top_k (start, end) pairs of the
/// outer product within max_answer_len, end >= start), character offsets (align_to_words: widened to
/// whole words through the encoding's word_ids); answers of all windows sorted by score, the top_k
/// kept; with handle_impossible_answer the null answer {"", min_null_score, 0, 0} joins them.
/// Equal answers ignoring case (str.lower()) merge, their scores added (the pipeline's get_answer).
/// `windows`: the example's windows; logits as postprocess_qa_predictions' (the softmax runs over
/// every logit given, padding masked, as over the reference's padded row). Equal span scores rank by
/// (start, end) ascending (np.argmax's order; np.argpartition's is unspecified).
/// @throws textune::DataError when the logits do not fit the windows; textune::UsageError for top_k
///         or max_answer_len 0.
std::vector<QaAnswerSpan> pipeline_answers(const std::string& context, const std::vector<const QaWindow*>& windows,
                                           const std::vector<const std::vector<float>*>& start_logits,
                                           const std::vector<const std::vector<float>*>& end_logits,
                                           const QaPipelineOptions& options);

// ---------------------------------------------------------------------------------------------
// The task.

/// The task's options (declare_options: the command line, --config and textune_task.json), named as
/// run_qa.py's arguments and the pipeline's parameters. Columns and file options come from the
/// generic data::DataOptions (--format, --skip-invalid, --sheet, --encoding) and these column names.
struct QuestionAnsweringOptions {
  std::string question_column;     ///< "question_column_name" (run_qa), default "question"
  std::string context_column;      ///< "context_column_name", default "context"
  std::string answers_column;      ///< "answer_column_name", default "answers"
  std::string id_column;           ///< "id_column", default "id"
  int64_t doc_stride = 128;        ///< "doc_stride"
  int64_t n_best_size = 20;        ///< "n_best_size" (evaluation)
  int64_t max_answer_length = 30;  ///< "max_answer_length" (evaluation), in tokens
  /// "version_2_with_negative": unanswerable questions exist (null answers, squad_v2). nullopt: from
  /// the training data (some question unanswerable), saved with the model.
  std::optional<bool> version_2_with_negative;
  double null_score_diff_threshold = 0.0;  ///< "null_score_diff_threshold"
  /// "metric": "squad", "squad_v2" or "cmrc2018"; "" chooses: cmrc2018 when most of the evaluation
  /// contexts' letters are CJK, else squad_v2 with version_2_with_negative, else squad. Saved.
  std::string metric;
  int64_t top_k = 1;                      ///< "top_k" (predict, serve: the pipeline's)
  int64_t max_answer_len = 15;            ///< "max_answer_len" (predict, serve: the pipeline's)
  bool handle_impossible_answer = false;  ///< "handle_impossible_answer" (predict, serve)
  int64_t max_windows = 50;               ///< "max_windows": windows per context at most (0: no limit)
};

/// The examples of the task: questions with their contexts (and answers when labelled).
class QuestionAnsweringExamples : public Examples {
 public:
  QuestionAnsweringExamples(data::QaDataset dataset, bool labelled);

  size_t size() const override { return dataset_.size(); }
  bool has_labels() const override { return labelled_; }
  const std::string& source() const override { return dataset_.source; }
  const data::ValidationReport& report() const override { return dataset_.report; }
  /// {"id", "question", "context"} and, labelled, "answers": {"text": [...], "answer_start": [...]}
  /// (the `datasets` row).
  core::Json example_json(size_t i) const override;
  /// The format, questions read/skipped, answerable/unanswerable counts, misaligned answers,
  /// context length (code points: min/mean/max).
  std::vector<std::string> summary() const override;

  const data::QaDataset& dataset() const { return dataset_; }

 private:
  data::QaDataset dataset_;
  bool labelled_ = false;
};

/// The question-answering task.
class QuestionAnsweringTask : public Task {
 public:
  std::string name() const override { return kQuestionAnswering; }
  models::TaskKind model_kind() const override { return models::TaskKind::kQuestionAnswering; }
  /// 384, run_qa.py's max_seq_length.
  std::optional<size_t> default_max_length() const override { return 384; }
  bool inputs_list_is_batch() const override { return true; }
  bool windows_long_inputs() const override { return true; }

  void declare_options(core::OptionTable& table) override;
  /// Columns, doc_stride, n_best_size, max_answer_length, version_2_with_negative (as resolved in
  /// training), null_score_diff_threshold, metric, top_k, max_answer_len, handle_impossible_answer,
  /// max_windows.
  core::Json saved_options() const override;
  void restore_options(const core::Json& saved, const std::string& source) override;

  void configure_data(const data::DataOptions& options) override;
  /// data::read_qa. labelled: every question must have answers or be unanswerable.
  std::shared_ptr<Examples> read(const std::string& path, bool labelled) const override;
  /// {"question", "context"} objects (data::qa_from_inputs).
  std::shared_ptr<Examples> from_inputs(const std::vector<core::Json>& inputs) const override;
  /// `textune data`: read_qa without requiring answers; the answers are shown when every question
  /// has them (or is unanswerable).
  std::shared_ptr<Examples> preview(const std::string& path) const override;
  /// qa_windows with the tokenizer's padding side; FeatureData holds the QaWindows.
  Features featurize(const Examples& examples, const tokenizers::Tokenizer& tokenizer,
                     const FeatureOptions& options) const override;
  /// ModelInputs start_positions / end_positions (B) int64 when the examples are labelled.
  Batch collate(const Examples& examples, const Features& features, const std::vector<size_t>& rows,
                const data::CollateOptions& options, torch::Generator& generator) const override;

  /// Loads the checkpoint with a question-answering head (qa_outputs, 2 labels; newly initialised
  /// as transformers does when the checkpoint has none).
  models::PreTrainedModel prepare_model(const ModelSetup& setup, Examples& train, Examples* eval) override;
  /// @throws textune::DataError "the model is a X, not a question-answering model" for another head.
  void bind_model(const models::PreTrainedModel& model) override;

  /// postprocess_qa_predictions, then the metric (squad: {"exact_match", "f1"}; squad_v2: {"exact",
  /// "f1", "HasAns_...", "best_f1", ...} with null_odds as na_probs; cmrc2018: {"AVERAGE", "F1", "EM",
  /// "TOTAL", "SKIP"}): scalars "exact_match"/"f1" (squad, cmrc2018's EM/F1 under those names) or the
  /// v2.0 keys; report: {"metric", "results": the official JSON, "num_examples", "num_windows"};
  /// files: predictions.json, nbest_predictions.json, null_odds.json (qa_prediction_files).
  std::unique_ptr<Evaluator> evaluator(const Examples& examples, const Features& features) const override;
  /// The pipeline's answers (pipeline_answers): with top_k 1 the record is {"answer", "score",
  /// "start", "end"}; with top_k > 1 {"answers": [...]}.
  std::unique_ptr<Predictor> predictor(const Examples& examples, const Features& features) const override;
  std::vector<std::string> metric_names() const override;
  std::string main_metric() const override { return "f1"; }
  /// The Inference API's answer: {answer, score, start, end}, or the list with top_k > 1.
  core::Json response(const core::Json& record, const ResponseOptions& options) const override;
  /// {"doc_stride", "max_answer_len", "top_k", "handle_impossible_answer", "version_2_with_negative"}.
  core::Json info() const override;

  /// {"id", "question", "answer", "score", "start", "end"} (or "answers" with top_k > 1).
  core::Json prediction_json(const Examples& examples, size_t i, const core::Json& record) const override;

  const QuestionAnsweringOptions& options() const { return options_; }

 private:
  QuestionAnsweringOptions options_;
  data::DataOptions data_;
  bool bound_ = false;
  mutable std::optional<bool> detected_v2_;  // from the training data
  data::QaReadOptions read_options(bool labelled) const;
};

/// The questions of question-answering examples. @throws textune::UsageError for examples of another task.
const QuestionAnsweringExamples& qa_examples(const Examples& examples);

}  // namespace textune::tasks
