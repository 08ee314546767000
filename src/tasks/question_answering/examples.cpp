// Question answering's examples: questions with their contexts read by data::read_qa (SQuAD JSON,
// `datasets` rows, tables) or given in memory (data::qa_from_inputs), and what `textune data` shows
// of them. See include/textune/tasks/question_answering.h.
#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/utf8.h"
#include "textune/tasks/question_answering.h"

namespace textune::tasks {

QuestionAnsweringExamples::QuestionAnsweringExamples(data::QaDataset dataset, bool labelled)
    : dataset_(std::move(dataset)), labelled_(labelled && dataset_.labelled) {}

core::Json QuestionAnsweringExamples::example_json(size_t i) const {
  if (i >= size()) throw std::out_of_range(fmt::format("example {} of {}: out of range", i, size()));
  const data::QaExample& e = dataset_.examples[i];
  core::Json j = core::Json::object();
  j["id"] = e.id;
  j["question"] = e.question;
  j["context"] = e.context;
  if (labelled_) {
    std::vector<std::string> texts;
    std::vector<size_t> starts;
    for (const auto& a : e.answers) {
      texts.push_back(a.text);
      starts.push_back(a.answer_start);
    }
    j["answers"] = core::Json{{"text", texts}, {"answer_start", starts}};
  }
  return j;
}

std::vector<std::string> QuestionAnsweringExamples::summary() const {
  const data::QaDataset& ds = dataset_;
  std::vector<std::string> lines;
  const size_t n = ds.examples.size();
  lines.push_back(fmt::format("{} question{} from {} ({} format; {} invalid question{} skipped)", n, n == 1 ? "" : "s",
                              ds.source, ds.format, ds.report.num_invalid_rows,
                              ds.report.num_invalid_rows == 1 ? "" : "s"));
  if (n == 0) return lines;
  size_t answerable = 0, unanswerable = 0, answers = 0;
  for (const auto& e : ds.examples) {
    if (!e.answers.empty())
      ++answerable;
    else if (e.is_impossible)
      ++unanswerable;
    answers += e.answers.size();
  }
  if (labelled_ || answerable || unanswerable)
    lines.push_back(fmt::format("answerable: {} ({} gold answers), unanswerable: {}{}", answerable, answers,
                                unanswerable, ds.has_impossible ? " (SQuAD v2.0: version_2_with_negative)" : ""));
  lines.push_back(
      fmt::format("answers whose text does not match the context at answer_start: {}", ds.num_misaligned_answers));
  size_t lo = std::numeric_limits<size_t>::max(), hi = 0, contexts = 0;
  double sum = 0;
  const std::string* previous = nullptr;
  for (const auto& e : ds.examples) {
    if (previous && *previous == e.context) continue;  // questions of one paragraph share its context
    previous = &e.context;
    const size_t len = core::utf8_length(e.context);
    lo = std::min(lo, len);
    hi = std::max(hi, len);
    sum += static_cast<double>(len);
    ++contexts;
  }
  lines.push_back(fmt::format("context length (code points) over {} context{}: min {}, mean {:.1f}, max {}", contexts,
                              contexts == 1 ? "" : "s", lo, sum / static_cast<double>(contexts), hi));
  return lines;
}

const QuestionAnsweringExamples& qa_examples(const Examples& examples) {
  const auto* q = dynamic_cast<const QuestionAnsweringExamples*>(&examples);
  if (!q)
    throw UsageError(std::string(kQuestionAnswering) + ": the examples of " + examples.source() +
                     " were made by another task");
  return *q;
}

void QuestionAnsweringTask::configure_data(const data::DataOptions& options) {
  data_ = options;
}

data::QaReadOptions QuestionAnsweringTask::read_options(bool labelled) const {
  data::QaReadOptions o;
  o.data = data_;
  o.data.require_labels = labelled;
  o.id_column = options_.id_column;
  o.question_column = options_.question_column;
  o.context_column = options_.context_column;
  o.answers_column = options_.answers_column;
  return o;
}

std::shared_ptr<Examples> QuestionAnsweringTask::read(const std::string& path, bool labelled) const {
  data::QaDataset ds = data::read_qa(path, read_options(labelled));
  // The first labelled file (the training data) says whether questions may be unanswerable
  // (run_qa's version_2_with_negative) unless the option was given.
  if (labelled && !detected_v2_) detected_v2_ = ds.has_impossible;
  return std::make_shared<QuestionAnsweringExamples>(std::move(ds), labelled);
}

std::shared_ptr<Examples> QuestionAnsweringTask::preview(const std::string& path) const {
  // With the answers when every question has them (or is unanswerable); else the questions alone.
  data::QaDataset ds = data::read_qa(path, read_options(false));
  const bool labelled = ds.labelled;
  return std::make_shared<QuestionAnsweringExamples>(std::move(ds), labelled);
}

std::shared_ptr<Examples> QuestionAnsweringTask::from_inputs(const std::vector<core::Json>& inputs) const {
  return std::make_shared<QuestionAnsweringExamples>(data::qa_from_inputs(inputs), false);
}

}  // namespace textune::tasks
