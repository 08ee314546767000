// `textune score --metric seqeval`: the JSON printed for a conlleval file equals what seqeval itself
// computed for it (tests/eval/data/seqeval_*.json, made by running seqeval; numbers within 1e-12,
// supports exact, keys in evaluate's order), in default and strict mode; bad input exits 1 naming the
// file and line, bad options exit 2.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "textune/core/json.h"

namespace {

using textune::core::Json;
using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::source_dir;
using textune::testing::TempDir;
using textune::testing::write_text;

std::string golden(const std::string& name) {
  return source_dir() + "/tests/eval/data/" + name;
}
Json load(const std::string& name) {
  return Json::parse(read_text(golden(name)));
}

void expect_json(const Json& expected, const Json& got, const std::string& path) {
  if (expected.is_object()) {
    ASSERT_TRUE(got.is_object()) << path;
    std::vector<std::string> ek, gk;
    for (auto it = expected.begin(); it != expected.end(); ++it) ek.push_back(it.key());
    for (auto it = got.begin(); it != got.end(); ++it) gk.push_back(it.key());
    ASSERT_EQ(gk, ek) << path;
    for (const auto& k : ek) expect_json(expected[k], got[k], path + "." + k);
  } else if (expected.is_number_integer()) {
    EXPECT_EQ(got.get<int64_t>(), expected.get<int64_t>()) << path;
  } else if (expected.is_null()) {
    EXPECT_TRUE(got.is_null()) << path;
  } else {
    EXPECT_NEAR(got.get<double>(), expected.get<double>(), 1e-12) << path;
  }
}

/// The golden result of `mode`/`scheme` among `results`.
Json result_of(const Json& results, const std::string& mode, const std::string& scheme = "") {
  for (const auto& r : results)
    if (r["mode"] == mode && (scheme.empty() ? r["scheme"].is_null() : r["scheme"] == scheme)) return r;
  ADD_FAILURE() << "no golden for " << mode << " " << scheme;
  return Json();
}

Json real_case(const std::string& name) {
  const Json all = load("seqeval_real.json");
  for (const auto& c : all["cases"])
    if (c["name"] == name) return c;
  ADD_FAILURE() << name;
  return Json();
}

TEST(ScoreCli, SeqevalDefaultModePrintsEvaluatesJson) {
  const Json cli = load("seqeval_hand.json")["cli_file"];
  auto r = run_cli("score --metric seqeval --predictions '" + golden(cli["file"].get<std::string>()) + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json want = result_of(cli["results"], "default");
  expect_json(want["evaluate"], Json::parse(r.out), "json");
  // seqeval's text report (digits 4) on standard error
  EXPECT_NE(r.err.find(want["report_text"].get<std::string>()), std::string::npos) << r.err;
}

TEST(ScoreCli, SeqevalStrictModeInEachSchemeAndDetected) {
  for (const auto& [name, scheme] : std::vector<std::pair<std::string, std::string>>{
           {"wnut17_iobes", "IOBES"}, {"wnut17_bilou", "BILOU"}}) {  // IOE2, IOB1, ...: tests/eval/seqeval_test.cpp
    SCOPED_TRACE(name);
    const Json c = real_case(name);
    const std::string file = golden(c["file"].get<std::string>());
    auto r = run_cli("-q score --metric seqeval --mode strict --scheme " + scheme + " --predictions '" + file + "'");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Json want = result_of(c["results"], "strict", scheme)["evaluate"];
    expect_json(want, Json::parse(r.out), "strict");
    if (scheme != "IOBES") continue;  // one file is enough for the rest (each run loads LibTorch)
    // without --scheme, detected from the gold tags as seqeval's auto_detect does
    auto d = run_cli("-q score --metric seqeval --mode strict --predictions '" + file + "'");
    ASSERT_EQ(d.exit_code, 0) << d.err;
    expect_json(want, Json::parse(d.out), "detected");
    auto def = run_cli("-q score --metric seqeval --predictions '" + file + "'");
    ASSERT_EQ(def.exit_code, 0) << def.err;
    expect_json(result_of(c["results"], "default")["evaluate"], Json::parse(def.out), "default");
  }
}

TEST(ScoreCli, OutputFileAndPlots) {
  TempDir tmp;
  auto r = run_cli("-q score --metric seqeval --predictions '" + golden("seqeval_hand.txt") + "' --output '" +
                   (tmp / "s.json") + "' --plot '" + (tmp / "ner") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_text(tmp / "s.json"), r.out);
  for (const char* png : {"ner_f1_by_type.png", "ner_entity_confusion.png"})
    EXPECT_EQ(read_text(tmp / png).substr(0, 8), "\x89PNG\r\n\x1a\n") << png;
}

TEST(ScoreCli, BadOptionsAreUsageErrors) {
  const std::string file = " --predictions '" + golden("seqeval_hand.txt") + "'";
  auto r = run_cli("score --metric sqaud" + file);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--metric sqaud: unknown metric (metrics: seqeval, squad, squad_v2, cmrc2018)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(run_cli("score --metric seqeval --mode loose" + file).exit_code, 2);  // not a mode
  r = run_cli("score --metric seqeval --scheme IOB2" + file);                     // a scheme without strict mode
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--scheme applies to --mode strict"), std::string::npos) << r.err;
  r = run_cli("score --metric seqeval --mode strict --scheme IOX" + file);
  EXPECT_EQ(r.exit_code, 2) << r.err;
}

TEST(ScoreCli, BadFilesAreDataErrorsNamingFileAndLine) {
  TempDir tmp;
  const std::string f = tmp / "p.txt";
  auto score = [&](const std::string& text, const std::string& extra = "") {
    write_text(f, text);
    return run_cli("score --metric seqeval --predictions '" + f + "'" + extra);
  };
  auto r = score("EU B-ORG B-ORG\nrejects O\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(f + ":2: 2 columns, expected 3 as on line 1"), std::string::npos) << r.err;
  r = score("\n\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(f + ": no tagged line"), std::string::npos) << r.err;
  r = score("a O O\n\nb\xc3 O O\n");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(f + ":3: invalid UTF-8"), std::string::npos) << r.err;
  // strict IOB2: an E- tag is outside the scheme; the first one is the predicted tag of line 4
  r = score("a B-PER B-PER\nb I-PER I-PER\n\nc O E-LOC\nd E-LOC O\n", " --mode strict --scheme IOB2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(f + ":4: the predicted tag \"E-LOC\" is not a tag of the IOB2 scheme"), std::string::npos)
      << r.err;
  // the error is one line
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = run_cli("score --metric seqeval --predictions '" + (tmp / "missing.txt") + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(tmp / "missing.txt"), std::string::npos) << r.err;
}

// ---- question answering: squad, squad_v2, cmrc2018 ----------------------------------------------
// The printed JSON equals what the official scripts printed for the same files (tests/eval/data/
// squad_goldens.json, made by tests/eval/data/squad_make_goldens.py): numbers within 1e-12, keys in
// the scripts' order.

/// XQuAD-en as a SQuAD v2.0 file: the golden's "unanswerable" questions lose their answers.
std::string write_squad_v2_references(const TempDir& tmp) {
  const Json all = load("squad_goldens.json");
  const Json& g = all["v2"];
  const std::set<std::string> unanswerable(g["unanswerable"].begin(), g["unanswerable"].end());
  Json d = Json::parse(read_text(textune::testing::data_dir() + "/qa/xquad/xquad.en.json"));
  d["version"] = "v2.0";
  for (auto& a : d["data"])
    for (auto& p : a["paragraphs"])
      for (auto& q : p["qas"]) {
        const bool impossible = unanswerable.count(q["id"].get<std::string>()) > 0;
        if (impossible) q["answers"] = Json::array();
        q["is_impossible"] = impossible;
      }
  write_text(tmp / "xquad_v2.json", d.dump());
  return tmp / "xquad_v2.json";
}

TEST(ScoreCliQa, SquadPrintsTheOfficialScriptsJson) {
  const Json g = load("squad_goldens.json");
  const std::string xquad = textune::testing::data_dir() + "/qa/xquad/xquad.en.json";
  auto r = run_cli("-q score --metric squad --references '" + xquad + "' --predictions '" +
                   golden(g["v1"]["predictions"]) + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_json(g["v1"]["expected"], Json::parse(r.out), "squad");

  TempDir tmp;
  const std::string v2 = write_squad_v2_references(tmp);
  const std::string pred = golden(g["v2"]["predictions"]), na = golden(g["v2"]["na_probs"]);
  for (const auto& run : g["v2"]["runs"]) {
    const double t = run["na_prob_thresh"];
    const bool with_na = run["na_probs"];
    if (with_na && t != 1.0 && t != 0.37) continue;  // two thresholds here; all of them in squad_test
    std::string args = "-q score --metric squad_v2 --references '" + v2 + "' --predictions '" + pred + "'";
    if (with_na)
      args += " --na-probs '" + na + "'" + (t == 1.0 ? "" : " --na_prob_thresh " + run["na_prob_thresh"].dump());
    r = run_cli(args);
    ASSERT_EQ(r.exit_code, 0) << args << "\n" << r.err;
    expect_json(run["expected"], Json::parse(r.out), "squad_v2 " + args);
  }

  const std::string cmrc = textune::testing::data_dir() + "/qa/cmrc2018/cmrc2018_dev.json";
  r = run_cli("-q score --metric cmrc2018 --references '" + cmrc + "' --predictions '" +
              golden(g["cmrc2018"]["predictions"]) + "' --output '" + (tmp / "cmrc.json") + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  expect_json(g["cmrc2018"]["expected"], Json::parse(r.out), "cmrc2018");
  EXPECT_EQ(read_text(tmp / "cmrc.json"), r.out);
}

TEST(ScoreCliQa, BadPredictionsAndOptions) {
  TempDir tmp;
  const std::string refs = tmp / "refs.json";
  write_text(refs, R"({"version": "1.1", "data": [{"title": "t", "paragraphs": [{"context": "Denver Broncos won.",
      "qas": [{"id": "q1", "question": "Who won?", "answers": [{"text": "Denver Broncos", "answer_start": 0}]}]}]}]})");
  const std::string pred = tmp / "pred.json";
  auto score = [&](const std::string& text, const std::string& extra = "") {
    write_text(pred, text);
    return run_cli("score --metric squad --references '" + refs + "' --predictions '" + pred + "'" + extra);
  };
  auto r = score(R"({"q1": "Denver"})");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // "Denver" vs "Denver Broncos": exact 0; f1 = 2 * (1 * 1/2) / (1 + 1/2) = 2/3
  EXPECT_NEAR(Json::parse(r.out)["f1"].get<double>(), 100.0 * 2 / 3, 1e-12);
  r = score(R"({"q1": 42})");  // a non-string answer: exit 1 naming the file and the question
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(pred), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("\"q1\""), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = score("{\"q1\": \"Denver\"");  // not JSON
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(pred), std::string::npos) << r.err;
  r = score(R"({"q1": "x"})", " --na-probs '" + pred + "'");  // no-answer probabilities are squad_v2's
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run_cli("score --metric squad --predictions '" + pred + "'");  // no --references
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--references"), std::string::npos) << r.err;
  r = run_cli("score --metric squad_v2 --references '" + refs + "' --predictions '" + pred + "' --na-probs '" +
              (tmp / "missing.json") + "'");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(tmp / "missing.json"), std::string::npos) << r.err;
}

}  // namespace
