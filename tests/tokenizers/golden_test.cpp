// Every row of the golden files of each tokenizer fixture (../shared/fixtures/tokenizers/NAME,
// made by Hugging Face transformers 5.17 / tokenizers 0.23.2) must match in every field. Run once
// per vocabulary, as llama.cpp's test-tokenizer-0 does; add a vocabulary to kVocabularies.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tokenizers {
namespace {

using core::Json;

const std::vector<std::string> kVocabularies = {
    "bert-base-uncased", "bert-base-cased", "bert-base-chinese", "roberta-base", "gpt2", "marian"};

std::vector<Json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<Json> rows;
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) rows.push_back(Json::parse(line));
  return rows;
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

/// Collects mismatches of one fixture; the test fails with the first few shown.
struct Mismatches {
  size_t count = 0;
  std::ostringstream first;
  void add(const std::string& what, const Json& row, const Json& expected, const Json& got) {
    if (count++ < 8)
      first << "  " << what << " for " << row.dump().substr(0, 200) << "\n    expected " << expected.dump()
            << "\n    got      " << got.dump() << "\n";
  }
};

void compare(Mismatches& m, const char* field, const Json& row, const Json& expected, const Json& got) {
  if (expected != got) m.add(field, row, expected, got);
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, SingleTextsMatchEveryField) {
  const std::string dir = textune::testing::tokenizer_fixture(GetParam());
  auto tok = Tokenizer::from_dir(dir);
  std::vector<Json> rows = read_jsonl(dir + "/golden_single.jsonl");
  ASSERT_GT(rows.size(), 3000u);
  Mismatches m;
  for (const Json& row : rows) {
    const std::string text = row["text"].get<std::string>();
    Encoding e = tok->encode(text);
    compare(m, "ids", row, row["ids"], Json(e.ids));
    compare(m, "tokens", row, row["tokens"], Json(e.tokens));
    if (row.contains("type_ids")) compare(m, "type_ids", row, row["type_ids"], Json(e.type_ids));
    if (row.contains("offsets")) compare(m, "offsets", row, row["offsets"], offsets_json(e.offsets));
    compare(m, "special_tokens_mask", row, row["special_tokens_mask"], Json(e.special_tokens_mask));
    EncodeOptions no_special;
    no_special.add_special_tokens = false;
    compare(m, "ids_no_special", row, row["ids_no_special"], Json(tok->encode(text, std::nullopt, no_special).ids));
    compare(m, "decoded", row, row["decoded"], Json(tok->decode(e.ids, true)));
  }
  EXPECT_EQ(m.count, 0u) << m.count << " mismatches in " << rows.size() << " rows of " << GetParam() << ":\n"
                         << m.first.str();
}

TEST_P(GoldenTest, PairsTruncationAndQaWindowsMatch) {
  const std::string dir = textune::testing::tokenizer_fixture(GetParam());
  auto tok = Tokenizer::from_dir(dir);
  std::vector<Json> rows = read_jsonl(dir + "/golden_pairs.jsonl");
  ASSERT_GE(rows.size(), 20u);
  Mismatches m;
  size_t errors = 0, windows = 0;
  for (const Json& row : rows) {
    const std::string a = row["a"].get<std::string>(), b = row["b"].get<std::string>();
    const std::string strat = row["truncation"].get<std::string>();
    EncodeOptions o;
    TruncationOptions t;
    t.max_length = row["max_length"].get<size_t>();
    t.strategy = strat == "longest_first" ? TruncationStrategy::kLongestFirst
                 : strat == "only_first"  ? TruncationStrategy::kOnlyFirst
                                          : TruncationStrategy::kOnlySecond;
    if (row.contains("stride")) t.stride = row["stride"].get<size_t>();
    o.truncation = t;
    o.return_overflowing_tokens = row.contains("qa_windows");
    if (row.contains("error")) {
      ++errors;
      bool threw = false;
      try {
        tok->encode(a, b, o);
      } catch (const DataError&) {
        threw = true;
      }
      if (!threw) m.add("error expected", row, row["error"], Json("no error"));
      continue;
    }
    Encoding e = tok->encode(a, b, o);
    if (!row.contains("qa_windows")) {
      compare(m, "ids", row, row["ids"], Json(e.ids));
      if (!row["type_ids"].is_null()) compare(m, "type_ids", row, row["type_ids"], Json(e.type_ids));
      continue;
    }
    ++windows;
    std::vector<Encoding> all{e};
    for (const Encoding& w : e.overflowing) all.push_back(w);
    all[0].overflowing.clear();
    PaddingOptions p;
    p.strategy = PaddingOptions::Strategy::kFixed;
    p.length = t.max_length;
    tok->pad(all, p);
    Json ids = Json::array(), type_ids = Json::array(), mask = Json::array(), offsets = Json::array(),
         seq = Json::array();
    for (const Encoding& w : all) {
      ids.push_back(w.ids);
      type_ids.push_back(w.type_ids);
      mask.push_back(w.attention_mask);
      offsets.push_back(offsets_json(w.offsets));
      seq.push_back(optional_json(w.sequence_ids));
    }
    compare(m, "qa ids", row, row["ids"], ids);
    if (!row["type_ids"].is_null()) compare(m, "qa type_ids", row, row["type_ids"], type_ids);
    compare(m, "qa attention_mask", row, row["attention_mask"], mask);
    compare(m, "qa offsets", row, row["offsets"], offsets);
    compare(m, "qa sequence_ids", row, row["sequence_ids"], seq);
  }
  EXPECT_EQ(m.count, 0u) << m.count << " mismatches in " << rows.size() << " pair rows (" << errors << " errors, "
                         << windows << " QA windows) of " << GetParam() << ":\n"
                         << m.first.str();
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, GoldenTest, ::testing::ValuesIn(kVocabularies),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace textune::tokenizers
