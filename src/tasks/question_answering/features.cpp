// Question-answering windows: transformers' examples/pytorch/question-answering/run_qa.py
// (prepare_train_features and prepare_validation_features) over textune's tokenizer.
#include <algorithm>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "textune/core/error.h"
#include "textune/core/utf8.h"
#include "textune/tasks/question_answering.h"

namespace textune::tasks {

namespace {

/// Python's str.isspace() for one code point (bidirectional class WS, B or S, or category Zs).
bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/// Decodes the code point at byte `i` of valid UTF-8 `s`; sets `len` to its byte length.
char32_t code_point_at(std::string_view s, size_t i, size_t& len) {
  const unsigned char b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    len = 1;
    return b;
  }
  len = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  char32_t c = b & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < len && i + k < s.size(); ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return c;
}

/// The byte length of the leading whitespace of `s` (Python's str.lstrip()).
size_t leading_space_bytes(std::string_view s) {
  size_t i = 0, len = 0;
  while (i < s.size() && py_isspace(code_point_at(s, i, len))) i += len;
  return i;
}

/// "question "ID" (WHERE)": how messages name an example, WHERE as the reader says it
/// (QaExample::where: "question 12, data[3].paragraphs[1].qas[0]", "line 3", "input 2"), else
/// "line N".
std::string describe(const data::QaExample& e) {
  std::string s = "question \"" + e.id + "\"";
  if (!e.where.empty())
    s += " (" + e.where + ")";
  else if (e.line > 0)
    s += " (line " + std::to_string(e.line) + ")";
  return s;
}

/// The first 60 code points of `s`, with "..." when cut.
std::string excerpt(const std::string& s) {
  if (core::utf8_length(s) <= 60) return s;
  return core::utf8_substr(s, 0, 60) + "...";
}

}  // namespace

std::vector<QaWindow> qa_windows(const std::vector<data::QaExample>& examples, const tokenizers::Tokenizer& tokenizer,
                                 const QaWindowOptions& options) {
  using tokenizers::EncodeOptions;
  using tokenizers::Encoding;
  using tokenizers::TruncationOptions;
  using tokenizers::TruncationStrategy;
  const size_t n = examples.size();
  const size_t specials = tokenizer.num_special_tokens_to_add(true);
  if (options.max_length <= specials)
    throw UsageError("--max_seq_length " + std::to_string(options.max_length) +
                     " leaves no room for a question and a " + "context: the tokenizer adds " +
                     std::to_string(specials) + " special tokens to a pair");

  // The inputs as run_qa gives them to the tokenizer: the question left-stripped.
  std::vector<std::string> questions(n), contexts(n);
  for (size_t i = 0; i < n; ++i) {
    const data::QaExample& e = examples[i];
    if (!core::is_valid_utf8(e.question)) throw DataError(describe(e) + ": the question is not valid UTF-8");
    if (!core::is_valid_utf8(e.context)) throw DataError(describe(e) + ": the context is not valid UTF-8");
    questions[i] = e.question.substr(leading_space_bytes(e.question));
    if (questions[i].empty()) throw DataError(describe(e) + ": the question is empty");
    if (leading_space_bytes(e.context) == e.context.size())
      throw DataError(describe(e) + ": the context is empty (only whitespace)");
    contexts[i] = e.context;
  }

  // The question's tokens decide the room left for the context in a window. A question longer
  // than max_length is tokenized only as far as max_length (a bounded encode).
  EncodeOptions qopt;
  qopt.add_special_tokens = false;
  TruncationOptions qt;
  qt.max_length = options.max_length;
  qt.early_exit = true;
  qopt.truncation = qt;
  std::vector<size_t> room(n);
  {
    const std::vector<Encoding> q = tokenizer.encode_batch(questions, nullptr, qopt);
    for (size_t i = 0; i < n; ++i) {
      const size_t qlen = q[i].size();
      if (qlen + specials >= options.max_length)
        throw DataError(describe(examples[i]) + ": the question alone fills --max_seq_length " +
                        std::to_string(options.max_length) + " (" + (qlen >= options.max_length ? "at least " : "") +
                        std::to_string(qlen) + " tokens and " + std::to_string(specials) +
                        " special tokens), leaving no room for the context; shorten it or raise --max_seq_length");
      room[i] = options.max_length - specials - qlen;
      // tokenizers panics here (Encoding::truncate: stride must be smaller than the window).
      if (options.doc_stride >= room[i])
        throw UsageError("--doc_stride " + std::to_string(options.doc_stride) +
                         " leaves no room for the context with --max_seq_length " + std::to_string(options.max_length) +
                         " and the question \"" + excerpt(questions[i]) + "\" of " + std::to_string(qlen) +
                         " tokens (" + describe(examples[i]) + "): a window holds " + std::to_string(room[i]) +
                         " context tokens, so --doc_stride must be below that (or raise --max_seq_length)");
    }
  }

  // max_windows, before the windows are made: without the early exit a context is tokenized whole,
  // so each distinct context is first tokenized alone only as far as max_windows windows reach.
  if (options.max_windows > 0 && !options.early_exit) {
    std::unordered_map<std::string_view, size_t> index;  // context -> slot
    std::vector<std::string> unique;
    std::vector<size_t> slot(n), reach;
    for (size_t i = 0; i < n; ++i) {
      // The context tokens max_windows windows hold for this question.
      const size_t fits = room[i] + (options.max_windows - 1) * (room[i] - options.doc_stride);
      auto [it, added] = index.emplace(std::string_view(examples[i].context), unique.size());
      if (added) {
        unique.push_back(examples[i].context);
        reach.push_back(fits);
      } else {
        reach[it->second] = std::max(reach[it->second], fits);
      }
      slot[i] = it->second;
    }
    std::vector<Encoding> counted(unique.size());
    EncodeOptions copt;
    copt.add_special_tokens = false;
    TruncationOptions ct;
    ct.early_exit = true;
    // Grouped by reach (usually one value), one bounded batch each.
    std::vector<size_t> order(unique.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return reach[a] < reach[b]; });
    for (size_t from = 0; from < order.size();) {
      size_t to = from;
      std::vector<std::string> texts;
      while (to < order.size() && reach[order[to]] == reach[order[from]]) texts.push_back(unique[order[to++]]);
      ct.max_length = reach[order[from]] + 1;
      copt.truncation = ct;
      std::vector<Encoding> got = tokenizer.encode_batch(texts, nullptr, copt);
      for (size_t k = from; k < to; ++k) counted[order[k]] = std::move(got[k - from]);
      from = to;
    }
    for (size_t i = 0; i < n; ++i) {
      const size_t fits = room[i] + (options.max_windows - 1) * (room[i] - options.doc_stride);
      if (counted[slot[i]].size() > fits)
        throw DataError(describe(examples[i]) + ": the context needs more than " + std::to_string(options.max_windows) +
                        " windows of " + std::to_string(options.max_length) + " tokens (doc_stride " +
                        std::to_string(options.doc_stride) + "; over " + std::to_string(fits) +
                        " context tokens); shorten it, or raise --max_windows (0: no limit)");
    }
  }

  // The windows: question first and only_second truncation (pad_on_right), else the context first
  // and only_first; overflow windows overlapping by doc_stride tokens.
  EncodeOptions o;
  o.add_special_tokens = true;
  o.return_overflowing_tokens = true;
  TruncationOptions t;
  t.max_length = options.max_length;
  t.strategy = options.pad_on_right ? TruncationStrategy::kOnlySecond : TruncationStrategy::kOnlyFirst;
  t.stride = options.doc_stride;
  t.early_exit = options.early_exit;
  o.truncation = t;
  std::vector<Encoding> encoded = options.pad_on_right ? tokenizer.encode_batch(questions, &contexts, o)
                                                       : tokenizer.encode_batch(contexts, &questions, o);
  questions.clear();
  contexts.clear();

  const uint32_t context_index = options.pad_on_right ? 1 : 0;
  const std::optional<int64_t> cls_id = tokenizer.cls_token_id();
  std::vector<QaWindow> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const data::QaExample& e = examples[i];
    Encoding& first = encoded[i];
    std::vector<Encoding> overflow = std::move(first.overflowing);
    first.overflowing.clear();
    const size_t count = 1 + overflow.size();
    if (options.max_windows > 0 && count > options.max_windows)
      throw DataError(describe(e) + ": the context needs " + std::to_string(count) + " windows of " +
                      std::to_string(options.max_length) + " tokens (doc_stride " + std::to_string(options.doc_stride) +
                      "), more than max_windows " + std::to_string(options.max_windows) +
                      "; shorten it, or raise --max_windows (0: no limit)");
    // The label: the first answer's code-point span; none for unlabelled examples.
    const bool labelled = !e.answers.empty() || e.is_impossible;
    const bool answerable = !e.answers.empty();
    size_t start_char = 0, end_char = 0;
    if (answerable) {
      start_char = e.answers[0].answer_start;
      end_char = start_char + core::utf8_length(e.answers[0].text);
    }
    for (size_t w = 0; w < count; ++w) {
      QaWindow win;
      win.encoding = w == 0 ? std::move(first) : std::move(overflow[w - 1]);
      win.example_index = i;
      const Encoding& enc = win.encoding;
      const size_t len = enc.size();
      win.context_offsets.resize(len);
      size_t ctx_begin = len, ctx_end = 0;  // the context's first token, one past its last
      for (size_t k = 0; k < len; ++k) {
        if (enc.sequence_ids[k] && *enc.sequence_ids[k] == context_index) {
          win.context_offsets[k] = enc.offsets[k];
          ctx_begin = std::min(ctx_begin, k);
          ctx_end = k + 1;
        }
      }
      if (ctx_begin >= ctx_end)
        throw DataError(describe(e) + ": the context has no tokens (only characters the tokenizer drops)");
      if (cls_id) {
        auto it = std::find(enc.ids.begin(), enc.ids.end(), *cls_id);
        if (it != enc.ids.end()) win.cls_index = static_cast<size_t>(it - enc.ids.begin());
      }
      if (labelled) {
        const int64_t cls = static_cast<int64_t>(win.cls_index);
        win.start_position = win.end_position = cls;
        // run_qa: a window that does not hold the whole answer points at the CLS token.
        if (answerable && enc.offsets[ctx_begin].first <= start_char && enc.offsets[ctx_end - 1].second >= end_char) {
          // run_qa's two scans, kept within the context: its start scan runs on into the [SEP] and
          // padding (offsets (0, 0)) when the answer starts in the window's last context token, and
          // labels that token; here the scan stops at the context's end.
          size_t s = ctx_begin;
          while (s < ctx_end && enc.offsets[s].first <= start_char) ++s;
          size_t x = ctx_end - 1;
          while (x > ctx_begin && enc.offsets[x].second >= end_char) --x;
          win.start_position = static_cast<int64_t>(s) - 1;
          win.end_position = enc.offsets[x].second >= end_char ? static_cast<int64_t>(x) : static_cast<int64_t>(x) + 1;
        }
      }
      out.push_back(std::move(win));
    }
  }
  return out;
}

}  // namespace textune::tasks
