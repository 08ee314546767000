// Token classification's per-feature data (internal to src/tasks/token_classification/): which token
// is the first subtoken of its word, where each window's content lies, and, for raw texts, the
// tokenizer the windows were made with (the aggregation needs it).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "textune/tasks/task.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tasks::token_classification {

struct TokenFeatureData : FeatureData {
  /// Per feature, per token: 1 when the token is the first subtoken of its word (the one that gets
  /// the word's label; run_ner.py's `word_idx != previous_word_idx` over the whole sentence, so a
  /// window starting inside a word does not label that word's later subtokens as its first).
  std::vector<std::vector<uint8_t>> first_subtoken;
  /// Per feature: [begin, end) of the non-special tokens of the window.
  std::vector<std::pair<size_t, size_t>> content;
  /// Raw texts: the tokenizer given to featurize (it must outlive the features' predictor, as it does
  /// in train::predict and the Pipeline). Null for sentences.
  const tokenizers::Tokenizer* tokenizer = nullptr;
  /// Features of each example, in window order.
  std::vector<std::vector<size_t>> windows;
};

/// The feature data of `features`. @throws textune::UsageError when they were made by another task.
const TokenFeatureData& feature_data(const Features& features);

/// How much context token `t` of a window has: its distance to the nearer end of the window's
/// content (the max-context rule of transformers' QA utilities, used for windows over long sentences).
inline int64_t context_of(size_t t, const std::pair<size_t, size_t>& content) {
  const int64_t left = static_cast<int64_t>(t) - static_cast<int64_t>(content.first);
  const int64_t right = static_cast<int64_t>(content.second) - 1 - static_cast<int64_t>(t);
  return left < right ? left : right;
}

}  // namespace textune::tasks::token_classification
