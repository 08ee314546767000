// Question answering's evaluation post-processing: transformers' examples/pytorch/question-answering/
// utils_qa.py (postprocess_qa_predictions) and the files run_qa.py writes from it. See
// include/textune/tasks/question_answering.h.
//
// Arithmetic as numpy does it on the model's float32 logits: a span's score is a float32 sum, the
// softmax over the n-best scores is float32 (np.exp, numpy's pairwise sum, division), and float64
// only when utils_qa's "empty" fallback (a Python float 0.0) joins the array. np.argsort's order of
// equal logits is not specified (introsort; AVX-512 sorts in newer numpy): here ties rank the later
// index first, which is what np.argsort(x)[::-1] gives for windows of up to 16 tokens (insertion sort,
// stable) and what a stable argsort gives for any length. Checked against the reference on
// tests/tasks/data/qa_postprocess_goldens.json (qa_postprocess_test.cpp).
#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/utf8.h"
#include "textune/tasks/question_answering.h"

namespace textune::tasks {

namespace question_answering {

/// numpy's float32 add.reduce of `x` (pairwise_sum in numpy/core/src/umath/loops_utils.h.src:
/// blocks of 8 accumulators up to 128 values, halves above), bit for bit.
float qa_numpy_sum_f32(const float* x, size_t n) {
  if (n < 8) {
    float r = 0.0f;
    for (size_t i = 0; i < n; ++i) r += x[i];
    return r;
  }
  if (n <= 128) {
    float r[8];
    for (size_t j = 0; j < 8; ++j) r[j] = x[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (size_t j = 0; j < 8; ++j) r[j] += x[i + j];
    float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += x[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return qa_numpy_sum_f32(x, n2) + qa_numpy_sum_f32(x + n2, n - n2);
}

/// numpy's float32 softmax `e = np.exp(x - x.max()); e / e.sum()` in place.
void qa_softmax_f32(std::vector<float>& x) {
  if (x.empty()) return;
  const float m = *std::max_element(x.begin(), x.end());
  for (float& v : x) v = std::exp(v - m);
  const float s = qa_numpy_sum_f32(x.data(), x.size());
  for (float& v : x) v = v / s;
}

/// Refuses logits that do not fit window `f` (shorter than its tokens, or NaN).
void qa_check_logits(const std::vector<float>& logits, size_t tokens, size_t f, const char* which) {
  if (logits.size() < tokens)
    throw DataError(fmt::format("{}: window {} has {} tokens but {} {} logits", kQuestionAnswering, f, tokens,
                                logits.size(), which));
  for (size_t t = 0; t < logits.size(); ++t)
    if (std::isnan(logits[t]))
      throw DataError(fmt::format("{}: window {}: the {} logit of token {} is NaN", kQuestionAnswering, f, which, t));
}

}  // namespace question_answering

namespace {

using question_answering::qa_check_logits;
using question_answering::qa_numpy_sum_f32;

/// np.argsort(x)[-1 : -n - 1 : -1]: the n largest, largest first, a tie's later index first.
std::vector<size_t> top_indices(const std::vector<float>& x, size_t n, std::vector<size_t>& scratch) {
  scratch.resize(x.size());
  std::iota(scratch.begin(), scratch.end(), size_t{0});
  const auto before = [&](size_t a, size_t b) { return x[a] > x[b] || (x[a] == x[b] && a > b); };
  const size_t k = std::min(n, x.size());
  std::partial_sort(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(k), scratch.end(), before);
  return std::vector<size_t>(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(k));
}

/// One prelim prediction of utils_qa.
struct Prelim {
  size_t begin = 0, end = 0;  // offsets (code points)
  float score = 0, start_logit = 0, end_logit = 0;
};

}  // namespace

QaPostprocessResult postprocess_qa_predictions(const std::vector<std::string>& contexts,
                                               const std::vector<QaWindow>& windows,
                                               const std::vector<std::vector<float>>& start_logits,
                                               const std::vector<std::vector<float>>& end_logits,
                                               const QaPostprocessOptions& options) {
  if (start_logits.size() != windows.size() || end_logits.size() != windows.size())
    throw DataError(fmt::format("{}: {} windows but {} start and {} end logit rows", kQuestionAnswering, windows.size(),
                                start_logits.size(), end_logits.size()));
  // features_per_example
  std::vector<std::vector<size_t>> per_example(contexts.size());
  for (size_t f = 0; f < windows.size(); ++f) {
    const QaWindow& w = windows[f];
    if (w.example_index >= contexts.size())
      throw DataError(fmt::format("{}: window {} belongs to example {} of {}", kQuestionAnswering, f, w.example_index,
                                  contexts.size()));
    if (w.context_offsets.size() != w.encoding.size())
      throw DataError(fmt::format("{}: window {} has {} tokens but {} context offsets", kQuestionAnswering, f,
                                  w.encoding.size(), w.context_offsets.size()));
    qa_check_logits(start_logits[f], w.encoding.size(), f, "start");
    qa_check_logits(end_logits[f], w.encoding.size(), f, "end");
    if (w.cls_index >= std::min(start_logits[f].size(), end_logits[f].size()))
      throw DataError(
          fmt::format("{}: window {}: the CLS index {} is past its logits", kQuestionAnswering, f, w.cls_index));
    per_example[w.example_index].push_back(f);
  }

  QaPostprocessResult result;
  result.predictions.reserve(contexts.size());
  result.nbest.reserve(contexts.size());
  if (options.version_2_with_negative) result.null_odds.reserve(contexts.size());

  const size_t n_best = options.n_best_size;
  std::vector<size_t> scratch;
  std::vector<Prelim> prelim;
  for (size_t e = 0; e < contexts.size(); ++e) {
    prelim.clear();
    bool have_null = false;
    Prelim min_null;
    for (size_t f : per_example[e]) {
      const QaWindow& w = windows[f];
      const std::vector<float>& sl = start_logits[f];
      const std::vector<float>& el = end_logits[f];
      const size_t cls = w.cls_index;  // utils_qa: index 0, the CLS token of the models it serves
      const float null_score = sl[cls] + el[cls];
      if (!have_null || min_null.score > null_score) {
        have_null = true;
        min_null = Prelim{0, 0, null_score, sl[cls], el[cls]};
      }
      const std::vector<size_t> starts = top_indices(sl, n_best, scratch);
      const std::vector<size_t> ends = top_indices(el, n_best, scratch);
      const auto& om = w.context_offsets;  // padding (indices past the window) counts as None
      for (size_t s : starts) {
        for (size_t t : ends) {
          if (s >= om.size() || t >= om.size() || !om[s] || !om[t]) continue;
          if (t < s || t - s + 1 > options.max_answer_length) continue;
          prelim.push_back(Prelim{om[s]->first, om[t]->second, sl[s] + el[t], sl[s], el[t]});
        }
      }
    }
    if (options.version_2_with_negative) {
      if (!have_null)
        throw DataError(fmt::format("{}: example {} has no window (version_2_with_negative needs its null score)",
                                    kQuestionAnswering, e));
      prelim.push_back(min_null);
    }
    // sorted(..., key=score, reverse=True)[:n_best_size]: stable
    std::stable_sort(prelim.begin(), prelim.end(), [](const Prelim& a, const Prelim& b) { return a.score > b.score; });
    if (prelim.size() > n_best) prelim.resize(n_best);
    if (options.version_2_with_negative &&
        std::none_of(prelim.begin(), prelim.end(), [](const Prelim& p) { return p.begin == 0 && p.end == 0; }))
      prelim.push_back(min_null);

    const std::string& context = contexts[e];
    std::vector<size_t> cp;  // code point -> byte, computed once per example when needed
    auto text_of = [&](size_t a, size_t b) -> std::string {
      if (b <= a) return "";
      if (cp.empty()) cp = core::utf8_offsets(context);
      const size_t n = cp.size() - 1;
      a = std::min(a, n);
      b = std::min(b, n);
      return context.substr(cp[a], cp[b] - cp[a]);
    };

    std::vector<QaNbestEntry> nbest;
    nbest.reserve(prelim.size() + 1);
    for (const Prelim& p : prelim)
      nbest.push_back(QaNbestEntry{text_of(p.begin, p.end), 0.0, p.start_logit, p.end_logit, p.begin, p.end});

    // the fallback when there is no non-null prediction: its score is a Python float, so numpy's
    // softmax runs in float64
    const bool fallback = nbest.empty() || (nbest.size() == 1 && nbest[0].text.empty());
    if (fallback) {
      nbest.insert(nbest.begin(), QaNbestEntry{"empty", 0.0, 0.0, 0.0, 0, 0});
      std::vector<double> scores{0.0};
      for (const Prelim& p : prelim) scores.push_back(static_cast<double>(p.score));
      const double m = *std::max_element(scores.begin(), scores.end());
      double sum = 0;
      for (double& s : scores) s = std::exp(s - m);
      for (double s : scores) sum += s;  // at most 2 values: the pairwise sum is this loop
      for (size_t i = 0; i < nbest.size(); ++i) nbest[i].probability = scores[i] / sum;
    } else {
      std::vector<float> probs(prelim.size());
      for (size_t i = 0; i < prelim.size(); ++i) probs[i] = prelim[i].score;
      question_answering::qa_softmax_f32(probs);
      for (size_t i = 0; i < nbest.size(); ++i) nbest[i].probability = static_cast<double>(probs[i]);
    }

    if (!options.version_2_with_negative) {
      result.predictions.push_back(nbest[0].text);
    } else {
      // the best non-empty prediction (the reference fails with IndexError when every text is
      // empty; the first entry stands in then)
      size_t i = 0;
      while (i < nbest.size() && nbest[i].text.empty()) ++i;
      if (i == nbest.size()) i = 0;
      const QaNbestEntry& best = nbest[i];
      // null_score - start_logit - end_logit in float32 (the fallback's 0.0s change nothing)
      const float diff = (min_null.score - static_cast<float>(best.start_logit)) - static_cast<float>(best.end_logit);
      result.null_odds.push_back(static_cast<double>(diff));
      result.predictions.push_back(static_cast<double>(diff) > options.null_score_diff_threshold ? std::string()
                                                                                                 : best.text);
    }
    result.nbest.push_back(std::move(nbest));
  }
  return result;
}

std::vector<std::pair<std::string, core::Json>> qa_prediction_files(const std::vector<std::string>& ids,
                                                                    const QaPostprocessResult& result,
                                                                    bool version_2_with_negative,
                                                                    const std::string& prefix) {
  if (ids.size() != result.predictions.size() || ids.size() != result.nbest.size() ||
      (version_2_with_negative && ids.size() != result.null_odds.size()))
    throw DataError(fmt::format("{}: {} question ids for {} predictions", kQuestionAnswering, ids.size(),
                                result.predictions.size()));
  core::Json predictions = core::Json::object();
  core::Json nbest = core::Json::object();
  core::Json null_odds = core::Json::object();
  std::unordered_set<std::string> seen;
  // a Python dict: a repeated id keeps its first place and takes the last value
  auto put = [&](core::Json& object, const std::string& id, core::Json value, bool repeated) {
    if (repeated)
      object[id] = std::move(value);
    else
      core::json_object_append(object, id, std::move(value));
  };
  for (size_t i = 0; i < ids.size(); ++i) {
    const bool repeated = !seen.insert(ids[i]).second;
    put(predictions, ids[i], result.predictions[i], repeated);
    core::Json list = core::Json::array();
    for (const QaNbestEntry& n : result.nbest[i]) {
      core::Json entry = core::Json::object();
      // key order as utils_qa leaves its dicts: "score"/"offsets" popped, "text" then "probability"
      // added; the "empty" fallback was built as {"text", "start_logit", "end_logit", "score"}
      if (n.text == "empty" && n.start == 0 && n.end == 0 && n.start_logit == 0.0 && n.end_logit == 0.0) {
        entry["text"] = n.text;
        entry["start_logit"] = n.start_logit;
        entry["end_logit"] = n.end_logit;
      } else {
        entry["start_logit"] = n.start_logit;
        entry["end_logit"] = n.end_logit;
        entry["text"] = n.text;
      }
      entry["probability"] = n.probability;
      list.push_back(std::move(entry));
    }
    put(nbest, ids[i], std::move(list), repeated);
    if (version_2_with_negative) put(null_odds, ids[i], result.null_odds[i], repeated);
  }
  const auto name = [&](const char* base) { return prefix.empty() ? std::string(base) : prefix + "_" + base; };
  std::vector<std::pair<std::string, core::Json>> files;
  files.emplace_back(name("predictions.json"), std::move(predictions));
  files.emplace_back(name("nbest_predictions.json"), std::move(nbest));
  if (version_2_with_negative) files.emplace_back(name("null_odds.json"), std::move(null_odds));
  return files;
}

}  // namespace textune::tasks
