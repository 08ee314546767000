// Token classification's outputs: the word-level seqeval evaluator (run_ner.py's compute_metrics), the
// predictor (tags per word for sentences; entities as the token-classification pipeline gives them for
// raw texts), the plots, the HTTP answer and the prediction files. See
// include/textune/tasks/token_classification.h.
#include <cmath>

#include <fmt/format.h>

#include "features.h"
#include "textune/core/error.h"
#include "textune/tasks/token_classification.h"

namespace textune::tasks {

using token_classification::context_of;
using token_classification::feature_data;
using token_classification::TokenFeatureData;

namespace {

/// A word's prediction: from the window where its first subtoken has the most context (ties: the
/// earlier window), so the result does not depend on the order batches arrive in.
struct WordPrediction {
  int64_t context = -1;  ///< -1: no window holds the word's first subtoken (yet)
  size_t feature = 0;
  int64_t label = -1;
  float score = 0;
};

/// Collects word predictions of sentences from batches of token logits.
class WordCollector {
 public:
  WordCollector(const TokenClassificationExamples& examples, const Features& features)
      : examples_(examples), features_(features), data_(feature_data(features)), words_(examples.size()) {
    for (size_t i = 0; i < examples.size(); ++i) words_[i].resize(examples.dataset().sentences[i].tokens.size());
  }

  void add(const Batch& batch, const models::ModelOutputs& outputs) {
    const torch::Tensor logits = outputs.logits.to(torch::kCPU, torch::kFloat32).contiguous();  // (b, T, C)
    const torch::Tensor probs = torch::softmax(logits, -1);
    const auto [best_p, best_id] = probs.max(-1);  // (b, T)
    auto pa = best_p.accessor<float, 2>();
    auto ia = best_id.accessor<int64_t, 2>();
    const int64_t width = logits.size(1);
    const torch::Tensor mask = batch.inputs.attention_mask;
    for (size_t r = 0; r < batch.features.size(); ++r) {
      const size_t f = batch.features[r];
      const tokenizers::Encoding& e = features_.encodings[f];
      // left padding: the row's tokens end at the right edge
      const bool left = mask.defined() && width > static_cast<int64_t>(e.size()) &&
                        mask[static_cast<int64_t>(r)][0].item<int64_t>() == 0;
      const int64_t offset = left ? width - static_cast<int64_t>(e.size()) : 0;
      auto& words = words_[features_.example_index[f]];
      for (size_t t = 0; t < e.size(); ++t) {
        if (!data_.first_subtoken[f][t] || !e.word_ids[t] || *e.word_ids[t] >= words.size()) continue;
        WordPrediction& w = words[*e.word_ids[t]];
        const int64_t ctx = context_of(t, data_.content[f]);
        if (ctx < w.context || (ctx == w.context && f > w.feature)) continue;
        const int64_t p = offset + static_cast<int64_t>(t);
        w = {ctx, f, ia[static_cast<int64_t>(r)][p], pa[static_cast<int64_t>(r)][p]};
      }
    }
  }

  /// The predicted tag of every word ("O" for a word no token stands for, e.g. only control characters).
  std::vector<std::vector<std::string>> tags(const std::vector<std::string>& labels) const {
    std::vector<std::vector<std::string>> out(words_.size());
    for (size_t i = 0; i < words_.size(); ++i)
      for (const auto& w : words_[i])
        out[i].push_back(w.label >= 0 && static_cast<size_t>(w.label) < labels.size() ? labels[w.label] : "O");
    return out;
  }
  const std::vector<std::vector<WordPrediction>>& words() const { return words_; }

 private:
  const TokenClassificationExamples& examples_;
  const Features& features_;
  const TokenFeatureData& data_;
  std::vector<std::vector<WordPrediction>> words_;
};

class TokenEvaluator : public Evaluator {
 public:
  TokenEvaluator(const TokenClassificationExamples& examples, const Features& features, std::vector<std::string> labels,
                 eval::SeqevalOptions options)
      : examples_(examples), collector_(examples, features), labels_(std::move(labels)), options_(options) {}

  void add(const Batch& batch, const models::ModelOutputs& outputs) override { collector_.add(batch, outputs); }

  EvalReport finish() override {
    std::vector<std::vector<std::string>> gold;
    for (const auto& s : examples_.dataset().sentences) gold.push_back(s.tags);
    const eval::SeqevalResult result = eval::seqeval(gold, collector_.tags(labels_), options_);
    EvalReport r;
    r.report = eval::seqeval_json(result);
    r.report["report_text"] = eval::seqeval_report_text(result);
    std::vector<std::string> names = result.types;
    names.push_back("O");
    r.report["entity_confusion"] = core::Json{{"labels", names}, {"matrix", result.entity_confusion}};
    // run_ner.py's compute_metrics (return_entity_level_metrics False)
    r.scalars["precision"] = result.micro.precision;
    r.scalars["recall"] = result.micro.recall;
    r.scalars["f1"] = result.micro.f1;
    r.scalars["accuracy"] = result.accuracy;
    return r;
  }

 private:
  const TokenClassificationExamples& examples_;
  WordCollector collector_;
  std::vector<std::string> labels_;
  eval::SeqevalOptions options_;
};

/// Entities of a sentence's predicted tags (seqeval's chunks): start/end are word indices (end
/// exclusive), "word" the words joined by spaces, "score" the mean of the words' scores.
core::Json sentence_entities(const std::vector<std::string>& tokens, const std::vector<std::string>& tags,
                             const std::vector<float>& scores) {
  core::Json out = core::Json::array();
  for (const eval::Entity& e : eval::get_entities(tags)) {
    std::string word;
    double sum = 0;
    for (size_t k = e.start; k < e.end; ++k) {
      word += (k > e.start ? " " : "") + tokens[k];
      sum += scores[k];
    }
    core::Json j = core::Json::object();
    j["entity_group"] = e.type;
    j["score"] = e.end > e.start ? sum / static_cast<double>(e.end - e.start) : 0.0;
    j["word"] = word;
    j["start"] = e.start;
    j["end"] = e.end;
    out.push_back(std::move(j));
  }
  return out;
}

class SentencePredictor : public Predictor {
 public:
  SentencePredictor(const TokenClassificationExamples& examples, const Features& features,
                    std::vector<std::string> labels)
      : examples_(examples), collector_(examples, features), labels_(std::move(labels)) {}

  void add(const Batch& batch, const models::ModelOutputs& outputs) override { collector_.add(batch, outputs); }

  std::vector<core::Json> finish() override {
    const auto tags = collector_.tags(labels_);
    std::vector<core::Json> records;
    for (size_t i = 0; i < tags.size(); ++i) {
      std::vector<float> scores;
      for (const auto& w : collector_.words()[i]) scores.push_back(w.label >= 0 ? w.score : 0.0f);
      core::Json j = core::Json::object();
      j["tags"] = tags[i];
      j["scores"] = scores;
      j["entities"] = sentence_entities(examples_.dataset().sentences[i].tokens, tags[i], scores);
      records.push_back(std::move(j));
    }
    return records;
  }

 private:
  const TokenClassificationExamples& examples_;
  WordCollector collector_;
  std::vector<std::string> labels_;
};

/// Raw texts: the pipeline's postprocess per window (gather_pre_entities, aggregate, the ignore_labels
/// filter), then the windows' entities merged (aggregate_overlapping_entities).
class TextPredictor : public Predictor {
 public:
  TextPredictor(const TokenClassificationExamples& examples, const Features& features, std::vector<std::string> labels,
                AggregationStrategy strategy)
      : examples_(examples),
        features_(features),
        data_(feature_data(features)),
        labels_(std::move(labels)),
        strategy_(strategy),
        per_window_(features.size()) {}

  void add(const Batch& batch, const models::ModelOutputs& outputs) override {
    if (!data_.tokenizer) throw UsageError(std::string(kTokenClassification) + ": raw-text features lack a tokenizer");
    const torch::Tensor logits = outputs.logits.to(torch::kCPU, torch::kFloat32).contiguous();  // (b, T, C)
    const int64_t width = logits.size(1);
    const torch::Tensor mask = batch.inputs.attention_mask;
    for (size_t r = 0; r < batch.features.size(); ++r) {
      const size_t f = batch.features[r];
      const tokenizers::Encoding& e = features_.encodings[f];
      const int64_t len = static_cast<int64_t>(e.size());
      const bool left = mask.defined() && width > len && mask[static_cast<int64_t>(r)][0].item<int64_t>() == 0;
      const int64_t offset = left ? width - len : 0;
      const torch::Tensor rows = logits[static_cast<int64_t>(r)].narrow(0, offset, len);
      const torch::Tensor probs = torch::softmax(rows, -1).contiguous();
      const std::string& text = examples_.texts()[features_.example_index[f]];
      const auto pre = gather_pre_entities(text, e, probs, *data_.tokenizer, strategy_);
      per_window_[f] = aggregate_entities(pre, labels_, strategy_, *data_.tokenizer);
    }
  }

  std::vector<core::Json> finish() override {
    std::vector<core::Json> records;
    for (size_t i = 0; i < examples_.size(); ++i) {
      const auto& windows = data_.windows[i];
      std::vector<core::Json> all;
      for (size_t f : windows)
        for (auto& e : per_window_[f]) all.push_back(std::move(e));
      if (windows.size() > 1) all = merge_overlapping_entities(std::move(all));
      core::Json j = core::Json::object();
      j["entities"] = core::Json(all);
      records.push_back(std::move(j));
    }
    return records;
  }

 private:
  const TokenClassificationExamples& examples_;
  const Features& features_;
  const TokenFeatureData& data_;
  std::vector<std::string> labels_;
  AggregationStrategy strategy_;
  std::vector<std::vector<core::Json>> per_window_;
};

}  // namespace

std::unique_ptr<Evaluator> TokenClassificationTask::evaluator(const Examples& examples,
                                                              const Features& features) const {
  const TokenClassificationExamples& ex = token_examples(examples);
  if (ex.is_raw_text() || !ex.has_labels())
    throw UsageError(std::string(kTokenClassification) + ": evaluation needs tagged sentences");
  eval::SeqevalOptions o;
  o.strict = options_.seqeval_mode == "strict";
  if (o.strict) {
    if (!options_.seqeval_scheme.empty())
      o.scheme = data::parse_tag_scheme(options_.seqeval_scheme);
    else
      o.scheme = ex.dataset().scheme;
  }
  return std::make_unique<TokenEvaluator>(ex, features, labels_, o);
}

std::unique_ptr<Predictor> TokenClassificationTask::predictor(const Examples& examples,
                                                              const Features& features) const {
  if (labels_.empty()) throw UsageError(std::string(kTokenClassification) + ": predictor before bind_model");
  const TokenClassificationExamples& ex = token_examples(examples);
  if (ex.is_raw_text())
    return std::make_unique<TextPredictor>(ex, features, labels_,
                                           parse_aggregation_strategy(options_.aggregation_strategy));
  return std::make_unique<SentencePredictor>(ex, features, labels_);
}

std::vector<std::string> TokenClassificationTask::write_plots(const EvalReport& report, const std::string& base) const {
  const core::Json& r = report.report;
  if (!r.contains("entity_confusion") || !r["entity_confusion"].contains("labels")) return {};
  eval::SeqevalResult result;
  const auto names = r["entity_confusion"]["labels"].get<std::vector<std::string>>();
  for (size_t k = 0; k + 1 < names.size(); ++k) {
    result.types.push_back(names[k]);
    eval::TypeScores s;
    if (r.contains(names[k]) && r[names[k]].is_object()) {
      const core::Json& t = r[names[k]];
      s.precision = t.value("precision", 0.0);
      s.recall = t.value("recall", 0.0);
      s.f1 = t.value("f1", 0.0);
      s.support = t.value("number", int64_t{0});
    }
    result.per_type.push_back(s);
  }
  result.micro.precision = r.value("overall_precision", 0.0);
  result.micro.recall = r.value("overall_recall", 0.0);
  result.micro.f1 = r.value("overall_f1", 0.0);
  result.accuracy = r.value("overall_accuracy", 0.0);
  for (auto [key, scores] : {std::pair{"macro_avg", &result.macro}, std::pair{"weighted_avg", &result.weighted}})
    if (r.contains(key) && r[key].is_object()) {
      scores->precision = r[key].value("precision", 0.0);
      scores->recall = r[key].value("recall", 0.0);
      scores->f1 = r[key].value("f1", 0.0);
      scores->support = r[key].value("number", int64_t{0});
    }
  result.entity_confusion = r["entity_confusion"]["matrix"].get<std::vector<std::vector<int64_t>>>();
  const std::string bars = base + "entity_f1.png", confusion = base + "entity_confusion_matrix.png";
  eval::plot_seqeval(result, bars, confusion);
  return {bars, confusion};
}

core::Json TokenClassificationTask::response(const core::Json& record, const ResponseOptions&) const {
  if (!record.is_object() || !record.contains("entities") || !record["entities"].is_array())
    throw ResponseError("the model returned no entities");
  for (const auto& e : record["entities"])
    if (!e.contains("score") || !e["score"].is_number() || std::isnan(e["score"].get<double>()))
      throw ResponseError("score is NaN");
  return record["entities"];
}

core::Json TokenClassificationTask::prediction_json(const Examples& examples, size_t i,
                                                    const core::Json& record) const {
  core::Json j = examples.example_json(i);
  j.erase("tags");
  if (record.is_object())
    for (auto it = record.begin(); it != record.end(); ++it) j[it.key()] = it.value();
  return j;
}

std::vector<std::vector<core::Json>> TokenClassificationTask::prediction_table(
    const Examples& examples, const std::vector<core::Json>& records) const {
  const TokenClassificationExamples& ex = token_examples(examples);
  std::vector<std::vector<core::Json>> table;
  if (ex.is_raw_text())
    table.push_back({"text", "entities"});
  else
    table.push_back({"text", "tags", "entities"});
  for (size_t i = 0; i < records.size() && i < ex.size(); ++i) {
    const core::Json entities = records[i].value("entities", core::Json::array());
    if (ex.is_raw_text()) {
      table.push_back({ex.texts()[i], entities.dump()});
      continue;
    }
    std::string text, tags;
    const auto& s = ex.dataset().sentences[i];
    for (size_t k = 0; k < s.tokens.size(); ++k) text += (k ? " " : "") + s.tokens[k];
    const auto predicted = records[i].value("tags", std::vector<std::string>{});
    for (size_t k = 0; k < predicted.size(); ++k) tags += (k ? " " : "") + predicted[k];
    table.push_back({text, tags, entities.dump()});
  }
  return table;
}

}  // namespace textune::tasks
