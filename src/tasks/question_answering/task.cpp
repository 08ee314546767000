// The question-answering task: options (run_qa.py's and the pipeline's names), features (qa_windows),
// batches with start/end positions, and binding to a ...ForQuestionAnswering model. As transformers'
// examples/pytorch/question-answering/run_qa.py. See include/textune/tasks/question_answering.h.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "task_data.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/data/batching.h"
#include "textune/tasks/question_answering.h"

namespace textune::tasks {

using question_answering::QaFeatureData;

namespace question_answering {
const QaFeatureData& feature_data(const Features& features) {
  const auto* d = dynamic_cast<const QaFeatureData*>(features.data.get());
  if (!d) throw UsageError(std::string(kQuestionAnswering) + ": features made by another task");
  return *d;
}
}  // namespace question_answering

namespace {

const std::vector<std::string> kMetrics = {"", "squad", "squad_v2", "cmrc2018"};

template <class T>
core::OptionSpec& add(core::OptionTable& table, const std::string& name, T* field, const std::string& help,
                      std::vector<std::string> aliases) {
  core::OptionSpec& spec = table.add(name, field, help);
  spec.aliases = std::move(aliases);
  spec.group = kQuestionAnswering;
  return spec;
}

}  // namespace

void QuestionAnsweringTask::declare_options(core::OptionTable& table) {
  add(table, "question_column_name", &options_.question_column,
      "The column (or JSON key) of the questions (default: question)", {"question-column", "question_column"});
  add(table, "context_column_name", &options_.context_column,
      "The column (or JSON key) of the contexts (default: context)", {"context-column", "context_column"});
  add(table, "answer_column_name", &options_.answers_column,
      "The column (or JSON key) of the answers, {\"text\": [...], \"answer_start\": [...]} (default: answers; "
      "tables may have answer_text and answer_start columns instead)",
      {"answer-column", "answers_column"});
  add(table, "id_column", &options_.id_column, "The column (or JSON key) of the question ids (default: id)",
      {"id-column"});
  add(table, "doc_stride", &options_.doc_stride,
      "Tokens shared by consecutive windows over a context longer than max_seq_length (run_qa.py's doc_stride)",
      {"doc-stride"})
      .cli_min = 0;
  add(table, "n_best_size", &options_.n_best_size,
      "Evaluation: the start and end logits considered per window, and the answers kept in "
      "nbest_predictions.json",
      {"n-best-size"})
      .cli_min = 1;
  add(table, "max_answer_length", &options_.max_answer_length,
      "Evaluation: the longest answer, in tokens (run_qa.py's max_answer_length)", {"max-answer-length"})
      .cli_min = 1;
  auto& v2 = add(table, "version_2_with_negative", &options_.version_2_with_negative,
                 "Some questions have no answer (SQuAD v2.0): null answers and the squad_v2 metric (default: "
                 "whether the training data has unanswerable questions)",
                 {"version-2-with-negative"});
  v2.flag = true;
  add(table, "null_score_diff_threshold", &options_.null_score_diff_threshold,
      "Version 2: predict no answer when the null score beats the best answer's score by more than this",
      {"null-score-diff-threshold"});
  auto& metric = add(table, "metric", &options_.metric,
                     "Evaluation metric: squad, squad_v2 or cmrc2018 (default: cmrc2018 for mostly Chinese "
                     "contexts, else squad_v2 with version_2_with_negative, else squad)",
                     {"qa-metric", "qa_metric"});
  metric.choices = kMetrics;
  add(table, "top_k", &options_.top_k, "Predict and serve: the answers per question (the pipeline's top_k)", {"top-k"})
      .cli_min = 1;
  add(table, "max_answer_len", &options_.max_answer_len,
      "Predict and serve: the longest answer, in tokens (the pipeline's max_answer_len)", {"max-answer-len"})
      .cli_min = 1;
  add(table, "handle_impossible_answer", &options_.handle_impossible_answer,
      "Predict and serve: the empty answer competes with the spans (the pipeline's handle_impossible_answer)",
      {"handle-impossible-answer"});
  add(table, "max_windows", &options_.max_windows,
      "The most windows one context may need; a longer context is refused, naming its question (0: no limit)",
      {"max-windows"})
      .cli_min = 0;
}

core::Json QuestionAnsweringTask::saved_options() const {
  core::OptionTable table(kQuestionAnswering);
  const_cast<QuestionAnsweringTask*>(this)->declare_options(table);  // reads the fields, changes nothing
  core::Json j = table.to_json();
  if (!options_.version_2_with_negative && detected_v2_) j["version_2_with_negative"] = *detected_v2_;
  return j;
}

void QuestionAnsweringTask::restore_options(const core::Json& saved, const std::string& source) {
  if (!saved.is_object()) throw DataError(source + ": \"options\" must be an object");
  core::OptionTable table(kQuestionAnswering);
  declare_options(table);
  for (auto it = saved.begin(); it != saved.end(); ++it)
    if (!table.find(it.key()))
      throw DataError(fmt::format("{}: unknown option \"{}\" of {}", source, it.key(), kQuestionAnswering));
  try {
    table.update_from_json(saved, source);
  } catch (const UsageError& e) {
    throw DataError(e.what());
  }
}

Features QuestionAnsweringTask::featurize(const Examples& examples, const tokenizers::Tokenizer& tokenizer,
                                          const FeatureOptions& options) const {
  const QuestionAnsweringExamples& ex = qa_examples(examples);
  if (options_.doc_stride < 0) throw UsageError(fmt::format("--doc_stride {}: must be >= 0", options_.doc_stride));
  if (options_.max_windows < 0) throw UsageError(fmt::format("--max_windows {}: must be >= 0", options_.max_windows));
  QaWindowOptions wo;
  wo.max_length = options.max_length;
  wo.doc_stride = static_cast<size_t>(options_.doc_stride);
  wo.pad_on_right = tokenizer.padding_side() == tokenizers::Side::kRight;
  wo.max_windows = static_cast<size_t>(options_.max_windows);
  auto data = std::make_shared<QaFeatureData>();
  try {
    data->windows = qa_windows(ex.dataset().examples, tokenizer, wo);
  } catch (const DataError& e) {
    throw DataError(ex.source() + ": " + e.what());  // the message names the question; this the file
  }
  data->by_example.resize(ex.size());
  Features f;
  f.encodings.reserve(data->windows.size());
  f.example_index.reserve(data->windows.size());
  for (size_t k = 0; k < data->windows.size(); ++k) {
    const QaWindow& w = data->windows[k];
    if (w.example_index >= ex.size())
      throw DataError(fmt::format("{}: window {} names example {} of {}", ex.source(), k, w.example_index, ex.size()));
    data->by_example[w.example_index].push_back(k);
    f.encodings.push_back(w.encoding);
    f.example_index.push_back(w.example_index);
  }
  f.truncated.assign(f.encodings.size(), 0);  // windows cover the whole context: nothing is cut
  f.data = std::move(data);
  return f;
}

Batch QuestionAnsweringTask::collate(const Examples& examples, const Features& features,
                                     const std::vector<size_t>& rows, const data::CollateOptions& options,
                                     torch::Generator&) const {
  const QuestionAnsweringExamples& ex = qa_examples(examples);
  data::Batch b = data::collate(features.encodings, rows, nullptr, options);
  Batch out;
  out.inputs.input_ids = std::move(b.input_ids);
  out.inputs.attention_mask = std::move(b.attention_mask);
  out.inputs.token_type_ids = std::move(b.token_type_ids);
  out.features = rows;
  if (!ex.has_labels()) return out;
  const QaFeatureData& fd = question_answering::feature_data(features);
  const int64_t width = out.inputs.input_ids.size(1);
  const auto n = static_cast<int64_t>(rows.size());
  torch::Tensor start = torch::empty({n}, torch::kInt64), end = torch::empty({n}, torch::kInt64);
  auto sa = start.accessor<int64_t, 1>();
  auto ea = end.accessor<int64_t, 1>();
  for (int64_t r = 0; r < n; ++r) {
    const QaWindow& w = fd.windows.at(rows[static_cast<size_t>(r)]);
    if (w.start_position < 0 || w.end_position < 0) return out;  // windows made without answers
    // positions index the padded row (left padding shifts the tokens right, as run_qa's tokenizer call pads)
    const int64_t offset =
        options.padding_side == tokenizers::Side::kLeft ? width - static_cast<int64_t>(w.encoding.size()) : 0;
    sa[r] = w.start_position + offset;
    ea[r] = w.end_position + offset;
  }
  out.inputs.start_positions = std::move(start);
  out.inputs.end_positions = std::move(end);
  return out;
}

models::PreTrainedModel QuestionAnsweringTask::prepare_model(const ModelSetup& setup, Examples& train, Examples* eval) {
  const QuestionAnsweringExamples& tr = qa_examples(train);
  if (!tr.has_labels()) throw DataError(tr.source() + ": training needs answers");
  if (eval) qa_examples(*eval);
  if (!options_.version_2_with_negative)
    options_.version_2_with_negative = detected_v2_.value_or(tr.dataset().has_impossible);
  if (!*options_.version_2_with_negative && tr.dataset().has_impossible)
    spdlog::warn(
        "{}: some questions are unanswerable, but version_2_with_negative is off: they are trained to "
        "point at the CLS token and never predicted as unanswerable",
        tr.source());
  models::LoadOptions lo;
  lo.task = models::TaskKind::kQuestionAnswering;
  lo.seed = setup.seed;
  lo.device = setup.device;
  lo.ignore_mismatched_sizes = true;
  // A ...ForQuestionAnswering has two outputs (start, end); a checkpoint made for another number of
  // labels (a classifier) gets PretrainedConfig's two default labels and a new head.
  const core::Json cfg = core::read_model_config(setup.model_dir);
  size_t labels = 2;
  if (cfg.contains("id2label") && cfg["id2label"].is_object())
    labels = cfg["id2label"].size();
  else if (cfg.contains("num_labels") && cfg["num_labels"].is_number_integer())
    labels = cfg["num_labels"].get<size_t>();
  if (labels != 2) lo.labels = std::vector<std::string>{"LABEL_0", "LABEL_1"};
  models::LoadReport report;
  models::PreTrainedModel model = models::load_pretrained(setup.model_dir, lo, &report);
  bound_ = true;
  return model;
}

void QuestionAnsweringTask::bind_model(const models::PreTrainedModel& model) {
  if (model->task() != models::TaskKind::kQuestionAnswering)
    throw DataError("the model is a " + model->architecture() + ", not a question-answering model");
  bound_ = true;
}

core::Json QuestionAnsweringTask::info() const {
  core::Json j = core::Json::object();
  j["doc_stride"] = options_.doc_stride;
  j["max_answer_len"] = options_.max_answer_len;
  j["top_k"] = options_.top_k;
  j["handle_impossible_answer"] = options_.handle_impossible_answer;
  j["version_2_with_negative"] = options_.version_2_with_negative.value_or(detected_v2_.value_or(false));
  return j;
}

}  // namespace textune::tasks
