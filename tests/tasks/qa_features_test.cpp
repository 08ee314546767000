// Question-answering windows (tasks::qa_windows) as transformers' run_qa.py builds them
// (prepare_train_features / prepare_validation_features): checked against the tokenizer fixtures'
// qa_windows rows (tokenizers 0.23.2, early exit), the live reference tokenizer (tokenizers 0.22 through
// tools/reference, windows over the whole context) on real XQuAD and CMRC 2018 questions, and the
// definition of the start/end positions on every answerable XQuAD-en and CMRC dev question.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/core/utf8.h"
#include "textune/tasks/question_answering.h"
#include "tokenizers/reference_diff.h"

using namespace textune;
using core::Json;
using tasks::QaWindow;
using tasks::QaWindowOptions;
using tokenizers::Encoding;
using tokenizers::Tokenizer;

namespace {

std::shared_ptr<const Tokenizer> tokenizer(const std::string& name) {
  return Tokenizer::from_dir(textune::testing::tokenizer_fixture(name));
}

std::vector<Json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(Json::parse(line));
  return rows;
}

/// A SQuAD-shaped file flattened as the `datasets` squad builder does (one example per question,
/// the answers as given). Read here, not through data::read_qa, so that these tests see the file's
/// values as they are.
std::vector<data::QaExample> read_squad(const std::string& path) {
  const Json j = core::read_json_file(path);
  std::vector<data::QaExample> out;
  for (const Json& article : j["data"])
    for (const Json& p : article["paragraphs"])
      for (const Json& q : p["qas"]) {
        data::QaExample e;
        e.id = q["id"].get<std::string>();
        e.question = q["question"].get<std::string>();
        e.context = p["context"].get<std::string>();
        for (const Json& a : q["answers"])
          e.answers.push_back({a["text"].get<std::string>(), a["answer_start"].get<size_t>()});
        e.line = out.size() + 1;
        out.push_back(std::move(e));
      }
  return out;
}

data::QaExample example(const std::string& id, const std::string& question, const std::string& context) {
  data::QaExample e;
  e.id = id;
  e.question = question;
  e.context = context;
  return e;
}

/// Python's context.index(answer) in code points (the definition of answer_start).
size_t code_point_index(const std::string& context, const std::string& answer) {
  const size_t at = context.find(answer);
  EXPECT_NE(at, std::string::npos) << answer;
  return core::utf8_length(context.substr(0, at));
}

Json offsets_json(const std::vector<std::pair<size_t, size_t>>& o) {
  Json a = Json::array();
  for (const auto& p : o) a.push_back(Json::array({p.first, p.second}));
  return a;
}

Json optional_json(const std::vector<std::optional<uint32_t>>& v) {
  Json a = Json::array();
  for (const auto& x : v) a.push_back(x ? Json(*x) : Json());
  return a;
}

/// The windows of example `i` in `windows`.
std::vector<const QaWindow*> of_example(const std::vector<QaWindow>& windows, size_t i) {
  std::vector<const QaWindow*> out;
  for (const QaWindow& w : windows)
    if (w.example_index == i) out.push_back(&w);
  return out;
}

const std::vector<std::string> kQaFixtures = {"bert-base-cased", "bert-base-uncased", "bert-base-chinese",
                                              "roberta-base"};

}  // namespace

// ---------------------------------------------------------------------------------------------
// The fixtures' qa_windows rows (tokenizer(question, context, truncation="only_second",
// max_length=32, stride=8, return_overflowing_tokens=True, padding="max_length") with tokenizers
// 0.23.2): equal with early_exit, and with the whole context the same windows plus the ones the
// early exit loses (huggingface/tokenizers#2091).

TEST(QaWindows, EqualTheFixturesQaWindowsRowsWithEarlyExit) {
  size_t rows_seen = 0, refused = 0, rows_2091 = 0, windows_lost = 0;
  for (const std::string& name : kQaFixtures) {
    const std::string dir = textune::testing::tokenizer_fixture(name);
    auto tok = Tokenizer::from_dir(dir);
    for (const Json& row : read_jsonl(dir + "/golden_pairs.jsonl")) {
      if (!row.contains("qa_windows")) continue;
      SCOPED_TRACE(name + ": " + row["a"].get<std::string>());
      QaWindowOptions o;
      o.max_length = row["max_length"].get<size_t>();
      o.doc_stride = row["stride"].get<size_t>();
      o.early_exit = true;
      const std::vector<data::QaExample> ex = {example("q0", row["a"].get<std::string>(), row["b"].get<std::string>())};
      if (row.contains("error")) {
        // The reference panics: "`stride` must be strictly less than `max_len=1`".
        ASSERT_NE(row["error"].get<std::string>().find("stride"), std::string::npos);
        EXPECT_THROW(tasks::qa_windows(ex, *tok, o), UsageError);
        ++refused;
        continue;
      }
      ++rows_seen;
      std::vector<QaWindow> w = tasks::qa_windows(ex, *tok, o);
      std::vector<Encoding> padded;
      for (const QaWindow& x : w) padded.push_back(x.encoding);
      tokenizers::PaddingOptions p;
      p.strategy = tokenizers::PaddingOptions::Strategy::kFixed;
      p.length = o.max_length;
      tok->pad(padded, p);
      Json ids = Json::array(), type_ids = Json::array(), mask = Json::array(), offsets = Json::array(),
           seq = Json::array();
      for (const Encoding& e : padded) {
        ids.push_back(e.ids);
        type_ids.push_back(e.type_ids);
        mask.push_back(e.attention_mask);
        offsets.push_back(offsets_json(e.offsets));
        seq.push_back(optional_json(e.sequence_ids));
      }
      EXPECT_EQ(ids, row["ids"]);
      if (!row["type_ids"].is_null()) EXPECT_EQ(type_ids, row["type_ids"]);
      EXPECT_EQ(mask, row["attention_mask"]);
      EXPECT_EQ(offsets, row["offsets"]);
      EXPECT_EQ(seq, row["sequence_ids"]);
      for (const QaWindow& x : w) {
        EXPECT_EQ(x.example_index, 0u);
        EXPECT_EQ(x.start_position, -1);  // unlabelled
        EXPECT_EQ(x.end_position, -1);
        EXPECT_EQ(x.cls_index, 0u);  // [CLS] / <s> opens every window
        for (size_t k = 0; k < x.encoding.size(); ++k) {
          const bool in_context = x.encoding.sequence_ids[k] && *x.encoding.sequence_ids[k] == 1;
          ASSERT_EQ(x.context_offsets[k].has_value(), in_context) << k;
          if (in_context) EXPECT_EQ(*x.context_offsets[k], x.encoding.offsets[k]);
        }
      }

      // The whole context: the early-exit windows are the first ones (the last of them may end
      // early: the early exit cut the context), and the last window reaches the context's end.
      QaWindowOptions whole = o;
      whole.early_exit = false;
      std::vector<QaWindow> all = tasks::qa_windows(ex, *tok, whole);
      ASSERT_GE(all.size(), w.size());
      for (size_t k = 0; k + 1 < w.size(); ++k) EXPECT_EQ(all[k].encoding.ids, w[k].encoding.ids) << "window " << k;
      const Encoding alone = tok->encode(row["b"].get<std::string>(), std::nullopt, [] {
        tokenizers::EncodeOptions e;
        e.add_special_tokens = false;
        return e;
      }());
      size_t reach = 0;
      for (const auto& c : all.back().context_offsets)
        if (c) reach = std::max(reach, c->second);
      EXPECT_EQ(reach, alone.offsets.back().second);
      if (all.size() != w.size() || all.back().encoding.ids != w.back().encoding.ids) {
        ++rows_2091;
        windows_lost += all.size() - w.size();
      }
    }
  }
  std::cout << "[ qa rows ] " << rows_seen << " qa_windows rows equal, " << refused
            << " refused; tokenizers#2091: " << rows_2091 << " rows whose windows stop early, " << windows_lost
            << " windows lost\n";
  EXPECT_EQ(rows_seen + refused, 4u * 5u);
  EXPECT_EQ(refused, 1u);    // bert-base-chinese: the English question leaves room for 1 context token (max_len=1)
  EXPECT_GT(rows_2091, 0u);  // the "capital of France" rows: the early exit stops inside the context
}

// ---------------------------------------------------------------------------------------------
// The live reference tokenizer (tools/reference: tokenizers 0.22, no early exit) on real questions:
// every window of encode(question.lstrip(), context) with only_second, max_length 384, stride 128
// (and, for a left padding side, encode(context, question) with only_first).

namespace {

void compare_with_reference(const std::string& fixture, const std::vector<data::QaExample>& examples, bool pad_on_right,
                            size_t max_length, size_t stride) {
  auto tok = tokenizer(fixture);
  QaWindowOptions o;
  o.max_length = max_length;
  o.doc_stride = stride;
  o.pad_on_right = pad_on_right;
  const std::vector<QaWindow> ours = tasks::qa_windows(examples, *tok, o);
  std::vector<Json> requests;
  for (const data::QaExample& e : examples) {
    std::string q = e.question;
    q.erase(0, q.find_first_not_of(" \t\n\r\f\v"));  // ASCII is all these files hold before a question
    Json r = Json::object();
    r["text"] = pad_on_right ? q : e.context;
    r["pair"] = pad_on_right ? e.context : q;
    r["add_special_tokens"] = true;
    r["truncation"] =
        Json{{"max_length", max_length}, {"strategy", pad_on_right ? "OnlySecond" : "OnlyFirst"}, {"stride", stride}};
    requests.push_back(std::move(r));
  }
  const std::string tj = textune::testing::tokenizer_fixture(fixture) + "/tokenizer.json";
  std::vector<Json> ref;
  try {
    ref = tokenizers::reference_diff::run_reference(textune::testing::source_dir(), tj, requests);
  } catch (const std::runtime_error& err) {
    GTEST_SKIP() << err.what();
  }
  size_t next = 0, windows = 0, mismatched = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    ASSERT_FALSE(ref[i].contains("error")) << ref[i].dump();
    std::vector<Json> theirs = {ref[i]};
    for (const Json& w : ref[i]["overflowing"]) theirs.push_back(w);
    for (size_t k = 0; k < theirs.size(); ++k, ++next) {
      ASSERT_LT(next, ours.size());
      ASSERT_EQ(ours[next].example_index, i) << examples[i].id << " window " << k;
      Json mine = tokenizers::reference_diff::encoding_json(ours[next].encoding);
      ++windows;
      for (const char* key : {"ids", "type_ids", "tokens", "offsets", "special_tokens_mask", "attention_mask",
                              "word_ids", "sequence_ids"})
        if (mine[key] != theirs[k][key]) {
          if (++mismatched <= 3)
            ADD_FAILURE() << fixture << " " << examples[i].id << " window " << k << " field " << key << "\n  reference "
                          << theirs[k][key].dump().substr(0, 400) << "\n  textune   "
                          << mine[key].dump().substr(0, 400);
          break;
        }
    }
  }
  EXPECT_EQ(next, ours.size()) << fixture << ": textune made more windows than the reference";
  EXPECT_EQ(mismatched, 0u);
  std::cout << "[ reference ] " << fixture << (pad_on_right ? " question first: " : " context first: ")
            << examples.size() << " questions, " << windows << " windows equal to the reference's\n";
}

/// Every `step`-th example of a file.
std::vector<data::QaExample> every(const std::vector<data::QaExample>& all, size_t step) {
  std::vector<data::QaExample> out;
  for (size_t i = 0; i < all.size(); i += step) out.push_back(all[i]);
  return out;
}

}  // namespace

TEST(QaWindows, EqualTheLiveReferenceOnXquadAndCmrc) {
  const std::string qa = textune::testing::data_dir() + "/qa";
  const auto en = every(read_squad(qa + "/xquad/xquad.en.json"), 17);
  const auto zh = every(read_squad(qa + "/xquad/xquad.zh.json"), 17);
  const auto cmrc = every(read_squad(qa + "/cmrc2018/cmrc2018_dev.json"), 43);
  compare_with_reference("bert-base-cased", en, true, 384, 128);
  compare_with_reference("roberta-base", en, true, 384, 128);
  compare_with_reference("bert-base-chinese", zh, true, 384, 128);
  compare_with_reference("bert-base-chinese", cmrc, true, 384, 128);
  // Small windows: many per context; and the context first (a left padding side).
  compare_with_reference("bert-base-uncased", every(en, 3), true, 128, 24);
  compare_with_reference("bert-base-chinese", every(cmrc, 3), false, 128, 24);
  compare_with_reference("roberta-base", every(en, 3), false, 128, 24);
}

// ---------------------------------------------------------------------------------------------
// Positions from their definition (run_qa's prepare_train_features): in a window that holds the
// whole first answer, [start, end] is the tightest token span around it: the start token is the
// last context token that begins at or before answer_start, the end token the first one that ends
// at or after answer_start + len(text); every other window points at the CLS token.

namespace {

struct PositionCounts {
  size_t examples = 0, answerable = 0, windows = 0, holding = 0, cls = 0, tokens = 0;
  double encode_ms = 0;
};

PositionCounts check_positions(const std::vector<data::QaExample>& examples, const Tokenizer& tok,
                               const QaWindowOptions& o) {
  PositionCounts c;
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<QaWindow> windows = tasks::qa_windows(examples, tok, o);
  c.encode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  c.examples = examples.size();
  c.windows = windows.size();
  for (const QaWindow& w : windows) c.tokens += w.encoding.size();
  const int64_t cls_id = *tok.cls_token_id();
  size_t failures = 0;
  auto fail = [&](const data::QaExample& e, const std::string& what) {
    if (++failures <= 5) ADD_FAILURE() << e.id << ": " << what;
  };
  size_t at = 0;
  for (size_t i = 0; i < examples.size(); ++i) {
    const data::QaExample& e = examples[i];
    const std::u32string context = core::utf8_decode(e.context);
    size_t held = 0;
    bool aligned = false;
    size_t start_char = 0, end_char = 0;
    if (!e.answers.empty()) {
      start_char = e.answers[0].answer_start;
      end_char = start_char + core::utf8_length(e.answers[0].text);
      aligned = core::utf8_substr(e.context, start_char, end_char - start_char) == e.answers[0].text;
      ++c.answerable;
    }
    for (; at < windows.size() && windows[at].example_index == i; ++at) {
      const QaWindow& w = windows[at];
      if (w.encoding.ids[w.cls_index] != cls_id) fail(e, "cls_index is not the CLS token");
      size_t first = SIZE_MAX, last = 0;
      for (size_t k = 0; k < w.context_offsets.size(); ++k)
        if (w.context_offsets[k]) {
          first = std::min(first, k);
          last = k;
        }
      const bool holds = !e.answers.empty() && w.context_offsets[first]->first <= start_char &&
                         w.context_offsets[last]->second >= end_char;
      if (!holds) {
        if (w.start_position != static_cast<int64_t>(w.cls_index) || w.end_position != w.start_position)
          fail(e, "a window without the answer does not point at CLS");
        ++c.cls;
        continue;
      }
      ++held;
      const size_t s = static_cast<size_t>(w.start_position), x = static_cast<size_t>(w.end_position);
      if (s < first || x > last || s > x) {
        fail(e, "positions " + std::to_string(s) + ", " + std::to_string(x) + " outside the context");
        continue;
      }
      const auto& bs = *w.context_offsets[s];
      const auto& bx = *w.context_offsets[x];
      // Tightest: the start token begins at or before the answer and the next one after it; the
      // end token ends at or after the answer's end and the one before it before that.
      if (!(bs.first <= start_char && (s == last || w.context_offsets[s + 1]->first > start_char)))
        fail(e, "the start token does not begin the answer");
      if (!(bx.second >= end_char && (x == first || w.context_offsets[x - 1]->second < end_char)))
        fail(e, "the end token does not end the answer");
      // The span's text holds the answer (when the file's answer_start is right).
      if (aligned) {
        const std::u32string span = context.substr(bs.first, bx.second - bs.first);
        if (span.find(core::utf8_decode(e.answers[0].text)) == std::u32string::npos)
          fail(e, "the span \"" + core::utf8_encode(span) + "\" does not hold \"" + e.answers[0].text + "\"");
      }
    }
    // The windows cover the whole context, so some window holds every answer.
    if (!e.answers.empty() && held == 0) fail(e, "no window holds the answer");
    c.holding += held;
  }
  EXPECT_EQ(at, windows.size());
  EXPECT_EQ(failures, 0u);
  return c;
}

}  // namespace

TEST(QaWindows, PositionsFollowTheDefinitionOnXquadEnAndCmrc) {
  const std::string qa = textune::testing::data_dir() + "/qa";
  QaWindowOptions o;  // max_length 384, doc_stride 128
  const auto en = read_squad(qa + "/xquad/xquad.en.json");
  const auto cmrc = read_squad(qa + "/cmrc2018/cmrc2018_dev.json");
  auto cased = tokenizer("bert-base-cased");
  auto chinese = tokenizer("bert-base-chinese");
  tasks::qa_windows(en, *cased, o);  // warm-up (thread pool)
  {
    // What the max_windows pre-count costs (each distinct context tokenized alone first).
    QaWindowOptions unlimited = o;
    unlimited.max_windows = 0;
    const auto t0 = std::chrono::steady_clock::now();
    const size_t n = tasks::qa_windows(en, *cased, unlimited).size();
    std::cout << "[ positions ] XQuAD-en without the max_windows pre-count: " << n << " windows, qa_windows "
              << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() << " ms\n";
  }
  const PositionCounts a = check_positions(en, *cased, o);
  const PositionCounts b = check_positions(cmrc, *chinese, o);
  for (const auto& [name, c] :
       {std::pair<const char*, PositionCounts>{"XQuAD-en bert-base-cased", a}, {"CMRC 2018 dev bert-base-chinese", b}})
    std::cout << "[ positions ] " << name << ": " << c.examples << " questions, " << c.windows << " windows ("
              << static_cast<double>(c.windows) / static_cast<double>(c.examples) << " per question), " << c.holding
              << " hold their answer, " << c.cls << " point at CLS, " << c.tokens << " tokens; qa_windows "
              << c.encode_ms << " ms\n";
  EXPECT_EQ(a.answerable, 1190u);
  EXPECT_GT(a.windows, a.examples);  // some XQuAD contexts (up to 3,326 characters) need several windows
  EXPECT_EQ(b.answerable, 3219u);
}

// ---------------------------------------------------------------------------------------------
// Hand cases: emoji, CJK and combining marks (offsets in code points), unanswerable and unlabelled
// questions, a left padding side.

TEST(QaWindows, CodePointPositionsWithEmojiCjkAndCombiningMarks) {
  // 🍕 is one code point of 4 bytes, 🇮🇹 two, "e\u0301" two (e + COMBINING ACUTE ACCENT).
  const std::string context =
      "The 🍕 came from Napoli 🇮🇹 with the chef. He moved to 東京 in spring, then studied at the e\u0301cole in "
      "Paris 👩‍🍳 and wrote a book called Cafe\u0301 Ma\u0308dchen about it.";
  for (const char* name : {"bert-base-cased", "bert-base-uncased", "bert-base-chinese", "roberta-base"}) {
    auto tok = tokenizer(name);
    for (const std::string& answer : {std::string("Napoli"), std::string("東京"), std::string("e\u0301cole"),
                                      std::string("Cafe\u0301 Ma\u0308dchen"), std::string("Paris")}) {
      SCOPED_TRACE(std::string(name) + ": " + answer);
      data::QaExample e = example("hand", "  Where?", context);
      e.answers.push_back({answer, code_point_index(context, answer)});
      QaWindowOptions o;
      o.max_length = 24;
      o.doc_stride = 6;
      const std::vector<QaWindow> w = tasks::qa_windows({e}, *tok, o);
      ASSERT_GT(w.size(), 2u);
      size_t held = 0;
      for (const QaWindow& x : w) {
        if (x.start_position == static_cast<int64_t>(x.cls_index)) continue;
        ++held;
        const auto b = *x.context_offsets[x.start_position];
        const auto f = *x.context_offsets[x.end_position];
        // The answers are whole words here: the span's text is the answer itself.
        EXPECT_EQ(core::utf8_substr(context, b.first, f.second - b.first), answer);
      }
      EXPECT_GE(held, 1u);
    }
  }
}

TEST(QaWindows, AnAnswerInTheWindowsLastContextTokenIsThatToken) {
  // bert-base-cased: [CLS] q ? [SEP] a b c d e f g h i j Paris [SEP]: a window of 16 holds 11 context
  // tokens, so "Paris" (token 14) closes the first window. run_qa's start scan would run on over the
  // [SEP] (offsets (0, 0) <= answer_start) and label token 15; the definition labels token 14. The
  // second window starts 11 - 3 = 8 context tokens later: [CLS] q ? [SEP] i j Paris ...: token 6.
  auto tok = tokenizer("bert-base-cased");
  const std::string context = "a b c d e f g h i j Paris k l m n";
  data::QaExample e = example("edge", "q?", context);
  e.answers.push_back({"Paris", code_point_index(context, "Paris")});
  QaWindowOptions o;
  o.max_length = 16;
  o.doc_stride = 3;
  const std::vector<QaWindow> w = tasks::qa_windows({e}, *tok, o);
  ASSERT_EQ(w.size(), 2u);
  ASSERT_EQ(w[0].encoding.size(), 16u);
  EXPECT_EQ(w[0].start_position, 14);
  EXPECT_EQ(w[0].end_position, 14);
  EXPECT_EQ(w[1].start_position, 6);
  EXPECT_EQ(w[1].end_position, 6);
}

TEST(QaWindows, UnanswerablePointsAtClsAndUnlabelledAtMinusOne) {
  auto tok = tokenizer("roberta-base");
  data::QaExample impossible = example("v2", "Who?", "Nobody is named in this short context at all, sadly.");
  impossible.is_impossible = true;
  data::QaExample unlabelled = example("pred", "Who?", impossible.context);
  QaWindowOptions o;
  o.max_length = 16;
  o.doc_stride = 4;
  const std::vector<QaWindow> w = tasks::qa_windows({impossible, unlabelled}, *tok, o);
  size_t first = 0, second = 0;
  for (const QaWindow& x : w) {
    EXPECT_EQ(x.encoding.ids[x.cls_index], *tok->cls_token_id());
    if (x.example_index == 0) {
      ++first;
      EXPECT_EQ(x.start_position, static_cast<int64_t>(x.cls_index));
      EXPECT_EQ(x.end_position, static_cast<int64_t>(x.cls_index));
    } else {
      ++second;
      EXPECT_EQ(x.start_position, -1);
      EXPECT_EQ(x.end_position, -1);
    }
  }
  EXPECT_GT(first, 1u);
  EXPECT_EQ(first, second);
}

TEST(QaWindows, LeftPaddingSidePutsTheContextFirst) {
  // A tokenizer whose tokenizer_config.json says "padding_side": "left" (run_qa's pad_on_right false).
  textune::testing::TempDir tmp;
  const std::string src = textune::testing::tokenizer_fixture("bert-base-cased");
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    textune::testing::write_text(tmp / f, textune::testing::read_text(src + "/" + f));
  Json config = core::read_json_file(tmp / "tokenizer_config.json");
  config["padding_side"] = "left";
  core::write_json_file(tmp / "tokenizer_config.json", config);
  auto tok = Tokenizer::from_dir(tmp.path());
  ASSERT_EQ(tok->padding_side(), tokenizers::Side::kLeft);
  const std::string context = "Marie Curie was born in Warsaw in 1867 and later moved to Paris to study physics.";
  data::QaExample e = example("left", "Where was Curie born?", context);
  e.answers.push_back({"Warsaw", code_point_index(context, "Warsaw")});
  QaWindowOptions o;
  o.max_length = 20;
  o.doc_stride = 3;
  o.pad_on_right = tok->padding_side() == tokenizers::Side::kRight;
  const std::vector<QaWindow> w = tasks::qa_windows({e}, *tok, o);
  ASSERT_GT(w.size(), 1u);
  bool held = false;
  for (const QaWindow& x : w) {
    // [CLS] context [SEP] question [SEP]: the context is sequence 0, right after [CLS].
    EXPECT_EQ(x.cls_index, 0u);
    ASSERT_TRUE(x.encoding.sequence_ids[1].has_value());
    EXPECT_EQ(*x.encoding.sequence_ids[1], 0u);
    EXPECT_TRUE(x.context_offsets[1].has_value());
    EXPECT_FALSE(x.context_offsets[x.encoding.size() - 2].has_value());  // the question's last token
    if (x.start_position != 0) {
      held = true;
      const auto b = *x.context_offsets[x.start_position];
      const auto f = *x.context_offsets[x.end_position];
      EXPECT_EQ(core::utf8_substr(context, b.first, f.second - b.first), "Warsaw");
    }
  }
  EXPECT_TRUE(held);
}

TEST(QaWindows, WindowCountIsExactUpToMaxWindows) {
  // bert-base-cased: "q ?" is 2 tokens, 3 special tokens, so a window of 16 holds 11 context tokens
  // and each further window 11 - 3 = 8 new ones: 3 windows hold 11 + 2 * 8 = 27 tokens.
  auto tok = tokenizer("bert-base-cased");
  auto words = [](size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += (i ? " " : "") + std::string(1, static_cast<char>('a' + i % 26));
    return s;
  };
  QaWindowOptions o;
  o.max_length = 16;
  o.doc_stride = 3;
  o.max_windows = 3;
  EXPECT_EQ(tasks::qa_windows({example("fits", "q?", words(27))}, *tok, o).size(), 3u);
  QaWindowOptions unlimited = o;
  unlimited.max_windows = 0;
  EXPECT_EQ(tasks::qa_windows({example("four", "q?", words(28))}, *tok, unlimited).size(), 4u);
  try {
    tasks::qa_windows({example("fits", "q?", words(27)), example("too-many", "q?", words(28))}, *tok, o);
    FAIL() << "expected a DataError";
  } catch (const DataError& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("\"too-many\""), std::string::npos) << m;
    EXPECT_NE(m.find("more than 3 windows"), std::string::npos) << m;
  }
  // With the early exit the windows are made first and counted exactly.
  QaWindowOptions early = o;
  early.early_exit = true;
  early.max_windows = 1;
  try {
    tasks::qa_windows({example("two", "q?", words(19))}, *tok, early);
    FAIL() << "expected a DataError";
  } catch (const DataError& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("\"two\""), std::string::npos) << m;
    EXPECT_NE(m.find("needs 2 windows"), std::string::npos) << m;
  }
}

// ---------------------------------------------------------------------------------------------
// Bad input.

TEST(QaWindows, DocStrideWithoutRoomIsAUsageErrorBeforeAnyEncode) {
  auto tok = tokenizer("bert-base-cased");
  // 64 - 3 special tokens - the question's tokens leaves less than 128.
  QaWindowOptions o;
  o.max_length = 64;
  o.doc_stride = 128;
  try {
    tasks::qa_windows({example("s", "What is the capital of France?", "Paris.")}, *tok, o);
    FAIL() << "expected a UsageError";
  } catch (const UsageError& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("--doc_stride 128"), std::string::npos) << m;
    EXPECT_NE(m.find("--max_seq_length 64"), std::string::npos) << m;
    EXPECT_NE(m.find("What is the capital of France?"), std::string::npos) << m;
    // 7 question tokens (What | is | the | capital | of | France | ?: the fixture's qa_windows offsets),
    // so a window holds 64 - 3 - 7 = 54 context tokens.
    EXPECT_NE(m.find("of 7 tokens"), std::string::npos) << m;
    EXPECT_NE(m.find("54"), std::string::npos) << m;
  }
  // The same numbers where the context would fit in one window: still refused, as the stride
  // can never work with that question.
  o.doc_stride = 54;
  EXPECT_THROW(tasks::qa_windows({example("s", "What is the capital of France?", "Paris.")}, *tok, o), UsageError);
  o.doc_stride = 53;
  EXPECT_NO_THROW(tasks::qa_windows({example("s", "What is the capital of France?", "Paris.")}, *tok, o));
}

TEST(QaWindows, AQuestionThatFillsMaxLengthNamesItsId) {
  auto tok = tokenizer("bert-base-chinese");
  std::string question;
  for (int i = 0; i < 5000; ++i) question += "问";  // one token per character
  QaWindowOptions o;
  o.max_length = 384;
  try {
    tasks::qa_windows({example("ok", "谁？", "北京。"), example("long-q", question, "北京。")}, *tok, o);
    FAIL() << "expected a DataError";
  } catch (const DataError& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("\"long-q\""), std::string::npos) << m;
    EXPECT_NE(m.find("fills"), std::string::npos) << m;
  }
}

TEST(QaWindows, AHugeContextIsRefusedQuicklyNamingItsId) {
  auto tok = tokenizer("bert-base-uncased");
  std::string context;
  while (context.size() < (size_t{1} << 20)) context += "the quick brown fox jumps over the lazy dog. ";
  QaWindowOptions o;  // 384 / 128, max_windows 50
  const auto t0 = std::chrono::steady_clock::now();
  try {
    tasks::qa_windows({example("huge", "What jumps?", context)}, *tok, o);
    FAIL() << "expected a DataError";
  } catch (const DataError& err) {
    const std::string m = err.what();
    EXPECT_NE(m.find("\"huge\""), std::string::npos) << m;
    EXPECT_NE(m.find("more than 50 windows"), std::string::npos) << m;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 2.0);  // only as far as 50 windows reach is tokenized, not the 1 MiB
}

TEST(QaWindows, EmptyContextOrQuestionNamesTheId) {
  auto tok = tokenizer("bert-base-cased");
  QaWindowOptions o;
  for (const auto& [question, context, what] :
       {std::tuple<std::string, std::string, std::string>{"Who?", "  \n\t\u3000 ", "context is empty"},
        {"Who?", "", "context is empty"},
        {" \t ", "Some context.", "question is empty"},
        {"Who?", "\x01\x02", "no tokens"}}) {
    try {
      tasks::qa_windows({example("e1", question, context)}, *tok, o);
      ADD_FAILURE() << "expected a DataError for " << what;
    } catch (const DataError& err) {
      const std::string m = err.what();
      EXPECT_NE(m.find("\"e1\""), std::string::npos) << m;
      EXPECT_NE(m.find(what), std::string::npos) << m;
    }
  }
  EXPECT_THROW(tasks::qa_windows({example("bad", "Who?", "\xff\xfe")}, *tok, o), DataError);
}
