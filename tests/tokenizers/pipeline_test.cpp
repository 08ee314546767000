// The tokenizer pipeline beyond the golden files: legacy vocabulary files, writing a tokenizer,
// batch encoding, errors, and NormalizedString alignments on hand-computed cases.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"
#include "tokenizers/normalized_string.h"
#include "tokenizers/tokenizer_impl.h"

namespace textune::tokenizers {
namespace {

namespace fs = std::filesystem;
using core::Json;
using textune::testing::TempDir;

std::vector<Json> golden_rows(const std::string& name, size_t n) {
  std::ifstream in(textune::testing::tokenizer_fixture(name) + "/golden_single.jsonl");
  std::vector<Json> rows;
  std::string line;
  while (rows.size() < n && std::getline(in, line)) rows.push_back(Json::parse(line));
  return rows;
}

/// Expects `tok` to reproduce the golden ids, tokens, offsets and decoded text of `name`.
void expect_matches_golden(const Tokenizer& tok, const std::string& name, size_t n) {
  size_t bad = 0;
  for (const Json& row : golden_rows(name, n)) {
    Encoding e = tok.encode(row["text"].get<std::string>());
    Json offsets = Json::array();
    for (auto& p : e.offsets) offsets.push_back(Json::array({p.first, p.second}));
    bool ok = Json(e.ids) == row["ids"] && Json(e.tokens) == row["tokens"] && offsets == row["offsets"] &&
              Json(tok.decode(e.ids, true)) == row["decoded"];
    if (!ok && bad++ < 3) ADD_FAILURE() << name << ": " << row["text"] << " gives " << Json(e.ids);
  }
  EXPECT_EQ(bad, 0u);
}

void write(const std::string& path, const std::string& text) {
  textune::testing::write_text(path, text);
}

TEST(LegacyFiles, BertVocabTxtMatchesTheTokenizerJsonGolden) {
  for (auto [name, lower] : {std::pair{"bert-base-uncased", true}, std::pair{"bert-base-cased", false},
                             std::pair{"bert-base-chinese", false}}) {
    TempDir dir;
    fs::copy_file(textune::testing::data_dir() + "/vocab/" + name + "/vocab.txt", dir / "vocab.txt");
    write(dir / "tokenizer_config.json", std::string("{\"tokenizer_class\": \"BertTokenizer\", \"do_lower_case\": ") +
                                             (lower ? "true" : "false") + "}");
    auto tok = Tokenizer::from_dir(dir.path());
    expect_matches_golden(*tok, name, 500);
    EXPECT_EQ(tok->pad_token_id(), 0);
    EXPECT_EQ(tok->num_special_tokens_to_add(true), 3u);
  }
}

TEST(LegacyFiles, VocabJsonAndMergesMatchRobertaAndGpt2Golden) {
  const std::string v = textune::testing::data_dir() + "/vocab/roberta-base";
  for (auto [name, vocab, cls] : {std::tuple{"roberta-base", "vocab.json", "RobertaTokenizer"},
                                  std::tuple{"gpt2", "gpt2-vocab.json", "GPT2Tokenizer"}}) {
    TempDir dir;
    fs::copy_file(v + "/" + vocab, dir / "vocab.json");
    fs::copy_file(v + "/merges.txt", dir / "merges.txt");
    write(dir / "tokenizer_config.json", std::string("{\"tokenizer_class\": \"") + cls + "\"}");
    auto tok = Tokenizer::from_dir(dir.path());
    expect_matches_golden(*tok, name, 500);
  }
}

TEST(WriteBertTokenizer, WrittenFilesLoadAndMatchTheGolden) {
  TempDir dir;
  write_bert_tokenizer(textune::testing::data_dir() + "/vocab/bert-base-uncased/vocab.txt", dir / "tok", true, 512);
  for (const char* f : {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"})
    EXPECT_TRUE(fs::exists(dir / (std::string("tok/") + f))) << f;
  auto tok = Tokenizer::from_dir(dir / "tok");
  expect_matches_golden(*tok, "bert-base-uncased", 300);
  EXPECT_EQ(tok->model_max_length(), 512u);
  // copy_tokenizer_files takes every tokenizer file along
  copy_tokenizer_files(dir / "tok", dir / "copy");
  expect_matches_golden(*Tokenizer::from_dir(dir / "copy"), "bert-base-uncased", 50);
}

TEST(WriteBertTokenizer, RefusesAVocabularyWithoutSpecialTokens) {
  TempDir dir;
  write(dir / "vocab.txt", "[PAD]\n[UNK]\nhello\n");
  EXPECT_THROW(write_bert_tokenizer(dir / "vocab.txt", dir / "out", true, 512), DataError);
}

TEST(Loading, UnknownComponentTypeIsAnErrorNamingIt) {
  TempDir dir;
  Json j = Json::parse(
      textune::testing::read_text(textune::testing::tokenizer_fixture("bert-base-uncased") + "/tokenizer.json"));
  j["pre_tokenizer"] = Json{{"type", "FancySplitter"}};
  write(dir / "tokenizer.json", j.dump());
  try {
    Tokenizer::from_dir(dir.path());
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("FancySplitter"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("pre_tokenizer"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Tokenizer::from_dir(dir / "missing"), DataError);
}

TEST(Encoding, InvalidUtf8IsADataErrorWithTheByteOffset) {
  auto tok = Tokenizer::from_dir(textune::testing::tokenizer_fixture("bert-base-uncased"));
  try {
    tok->encode("ok \xC3\x28");
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("offset 3"), std::string::npos) << e.what();
  }
}

TEST(Encoding, BatchOnAllCoresEqualsTheGolden) {
  auto tok = Tokenizer::from_dir(textune::testing::tokenizer_fixture("roberta-base"));
  std::vector<Json> rows = golden_rows("roberta-base", 4000);
  std::vector<std::string> texts;
  for (const Json& r : rows) texts.push_back(r["text"].get<std::string>());
  std::vector<Encoding> out = tok->encode_batch(texts);
  ASSERT_EQ(out.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) ASSERT_EQ(Json(out[i].ids), rows[i]["ids"]) << rows[i]["text"];
}

TEST(Encoding, BatchInsideParallelWorkRunsWithoutDeadlock) {
  auto tok = Tokenizer::from_dir(textune::testing::tokenizer_fixture("bert-base-uncased"));
  std::vector<std::vector<Encoding>> out(6);
  parallel_for(out.size(), [&](size_t i) { out[i] = tok->encode_batch({"Hello world!", "hello  world"}); });
  for (const auto& b : out) {
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(Json(b[0].ids), Json::parse("[101, 7592, 2088, 999, 102]"));  // golden row "Hello world!"
  }
}

TEST(Encoding, PaddingLongestAndLeftAsTokenizersPads) {
  auto tok = Tokenizer::from_dir(textune::testing::tokenizer_fixture("bert-base-uncased"));
  std::vector<Encoding> b = tok->encode_batch({"Hello world!", "a"});
  PaddingOptions p;
  p.direction = Side::kLeft;
  p.pad_to_multiple_of = 4;
  tok->pad(b, p);
  // "Hello world!" is [CLS] hello world ! [SEP] (5, golden row 0): longest 5, multiple of 4 -> 8.
  EXPECT_EQ(Json(b[0].ids), Json::parse("[0,0,0,101,7592,2088,999,102]"));
  EXPECT_EQ(Json(b[1].attention_mask), Json::parse("[0,0,0,0,0,1,1,1]"));
  EXPECT_EQ(Json(b[1].special_tokens_mask), Json::parse("[1,1,1,1,1,1,0,1]"));
}

// NormalizedString alignments, hand-computed: "Café" is C a f é (é = 2 bytes at 3..5).
TEST(NormalizedString, NfdAndFilterKeepTheOriginalSpans) {
  NormalizedString s("Caf\xC3\xA9!");
  s.nfd();  // é -> e + U+0301 (2 bytes): both come from original bytes 3..5
  EXPECT_EQ(s.get(), "Cafe\xCC\x81!");
  EXPECT_EQ(s.normalized_to_original(3, 4), (Offsets{3, 5}));
  EXPECT_EQ(s.normalized_to_original(4, 6), (Offsets{3, 5}));
  EXPECT_EQ(s.normalized_to_original(6, 7), (Offsets{5, 6}));
  s.filter([](char32_t c) { return c != 0x301; });
  EXPECT_EQ(s.get(), "Cafe!");
  EXPECT_EQ(s.normalized_to_original(0, 4), (Offsets{0, 5}));
  NormalizedString tail = s.slice(3, 5);  // "e!"
  EXPECT_EQ(tail.get(), "e!");
  EXPECT_EQ(tail.offsets_original(), (Offsets{3, 6}));
}

TEST(NormalizedString, SplitBehaviorsAsTokenizersDocumentsThem) {
  // tokenizers' doc example: "the-final--countdown" split on '-'.
  LiteralPattern dash("-");
  auto texts = [](const std::vector<NormalizedString>& v) {
    std::vector<std::string> out;
    for (auto& n : v)
      if (!n.empty()) out.push_back(n.get());
    return out;
  };
  NormalizedString s("the-final--countdown");
  using B = SplitDelimiterBehavior;
  EXPECT_EQ(texts(s.split(dash, B::kRemoved)), (std::vector<std::string>{"the", "final", "countdown"}));
  EXPECT_EQ(texts(s.split(dash, B::kIsolated)), (std::vector<std::string>{"the", "-", "final", "-", "-", "countdown"}));
  EXPECT_EQ(texts(s.split(dash, B::kMergedWithPrevious)),
            (std::vector<std::string>{"the-", "final-", "-", "countdown"}));
  EXPECT_EQ(texts(s.split(dash, B::kMergedWithNext)), (std::vector<std::string>{"the", "-final", "-", "-countdown"}));
  EXPECT_EQ(texts(s.split(dash, B::kContiguous)), (std::vector<std::string>{"the", "-", "final", "--", "countdown"}));
}

}  // namespace
}  // namespace textune::tokenizers
