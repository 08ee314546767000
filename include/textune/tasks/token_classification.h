// The token-classification task ("token-classification", alias "ner"): one tag per word with a
// ...ForTokenClassification head. Training and evaluation as transformers'
// examples/pytorch/token-classification/run_ner.py (pre-split words, the first subtoken of a word
// labelled, the others -100 or, with label_all_tokens, the word's label with B- turned into I-;
// seqeval metrics); prediction on raw text as transformers' pipelines/token_classification.py
// (TokenClassificationPipeline: aggregation_strategy none/simple/first/average/max, stride windows
// merged, character offsets into the text).
//
// NOTE: interface pinned by the lead so that the task, the aggregation, serve and the CLI can be
// written in parallel. Implementation: src/tasks/token_classification/.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "textune/core/json.h"
#include "textune/data/ner.h"
#include "textune/eval/seqeval.h"
#include "textune/tasks/task.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tasks {

/// The registry name of the task (transformers' pipeline task name).
inline constexpr const char* kTokenClassification = "token-classification";

// ---------------------------------------------------------------------------------------------
// Aggregation of token predictions into entities (pipelines/token_classification.py).
// Implementation: src/tasks/token_classification/aggregation.cpp.

/// transformers' AggregationStrategy.
enum class AggregationStrategy { kNone, kSimple, kFirst, kAverage, kMax };
/// "none", "simple", "first", "average" or "max".
std::string aggregation_strategy_name(AggregationStrategy strategy);
/// The inverse of aggregation_strategy_name. @throws textune::UsageError for another name, listing them.
AggregationStrategy parse_aggregation_strategy(const std::string& name);

/// One token of one window, as gather_pre_entities makes it (a "pre-entity").
struct PreEntity {
  std::string word;            ///< the token (id_to_token), or the text it covers for the unknown token
  std::vector<float> scores;   ///< (C) softmax probabilities of the labels, in id order
  size_t start = 0, end = 0;   ///< code points into the text, end exclusive (Python string indices)
  int64_t index = 0;           ///< the token's position in its window (special tokens counted)
  bool is_subword = false;     ///< continues the previous token's word
};

/// gather_pre_entities: the pre-entities of one window (special tokens skipped). `text` is the UTF-8
/// input; `encoding` its window (offsets into `text` in code points); `probabilities` (T, C) float32
/// softmax of the window's logits (T = encoding.size(), padding excluded). is_subword as the
/// pipeline decides it: with a continuing_subword_prefix, whether the token's text differs in length
/// from the text its offsets cover; else (byte-level BPE, SentencePiece) whether the token starts
/// inside a word (start > 0 and no space in text[start-1 : start+1]); the unknown token never.
/// @throws textune::DataError when `probabilities` does not have encoding.size() rows.
std::vector<PreEntity> gather_pre_entities(const std::string& text, const tokenizers::Encoding& encoding,
                                           const torch::Tensor& probabilities, const tokenizers::Tokenizer& tokenizer,
                                           AggregationStrategy strategy);

/// aggregate + filter of the pipeline: the entities of pre-entities (in order of their start).
/// kNone: one {"entity", "score", "index", "word", "start", "end"} per token whose label is not ignored.
/// Others: words made of tokens (first/average/max; simple keeps tokens), grouped by
/// group_entities/group_sub_entities into {"entity_group", "score", "word", "start", "end"};
/// "word" is tokenizer.convert_tokens_to_string of the tokens. Entities whose label or group is in
/// `ignore_labels` are dropped (default {"O"}).
std::vector<core::Json> aggregate_entities(const std::vector<PreEntity>& pre_entities,
                                           const std::vector<std::string>& labels, AggregationStrategy strategy,
                                           const tokenizers::Tokenizer& tokenizer,
                                           const std::vector<std::string>& ignore_labels = {"O"});

/// aggregate_overlapping_entities of the pipeline (stride windows): of entities that overlap, the
/// longest is kept (then the highest score). Input in any order; output sorted by start.
std::vector<core::Json> merge_overlapping_entities(std::vector<core::Json> entities);

// ---------------------------------------------------------------------------------------------
// The task.

/// The task's options (declare_options: the command line, --config and textune_task.json). The file
/// options are the generic data::DataOptions (--format conll|msra|json|jsonl|xlsx|tsv as DataOptions::
/// layout / read.format, --label-names, --skip-invalid, --sheet, --encoding), given to configure_data.
struct TokenClassificationOptions {
  std::optional<int64_t> tag_column;  ///< "tag_column": CoNLL column of the tag (0-based; default: last)
  std::string tokens_column;          ///< "tokens_column": JSON/MSRA/xlsx column of the words
  std::string tags_column;            ///< "tags_column": JSON/MSRA/xlsx column of the tags
  std::string tag_scheme;             ///< "tag_scheme": IOB1|IOB2|IOE1|IOE2|IOBES|BILOU; "" detect
  /// "stride": tokens of overlap between the windows of a sentence longer than max_length. Training
  /// windows long sentences only when it is set (otherwise they are truncated, with a warning that
  /// gives the count); evaluation and prediction always window (default overlap: max_length / 4).
  std::optional<int64_t> stride;
  bool label_all_tokens = false;              ///< "label_all_tokens" (run_ner.py)
  std::string aggregation_strategy = "simple";  ///< "aggregation_strategy" of predict and serve
  std::string seqeval_mode = "default";       ///< "seqeval_mode": default | strict (evaluation)
  std::string seqeval_scheme;                 ///< "seqeval_scheme": strict mode's scheme (default: the data's)
};

/// The examples of the task: pre-split sentences (a NER file, or {"tokens": [...]} inputs) or raw
/// texts (predict and serve inputs given as strings or {"text": ...}).
class TokenClassificationExamples : public Examples {
 public:
  TokenClassificationExamples(data::NerDataset dataset, bool labelled);
  /// Raw texts (no tags), `source` "<inputs>" or the file.
  TokenClassificationExamples(std::vector<std::string> texts, std::string source);

  size_t size() const override;
  bool has_labels() const override { return labelled_; }
  const std::string& source() const override { return dataset_.source; }
  const data::ValidationReport& report() const override { return dataset_.report; }
  /// {"tokens": [...], "tags": [...]} for a sentence (tags when labelled), {"text": ...} for a text.
  core::Json example_json(size_t i) const override;
  /// The format, the scheme (detected or given), sentences/words read and skipped, tag counts.
  std::vector<std::string> summary() const override;

  bool is_raw_text() const { return raw_; }
  const data::NerDataset& dataset() const { return dataset_; }
  data::NerDataset& mutable_dataset() { return dataset_; }
  const std::vector<std::string>& texts() const { return texts_; }
  /// Label id per word of each sentence (filled when labelled and bound to a label list).
  std::vector<std::vector<int64_t>> label_ids;

 private:
  data::NerDataset dataset_;
  std::vector<std::string> texts_;
  bool labelled_ = false;
  bool raw_ = false;
};

/// The token-classification task.
class TokenClassificationTask : public Task {
 public:
  TokenClassificationTask() = default;

  std::string name() const override { return kTokenClassification; }
  models::TaskKind model_kind() const override { return models::TaskKind::kTokenClassification; }
  bool inputs_list_is_batch() const override { return true; }
  bool windows_long_inputs() const override { return true; }

  void declare_options(core::OptionTable& table) override;
  /// The options eval/predict/serve need as defaults: tag_column, tokens/tags columns, tag_scheme,
  /// the layout (--format), stride, aggregation_strategy, seqeval_mode/scheme, the scheme training found.
  core::Json saved_options() const override;
  void restore_options(const core::Json& saved, const std::string& source) override;

  void configure_data(const data::DataOptions& options) override;
  std::shared_ptr<Examples> read(const std::string& path, bool labelled) const override;
  /// Strings and {"text": s} are raw texts; {"tokens": [...]} pre-split words (a list of non-empty
  /// strings). The two kinds may not be mixed in one call. @throws textune::DataError naming the input.
  std::shared_ptr<Examples> from_inputs(const std::vector<core::Json>& inputs) const override;
  /// The file with its tags when it has a tag column (checked against the scheme), without otherwise.
  std::shared_ptr<Examples> preview(const std::string& path) const override;
  /// Sentences: encode_words (with_prefix_space for byte-level BPE), windows as TokenClassificationOptions::stride
  /// says; raw texts: encode with return_overflowing_tokens and the stride.
  Features featurize(const Examples& examples, const tokenizers::Tokenizer& tokenizer,
                     const FeatureOptions& options) const override;
  /// labels (B, T) int64: the word's label id on the first subtoken, -100 or (label_all_tokens) the
  /// b_to_i_label id on the others, -100 on special tokens and padding.
  Batch collate(const Examples& examples, const Features& features, const std::vector<size_t>& rows,
                const data::CollateOptions& options, torch::Generator& generator) const override;

  models::PreTrainedModel prepare_model(const ModelSetup& setup, Examples& train, Examples* eval) override;
  /// @throws textune::DataError "the model is a X, not a token classifier" for another head.
  void bind_model(const models::PreTrainedModel& model) override;

  /// Word-level seqeval (each word's tag from its first subtoken, from the window where the word has
  /// the most context): scalars {"precision", "recall", "f1", "accuracy"} (run_ner.py's
  /// compute_metrics); report: seqeval_json plus "report_text" and "entity_confusion".
  std::unique_ptr<Evaluator> evaluator(const Examples& examples, const Features& features) const override;
  /// Sentences: {"tags", "scores", "entities"}: each word's tag and its probability (from its first
  /// subtoken, in the window where it has the most context; "O" and 0 for a word no token stands for),
  /// and seqeval's chunks of the tags as {"entity_group", "score" (the words' mean), "word" (the words
  /// joined by spaces), "start", "end"} with start/end WORD indices (end exclusive). Raw texts:
  /// {"entities": [...]} as the pipeline's aggregation_strategy gives them (start/end code points),
  /// windows merged. The tokenizer given to featurize must outlive the predictor (raw texts).
  std::unique_ptr<Predictor> predictor(const Examples& examples, const Features& features) const override;
  std::vector<std::string> metric_names() const override { return {"precision", "recall", "f1", "accuracy"}; }
  std::string main_metric() const override { return "f1"; }
  /// per-type F1 bars and the entity confusion matrix (eval::plot_seqeval).
  std::vector<std::string> write_plots(const EvalReport& report, const std::string& base) const override;
  std::vector<std::string> plot_names() const override { return {"entity_f1.png", "entity_confusion_matrix.png"}; }
  /// The Inference API's answer: the record's entity list.
  core::Json response(const core::Json& record, const ResponseOptions& options) const override;
  /// {"labels": [...], "id2label", "label2id", "tag_scheme", "aggregation_strategy"}.
  core::Json info() const override;

  /// Sentences: {"tokens", "tags", "scores", "entities"} (the predicted tags); raw texts: {"text", "entities"}.
  core::Json prediction_json(const Examples& examples, size_t i, const core::Json& record) const override;
  /// One row per example: text (the words joined by spaces for a sentence), tags (space-separated,
  /// sentences only) and entities (their JSON list as a string).
  std::vector<std::vector<core::Json>> prediction_table(const Examples& examples,
                                                        const std::vector<core::Json>& records) const override;

  const TokenClassificationOptions& options() const { return options_; }
  /// The labels in id order (the model's once bound; the training file's after the first labelled read).
  const std::vector<std::string>& labels() const { return labels_; }

 private:
  TokenClassificationOptions options_;
  data::DataOptions data_;
  mutable std::vector<std::string> labels_;
  mutable std::optional<data::TagScheme> scheme_;  // training's scheme
  bool bound_ = false;

  data::NerReadOptions read_options(bool labelled) const;
  // Fills examples.label_ids from the tags and labels_ (empty when unlabelled).
  void set_label_ids(TokenClassificationExamples& examples) const;
};

/// The sentences of token-classification examples. @throws textune::UsageError for examples of another task.
const TokenClassificationExamples& token_examples(const Examples& examples);
TokenClassificationExamples& token_examples(Examples& examples);

}  // namespace textune::tasks
