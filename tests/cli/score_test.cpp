// `textune score --metric seqeval`: the JSON printed for a conlleval file equals what seqeval itself
// computed for it (tests/eval/data/seqeval_*.json, made by running seqeval; numbers within 1e-12,
// supports exact, keys in evaluate's order), in default and strict mode; bad input exits 1 naming the
// file and line, bad options exit 2.
#include <algorithm>
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
  EXPECT_NE(r.err.find("--metric sqaud: unknown metric (metrics: seqeval)"), std::string::npos) << r.err;
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

}  // namespace
