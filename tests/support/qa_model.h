// A small extractive question-answering model for the predict, serve and Pipeline tests, and the
// train-free checks its answers must pass (the answer is the context's text between start and end in
// code points, the score a probability, top_k lists sorted).
#pragma once

#include <cstdint>
#include <string>

#include "support/test_support.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::testing {

/// Builds a BERT question-answering model in `dir`: `textune init` over the real bert-base-cased
/// vocabulary (2 layers, hidden 32, 2 heads, 64 positions, seed 7), a newly initialised qa_outputs
/// head (BertForQuestionAnswering; another call initialises another head: see copy_qa_model), its tokenizer, and
/// textune_task.json naming the task with `options` (default doc_stride 16: a window holds 64 tokens, so contexts of a
/// few sentences need several windows). Returns "" on success, else the error.
inline std::string make_small_qa_model(const std::string& work_dir, const std::string& dir,
                                       const std::string& options = R"({"doc_stride": 16})") {
  const std::string base = work_dir + "/qa-base";
  if (!std::filesystem::exists(base)) {
    auto r = run_cli("init --arch bert --cased --vocab " + data_dir() +
                     "/vocab/bert-base-cased/vocab.txt --layers 2 --hidden 32 --heads 2 --intermediate 64 "
                     "--max-position 64 --seed 7 --output " +
                     base);
    if (r.exit_code != 0) return "textune init failed: " + r.err;
  }
  models::LoadOptions lo;
  lo.architecture = "BertForQuestionAnswering";
  auto model = models::load_pretrained(base, lo);
  core::AtomicDirectory out(dir);
  models::save_pretrained_into(model, out.staging_path());
  tokenizers::copy_tokenizer_files(base, out.staging_path());
  write_text(out.staging_path() + "/textune_task.json",
             R"({"task": "question-answering", "options": )" + options + "}");
  out.commit();
  return "";
}

/// A copy of the model directory `src` in `dst` whose textune_task.json has `options` (the same
/// weights: a second make_small_qa_model would initialise another head).
inline void copy_qa_model(const std::string& src, const std::string& dst, const std::string& options) {
  std::filesystem::copy(src, dst, std::filesystem::copy_options::recursive);
  write_text(dst + "/textune_task.json", R"({"task": "question-answering", "options": )" + options + "}");
}

/// The Unicode code points of UTF-8 `s` (well-formed input assumed: the tests' own strings).
inline std::u32string code_points(const std::string& s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? c : c & (0xFF >> (n + 1));
    for (size_t k = 1; k < n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

/// UTF-8 of code points.
inline std::string utf8_of(const std::u32string& cps) {
  std::string out;
  for (char32_t c : cps) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (c < 0x800) {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
      out += static_cast<char>(0xE0 | (c >> 12));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (c >> 18));
      out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

/// Python's context[start:end] (code points).
inline std::string python_slice(const std::string& context, size_t start, size_t end) {
  const std::u32string cps = code_points(context);
  if (start > cps.size()) start = cps.size();
  if (end > cps.size()) end = cps.size();
  if (end < start) end = start;
  return utf8_of(cps.substr(start, end - start));
}

/// "" when `a` ({"answer", "score", "start", "end"}) is a valid answer about `context`: the answer is
/// context[start:end] in code points, not empty, and the score a probability in (0, 1]; else what
/// is wrong.
inline std::string answer_problem(const core::Json& a, const std::string& context) {
  if (!a.is_object() || !a.contains("answer") || !a.contains("score") || !a.contains("start") || !a.contains("end"))
    return "not an answer object: " + a.dump();
  const size_t start = a["start"].get<size_t>(), end = a["end"].get<size_t>();
  const double score = a["score"].get<double>();
  if (!(score > 0 && score <= 1)) return "score out of (0, 1]: " + a.dump();
  if (end <= start || end > code_points(context).size()) return "span outside the context: " + a.dump();
  if (a["answer"].get<std::string>() != python_slice(context, start, end))
    return "answer is not context[start:end] (\"" + python_slice(context, start, end) + "\"): " + a.dump();
  return "";
}

}  // namespace textune::testing
