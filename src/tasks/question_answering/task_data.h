// The question-answering task's per-feature data (private to src/tasks/question_answering/): the
// QaWindows of qa_windows (features.cpp) in feature order, and which windows each example has.
#pragma once

#include <cstddef>
#include <vector>

#include "textune/tasks/question_answering.h"

namespace textune::tasks::question_answering {

/// Features::data of the question-answering task.
struct QaFeatureData : FeatureData {
  std::vector<QaWindow> windows;                ///< feature f -> its window (windows[f].encoding == encodings[f])
  std::vector<std::vector<size_t>> by_example;  ///< example -> its features, in order
};

/// The QaFeatureData of `features`. @throws textune::UsageError for features of another task.
const QaFeatureData& feature_data(const Features& features);

/// The window's logits row `r` of a (B, T) tensor, without padding: `size` values from the left
/// padding offset (left padding: the row's tokens end at the right edge, as the attention mask says).
std::vector<float> row_logits(const torch::Tensor& logits, const torch::Tensor& attention_mask, int64_t r, size_t size);

}  // namespace textune::tasks::question_answering
