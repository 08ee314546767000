// Aggregation of token predictions into entities, as transformers' pipelines/token_classification.py
// (TokenClassificationPipeline) does it: gather_pre_entities, aggregate, aggregate_word(s),
// group_sub_entities, group_entities, the ignore_labels filter of postprocess and
// aggregate_overlapping_entities (stride windows). See include/textune/tasks/token_classification.h.
//
// Numbers as the pipeline's numpy computes them on float32 scores: argmax returns the first maximum
// (a NaN wins, as np.argmax); 1-D means (np.nanmean of the scores of a group) sum in float32 with
// numpy's pairwise summation; the per-label mean of AVERAGE (np.nanmean(axis=0) of a (n, C) stack)
// sums the rows in order; both divide once by the count of non-NaN values, rounded to float32.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <limits>

#include "textune/core/error.h"
#include "textune/core/utf8.h"
#include "textune/tasks/token_classification.h"

namespace textune::tasks {
namespace {

constexpr const char* kStrategyNames[] = {"none", "simple", "first", "average", "max"};

// ---- UTF-8 as Python strings index it (code points) ----

// Byte offset of every code point of `text`, plus text.size() at the end (size: code points + 1).
std::vector<size_t> code_point_starts(const std::string& text) { return core::utf8_offsets(text); }

size_t code_point_count(const std::string& s) { return core::utf8_length(s); }

// text[begin:end] in code points, clamped as Python slicing clamps.
std::string slice(const std::string& text, const std::vector<size_t>& starts, size_t begin, size_t end) {
  const size_t n = starts.size() - 1;
  begin = std::min(begin, n);
  end = std::min(std::max(end, begin), n);
  return text.substr(starts[begin], starts[end] - starts[begin]);
}

// ---- numpy on float32 ----

// np.argmax: the first maximum; the first NaN if there is one.
size_t argmax(const std::vector<float>& v) {
  size_t best = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return i;
    if (v[i] > v[best]) best = i;
  }
  return best;
}

// np.max (NaN propagates).
float max_of(const std::vector<float>& v) {
  return v[argmax(v)];
}

// numpy's pairwise_sum for float32 (numpy/_core/src/umath/loops_utils.h.src): blocks of 8 partial
// sums up to 128 values, halves (a multiple of 8) above.
float pairwise_sum(const float* a, size_t n) {
  if (n < 8) {
    float res = 0.f;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    float r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (size_t j = 0; j < 8; ++j) r[j] += a[i + j];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// np.nanmean of a 1-D float32 array: NaNs replaced by 0, summed (0 + pairwise sum, the add
// reduction's identity first), divided by the count of the others; NaN when all are NaN.
float nanmean(const std::vector<float>& values) {
  std::vector<float> filled(values.size());
  size_t count = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    filled[i] = std::isnan(values[i]) ? 0.f : values[i];
    count += !std::isnan(values[i]);
  }
  if (count == 0) return std::numeric_limits<float>::quiet_NaN();
  const float total = 0.f + pairwise_sum(filled.data(), filled.size());
  return total / static_cast<float>(count);
}

// np.nanmean(np.stack(rows), axis=0): each label's mean over the rows. The axis-0 reduction of a
// C-contiguous (n, C) array adds row after row; with C == 1 numpy sees a 1-D reduction (pairwise).
std::vector<float> nanmean_rows(const std::vector<const std::vector<float>*>& rows) {
  const size_t labels = rows.front()->size();
  std::vector<float> out(labels);
  for (size_t j = 0; j < labels; ++j) {
    std::vector<float> column;
    column.reserve(rows.size());
    for (const auto* row : rows) column.push_back((*row)[j]);
    if (labels == 1) {
      out[j] = nanmean(column);
      continue;
    }
    float total = 0.f;
    size_t count = 0;
    for (float v : column)
      if (!std::isnan(v)) total += v, ++count;
    out[j] = count ? total / static_cast<float>(count) : std::numeric_limits<float>::quiet_NaN();
  }
  return out;
}

// ---- the pipeline's steps ----

// An entity before grouping: a token (none/simple) or a word (first/average/max).
struct TokenEntity {
  std::string entity;  // the label
  float score = 0.f;
  int64_t index = 0;  // token entities only
  std::string word;
  size_t start = 0, end = 0;
};

const std::string& label_of(const std::vector<std::string>& labels, size_t id) {
  return labels.at(id);
}

void check_scores(const PreEntity& pre, const std::vector<std::string>& labels) {
  if (pre.scores.size() != labels.size() || labels.empty())
    throw DataError(fmt::format("token {} (\"{}\"): {} scores for {} labels; expected one score per label", pre.index,
                                pre.word, pre.scores.size(), labels.size()));
}

// aggregate_word: one word's tokens made one entity by FIRST, MAX or AVERAGE.
TokenEntity aggregate_word(const std::vector<const PreEntity*>& tokens, const std::vector<std::string>& labels,
                           AggregationStrategy strategy, const tokenizers::Tokenizer& tokenizer) {
  std::vector<std::string> pieces;
  pieces.reserve(tokens.size());
  for (const auto* t : tokens) pieces.push_back(t->word);
  TokenEntity e;
  e.word = tokenizer.convert_tokens_to_string(pieces);
  e.start = tokens.front()->start;
  e.end = tokens.back()->end;
  if (strategy == AggregationStrategy::kFirst) {
    const auto& scores = tokens.front()->scores;
    const size_t idx = argmax(scores);
    e.entity = label_of(labels, idx);
    e.score = scores[idx];
  } else if (strategy == AggregationStrategy::kMax) {
    // Python's max(key=...): the first token whose best score is strictly greater than the others'.
    const PreEntity* best = tokens.front();
    for (const auto* t : tokens)
      if (max_of(t->scores) > max_of(best->scores)) best = t;
    const size_t idx = argmax(best->scores);
    e.entity = label_of(labels, idx);
    e.score = best->scores[idx];
  } else {
    std::vector<const std::vector<float>*> rows;
    for (const auto* t : tokens) rows.push_back(&t->scores);
    const std::vector<float> average = nanmean_rows(rows);
    const size_t idx = argmax(average);
    e.entity = label_of(labels, idx);
    e.score = average[idx];
  }
  return e;
}

// aggregate_words: tokens joined into words by is_subword (a subword continues the word before it).
std::vector<TokenEntity> aggregate_words(const std::vector<PreEntity>& pre_entities,
                                         const std::vector<std::string>& labels, AggregationStrategy strategy,
                                         const tokenizers::Tokenizer& tokenizer) {
  std::vector<TokenEntity> words;
  std::vector<const PreEntity*> group;
  for (const auto& pre : pre_entities) {
    if (!group.empty() && !pre.is_subword) {
      words.push_back(aggregate_word(group, labels, strategy, tokenizer));
      group.clear();
    }
    group.push_back(&pre);
  }
  if (!group.empty()) words.push_back(aggregate_word(group, labels, strategy, tokenizer));
  return words;
}

// get_tag: ("B", tag) for B-tag, ("I", tag) for I-tag, ("I", label) otherwise.
std::pair<std::string, std::string> get_tag(const std::string& label) {
  if (label.rfind("B-", 0) == 0) return {"B", label.substr(2)};
  if (label.rfind("I-", 0) == 0) return {"I", label.substr(2)};
  return {"I", label};
}

// group_sub_entities: a run of entities as one {"entity_group", "score", "word", "start", "end"};
// the group is the first label after its first "-" (label.split("-", 1)[-1]), the score the nanmean.
core::Json group_sub_entities(const std::vector<const TokenEntity*>& run, const tokenizers::Tokenizer& tokenizer) {
  const std::string& first = run.front()->entity;
  const size_t dash = first.find('-');
  std::vector<float> scores;
  std::vector<std::string> words;
  for (const auto* e : run) {
    scores.push_back(e->score);
    words.push_back(e->word);
  }
  core::Json g = core::Json::object();
  g["entity_group"] = dash == std::string::npos ? first : first.substr(dash + 1);
  g["score"] = static_cast<double>(nanmean(scores));
  g["word"] = tokenizer.convert_tokens_to_string(words);
  g["start"] = run.front()->start;
  g["end"] = run.back()->end;
  return g;
}

// group_entities: consecutive entities of one tag grouped; an entity tagged B- starts a new group.
std::vector<core::Json> group_entities(const std::vector<TokenEntity>& entities,
                                       const tokenizers::Tokenizer& tokenizer) {
  std::vector<core::Json> groups;
  std::vector<const TokenEntity*> run;
  for (const auto& e : entities) {
    if (!run.empty()) {
      const auto [bi, tag] = get_tag(e.entity);
      const auto last_tag = get_tag(run.back()->entity).second;
      if (!(tag == last_tag && bi != "B")) {
        groups.push_back(group_sub_entities(run, tokenizer));
        run.clear();
      }
    }
    run.push_back(&e);
  }
  if (!run.empty()) groups.push_back(group_sub_entities(run, tokenizer));
  return groups;
}

bool ignored(const std::string& label, const std::vector<std::string>& ignore_labels) {
  return std::find(ignore_labels.begin(), ignore_labels.end(), label) != ignore_labels.end();
}

}  // namespace

std::string aggregation_strategy_name(AggregationStrategy strategy) {
  return kStrategyNames[static_cast<int>(strategy)];
}

AggregationStrategy parse_aggregation_strategy(const std::string& name) {
  // The pipeline looks the name up as AggregationStrategy[name.upper()]: any case.
  std::string lower = name;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < 5; ++i)
    if (lower == kStrategyNames[i]) return static_cast<AggregationStrategy>(i);
  throw UsageError(fmt::format("aggregation_strategy \"{}\": expected none, simple, first, average or max", name));
}

std::vector<PreEntity> gather_pre_entities(const std::string& text, const tokenizers::Encoding& encoding,
                                           const torch::Tensor& probabilities, const tokenizers::Tokenizer& tokenizer,
                                           AggregationStrategy strategy) {
  const size_t tokens = encoding.size();
  if (!probabilities.defined() || probabilities.dim() != 2 || static_cast<size_t>(probabilities.size(0)) != tokens)
    throw DataError(fmt::format(
        "token classification: the probabilities have shape {}; expected ({}, number of labels), one row per token",
        probabilities.defined() ? fmt::format("({})", fmt::join(probabilities.sizes(), ", ")) : "(undefined)", tokens));
  const torch::Tensor probs = probabilities.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  const int64_t labels = probs.size(1);
  const float* data = probs.data_ptr<float>();

  const std::vector<size_t> starts = code_point_starts(text);
  const std::optional<std::string> prefix = tokenizer.continuing_subword_prefix();
  const bool word_aware = prefix && !prefix->empty();  // Python: a falsy "" is no prefix
  if (!word_aware && (strategy == AggregationStrategy::kFirst || strategy == AggregationStrategy::kAverage ||
                      strategy == AggregationStrategy::kMax)) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      spdlog::warn(
          "aggregation_strategy {}: the tokenizer does not mark subwords (no continuing_subword_prefix); "
          "words are guessed from the spaces of the text, as the pipeline's fallback heuristic does",
          aggregation_strategy_name(strategy));
  }
  const std::optional<int64_t> unk = tokenizer.unk_token_id();

  std::vector<PreEntity> out;
  out.reserve(tokens);
  for (size_t idx = 0; idx < tokens; ++idx) {
    if (idx < encoding.special_tokens_mask.size() && encoding.special_tokens_mask[idx]) continue;
    PreEntity pre;
    const int64_t id = encoding.ids[idx];
    pre.word = tokenizer.id_to_token(id).value_or(idx < encoding.tokens.size() ? encoding.tokens[idx] : "");
    pre.start = encoding.offsets.at(idx).first;
    pre.end = encoding.offsets.at(idx).second;
    const std::string word_ref = slice(text, starts, pre.start, pre.end);
    if (word_aware) {
      // A word-aware model: a token whose text is not the text it covers carries the prefix.
      pre.is_subword = code_point_count(pre.word) != code_point_count(word_ref);
    } else {
      // The pipeline's fallback heuristic: the token starts inside a word when no space is at
      // text[start-1 : start+1].
      pre.is_subword =
          pre.start > 0 && slice(text, starts, pre.start - 1, pre.start + 1).find(' ') == std::string::npos;
    }
    if (unk && id == *unk) {
      pre.word = word_ref;
      pre.is_subword = false;
    }
    pre.scores.assign(data + idx * labels, data + (idx + 1) * labels);
    pre.index = static_cast<int64_t>(idx);
    out.push_back(std::move(pre));
  }
  return out;
}

std::vector<core::Json> aggregate_entities(const std::vector<PreEntity>& pre_entities,
                                           const std::vector<std::string>& labels, AggregationStrategy strategy,
                                           const tokenizers::Tokenizer& tokenizer,
                                           const std::vector<std::string>& ignore_labels) {
  for (const auto& pre : pre_entities) check_scores(pre, labels);
  std::vector<TokenEntity> entities;
  if (strategy == AggregationStrategy::kNone || strategy == AggregationStrategy::kSimple) {
    entities.reserve(pre_entities.size());
    for (const auto& pre : pre_entities) {
      const size_t idx = argmax(pre.scores);
      entities.push_back({label_of(labels, idx), pre.scores[idx], pre.index, pre.word, pre.start, pre.end});
    }
  } else {
    entities = aggregate_words(pre_entities, labels, strategy, tokenizer);
  }

  std::vector<core::Json> out;
  if (strategy == AggregationStrategy::kNone) {
    for (const auto& e : entities) {
      if (ignored(e.entity, ignore_labels)) continue;
      core::Json j = core::Json::object();
      j["entity"] = e.entity;
      j["score"] = static_cast<double>(e.score);
      j["index"] = e.index;
      j["word"] = e.word;
      j["start"] = e.start;
      j["end"] = e.end;
      out.push_back(std::move(j));
    }
    return out;
  }
  for (auto& g : group_entities(entities, tokenizer))
    if (!ignored(g["entity_group"].get<std::string>(), ignore_labels)) out.push_back(std::move(g));
  return out;
}

std::vector<core::Json> merge_overlapping_entities(std::vector<core::Json> entities) {
  if (entities.empty()) return entities;
  const auto start_of = [](const core::Json& e) { return e.at("start").get<int64_t>(); };
  const auto end_of = [](const core::Json& e) { return e.at("end").get<int64_t>(); };
  const auto score_of = [](const core::Json& e) { return e.at("score").get<double>(); };
  // Python's sorted is stable: entities with one start keep their order.
  std::stable_sort(entities.begin(), entities.end(),
                   [&](const core::Json& a, const core::Json& b) { return start_of(a) < start_of(b); });
  std::vector<core::Json> merged;
  size_t previous = 0;
  for (size_t i = 0; i < entities.size(); ++i) {
    const core::Json& e = entities[i];
    const core::Json& p = entities[previous];
    if (start_of(p) <= start_of(e) && start_of(e) < end_of(p)) {
      const int64_t length = end_of(e) - start_of(e), previous_length = end_of(p) - start_of(p);
      if (length > previous_length || (length == previous_length && score_of(e) > score_of(p))) previous = i;
    } else {
      merged.push_back(entities[previous]);
      previous = i;
    }
  }
  merged.push_back(entities[previous]);
  return merged;
}

}  // namespace textune::tasks
