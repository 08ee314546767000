// Question answering's post-processing against the reference: utils_qa.py's
// postprocess_qa_predictions (predictions.json, nbest_predictions.json, null_odds.json) and the
// question-answering pipeline's postprocess (decode_spans, align_to_words, handle_impossible_answer,
// top_k), on the tokenizer fixtures' reference windows, XQuAD windows and tie-heavy short windows
// with seeded logits. tests/tasks/data/qa_postprocess_goldens.json is made by
// tests/tasks/data/qa_postprocess_make_goldens.py (its docstring gives the command), which runs the
// reference code itself.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <map>
#include <random>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/core/utf8.h"
#include "textune/tasks/question_answering.h"

using namespace textune;
using textune::tasks::QaWindow;

namespace {

const core::Json& goldens() {
  static const core::Json j =
      core::read_json_file(textune::testing::source_dir() + "/tests/tasks/data/qa_postprocess_goldens.json");
  return j;
}

struct Suite {
  std::vector<std::string> ids, contexts;
  std::vector<QaWindow> windows;
  std::vector<std::vector<float>> start, end;
};

std::vector<float> floats(const core::Json& a) {
  std::vector<float> out;
  for (const auto& v : a) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

Suite load_suite(const std::string& name) {
  Suite s;
  const core::Json& examples = goldens().at("suites").at(name);
  for (size_t e = 0; e < examples.size(); ++e) {
    const core::Json& ex = examples[e];
    s.ids.push_back(ex.at("id").get<std::string>());
    s.contexts.push_back(ex.at("context").get<std::string>());
    for (const core::Json& w : ex.at("windows")) {
      QaWindow q;
      q.example_index = e;
      q.cls_index = w.at("cls_index").get<size_t>();
      const core::Json& ids = w.at("ids");
      for (size_t t = 0; t < ids.size(); ++t) {
        q.encoding.ids.push_back(ids[t].get<int64_t>());
        const core::Json& o = w.at("offsets")[t];
        q.encoding.offsets.emplace_back(o[0].get<size_t>(), o[1].get<size_t>());
        const core::Json& seq = w.at("sequence_ids")[t];
        const core::Json& word = w.at("word_ids")[t];
        q.encoding.sequence_ids.push_back(seq.is_null() ? std::nullopt : std::optional<uint32_t>(seq.get<uint32_t>()));
        q.encoding.word_ids.push_back(word.is_null() ? std::nullopt : std::optional<uint32_t>(word.get<uint32_t>()));
        q.encoding.attention_mask.push_back(1);
        q.encoding.special_tokens_mask.push_back(seq.is_null() ? 1 : 0);
        if (!seq.is_null() && seq.get<int>() == 1)
          q.context_offsets.emplace_back(q.encoding.offsets.back());
        else
          q.context_offsets.emplace_back(std::nullopt);
      }
      s.windows.push_back(std::move(q));
      s.start.push_back(floats(w.at("start_logits")));
      s.end.push_back(floats(w.at("end_logits")));
    }
  }
  return s;
}

const Suite& suite(const std::string& name) {
  static std::map<std::string, Suite> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, load_suite(name)).first;
  return it->second;
}

double max_rel_diff = 0;

/// a equals b within 1e-6 relative (float32 softmax: numpy's SIMD exp is not correctly rounded).
::testing::AssertionResult near_rel(double a, double b) {
  const double scale = std::max(std::abs(a), std::abs(b));
  const double rel = scale == 0 ? 0 : std::abs(a - b) / scale;
  max_rel_diff = std::max(max_rel_diff, rel);
  if (rel <= 1e-6) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a << " vs " << b << " (relative " << rel << ")";
}

}  // namespace

TEST(QaPostprocess, GoldensCountAndProvenance) {
  const core::Json& g = goldens();
  EXPECT_EQ(g.at("postprocess").size(), 27u);
  EXPECT_GE(g.at("pipeline").size(), 790u);
  EXPECT_EQ(g.at("suites").at("fixtures").size(), 19u);  // every qa_windows row with windows
}

// predictions.json, nbest_predictions.json and null_odds.json as utils_qa writes them, for every
// suite and option set (v1 and v2.0 with thresholds -2.5/0/1/2.5; n_best_size 1/3/5/20;
// max_answer_length 1/3/30; prefixes), parsed: keys in order, texts exact, logits and null odds
// exact (float32 arithmetic), probabilities to 1e-6 relative.
TEST(QaPostprocess, PredictionFilesEqualUtilsQa) {
  size_t entries = 0;
  for (const core::Json& c : goldens().at("postprocess")) {
    const Suite& s = suite(c.at("suite").get<std::string>());
    const core::Json& o = c.at("options");
    tasks::QaPostprocessOptions opts;
    opts.version_2_with_negative = o.at("version_2_with_negative").get<bool>();
    opts.n_best_size = o.at("n_best_size").get<size_t>();
    opts.max_answer_length = o.at("max_answer_length").get<size_t>();
    opts.null_score_diff_threshold = o.at("null_score_diff_threshold").get<double>();
    const std::string prefix = o.at("prefix").is_null() ? "" : o.at("prefix").get<std::string>();
    const std::string what = c.at("suite").get<std::string>() + " " + o.dump();
    SCOPED_TRACE(what);
    const auto result = tasks::postprocess_qa_predictions(s.contexts, s.windows, s.start, s.end, opts);
    // offsets name the text
    for (size_t e = 0; e < result.nbest.size(); ++e)
      for (const auto& n : result.nbest[e])
        if (n.text != "empty") EXPECT_EQ(core::utf8_substr(s.contexts[e], n.start, n.end - n.start), n.text);
    const auto files = tasks::qa_prediction_files(s.ids, result, opts.version_2_with_negative, prefix);
    const core::Json& want = c.at("files");
    ASSERT_EQ(files.size(), want.size());
    for (const auto& [name, got] : files) {
      ASSERT_TRUE(want.contains(name)) << name;
      const core::Json& w = want.at(name);
      ASSERT_EQ(got.size(), w.size()) << name;
      auto gi = got.begin();
      for (auto wi = w.begin(); wi != w.end(); ++wi, ++gi) {
        ASSERT_EQ(gi.key(), wi.key()) << name;
        if (name.find("nbest") == std::string::npos) {
          EXPECT_EQ(*gi, *wi) << name << " " << wi.key();  // texts; null odds (float32 exact)
          continue;
        }
        ASSERT_EQ(gi->size(), wi->size()) << wi.key();
        for (size_t k = 0; k < wi->size(); ++k) {
          const core::Json& we = (*wi)[k];
          const core::Json& ge = (*gi)[k];
          std::vector<std::string> wkeys, gkeys;
          for (auto it = we.begin(); it != we.end(); ++it) wkeys.push_back(it.key());
          for (auto it = ge.begin(); it != ge.end(); ++it) gkeys.push_back(it.key());
          EXPECT_EQ(gkeys, wkeys) << wi.key();
          EXPECT_EQ(ge.at("text"), we.at("text")) << wi.key() << " #" << k;
          EXPECT_EQ(ge.at("start_logit").get<double>(), we.at("start_logit").get<double>()) << wi.key();
          EXPECT_EQ(ge.at("end_logit").get<double>(), we.at("end_logit").get<double>()) << wi.key();
          EXPECT_TRUE(near_rel(ge.at("probability").get<double>(), we.at("probability").get<double>()))
              << wi.key() << " #" << k;
          ++entries;
        }
      }
    }
  }
  EXPECT_GT(entries, 3000u);
  std::cout << "[ postprocess ] " << entries << " n-best entries; max relative probability diff " << max_rel_diff
            << "\n";
}

// The pipeline's answers for every example: top_k 1/3 x handle_impossible_answer x align_to_words x
// max_answer_len 1/15/30.
TEST(QaPostprocess, PipelineAnswersEqualTheReference) {
  std::map<std::pair<std::string, std::string>, size_t> example_of;
  for (const char* name : {"fixtures", "long", "ties"}) {
    const Suite& s = suite(name);
    for (size_t e = 0; e < s.ids.size(); ++e) example_of[{name, s.ids[e]}] = e;
  }
  size_t answers = 0;
  double max_diff = 0;
  for (const core::Json& c : goldens().at("pipeline")) {
    const std::string sname = c.at("suite").get<std::string>();
    const Suite& s = suite(sname);
    const size_t e = example_of.at({sname, c.at("id").get<std::string>()});
    std::vector<const QaWindow*> wins;
    std::vector<const std::vector<float>*> st, en;
    for (size_t f = 0; f < s.windows.size(); ++f)
      if (s.windows[f].example_index == e) {
        wins.push_back(&s.windows[f]);
        st.push_back(&s.start[f]);
        en.push_back(&s.end[f]);
      }
    const core::Json& o = c.at("options");
    tasks::QaPipelineOptions opts;
    opts.top_k = o.at("top_k").get<size_t>();
    opts.handle_impossible_answer = o.at("handle_impossible_answer").get<bool>();
    opts.align_to_words = o.at("align_to_words").get<bool>();
    opts.max_answer_len = o.at("max_answer_len").get<size_t>();
    SCOPED_TRACE(sname + " " + c.at("id").get<std::string>() + " " + o.dump());
    const auto got = tasks::pipeline_answers(s.contexts[e], wins, st, en, opts);
    const core::Json& want = c.at("answers");
    ASSERT_EQ(got.size(), want.size());
    for (size_t k = 0; k < got.size(); ++k) {
      EXPECT_EQ(got[k].answer, want[k].at("answer").get<std::string>()) << k;
      EXPECT_EQ(got[k].start, want[k].at("start").get<size_t>()) << k;
      EXPECT_EQ(got[k].end, want[k].at("end").get<size_t>()) << k;
      const double before = max_rel_diff;
      max_rel_diff = 0;
      EXPECT_TRUE(near_rel(got[k].score, want[k].at("score").get<double>())) << k;
      max_diff = std::max(max_diff, max_rel_diff);
      max_rel_diff = std::max(before, max_rel_diff);
      ++answers;
    }
  }
  std::cout << "[ pipeline ] " << answers << " answers; max relative score diff " << max_diff << "\n";
}

// A tie case worked by hand from utils_qa's definition: start logits [cls 9, 2, 2, 2], end logits
// [9, 1, 1, 1] over a 3-token context; np.argsort([9,2,2,2])[::-1] over 4 values (insertion sort,
// stable) is [0, 3, 2, 1]: with n_best_size 2 only index 3 of the context is tried, so the one
// valid span is (3, 3), the last word.
TEST(QaPostprocess, TiesRankTheLaterIndexFirstAsNumpy) {
  QaWindow w;
  w.encoding.ids = {101, 7, 8, 9};
  w.encoding.offsets = {{0, 0}, {0, 1}, {2, 3}, {4, 5}};
  w.context_offsets = {std::nullopt, std::make_pair(size_t{0}, size_t{1}), std::make_pair(size_t{2}, size_t{3}),
                       std::make_pair(size_t{4}, size_t{5})};
  tasks::QaPostprocessOptions o;
  o.n_best_size = 2;
  const auto r = tasks::postprocess_qa_predictions({"a b c"}, {w}, {{9, 2, 2, 2}}, {{9, 1, 1, 1}}, o);
  ASSERT_EQ(r.predictions.size(), 1u);
  EXPECT_EQ(r.predictions[0], "c");
  ASSERT_EQ(r.nbest[0].size(), 1u);
  EXPECT_EQ(r.nbest[0][0].probability, 1.0);
}

TEST(QaPostprocess, LogitsShorterThanTheWindowAreADataError) {
  const Suite& s = suite("fixtures");
  std::vector<std::vector<float>> start = s.start;
  start[1].resize(s.windows[1].encoding.size() - 1);
  try {
    tasks::postprocess_qa_predictions(s.contexts, s.windows, start, s.end, {});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("window 1 has"), std::string::npos) << e.what();
  }
  std::vector<const QaWindow*> wins{&s.windows[0]};
  std::vector<float> shorter(s.windows[0].encoding.size() - 3, 0.5f);
  std::vector<const std::vector<float>*> st{&shorter}, en{&s.end[0]};
  EXPECT_THROW(tasks::pipeline_answers(s.contexts[0], wins, st, en, {}), DataError);
  std::vector<float> nan = s.start[0];
  nan[3] = std::nanf("");
  st = {&nan};
  EXPECT_THROW(tasks::pipeline_answers(s.contexts[0], wins, st, en, {}), DataError);
  // more logit rows than windows
  std::vector<std::vector<float>> extra = s.end;
  extra.push_back(s.end[0]);
  EXPECT_THROW(tasks::postprocess_qa_predictions(s.contexts, s.windows, s.start, extra, {}), DataError);
}

// 1190 examples (XQuAD's count) of 2 windows of 384 tokens: post-processing time.
TEST(QaPostprocess, XquadSizedPostprocessingIsFast) {
  const size_t examples = 1190, len = 384;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<std::string> contexts;
  std::vector<QaWindow> windows;
  std::vector<std::vector<float>> start, end;
  std::string context;
  for (size_t i = 0; i < 600; ++i) context += "word ";
  for (size_t e = 0; e < examples; ++e) {
    contexts.push_back(context);
    for (size_t f = 0; f < 2; ++f) {
      QaWindow w;
      w.example_index = e;
      for (size_t t = 0; t < len; ++t) {
        const bool ctx = t >= 16 && t + 1 < len;
        const size_t word = f * 200 + t;
        w.encoding.ids.push_back(5);
        w.encoding.offsets.emplace_back(ctx ? std::make_pair(word * 5, word * 5 + 4)
                                            : std::make_pair(size_t{0}, size_t{0}));
        w.encoding.sequence_ids.push_back(ctx ? std::optional<uint32_t>(1) : std::nullopt);
        w.encoding.word_ids.push_back(ctx ? std::optional<uint32_t>(static_cast<uint32_t>(word)) : std::nullopt);
        w.context_offsets.push_back(ctx ? std::optional(w.encoding.offsets.back()) : std::nullopt);
      }
      windows.push_back(std::move(w));
      std::vector<float> s(len), en(len);
      for (auto& v : s) v = normal(rng);
      for (auto& v : en) v = normal(rng);
      start.push_back(std::move(s));
      end.push_back(std::move(en));
    }
  }
  tasks::QaPostprocessOptions o;
  o.version_2_with_negative = true;
  auto t0 = std::chrono::steady_clock::now();
  const auto r = tasks::postprocess_qa_predictions(contexts, windows, start, end, o);
  const auto files = tasks::qa_prediction_files(std::vector<std::string>(examples, "x"), r, true);
  auto t1 = std::chrono::steady_clock::now();
  std::vector<const QaWindow*> wins(2);
  std::vector<const std::vector<float>*> st(2), en(2);
  tasks::QaPipelineOptions p;
  p.top_k = 3;
  p.handle_impossible_answer = true;
  for (size_t e = 0; e < examples; ++e) {
    for (size_t f = 0; f < 2; ++f) {
      wins[f] = &windows[2 * e + f];
      st[f] = &start[2 * e + f];
      en[f] = &end[2 * e + f];
    }
    EXPECT_FALSE(tasks::pipeline_answers(contexts[e], wins, st, en, p).empty());
  }
  auto t2 = std::chrono::steady_clock::now();
  const double post_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  const double pipe_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
  std::cout << "[ timing ] postprocess_qa_predictions + files: " << post_ms << " ms; pipeline_answers: " << pipe_ms
            << " ms (1190 examples x 2 windows x 384 tokens)\n";
  EXPECT_EQ(r.predictions.size(), examples);
  EXPECT_LT(post_ms, 5000);
  EXPECT_LT(pipe_ms, 5000);
}
