// Text classification's examples: read from a file (data::load_dataset) or given in memory. See
// include/textune/tasks/text_classification.h.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "textune/core/error.h"
#include "textune/tasks/text_classification.h"

namespace textune::tasks {

ClassificationExamples::ClassificationExamples(data::Dataset dataset, bool labelled)
    : dataset_(std::move(dataset)), labelled_(labelled && dataset_.has_labels()) {}

core::Json ClassificationExamples::example_json(size_t i) const {
  if (i >= dataset_.size()) throw std::out_of_range(fmt::format("example {} of {}: out of range", i, dataset_.size()));
  core::Json j = data::example_to_json(dataset_, dataset_.examples[i]);
  if (!labelled_) j.erase("label");
  return j;
}

std::shared_ptr<ClassificationExamples> wrap_dataset(data::Dataset dataset) {
  return std::make_shared<ClassificationExamples>(std::move(dataset), true);
}

const data::Dataset& classification_dataset(const Examples& examples) {
  const auto* c = dynamic_cast<const ClassificationExamples*>(&examples);
  if (!c)
    throw UsageError(std::string(kTextClassification) + ": the examples of " + examples.source() +
                     " were made by another task");
  return c->dataset();
}

data::Dataset& classification_dataset(Examples& examples) {
  auto* c = dynamic_cast<ClassificationExamples*>(&examples);
  if (!c)
    throw UsageError(std::string(kTextClassification) + ": the examples of " + examples.source() +
                     " were made by another task");
  return c->mutable_dataset();
}

void TextClassificationTask::configure_data(const data::DataOptions& options) {
  data_ = options;
}

std::shared_ptr<Examples> TextClassificationTask::read(const std::string& path, bool labelled) const {
  data::DataOptions o = effective_options(labelled);
  o.require_labels = labelled;
  o.task = problem_type_;
  // Labelled files after the first (evaluation) get its ids (the model's once bound); regression has none.
  const data::LabelMap* map =
      labelled && label_map_ && problem_type_ != core::ProblemType::kRegression ? &*label_map_ : nullptr;
  if (labelled && bound_) pos_label_notes(map);
  data::Dataset ds = data::load_dataset(path, o, map);
  if (labelled && !label_map_ && problem_type_ != core::ProblemType::kRegression) label_map_ = ds.label_map;
  if (!labelled) check_pairs(ds.has_pairs());
  return std::make_shared<ClassificationExamples>(std::move(ds), labelled);
}

std::shared_ptr<Examples> TextClassificationTask::from_inputs(const std::vector<core::Json>& inputs) const {
  data::Dataset ds;
  ds.source = "<inputs>";
  ds.report.file = ds.source;
  ds.task = problem_type_;
  ds.text_column = "text";
  std::vector<std::string> texts, pairs;
  size_t with_pair = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const core::Json& in = inputs[i];
    if (in.is_string()) {
      texts.push_back(in.get<std::string>());
      continue;
    }
    if (!in.is_object() || !in.contains("text") || !in["text"].is_string())
      throw DataError(fmt::format("input {} of {}: expected a string or {{\"text\": ..., \"text_pair\": ...}}", i + 1,
                                  inputs.size()));
    for (auto it = in.begin(); it != in.end(); ++it)
      if (it.key() != "text" && it.key() != "text_pair")
        throw DataError(fmt::format("input {} of {}: unknown key \"{}\" (expected \"text\" and \"text_pair\")", i + 1,
                                    inputs.size(), it.key()));
    texts.push_back(in["text"].get<std::string>());
    if (in.contains("text_pair")) {
      if (!in["text_pair"].is_string())
        throw DataError(fmt::format("input {} of {}: \"text_pair\" must be a string", i + 1, inputs.size()));
      pairs.push_back(in["text_pair"].get<std::string>());
      ++with_pair;
    }
  }
  if (with_pair != 0 && with_pair != inputs.size())
    throw DataError(fmt::format("{} of {} inputs have a text_pair: give a pair for every input or for none", with_pair,
                                inputs.size()));
  // Texts are taken as given, empty or only whitespace included, as the Pipeline always took them
  // (and transformers' pipeline takes them): serve answers them, and `textune predict` refuses empty
  // texts itself, before the model loads, as the data loader does for files.
  if (with_pair) ds.text_pair_column = "text_pair";
  ds.examples.resize(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    ds.examples[i].text = std::move(texts[i]);
    if (with_pair) ds.examples[i].text_pair = std::move(pairs[i]);
    ds.examples[i].row = i + 1;
  }
  ds.report.num_rows = ds.report.num_examples = ds.size();
  check_pairs(with_pair != 0);
  return std::make_shared<ClassificationExamples>(std::move(ds), false);
}

// Evaluation: where pos_label comes from, and when it does not apply (given for more than two labels).
void TextClassificationTask::pos_label_notes(const data::LabelMap* map) const {
  if (!pos_label_ && saved_pos_label_) spdlog::info("--pos_label {} from {}", *saved_pos_label_, saved_data_path_);
  if (pos_label_ && problem_type_ == core::ProblemType::kSingleLabel && map && map->size() != 2)
    spdlog::warn("--pos_label {} is ignored: f1, precision and recall are macro averages for {} labels", *pos_label_,
                 map->size());
}

// A pair model given single texts: transformers' pipeline runs it silently; we run it too (the user
// may mean it) but say loudly that the model learned pairs.
void TextClassificationTask::check_pairs(bool has_pairs) const {
  if (has_pairs || !saved_data_) return;
  const core::Json& j = *saved_data_;
  std::optional<std::string> text_used, pair_used;
  if (j.contains("columns_used")) {
    const core::Json& u = j["columns_used"];
    if (u.contains("text") && u["text"].is_string()) text_used = u["text"].get<std::string>();
    if (u.contains("text_pair") && u["text_pair"].is_string()) pair_used = u["text_pair"].get<std::string>();
  }
  if (!pair_used && !j.contains("text_pair_column")) return;
  spdlog::warn(
      "{} was trained on text pairs (columns {} and {}, {}) but is given single texts: the "
      "predictions are not what it learned; give the second texts with --text-pair (one per text) or, "
      "with --input, a pair column (--text-pair-column)",
      model_dir_, text_used.value_or("?"), pair_used.value_or("?"), saved_data_path_);
}

}  // namespace textune::tasks
