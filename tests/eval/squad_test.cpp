// SQuAD v1.1 / v2.0 and CMRC 2018 metrics (textune/eval/squad.h) against goldens made by running the
// official scripts themselves (tests/eval/data/squad_make_goldens.py; its docstring gives the command):
// evaluate's metrics/squad/compute_score.py (v1.1), metrics/squad_v2/compute_score.py (v2.0, its main()
// with --na-prob-file and --na-prob-thresh) and ymcui/cmrc2018's cmrc2018_evaluate.py, over seeded
// perturbed predictions of XQuAD-en (v1.1; and v2.0 with 30% of its questions made unanswerable) and
// of CMRC 2018 dev. Every number equals the golden within 1e-12 (in practice to the last bit).
//
// CMRC 2018 and NLTK, how it was checked: the script is Python 2 and calls nltk.word_tokenize on the
// non-Chinese runs. The generator runs the script's own code after the minimal Python 3 port (str
// instead of decode) with word_tokenize replaced by NLTK's NLTKWordTokenizer().tokenize from
// nltk/tokenize/destructive.py (what word_tokenize applies after punkt's sentence splitting, which
// needs model data we do not have). The segmentation goldens (hand strings and 400 seeded random
// strings over quotes, periods, contractions and the characters of the rules, each with and without
// punctuation removal) are that tokenizer's output. What differs from word_tokenize: a
// sentence-final period inside a run ("u.s. army. next") stays attached where punkt would have split
// the sentence there and made the period a token of its own.
#include <gtest/gtest.h>

#include <chrono>
#include <set>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/core/utf8.h"
#include "textune/eval/squad.h"

namespace {

using textune::DataError;
using textune::core::Json;
using textune::testing::data_dir;
using textune::testing::read_text;
using textune::testing::source_dir;
using textune::testing::TempDir;
using textune::testing::write_text;
namespace eval = textune::eval;

std::string golden_path(const std::string& name) {
  return source_dir() + "/tests/eval/data/" + name;
}

const Json& goldens() {
  static const Json g = Json::parse(read_text(golden_path("squad_goldens.json")));
  return g;
}

/// The questions of a SQuAD-shaped file as the scripts read them (ids in `unanswerable` lose their answers).
std::vector<eval::QaGold> gold_of(const std::string& path, const std::set<std::string>& unanswerable = {}) {
  const Json d = Json::parse(read_text(path));
  std::vector<eval::QaGold> out;
  for (const auto& a : d["data"])
    for (const auto& p : a["paragraphs"])
      for (const auto& q : p["qas"]) {
        eval::QaGold g;
        g.id = q["id"].get<std::string>();
        if (!unanswerable.count(g.id))
          for (const auto& ans : q["answers"]) g.answers.push_back(ans["text"].get<std::string>());
        out.push_back(std::move(g));
      }
  return out;
}

/// Same keys in the same order; numbers within 1e-12.
void expect_json_near(const Json& expected, const Json& got, const std::string& what) {
  ASSERT_TRUE(got.is_object()) << what;
  std::vector<std::string> ek, gk;
  for (auto it = expected.begin(); it != expected.end(); ++it) ek.push_back(it.key());
  for (auto it = got.begin(); it != got.end(); ++it) gk.push_back(it.key());
  ASSERT_EQ(gk, ek) << what;
  for (const auto& k : ek) EXPECT_NEAR(got[k].get<double>(), expected[k].get<double>(), 1e-12) << what << " " << k;
}

eval::NaProbs na_list(const Json& object) {
  eval::NaProbs out;
  for (auto it = object.begin(); it != object.end(); ++it) out.emplace_back(it.key(), it.value().get<double>());
  return out;
}

// ---- SQuAD ----------------------------------------------------------------------------------------

TEST(SquadMetrics, HandCasesEqualTheOfficialScripts) {
  const Json& cases = goldens()["hand_squad"];
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const std::string p = c["prediction"], g = c["ground_truth"];
    EXPECT_EQ(eval::squad_normalize_answer(p), c["normalized_prediction"].get<std::string>()) << p;
    EXPECT_EQ(eval::squad_exact(p, g), c["exact"].get<double>()) << p << " | " << g;
    EXPECT_NEAR(eval::squad_f1(p, g), c["f1"].get<double>(), 1e-12) << p << " | " << g;
    EXPECT_NEAR(eval::squad_f1(p, g, true), c["f1_v2"].get<double>(), 1e-12) << p << " | " << g;
  }
}

TEST(SquadMetrics, AnAnswerThatIsOnlyAnArticle) {
  // normalize_answer removes \b(a|an|the)\b: "the" and "A" both normalize to "" (equal: exact 1); v1.1's
  // f1 has no common token (0); v2.0's compute_f1 is 1 when both sides have no tokens
  EXPECT_EQ(eval::squad_normalize_answer("The"), "");
  EXPECT_EQ(eval::squad_exact("the", "A"), 1.0);
  EXPECT_EQ(eval::squad_f1("the", "A"), 0.0);
  EXPECT_EQ(eval::squad_f1("the", "A", true), 1.0);
  // "theater" keeps its "the" (no word boundary); "the-end": punctuation goes first, "theend" stays
  EXPECT_EQ(eval::squad_normalize_answer("Theater"), "theater");
  EXPECT_EQ(eval::squad_normalize_answer("the-end"), "theend");
  // v2.0: a gold answer that normalizes to "" is dropped from the gold list ([""] is left), but the
  // question still counts as HasAns (its answer list is not empty): "" is exactly right there
  const std::vector<eval::QaGold> gold = {{"q1", {"the"}}, {"q2", {"Denver Broncos"}}};
  const Json r = eval::squad_v2(gold, {{"q1", ""}, {"q2", "the Broncos"}});
  // q1: exact 1, f1 1; q2: exact 0, f1 = 2 * (1/1 * 1/2) / (1 + 1/2) = 2/3
  EXPECT_DOUBLE_EQ(r["exact"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(r["f1"].get<double>(), 100.0 * (1.0 + 2.0 / 3.0) / 2);
  EXPECT_EQ(r["HasAns_total"].get<long>(), 2);
  EXPECT_FALSE(r.contains("NoAns_total"));
}

TEST(SquadMetrics, UnicodeDashesAndFullWidthPunctuationStay) {
  // string.punctuation is ASCII: "-" goes, the en dash, em dash and full-width marks stay
  EXPECT_EQ(eval::squad_normalize_answer("1990\u20131995"), "1990\u20131995");
  EXPECT_EQ(eval::squad_normalize_answer("1990-1995"), "19901995");
  EXPECT_EQ(eval::squad_exact("1990\u20131995", "1990-1995"), 0.0);
  EXPECT_EQ(eval::squad_f1("New York\u2014City", "New York City"), 2 * (1 / 2.0) * (1 / 3.0) / (1 / 2.0 + 1 / 3.0));
  EXPECT_EQ(eval::squad_normalize_answer("Denver\uff01"), "denver\uff01");
  EXPECT_EQ(eval::squad_exact("Denver\uff01", "Denver!"), 0.0);
  EXPECT_EQ(eval::squad_exact("Denver\u3002", "denver"), 0.0);
  // str.lower is Unicode-aware (and applies the final-sigma rule)
  EXPECT_EQ(eval::squad_normalize_answer("\u039f\u0394\u039f\u03a3"), "\u03bf\u03b4\u03bf\u03c2");
}

TEST(SquadMetrics, V1OverXquadEqualsTheOfficialScript) {
  const Json& g = goldens()["v1"];
  const auto gold = gold_of(data_dir() + "/qa/xquad/xquad.en.json");
  ASSERT_EQ(gold.size(), 1190u);
  const auto preds = eval::read_qa_predictions(golden_path(g["predictions"]));
  ASSERT_LT(preds.size(), gold.size());  // some questions unanswered (score 0)
  expect_json_near(g["expected"], eval::squad_v1(gold, preds), "v1");
  size_t n = 0;
  for (const auto& q : gold) {
    auto it = preds.find(q.id);
    if (it == preds.end()) continue;
    const auto& e = g["per_question"][q.id];
    double em = 0, f1 = 0;
    for (const auto& a : q.answers) {
      em = std::max(em, eval::squad_exact(it->second, a));
      f1 = std::max(f1, eval::squad_f1(it->second, a));
    }
    EXPECT_EQ(em, e[0].get<double>()) << q.id;
    EXPECT_NEAR(f1, e[1].get<double>(), 1e-12) << q.id;
    ++n;
  }
  EXPECT_EQ(n, g["per_question"].size());
}

TEST(SquadMetrics, V2OverXquadEqualsTheOfficialScriptAtEachThreshold) {
  const Json& g = goldens()["v2"];
  const std::set<std::string> unanswerable(g["unanswerable"].begin(), g["unanswerable"].end());
  const auto gold = gold_of(data_dir() + "/qa/xquad/xquad.en.json", unanswerable);
  const auto preds = eval::read_qa_predictions(golden_path(g["predictions"]));
  const auto na = eval::read_na_probs_list(golden_path(g["na_probs"]));
  ASSERT_EQ(na.size(), gold.size());
  ASSERT_EQ(g["runs"].size(), 5u);
  for (const auto& r : g["runs"]) {
    const double t = r["na_prob_thresh"];
    const Json got =
        r["na_probs"].get<bool>() ? eval::squad_v2(gold, preds, na, t) : eval::squad_v2(gold, preds, nullptr, t);
    expect_json_near(r["expected"], got, "v2 thresh " + std::to_string(t));
  }
  // per question (raw scores, before thresholds)
  for (const auto& q : gold) {
    const auto& e = g["per_question"][q.id];
    const Json one = eval::squad_v2({q}, {{q.id, preds.at(q.id)}});
    EXPECT_NEAR(one["exact"].get<double>(), 100 * e[0].get<double>(), 1e-12) << q.id;
    EXPECT_NEAR(one["f1"].get<double>(), 100 * e[1].get<double>(), 1e-12) << q.id;
  }
}

TEST(SquadMetrics, V2HandSetsEqualTheOfficialScript) {
  for (const auto& c : goldens()["hand_v2"]) {
    std::vector<eval::QaGold> gold;
    for (const auto& row : c["gold"])
      gold.push_back({row[0].get<std::string>(), row[1].get<std::vector<std::string>>()});
    const auto preds = c["predictions"].get<std::map<std::string, std::string>>();
    for (const auto& r : c["runs"]) {
      const double t = r["na_prob_thresh"];
      const Json got = c.contains("na_probs") ? eval::squad_v2(gold, preds, na_list(c["na_probs"]), t)
                                              : eval::squad_v2(gold, preds, nullptr, t);
      expect_json_near(r["expected"], got, c["name"].get<std::string>() + " @" + std::to_string(t));
    }
  }
}

TEST(SquadMetrics, V2EmptyPredictionForAnUnanswerableQuestion) {
  // compute_exact("", "") = 1; compute_f1: both token lists empty -> 1 (they agree)
  const std::vector<eval::QaGold> gold = {{"q1", {}}, {"q2", {}}};
  const Json r = eval::squad_v2(gold, {{"q1", ""}, {"q2", "Denver"}});
  EXPECT_DOUBLE_EQ(r["exact"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(r["f1"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(r["NoAns_exact"].get<double>(), 50.0);
  EXPECT_EQ(r["NoAns_total"].get<long>(), 2);
  EXPECT_FALSE(r.contains("HasAns_total"));
  EXPECT_FALSE(r.contains("best_exact"));  // only with no-answer probabilities
  // with probabilities: q2's 0.9 > 0.5 predicts "no answer" there, which is right
  const std::map<std::string, double> na = {{"q1", 0.1}, {"q2", 0.9}};
  const Json t = eval::squad_v2(gold, {{"q1", ""}, {"q2", "Denver"}}, &na, 0.5);
  EXPECT_DOUBLE_EQ(t["exact"].get<double>(), 100.0);
  // find_best_thresh: start at 2 (no-answer questions); q1 (0.1): "" -> +0; q2 (0.9): "Denver" -> -1
  EXPECT_DOUBLE_EQ(t["best_exact"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(t["best_exact_thresh"].get<double>(), 0.0);
}

TEST(SquadMetrics, V2MissingPredictionsAndProbabilities) {
  const std::vector<eval::QaGold> gold = {{"q1", {"x"}}, {"q2", {}}, {"q3", {"y"}}};
  // a question without a prediction is scored as "" (the script would raise KeyError)
  const Json missing = eval::squad_v2(gold, {{"q1", "x"}});
  const Json filled = eval::squad_v2(gold, {{"q1", "x"}, {"q2", ""}, {"q3", ""}});
  EXPECT_EQ(missing.dump(), filled.dump());
  EXPECT_EQ(missing["total"].get<long>(), 3);
  // a predicted question without a probability: the script's KeyError, here a DataError naming it
  const std::map<std::string, double> na = {{"q1", 0.5}};
  try {
    eval::squad_v2(gold, {{"q1", "x"}, {"q3", "y"}}, &na);
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("\"q3\""), std::string::npos) << e.what();
  }
  EXPECT_THROW(eval::squad_v1({}, {}), DataError);
  EXPECT_THROW(eval::squad_v2({}, {}), DataError);
  EXPECT_THROW(eval::cmrc2018({}, {}), DataError);
}

// ---- CMRC 2018 ------------------------------------------------------------------------------------

TEST(Cmrc2018Metrics, MixedSegmentationEqualsTheScriptWithNltkWordTokenizer) {
  const Json& cases = goldens()["segmentation"];
  ASSERT_GE(cases.size(), 1000u);
  for (const auto& c : cases)
    EXPECT_EQ(eval::cmrc_mixed_segmentation(c["text"], c["rm_punc"]), c["segments"].get<std::vector<std::string>>())
        << Json(c["text"]).dump() << " rm_punc " << c["rm_punc"];
}

TEST(Cmrc2018Metrics, HandCasesEqualTheScript) {
  for (const auto& c : goldens()["hand_cmrc"]) {
    const std::string p = c["prediction"];
    const auto answers = c["answers"].get<std::vector<std::string>>();
    EXPECT_EQ(eval::cmrc_remove_punctuation(p), c["remove_punctuation"].get<std::string>()) << p;
    EXPECT_EQ(eval::cmrc_em(p, answers), c["em"].get<double>()) << p;
    EXPECT_NEAR(eval::cmrc_f1(p, answers), c["f1"].get<double>(), 1e-12) << p;
  }
  // from the definitions: full-width punctuation of the list goes ("北京。" is "北京"); ASCII "." does not,
  // and "…" (one character) is not the list's "……"
  EXPECT_EQ(eval::cmrc_em("\u5317\u4eac\u3002", {"\u5317\u4eac"}), 1.0);
  EXPECT_EQ(eval::cmrc_em("\u5317\u4eac.", {"\u5317\u4eac"}), 0.0);
  EXPECT_EQ(eval::cmrc_em("\u5317\u4eac\u2026", {"\u5317\u4eac"}), 0.0);
  // "北京." segments to 北 / 京 / "." : LCS 2 of 3 and 2 -> F1 = 2 * (2/3 * 1) / (2/3 + 1) = 0.8
  EXPECT_NEAR(eval::cmrc_f1("\u5317\u4eac.", {"\u5317\u4eac"}), 0.8, 1e-15);
  EXPECT_EQ(eval::cmrc_f1("", {""}), 0.0);  // no common substring: 0, even when both are empty
}

/// `n` CJK characters from `first` (U+4E00..U+9FA5 are segments of their own).
std::string cjk(char32_t first, size_t n) {
  std::u32string s;
  for (size_t i = 0; i < n; ++i) s.push_back(first + static_cast<char32_t>(i));
  return textune::core::utf8_encode(s);
}
std::string repeat(const std::string& s, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

TEST(Cmrc2018Metrics, LongInputsTakeLinearTime) {
  // find_lcs's table is |answer| x |prediction|; past 4M cells a suffix automaton gives the same length.
  // 3000 distinct characters; the prediction holds 1500 of them in a row between 1500 others:
  // LCS 1500, precision 1500/3000, recall 1500/3000, F1 0.5
  const std::string answer = cjk(0x4E00, 3000);
  const std::string middle = textune::core::utf8_substr(answer, 1000, 1500);
  EXPECT_NEAR(eval::cmrc_f1(cjk(0x7000, 1000) + middle + cjk(0x8000, 500), {answer}), 0.5, 1e-15);
  // repeats: answer (甲乙)^1050; prediction 丙 (甲乙)^700 甲 丙^698: LCS 1401 of 2100 and 2100
  const std::string jia = "\u7532", yi = "\u4e59", bing = "\u4e19";
  const double p = 1.0 * 1401 / 2100;
  EXPECT_NEAR(eval::cmrc_f1(bing + repeat(jia + yi, 700) + jia + repeat(bing, 698), {repeat(jia + yi, 1050)}),
              (2 * p * p) / (p + p), 1e-15);
  // two answers of 300,000 characters (a 1 MiB reference field): a fraction of a second, not hours
  const auto t0 = std::chrono::steady_clock::now();
  const std::string big = cjk(0x4E00, 20000);
  EXPECT_NEAR(eval::cmrc_f1(repeat(big, 15), {repeat(big, 15)}), 1.0, 1e-15);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 20.0);
  std::printf("cmrc_f1 of two 300,000-character texts: %.2f s\n", s);
}

TEST(Cmrc2018Metrics, DevEqualsTheScript) {
  const Json& g = goldens()["cmrc2018"];
  const auto gold = gold_of(data_dir() + "/qa/cmrc2018/cmrc2018_dev.json");
  ASSERT_EQ(gold.size(), 3219u);
  const auto preds = eval::read_qa_predictions(golden_path(g["predictions"]));
  const auto t0 = std::chrono::steady_clock::now();
  const Json got = eval::cmrc2018(gold, preds);
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  std::printf("cmrc2018 dev (%zu questions) scored in %.1f ms\n", gold.size(), ms);
  expect_json_near(g["expected"], got, "cmrc2018");
  for (const auto& q : gold) {
    auto it = preds.find(q.id);
    if (it == preds.end()) continue;
    const auto& e = g["per_question"][q.id];
    EXPECT_EQ(eval::cmrc_em(it->second, q.answers), e[0].get<double>()) << q.id << " " << it->second;
    EXPECT_NEAR(eval::cmrc_f1(it->second, q.answers), e[1].get<double>(), 1e-12) << q.id << " " << it->second;
  }
}

// ---- files ----------------------------------------------------------------------------------------

TEST(QaPredictionFiles, ObjectListAndJsonLines) {
  TempDir tmp;
  write_text(tmp / "a.json", R"({"q1": "Denver", "q2": ""})");
  write_text(tmp / "b.json", R"([{"id": "q1", "prediction_text": "Denver", "no_answer_probability": 0.25},
                                {"id": "q2", "prediction_text": "", "no_answer_probability": 1}])");
  write_text(tmp / "c.jsonl",
             "{\"id\": \"q1\", \"prediction_text\": \"Denver\", \"no_answer_probability\": 0.25}\n"
             "{\"id\": \"q2\", \"prediction_text\": \"\", \"no_answer_probability\": 1}\n");
  const std::map<std::string, std::string> want = {{"q1", "Denver"}, {"q2", ""}};
  for (const char* f : {"a.json", "b.json", "c.jsonl"}) EXPECT_EQ(eval::read_qa_predictions(tmp / f), want) << f;
  for (const char* f : {"b.json", "c.jsonl"}) {
    const auto na = eval::read_na_probs_list(tmp / f);
    ASSERT_EQ(na.size(), 2u);
    EXPECT_EQ(na[0], std::make_pair(std::string("q1"), 0.25));
    EXPECT_EQ(na[1], std::make_pair(std::string("q2"), 1.0));
  }
  // file order is kept for squad_v2's ties
  write_text(tmp / "n.json", R"({"z": 0.5, "a": 0.5, "m": 0.1})");
  const auto na = eval::read_na_probs_list(tmp / "n.json");
  ASSERT_EQ(na.size(), 3u);
  EXPECT_EQ(na[0].first, "z");
  EXPECT_EQ(na[2].first, "m");
  EXPECT_EQ(eval::read_na_probs(tmp / "n.json").at("a"), 0.5);
}

TEST(QaPredictionFiles, BadFilesNameTheFileAndTheQuestion) {
  TempDir tmp;
  auto message = [&](const std::string& name, const std::string& text, bool na = false) {
    write_text(tmp / name, text);
    try {
      if (na)
        eval::read_na_probs(tmp / name);
      else
        eval::read_qa_predictions(tmp / name);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    ADD_FAILURE() << name << " was read";
    return std::string();
  };
  std::string m = message("n.json", R"({"q1": "x", "q7": 3})");
  EXPECT_NE(m.find(tmp / "n.json"), std::string::npos) << m;
  EXPECT_NE(m.find("\"q7\""), std::string::npos) << m;
  EXPECT_NE(m.find("string"), std::string::npos) << m;
  m = message("l.json", R"([{"id": "q1", "prediction_text": ["x"]}])");
  EXPECT_NE(m.find("\"q1\""), std::string::npos) << m;
  m = message("x.json", "{\"q1\": \"x\",\n \"q2\": }");  // not JSON: the file, line and column
  EXPECT_NE(m.find(tmp / "x.json"), std::string::npos) << m;
  EXPECT_NE(m.find(":2:"), std::string::npos) << m;
  m = message("s.json", R"("just a string")");
  EXPECT_NE(m.find("expected a JSON object"), std::string::npos) << m;
  m = message("p.json", R"({"q1": "0.5"})", true);
  EXPECT_NE(m.find("\"q1\""), std::string::npos) << m;
  EXPECT_NE(m.find("number"), std::string::npos) << m;
  m = message("r.json", R"([{"prediction_text": "x"}])");
  EXPECT_NE(m.find("record 1"), std::string::npos) << m;
  EXPECT_THROW(eval::read_qa_predictions(tmp / "missing.json"), DataError);
}

}  // namespace
