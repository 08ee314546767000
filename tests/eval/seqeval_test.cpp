// seqeval parity: every number equals what seqeval itself computed (tests/eval/data/seqeval_*.json,
// made by tests/eval/data/seqeval_make_goldens.py, which runs chakki-works/seqeval) within 1e-12, the
// supports and the text report exactly; default mode and strict mode in all six schemes, on hand
// cases and on WNUT-17 / MSRA dev tags with seeded perturbed predictions. Then the entity confusion
// matrix (from its definition in seqeval.h), the conlleval reader's errors and the plots.
#include <cairo.h>
#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/eval/plot.h"
#include "textune/eval/seqeval.h"

namespace textune::eval {
namespace {

using core::Json;
using Seqs = std::vector<std::vector<std::string>>;

std::string golden(const std::string& name) {
  return testing::source_dir() + "/tests/eval/data/" + name;
}
Json load(const std::string& name) {
  return Json::parse(testing::read_text(golden(name)));
}

double g_max_diff = 0;  // the largest |seqeval - ours| seen, printed by the last test
size_t g_numbers = 0;

void expect_number(const Json& expected, double actual, const std::string& what) {
  if (expected.is_null()) {  // NaN (a macro average over no type) is null in the goldens
    EXPECT_TRUE(std::isnan(actual)) << what << ": " << actual;
    return;
  }
  const double e = expected.get<double>();
  g_max_diff = std::max(g_max_diff, std::fabs(e - actual));
  ++g_numbers;
  EXPECT_NEAR(actual, e, 1e-12) << what;
}

/// `got` has the keys of `expected` in its order, equal integers and numbers within 1e-12.
void expect_json(const Json& expected, const Json& got, const std::string& path) {
  if (expected.is_object()) {
    ASSERT_TRUE(got.is_object()) << path;
    std::vector<std::string> ek, gk;
    for (auto it = expected.begin(); it != expected.end(); ++it) ek.push_back(it.key());
    for (auto it = got.begin(); it != got.end(); ++it) gk.push_back(it.key());
    ASSERT_EQ(gk, ek) << path;
    for (const auto& k : ek) expect_json(expected[k], got[k], path + "." + k);
  } else if (expected.is_number_integer()) {
    EXPECT_TRUE(got.is_number_integer()) << path;
    EXPECT_EQ(got.get<int64_t>(), expected.get<int64_t>()) << path;
  } else if (expected.is_null()) {
    EXPECT_TRUE(got.is_null()) << path << ": " << got.dump();
  } else {
    ASSERT_TRUE(got.is_number()) << path;
    expect_number(expected, got.get<double>(), path);
  }
}

data::TagScheme scheme_of(const std::string& name) {
  static const std::map<std::string, data::TagScheme> m = {
      {"IOB1", data::TagScheme::kIOB1}, {"IOB2", data::TagScheme::kIOB2},   {"IOE1", data::TagScheme::kIOE1},
      {"IOE2", data::TagScheme::kIOE2}, {"IOBES", data::TagScheme::kIOBES}, {"BILOU", data::TagScheme::kBILOU}};
  return m.at(name);
}

void expect_scores(const Json& row, const TypeScores& s, const std::string& what) {
  expect_number(row["precision"], s.precision, what + " precision");
  expect_number(row["recall"], s.recall, what + " recall");
  expect_number(row["f1-score"], s.f1, what + " f1");
  EXPECT_EQ(s.support, row["support"].get<int64_t>()) << what << " support";
}

/// One golden result (a mode) against ours.
void check_result(const Json& r, const Seqs& y_true, const Seqs& y_pred, const std::string& name) {
  SeqevalOptions o;
  o.strict = r["mode"] == "strict";
  if (o.strict) o.scheme = scheme_of(r["scheme"].get<std::string>());
  o.zero_division = r["zero_division"].get<double>();
  const std::string ctx = name + " " + r["mode"].get<std::string>() +
                          (o.strict ? " " + r["scheme"].get<std::string>() : "") +
                          " zero_division=" + r["zero_division"].dump();
  SCOPED_TRACE(ctx);
  if (r.contains("error")) {  // seqeval raised (a tag outside the scheme): a DataError here
    EXPECT_THROW(seqeval(y_true, y_pred, o), DataError);
    return;
  }
  const SeqevalResult res = seqeval(y_true, y_pred, o);
  const Json& rd = r["report_dict"];
  std::vector<std::string> types;
  for (auto it = rd.begin(); it != rd.end(); ++it)
    if (it.key() != "micro avg" && it.key() != "macro avg" && it.key() != "weighted avg") types.push_back(it.key());
  ASSERT_EQ(res.types, types);
  for (size_t k = 0; k < types.size(); ++k) expect_scores(rd[types[k]], res.per_type[k], types[k]);
  expect_scores(rd["micro avg"], res.micro, "micro avg");
  expect_scores(rd["macro avg"], res.macro, "macro avg");
  expect_scores(rd["weighted avg"], res.weighted, "weighted avg");
  expect_number(r["accuracy"], res.accuracy, "accuracy");
  expect_json(r["evaluate"], seqeval_json(res), "evaluate");
  if (!r["report_text"].is_null()) EXPECT_EQ(seqeval_report_text(res, 4), r["report_text"].get<std::string>());

  // the confusion matrix agrees with the counts: a gold row sums to the type's support, its diagonal
  // cell is the type's true positives (recall x support), the predicted entities of a type are its
  // column plus those of its span under another gold type
  const size_t n = types.size();
  ASSERT_EQ(res.entity_confusion.size(), n + 1);
  int64_t predicted = 0;
  for (size_t k = 0; k < n; ++k) {
    int64_t row = 0;
    for (auto c : res.entity_confusion[k]) row += c;
    EXPECT_EQ(row, res.per_type[k].support) << types[k];
    EXPECT_EQ(res.entity_confusion[k][k], std::llround(res.per_type[k].recall * res.per_type[k].support)) << types[k];
  }
  for (const auto& row : res.entity_confusion) predicted += std::accumulate(row.begin(), row.end() - 1, int64_t{0});
  EXPECT_LE(predicted, res.num_predicted);

  if (r.contains("entities_true")) {
    for (const char* side : {"entities_true", "entities_pred"}) {
      const Seqs& seqs = std::string(side) == "entities_true" ? y_true : y_pred;
      for (size_t s = 0; s < seqs.size(); ++s) {
        std::vector<Entity> want;
        for (const auto& e : r[side][s])
          want.push_back({e[0].get<std::string>(), e[1].get<size_t>(), e[2].get<size_t>()});
        const auto got = o.strict ? get_entities_strict(seqs[s], o.scheme) : get_entities(seqs[s]);
        ASSERT_EQ(got.size(), want.size()) << side << " sentence " << s;
        for (size_t k = 0; k < got.size(); ++k)
          EXPECT_TRUE(got[k] == want[k]) << side << " sentence " << s << " entity " << k << ": got (" << got[k].type
                                         << ", " << got[k].start << ", " << got[k].end << ")";
      }
    }
  }
}

Seqs seqs_of(const Json& j) {
  Seqs out;
  for (const auto& s : j) out.push_back(s.get<std::vector<std::string>>());
  return out;
}

TEST(Seqeval, HandCasesEqualSeqevalInEveryModeAndScheme) {
  const Json g = load("seqeval_hand.json");
  size_t results = 0;
  for (const auto& c : g["cases"]) {
    const Seqs t = seqs_of(c["y_true"]), p = seqs_of(c["y_pred"]);
    for (const auto& r : c["results"]) {
      check_result(r, t, p, c["name"].get<std::string>());
      ++results;
    }
  }
  EXPECT_GE(results, 16u * 7u);
}

/// WNUT-17 dev as the shared CoNLL file has it (token TAB tag, blank lines between sentences).
Seqs read_wnut_tags(const std::string& path) {
  std::ifstream in(path);
  Seqs out;
  std::vector<std::string> cur;
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur.push_back(line.substr(line.find('\t') + 1));
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

/// MSRA dev as the shared TSV has it (header, then characters TAB tags, each space-separated).
Seqs read_msra_tags(const std::string& path) {
  std::ifstream in(path);
  Seqs out;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream tags(line.substr(line.find('\t') + 1));
    std::vector<std::string> s;
    std::string t;
    while (std::getline(tags, t, ' ')) s.push_back(t);
    out.push_back(std::move(s));
  }
  return out;
}

/// Applies a .diff golden (sentence TAB token TAB predicted tag) to the gold tags.
Seqs apply_diff(Seqs tags, const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream f(line);
    size_t s = 0, i = 0;
    std::string tag;
    f >> s >> i >> tag;
    tags.at(s).at(i) = tag;
  }
  return tags;
}

TEST(Seqeval, PerturbedWnut17AndMsraDevEqualSeqeval) {
  const Json g = load("seqeval_real.json");
  size_t cases = 0;
  for (const auto& c : g["cases"]) {
    Seqs t, p;
    if (c.contains("diff")) {
      const std::string gold_path = testing::shared_dir() + "/" + c["gold"].get<std::string>();
      t = c["name"] == "msra_dev" ? read_msra_tags(gold_path) : read_wnut_tags(gold_path);
      p = apply_diff(t, golden(c["diff"].get<std::string>()));
    } else {
      std::tie(t, p) = read_conlleval_file(golden(c["file"].get<std::string>()));
    }
    ASSERT_EQ(t.size(), c["sentences"].get<size_t>()) << c["name"];
    size_t tags = 0;
    for (const auto& s : t) tags += s.size();
    ASSERT_EQ(tags, c["tags"].get<size_t>()) << c["name"];
    for (const auto& r : c["results"]) check_result(r, t, p, c["name"].get<std::string>());
    ++cases;
  }
  EXPECT_EQ(cases, 7u);
}

// ---------------------------------------------------------------------------------------------

TEST(Seqeval, EntityConfusionFollowsItsDefinition) {
  // gold PER [0,2) LOC [3,4) ORG [5,6); predicted PER [0,2) ORG [3,4) MISC [4,5)
  const Seqs t = {{"B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"}};
  const Seqs p = {{"B-PER", "I-PER", "O", "B-ORG", "B-MISC", "O"}};
  const SeqevalResult r = seqeval(t, p);
  ASSERT_EQ(r.types, (std::vector<std::string>{"LOC", "MISC", "ORG", "PER"}));
  // rows/columns LOC MISC ORG PER O
  const std::vector<std::vector<int64_t>> want = {
      {0, 0, 1, 0, 0},  // the LOC span was predicted ORG
      {0, 0, 0, 0, 0},  // no gold MISC
      {0, 0, 0, 0, 1},  // the ORG entity was missed
      {0, 0, 0, 1, 0},  // PER right
      {0, 1, 0, 0, 0},  // a MISC predicted where no gold entity is
  };
  EXPECT_EQ(r.entity_confusion, want);
  EXPECT_EQ(r.num_predicted, 3);
}

TEST(Seqeval, MismatchedInputsAreDataErrorsNamingTheSentence) {
  auto message = [](const Seqs& t, const Seqs& p, SeqevalOptions o = {}) {
    try {
      seqeval(t, p, o);
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message({{"O"}, {"O"}}, {{"O"}}), "seqeval: 2 gold sentences but 1 predicted sentences");
  EXPECT_EQ(message({{"O"}, {"O", "B-X"}}, {{"O"}, {"O"}}), "seqeval: sentence 2 has 2 gold tags but 1 predicted tags");
  EXPECT_EQ(message({{}, {}}, {{}, {}}), "seqeval: no tags to score (every sentence is empty)");
  EXPECT_NE(message({{"O", ""}}, {{"O", "O"}}).find("empty tag at tag 2 of gold sentence 1"), std::string::npos);
  SeqevalOptions strict;
  strict.strict = true;
  strict.scheme = data::TagScheme::kIOB2;
  EXPECT_EQ(message({{"O"}, {"B-PER", "E-PER"}}, {{"O"}, {"O", "O"}}, strict),
            "seqeval: the tag \"E-PER\" at tag 2 of gold sentence 2 is not a tag of the IOB2 scheme (expected B-, "
            "I-, O followed by a type)");
  EXPECT_NE(message({{"O"}}, {{"PER"}}, strict).find("\"PER\" at tag 1 of predicted sentence 1"), std::string::npos);
}

TEST(Seqeval, ReadsConllevalFiles) {
  testing::TempDir tmp;
  testing::write_text(tmp / "p.txt",
                      "-DOCSTART- -X- O O\n\nEU NNP B-ORG B-ORG\nrejects VBZ O O\n\n\n"
                      "German JJ B-MISC I-MISC\r\ncall NN O B-LOC\n");
  const auto [gold, pred] = read_conlleval_file(tmp / "p.txt");
  EXPECT_EQ(gold, (Seqs{{"B-ORG", "O"}, {"B-MISC", "O"}}));
  EXPECT_EQ(pred, (Seqs{{"B-ORG", "O"}, {"I-MISC", "B-LOC"}}));
}

// A file with lone CR line ends (old Mac exports) reads as the LF file does (Python's universal
// newlines, as data::read_ner reads CoNLL); before, it was one line and lost every sentence.
TEST(Seqeval, ReadsConllevalFilesWithLoneCarriageReturns) {
  testing::TempDir tmp;
  testing::write_text(tmp / "p.txt",
                      "-DOCSTART- -X- O O\r\rEU NNP B-ORG B-ORG\rrejects VBZ O O\r\r\r"
                      "German JJ B-MISC I-MISC\r\ncall NN O B-LOC\r");
  const auto [gold, pred] = read_conlleval_file(tmp / "p.txt");
  EXPECT_EQ(gold, (Seqs{{"B-ORG", "O"}, {"B-MISC", "O"}}));
  EXPECT_EQ(pred, (Seqs{{"B-ORG", "O"}, {"I-MISC", "B-LOC"}}));
  testing::write_text(tmp / "bad.txt", "a B-PER B-PER\rb O\r");
  try {
    read_conlleval_file(tmp / "bad.txt");
    ADD_FAILURE() << "no error";
  } catch (const DataError& e) {
    EXPECT_THAT(std::string(e.what()), ::testing::StartsWith(std::string(tmp / "bad.txt") + ":2: 2 columns"));
  }
}

TEST(Seqeval, BadConllevalFilesNameFileAndLine) {
  testing::TempDir tmp;
  auto error = [&](const std::string& text) {
    testing::write_text(tmp / "bad.txt", text);
    try {
      read_conlleval_file(tmp / "bad.txt");
    } catch (const DataError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const std::string f = tmp / "bad.txt";
  EXPECT_EQ(error("a B-PER B-PER\nb O\n"),
            f + ":2: 2 columns, expected 3 as on line 1 (`token gold predicted`, the gold and the predicted tag the "
                "last two columns)");
  EXPECT_EQ(error("\n\nlonely\n"), f + ":3: 1 column; expected `token gold predicted` (the gold and the predicted "
                                       "tag the last two columns, as conlleval reads them)");
  EXPECT_EQ(error("\n-DOCSTART- -X- O O\n\n"),
            f + ": no tagged line (expected `token gold predicted` per line, a blank line between sentences)");
  EXPECT_EQ(error("a O O\nb O O\nc\xff O O\n"), f + ":3: invalid UTF-8 at byte 2 of the line");
  EXPECT_THROW(read_conlleval_file(tmp / "missing.txt"), DataError);
}

TEST(Seqeval, ReportTextHasSeqevalsLayout) {
  // seqeval's classification_report docstring example (digits=2), whose text is in its docstring
  const Seqs t = {{"O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}};
  const Seqs p = {{"O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"}, {"B-PER", "I-PER", "O"}};
  EXPECT_EQ(seqeval_report_text(seqeval(t, p), 2),
            "              precision    recall  f1-score   support\n"
            "\n"
            "        MISC       0.00      0.00      0.00         1\n"
            "         PER       1.00      1.00      1.00         1\n"
            "\n"
            "   micro avg       0.50      0.50      0.50         2\n"
            "   macro avg       0.50      0.50      0.50         2\n"
            "weighted avg       0.50      0.50      0.50         2\n");
}

// ---------------------------------------------------------------------------------------------
// plots

struct Png {
  int width = 0, height = 0;
  std::vector<uint32_t> pixels;
};

Png read_png(const std::string& path) {
  cairo_surface_t* s = cairo_image_surface_create_from_png(path.c_str());
  Png img;
  EXPECT_EQ(cairo_surface_status(s), CAIRO_STATUS_SUCCESS) << path;
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) return img;
  cairo_surface_flush(s);
  img.width = cairo_image_surface_get_width(s);
  img.height = cairo_image_surface_get_height(s);
  const int stride = cairo_image_surface_get_stride(s);
  const unsigned char* data = cairo_image_surface_get_data(s);
  for (int y = 0; y < img.height; ++y)
    for (int x = 0; x < img.width; ++x)
      img.pixels.push_back(reinterpret_cast<const uint32_t*>(data + y * stride)[x] & 0xFFFFFF);
  cairo_surface_destroy(s);
  return img;
}

TEST(Seqeval, PlotsDecodeAndBarsHaveTheF1Heights) {
  // type A: F1 1; type B: 2 gold, 2 predicted, 1 right: F1 0.5; overall: 2 of 3: F1 2/3
  const Seqs t = {{"B-A", "I-A", "O", "B-B", "O", "B-B"}};
  const Seqs p = {{"B-A", "I-A", "O", "B-B", "B-B", "O"}};
  const SeqevalResult r = seqeval(t, p);
  ASSERT_DOUBLE_EQ(r.per_type[1].f1, 0.5);
  testing::TempDir tmp;
  plot_seqeval(r, tmp / "bars.png", tmp / "confusion.png");
  const Png bars = read_png(tmp / "bars.png");
  const Png conf = read_png(tmp / "confusion.png");
  EXPECT_GT(conf.width, 100);
  EXPECT_GT(conf.height, 100);
  ASSERT_GT(bars.width, 100);
  // the F1 bars are the third tab10 color (green 0x2ca02c): three runs of columns (A, B, overall)
  auto green = [](uint32_t c) {
    const int r = (c >> 16) & 0xFF, g = (c >> 8) & 0xFF, b = c & 0xFF;
    return std::abs(r - 0x2c) < 10 && std::abs(g - 0xa0) < 10 && std::abs(b - 0x2c) < 10;
  };
  std::vector<int> top(bars.width, -1), bottom(bars.width, -1);
  for (int x = 0; x < bars.width; ++x)
    for (int y = 0; y < bars.height; ++y)
      if (green(bars.pixels[static_cast<size_t>(y) * bars.width + x])) {
        if (top[x] < 0) top[x] = y;
        bottom[x] = y;
      }
  std::vector<double> heights;  // of each run of columns tall enough to be a bar (not the legend swatch)
  for (int x = 0; x < bars.width;) {
    if (top[x] < 0 || bottom[x] - top[x] < 20) {
      ++x;
      continue;
    }
    int x1 = x;
    while (x1 < bars.width && top[x1] >= 0 && bottom[x1] - top[x1] >= 20) ++x1;
    heights.push_back(bottom[x + (x1 - x) / 2] - top[x + (x1 - x) / 2] + 1);
    x = x1;
  }
  ASSERT_EQ(heights.size(), 3u);
  EXPECT_NEAR(heights[1] / heights[0], 0.5, 0.02);
  EXPECT_NEAR(heights[2] / heights[0], 2.0 / 3.0, 0.02);
}

TEST(Seqeval, PlotsOfNoEntityAndBarChartArguments) {
  // all "O": no type; the bars show only "overall", the confusion matrix is "O" alone
  const SeqevalResult r = seqeval({{"O", "O"}}, {{"O", "O"}});
  ASSERT_TRUE(r.types.empty());
  EXPECT_TRUE(std::isnan(r.macro.f1));  // numpy's mean of nothing
  EXPECT_TRUE(seqeval_json(r)["macro_avg"]["f1"].is_null());
  testing::TempDir tmp;
  plot_seqeval(r, tmp / "bars.png", tmp / "confusion.png");
  EXPECT_GT(read_png(tmp / "bars.png").width, 0);
  EXPECT_GT(read_png(tmp / "confusion.png").width, 0);
  EXPECT_THROW(plot_bar_chart(tmp / "x.png", {}, {}), std::invalid_argument);
  EXPECT_THROW(plot_bar_chart(tmp / "x.png", {"a", "b"}, {{"f1", {0.5}}}), std::invalid_argument);
  EXPECT_THROW(plot_seqeval(r, tmp / "bars.png/under-a-file.png", tmp / "c.png"), DataError);
}

TEST(Seqeval, ZMaxDifferenceFromSeqeval) {
  // printed for the record (the parity tests above assert 1e-12)
  std::cout << "seqeval parity: " << g_numbers << " numbers compared, max |difference| = " << g_max_diff << "\n";
  EXPECT_LE(g_max_diff, 1e-12);
}

}  // namespace
}  // namespace textune::eval
