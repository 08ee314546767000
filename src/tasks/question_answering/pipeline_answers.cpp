// The question-answering pipeline's answers: transformers' src/transformers/pipelines/
// question_answering.py (v4.53: QuestionAnsweringPipeline.postprocess, select_starts_ends,
// decode_spans, get_indices, get_answer). See include/textune/tasks/question_answering.h.
//
// As numpy computes it on float32 logits: masked logits -10000, a float32 softmax (np.exp, numpy's
// pairwise sum), span scores the float32 products start[s] * end[e]. decode_spans' order of equal
// scores (np.argpartition, np.argsort: not stable) is here the flat index (start, end) ascending,
// which np.argmax gives for top_k 1 and a stable sort for any top_k. The reference's null score and
// CLS masking use token 0, the CLS token of the windows it makes with the question first; here the
// window's cls_index, the same token there. Checked against the reference on
// tests/tasks/data/qa_postprocess_goldens.json (qa_postprocess_test.cpp).
#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/utf8.h"
#include "textune/tasks/question_answering.h"
#include "tokenizers/unicode.h"

namespace textune::tasks {

namespace question_answering {
void qa_softmax_f32(std::vector<float>& x);
void qa_check_logits(const std::vector<float>& logits, size_t tokens, size_t f, const char* which);
}  // namespace question_answering

namespace {

/// Python's str.lower() of UTF-8 text, by code point (Unicode's full lowercase mapping; the final
/// sigma rule aside).
std::u32string lower(const std::string& s) {
  std::u32string out;
  char32_t buf[3];
  for (char32_t c : core::utf8_decode(s)) {
    const int n = tokenizers::unicode::to_lowercase(c, buf);
    out.append(buf, buf + n);
  }
  return out;
}

/// One span of decode_spans.
struct Span {
  size_t start = 0, end = 0;
  float score = 0;
};

/// decode_spans: the top_k (start, end) of candidates = tril(triu(outer(start, end)), max_answer_len
/// - 1) flattened, largest first (ties: flat index ascending; zeros, which every ruled-out pair is,
/// fill the list in flat order when fewer pairs score above zero), then only those whose start and
/// end are allowed.
std::vector<Span> decode_spans(const std::vector<float>& start, const std::vector<float>& end, size_t top_k,
                               size_t max_answer_len, const std::vector<char>& allowed) {
  const size_t n = start.size();
  std::vector<Span> positive;
  for (size_t s = 0; s < n; ++s) {
    if (start[s] == 0.0f) continue;
    const size_t last = std::min(n, s + max_answer_len);  // e - s <= max_answer_len - 1
    for (size_t e = s; e < last; ++e) {
      const float v = start[s] * end[e];
      if (v > 0.0f) positive.push_back(Span{s, e, v});
    }
  }
  const auto before = [](const Span& a, const Span& b) {
    return a.score > b.score || (a.score == b.score && (a.start < b.start || (a.start == b.start && a.end < b.end)));
  };
  std::vector<Span> top;
  const size_t k = std::min(top_k, n * n);
  if (positive.size() > k) {
    std::partial_sort(positive.begin(), positive.begin() + static_cast<std::ptrdiff_t>(k), positive.end(), before);
    positive.resize(k);
  } else {
    std::sort(positive.begin(), positive.end(), before);
  }
  top = std::move(positive);
  if (top.size() < k) {
    // the zero entries in flat order: pairs not among the positive ones
    for (size_t s = 0; s < n && top.size() < k; ++s) {
      for (size_t e = 0; e < n && top.size() < k; ++e) {
        const bool candidate = e >= s && e - s < max_answer_len;
        if (candidate && start[s] * end[e] > 0.0f) continue;
        top.push_back(Span{s, e, candidate ? start[s] * end[e] : 0.0f});
      }
    }
  }
  std::vector<Span> out;
  for (const Span& sp : top)
    if (allowed[sp.start] && allowed[sp.end]) out.push_back(sp);
  return out;
}

/// The answer being built.
struct Building {
  QaAnswerSpan span;
  std::u32string lowered;
};

}  // namespace

std::vector<QaAnswerSpan> pipeline_answers(const std::string& context, const std::vector<const QaWindow*>& windows,
                                           const std::vector<const std::vector<float>*>& start_logits,
                                           const std::vector<const std::vector<float>*>& end_logits,
                                           const QaPipelineOptions& options) {
  if (start_logits.size() != windows.size() || end_logits.size() != windows.size())
    throw DataError(fmt::format("{}: {} windows but {} start and {} end logit rows", kQuestionAnswering, windows.size(),
                                start_logits.size(), end_logits.size()));
  if (options.top_k < 1) throw UsageError(fmt::format("top_k parameter should be >= 1 (got {})", options.top_k));
  if (options.max_answer_len < 1)
    throw UsageError(fmt::format("max_answer_len parameter should be >= 1 (got {})", options.max_answer_len));

  const std::vector<size_t> cp = core::utf8_offsets(context);
  const size_t context_len = cp.size() - 1;
  const auto slice = [&](size_t a, size_t b) -> std::string {  // context[a:b]
    a = std::min(a, context_len);
    b = std::min(b, context_len);
    return b <= a ? std::string() : context.substr(cp[a], cp[b] - cp[a]);
  };

  double min_null_score = 1000000;  // large and positive
  std::vector<Building> answers;
  for (size_t f = 0; f < windows.size(); ++f) {
    if (!windows[f] || !start_logits[f] || !end_logits[f])
      throw DataError(fmt::format("{}: window {} has no logits", kQuestionAnswering, f));
    const QaWindow& w = *windows[f];
    const tokenizers::Encoding& enc = w.encoding;
    const size_t n = enc.size();
    question_answering::qa_check_logits(*start_logits[f], n, f, "start");
    question_answering::qa_check_logits(*end_logits[f], n, f, "end");
    if (w.context_offsets.size() != n)
      throw DataError(fmt::format("{}: window {} has {} tokens but {} context offsets", kQuestionAnswering, f, n,
                                  w.context_offsets.size()));
    if (n == 0) continue;
    if (start_logits[f]->size() != end_logits[f]->size())
      throw DataError(fmt::format("{}: window {} has {} start but {} end logits", kQuestionAnswering, f,
                                  start_logits[f]->size(), end_logits[f]->size()));
    const size_t cls = w.cls_index < n ? w.cls_index : 0;

    // p_mask: the context's tokens and the CLS token may be answers; padding (logits past the
    // window's tokens, attention 0) may not. The softmax and decode_spans run over every logit given,
    // as the reference over its padded row: padding's zeros change the pairwise sum's blocks.
    const size_t width = start_logits[f]->size();
    std::vector<char> desired(width, 0);
    bool any = false;
    for (size_t t = 0; t < n; ++t) {
      const bool attended = enc.attention_mask.size() != n || enc.attention_mask[t] != 0;
      desired[t] = (w.context_offsets[t].has_value() || t == cls) && attended;
      any = any || desired[t];
    }
    std::vector<float> start(width), end(width);
    for (size_t t = 0; t < width; ++t) {
      start[t] = desired[t] ? (*start_logits[f])[t] : -10000.0f;
      end[t] = desired[t] ? (*end_logits[f])[t] : -10000.0f;
    }
    question_answering::qa_softmax_f32(start);
    question_answering::qa_softmax_f32(end);
    if (options.handle_impossible_answer)
      min_null_score = std::min(min_null_score, static_cast<double>(start[cls] * end[cls]));
    start[cls] = end[cls] = 0.0f;

    // np.isin(starts, undesired_tokens.nonzero()) with a (1, n) mask also admits index 0 (the row
    // indices are among the values) whenever some token is desired
    std::vector<char> allowed = desired;
    if (any) allowed[0] = 1;
    const std::vector<Span> spans = decode_spans(start, end, options.top_k, options.max_answer_len, allowed);

    // the token's character span: the context's offsets, the encoding's for other tokens
    const auto offsets = [&](size_t t) -> std::pair<size_t, size_t> {
      if (w.context_offsets[t]) return *w.context_offsets[t];
      if (t < enc.offsets.size()) return enc.offsets[t];
      return {0, 0};
    };
    std::optional<uint32_t> context_sequence;
    for (size_t t = 0; t < n && !context_sequence; ++t)
      if (w.context_offsets[t] && t < enc.sequence_ids.size()) context_sequence = enc.sequence_ids[t];
    // tokenizers' Encoding::word_to_chars(word, sequence): the first to the last token of the word
    // in the sequence's tokens (scanned while word ids are <= word)
    const auto word_to_chars = [&](uint32_t word) -> std::optional<std::pair<size_t, size_t>> {
      if (!context_sequence || enc.sequence_ids.size() != n || enc.word_ids.size() != n) return std::nullopt;
      std::optional<size_t> first, last;
      bool in_range = false;
      for (size_t t = 0; t < n; ++t) {
        const bool in_sequence = enc.sequence_ids[t] == context_sequence;
        if (!in_sequence) {
          if (in_range) break;
          continue;
        }
        in_range = true;
        const auto& wd = enc.word_ids[t];
        if (wd && *wd > word) break;
        if (wd && *wd == word) {
          if (!first) first = t;
          last = t;
        }
      }
      if (!first) return std::nullopt;
      return std::make_pair(offsets(*first).first, offsets(*last).second);
    };

    for (const Span& sp : spans) {
      size_t a = offsets(sp.start).first, b = offsets(sp.end).second;
      if (options.align_to_words && enc.word_ids.size() == n && enc.word_ids[sp.start] && enc.word_ids[sp.end]) {
        const auto sw = word_to_chars(*enc.word_ids[sp.start]);
        const auto ew = word_to_chars(*enc.word_ids[sp.end]);
        if (sw && ew) {  // else "some tokenizers don't really handle words": the offsets
          a = sw->first;
          b = ew->second;
        }
      }
      std::string text = slice(a, b);
      std::u32string lowered = lower(text);
      auto same = std::find_if(answers.begin(), answers.end(), [&](const Building& x) { return x.lowered == lowered; });
      if (same != answers.end()) {
        same->span.score += static_cast<double>(sp.score);
      } else {
        answers.push_back(
            Building{QaAnswerSpan{std::move(text), static_cast<double>(sp.score), a, b}, std::move(lowered)});
      }
    }
  }
  std::vector<QaAnswerSpan> out;
  out.reserve(answers.size() + 1);
  for (Building& b : answers) out.push_back(std::move(b.span));
  if (options.handle_impossible_answer) out.push_back(QaAnswerSpan{"", min_null_score, 0, 0});
  std::stable_sort(out.begin(), out.end(),
                   [](const QaAnswerSpan& x, const QaAnswerSpan& y) { return x.score > y.score; });
  if (out.size() > options.top_k) out.resize(options.top_k);
  return out;
}

}  // namespace textune::tasks
