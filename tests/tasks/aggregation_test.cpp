// Aggregation of token predictions into entities (src/tasks/token_classification/aggregation.cpp)
// against transformers' pipelines/token_classification.py (TokenClassificationPipeline). Every
// expected value is worked by hand from the pipeline's definitions, written beside it:
//   - gather_pre_entities: special tokens skipped; word = the token (id_to_token), or the text its
//     offsets cover for the unknown token; is_subword = len(token) != len(text[start:end]) when the
//     model has a continuing_subword_prefix ("##"), else start > 0 and no " " in
//     text[start-1:start+1] (byte-level BPE); the unknown token never a subword.
//   - aggregate: none/simple take each token's argmax (first maximum) and its probability;
//     first/max/average make words of a token and the subwords after it: first = the first
//     token's argmax, max = the argmax of the token with the highest probability, average = the
//     argmax of the label-wise mean.
//   - group_entities: consecutive entities of one type (B-X/I-X/X -> X) grouped, a B- starts a new
//     group; group_sub_entities: the label after the first "-", score = mean of the scores, word =
//     convert_tokens_to_string of the words, start of the first, end of the last.
//   - postprocess: entities whose "entity" (none) or "entity_group" is in ignore_labels dropped.
//   - aggregate_overlapping_entities: sorted by start; of an entity that starts inside the kept one,
//     the longer (then the higher score) kept.
// Probabilities are sums of powers of two, so float32 means are exact unless written as a division.
// Offsets are Python string indices (code points), so "Zürich" in "Zoë lives in Zürich" is 13..19.
// The tokenizations were read from the live reference (tools/reference/reference_tokenizer.js).
#include <gtest/gtest.h>

#include <map>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/tasks/token_classification.h"

using namespace textune;
using core::Json;
using tasks::AggregationStrategy;

namespace {

const std::vector<std::string> kLabels = {"O",     "B-PER", "I-PER",  "B-ORG", "I-ORG",
                                          "B-LOC", "I-LOC", "B-MISC", "I-MISC"};

std::shared_ptr<const tokenizers::Tokenizer> tokenizer(const std::string& name) {
  static std::map<std::string, std::shared_ptr<const tokenizers::Tokenizer>> cache;
  auto& t = cache[name];
  if (!t) t = tokenizers::Tokenizer::from_dir(textune::testing::tokenizer_fixture(name));
  return t;
}

using Row = std::map<std::string, float>;

// (T, C) probabilities: row i from `rows` (label -> probability, others 0), or {"O": 1} when absent.
torch::Tensor probabilities(size_t tokens, const std::map<size_t, Row>& rows,
                            const std::vector<std::string>& labels = kLabels) {
  torch::Tensor p = torch::zeros({static_cast<int64_t>(tokens), static_cast<int64_t>(labels.size())});
  for (size_t i = 0; i < tokens; ++i) {
    auto it = rows.find(i);
    const Row row = it == rows.end() ? Row{{"O", 1.f}} : it->second;
    for (const auto& [label, value] : row) {
      const auto pos = std::find(labels.begin(), labels.end(), label) - labels.begin();
      p[i][pos] = value;
    }
  }
  return p;
}

Json token(const std::string& entity, double score, int64_t index, const std::string& word, int64_t start,
           int64_t end) {
  Json j = Json::object();
  j["entity"] = entity;
  j["score"] = score;
  j["index"] = index;
  j["word"] = word;
  j["start"] = start;
  j["end"] = end;
  return j;
}

Json group(const std::string& entity_group, double score, const std::string& word, int64_t start, int64_t end) {
  Json j = Json::object();
  j["entity_group"] = entity_group;
  j["score"] = score;
  j["word"] = word;
  j["start"] = start;
  j["end"] = end;
  return j;
}

std::string dump(const std::vector<Json>& entities) {
  return Json(entities).dump();
}

struct Case {
  std::string text;
  tokenizers::Encoding encoding;
  torch::Tensor probs;
  std::shared_ptr<const tokenizers::Tokenizer> tok;

  std::vector<tasks::PreEntity> pre(AggregationStrategy s) const {
    return tasks::gather_pre_entities(text, encoding, probs, *tok, s);
  }
  std::vector<Json> run(AggregationStrategy s, const std::vector<std::string>& ignore = {"O"}) const {
    return tasks::aggregate_entities(pre(s), kLabels, s, *tok, ignore);
  }
};

Case make_case(const std::string& tokenizer_name, const std::string& text, const std::map<size_t, Row>& rows) {
  Case c;
  c.text = text;
  c.tok = tokenizer(tokenizer_name);
  c.encoding = c.tok->encode(text);
  c.probs = probabilities(c.encoding.size(), rows);
  return c;
}

void expect_tokens(const tokenizers::Encoding& e, const std::vector<std::string>& tokens) {
  ASSERT_EQ(e.tokens, tokens) << "the tokenization the hand cases were worked from";
}

// ---------------------------------------------------------------------------------------------
// Strategy names.

TEST(Aggregation, StrategyNamesRoundTripAndAnyCase) {
  for (auto s : {AggregationStrategy::kNone, AggregationStrategy::kSimple, AggregationStrategy::kFirst,
                 AggregationStrategy::kAverage, AggregationStrategy::kMax})
    EXPECT_EQ(tasks::parse_aggregation_strategy(tasks::aggregation_strategy_name(s)), s);
  EXPECT_EQ(tasks::aggregation_strategy_name(AggregationStrategy::kAverage), "average");
  // The pipeline looks names up as AggregationStrategy[name.upper()].
  EXPECT_EQ(tasks::parse_aggregation_strategy("SIMPLE"), AggregationStrategy::kSimple);
  EXPECT_EQ(tasks::parse_aggregation_strategy("First"), AggregationStrategy::kFirst);
  try {
    tasks::parse_aggregation_strategy("grouped");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_NE(std::string(e.what()).find("grouped"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("none, simple, first, average or max"), std::string::npos) << e.what();
  }
}

// ---------------------------------------------------------------------------------------------
// WordPiece (bert-base-cased): [CLS] En ##zo works at the UN [SEP].

Case enzo() {
  return make_case("bert-base-cased", "Enzo works at the UN",
                   {{1, {{"O", .25f}, {"B-PER", .5f}, {"I-PER", .25f}}},     // En
                    {2, {{"O", .125f}, {"B-PER", .125f}, {"I-PER", .75f}}},  // ##zo
                    {6, {{"O", .375f}, {"B-ORG", .625f}}}});                 // UN
}

TEST(Aggregation, GatherPreEntitiesWordPiece) {
  const Case c = enzo();
  expect_tokens(c.encoding, {"[CLS]", "En", "##zo", "works", "at", "the", "UN", "[SEP]"});
  const auto pre = c.pre(AggregationStrategy::kSimple);
  ASSERT_EQ(pre.size(), 6u);  // [CLS] and [SEP] skipped
  const std::vector<std::string> words = {"En", "##zo", "works", "at", "the", "UN"};
  const std::vector<size_t> starts = {0, 2, 5, 11, 14, 18}, ends = {2, 4, 10, 13, 17, 20};
  for (size_t i = 0; i < pre.size(); ++i) {
    EXPECT_EQ(pre[i].word, words[i]);
    EXPECT_EQ(pre[i].index, static_cast<int64_t>(i + 1));  // window positions, [CLS] counted
    EXPECT_EQ(pre[i].start, starts[i]);
    EXPECT_EQ(pre[i].end, ends[i]);
    // len("##zo") = 4 != len("zo") = 2: the only subword.
    EXPECT_EQ(pre[i].is_subword, i == 1) << words[i];
  }
  EXPECT_EQ(pre[0].scores, (std::vector<float>{.25f, .5f, .25f, 0, 0, 0, 0, 0, 0}));
}

TEST(Aggregation, EveryStrategyOnWordPieceSubwords) {
  const Case c = enzo();
  // none: one entity per token whose argmax is not O.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kNone)),
            dump({token("B-PER", .5, 1, "En", 0, 2), token("I-PER", .75, 2, "##zo", 2, 4),
                  token("B-ORG", .625, 6, "UN", 18, 20)}));
  // simple: B-PER En + I-PER ##zo grouped, mean(.5, .75) = .625, "En" "##zo" decoded "Enzo".
  EXPECT_EQ(dump(c.run(AggregationStrategy::kSimple)),
            dump({group("PER", .625, "Enzo", 0, 4), group("ORG", .625, "UN", 18, 20)}));
  // first: the word Enzo takes En's argmax B-PER .5.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kFirst)),
            dump({group("PER", .5, "Enzo", 0, 4), group("ORG", .625, "UN", 18, 20)}));
  // max: ##zo's .75 beats En's .5: I-PER .75.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kMax)),
            dump({group("PER", .75, "Enzo", 0, 4), group("ORG", .625, "UN", 18, 20)}));
  // average: O (.25+.125)/2 = .1875, B-PER (.5+.125)/2 = .3125, I-PER (.25+.75)/2 = .5: I-PER .5.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kAverage)),
            dump({group("PER", .5, "Enzo", 0, 4), group("ORG", .625, "UN", 18, 20)}));
}

TEST(Aggregation, IgnoreLabels) {
  const Case c = enzo();
  // none compares the full label.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kNone, {"O", "I-PER"})),
            dump({token("B-PER", .5, 1, "En", 0, 2), token("B-ORG", .625, 6, "UN", 18, 20)}));
  // grouped strategies compare the group.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kSimple, {"O", "ORG"})), dump({group("PER", .625, "Enzo", 0, 4)}));
  // ignore_labels=[] keeps the O group: works/at/the (O after O groups), mean(1, 1, 1) = 1.
  EXPECT_EQ(
      dump(c.run(AggregationStrategy::kFirst, {})),
      dump({group("PER", .5, "Enzo", 0, 4), group("O", 1.0, "works at the", 5, 17), group("ORG", .625, "UN", 18, 20)}));
  EXPECT_TRUE(c.run(AggregationStrategy::kNone, {"O", "B-PER", "I-PER", "B-ORG"}).empty());
}

// [CLS] Hu ##gging Face Inc . is in New York City [SEP]: an I- start (IOB1 style), B- inside a
// run, punctuation joined by the decoder's cleanup, an entity on the last token.
Case hugging_face() {
  return make_case("bert-base-cased", "Hugging Face Inc. is in New York City",
                   {{1, {{"I-ORG", .75f}, {"O", .25f}}},                     // Hu
                    {2, {{"I-ORG", .5f}, {"B-ORG", .25f}, {"O", .25f}}},     // ##gging
                    {3, {{"I-ORG", .875f}, {"O", .125f}}},                   // Face
                    {4, {{"B-ORG", .625f}, {"I-ORG", .375f}}},               // Inc
                    {5, {{"I-ORG", .5f}, {"O", .375f}, {"B-ORG", .125f}}},   // .
                    {8, {{"B-LOC", .75f}, {"I-LOC", .25f}}},                 // New
                    {9, {{"I-LOC", .5f}, {"B-LOC", .25f}, {"O", .25f}}},     // York
                    {10, {{"B-LOC", .5f}, {"I-LOC", .375f}, {"O", .125f}}}}  // City
  );
}

TEST(Aggregation, GroupingBAndIOnWordPiece) {
  const Case c = hugging_face();
  expect_tokens(c.encoding, {"[CLS]", "Hu", "##gging", "Face", "Inc", ".", "is", "in", "New", "York", "City", "[SEP]"});
  // simple: I-ORG Hu ##gging Face (mean (.75+.5+.875)/3), B-ORG Inc starts a group with I-ORG "."
  // ("Inc ." cleaned up to "Inc."), B-LOC New + I-LOC York, B-LOC City alone at the end.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kSimple)),
            dump({group("ORG", 2.125f / 3, "Hugging Face", 0, 12), group("ORG", .5625, "Inc.", 13, 17),
                  group("LOC", .625, "New York", 24, 32), group("LOC", .5, "City", 33, 37)}));
  // first: the word Hugging takes Hu's I-ORG .75; "." is a word of its own (len 1 == len 1).
  const std::vector<Json> rest = {group("ORG", .5625, "Inc.", 13, 17), group("LOC", .625, "New York", 24, 32),
                                  group("LOC", .5, "City", 33, 37)};
  std::vector<Json> first = {group("ORG", (.75 + .875) / 2, "Hugging Face", 0, 12)};
  first.insert(first.end(), rest.begin(), rest.end());
  EXPECT_EQ(dump(c.run(AggregationStrategy::kFirst)), dump(first));
  // max: Hu's .75 beats ##gging's .5: the same as first.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kMax)), dump(first));
  // average: Hugging I-ORG (.75+.5)/2 = .625; group mean (.625+.875)/2 = .75.
  std::vector<Json> average = {group("ORG", .75, "Hugging Face", 0, 12)};
  average.insert(average.end(), rest.begin(), rest.end());
  EXPECT_EQ(dump(c.run(AggregationStrategy::kAverage)), dump(average));
}

// ---------------------------------------------------------------------------------------------
// Non-ASCII: code-point offsets.

// [CLS] Z ##o ##ë lives in Zürich [SEP], a subword (##ë) that disagrees with its word.
TEST(Aggregation, NonAsciiWordPieceCodePointOffsets) {
  const Case c = make_case("bert-base-cased", "Zoë lives in Zürich",
                           {{1, {{"B-PER", .75f}, {"O", .25f}}},                  // Z
                            {2, {{"I-PER", .625f}, {"O", .375f}}},                // ##o
                            {3, {{"B-LOC", .5f}, {"I-PER", .25f}, {"O", .25f}}},  // ##ë
                            {6, {{"B-LOC", .875f}, {"O", .125f}}}});              // Zürich
  expect_tokens(c.encoding, {"[CLS]", "Z", "##o", "##ë", "lives", "in", "Zürich", "[SEP]"});
  const auto pre = c.pre(AggregationStrategy::kFirst);
  ASSERT_EQ(pre.size(), 6u);
  // len("##ë") = 3 != len("ë") = 1 in code points; len("Zürich") = 6 == len(text[13:19]).
  EXPECT_TRUE(pre[2].is_subword);
  EXPECT_FALSE(pre[5].is_subword);
  EXPECT_EQ(pre[5].start, 13u);
  EXPECT_EQ(pre[5].end, 19u);
  // simple: PER Z ##o (mean(.75, .625) = .6875), B-LOC ##ë a group of its own (a first token keeps
  // its "##"), LOC Zürich.
  EXPECT_EQ(
      dump(c.run(AggregationStrategy::kSimple)),
      dump({group("PER", .6875, "Zo", 0, 2), group("LOC", .5, "##ë", 2, 3), group("LOC", .875, "Zürich", 13, 19)}));
  // first and max: Z's B-PER .75 for the word Zoë.
  const std::vector<Json> first = {group("PER", .75, "Zoë", 0, 3), group("LOC", .875, "Zürich", 13, 19)};
  EXPECT_EQ(dump(c.run(AggregationStrategy::kFirst)), dump(first));
  EXPECT_EQ(dump(c.run(AggregationStrategy::kMax)), dump(first));
  // average: O (.25+.375+.25)/3 and I-PER (0+.625+.25)/3 are both .875/3: np.argmax takes the
  // first, O, so Zoë is no entity.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kAverage)), dump({group("LOC", .875, "Zürich", 13, 19)}));
}

// Byte-level BPE without a continuing_subword_prefix (roberta-base): the space heuristic.
// <s> Z o Ã« Ġlives Ġin ĠZ Ã¼ rich </s>
TEST(Aggregation, ByteLevelBpeSpaceHeuristic) {
  const Case c = make_case("roberta-base", "Zoë lives in Zürich",
                           {{1, {{"B-PER", .75f}, {"O", .25f}}},                      // Z
                            {2, {{"I-PER", .625f}, {"O", .375f}}},                    // o
                            {3, {{"B-LOC", .5f}, {"I-PER", .25f}, {"O", .25f}}},      // Ã«
                            {6, {{"B-LOC", .875f}, {"O", .125f}}},                    // ĠZ
                            {7, {{"I-LOC", .5f}, {"B-LOC", .25f}, {"O", .25f}}},      // Ã¼
                            {8, {{"B-PER", .5f}, {"I-LOC", .375f}, {"O", .125f}}}});  // rich
  expect_tokens(c.encoding, {"<s>", "Z", "o", "Ã«", "Ġlives", "Ġin", "ĠZ", "Ã¼", "rich", "</s>"});
  const auto pre = c.pre(AggregationStrategy::kFirst);
  ASSERT_EQ(pre.size(), 8u);
  // start > 0 and no space in text[start-1:start+1]: o ("Zo"), Ã« ("oë"), Ã¼ ("Zü"), rich ("ür").
  const std::vector<bool> subword = {false, true, true, false, false, false, true, true};
  for (size_t i = 0; i < pre.size(); ++i) EXPECT_EQ(pre[i].is_subword, subword[i]) << pre[i].word;
  EXPECT_EQ(pre[5].start, 13u);  // ĠZ: offsets trimmed of the space, in code points
  EXPECT_EQ(pre[7].end, 19u);
  // none: the raw tokens.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kNone)),
            dump({token("B-PER", .75, 1, "Z", 0, 1), token("I-PER", .625, 2, "o", 1, 2),
                  token("B-LOC", .5, 3, "Ã«", 2, 3), token("B-LOC", .875, 6, "ĠZ", 13, 14),
                  token("I-LOC", .5, 7, "Ã¼", 14, 15), token("B-PER", .5, 8, "rich", 15, 19)}));
  // simple: tokens grouped, words decoded from bytes ("ĠZ" "Ã¼" -> " Zü").
  EXPECT_EQ(dump(c.run(AggregationStrategy::kSimple)),
            dump({group("PER", .6875, "Zo", 0, 2), group("LOC", .5, "ë", 2, 3), group("LOC", .6875, " Zü", 13, 15),
                  group("PER", .5, "rich", 15, 19)}));
  // first and max: Zoë takes Z's B-PER .75, " Zürich" ĠZ's B-LOC .875. group_sub_entities decodes
  // the words once more: " Zürich" holds a space, which is no byte-level character, so the
  // ByteLevel decoder keeps its UTF-8 as it is; "Zoë" is all byte-level characters (Z o ë = bytes
  // 5A 6F EB), decoded to the invalid UTF-8 5A 6F EB, which from_utf8_lossy makes "Zo\uFFFD".
  const std::vector<Json> first = {group("PER", .75, "Zo\xEF\xBF\xBD", 0, 3), group("LOC", .875, " Zürich", 13, 19)};
  EXPECT_EQ(dump(c.run(AggregationStrategy::kFirst)), dump(first));
  EXPECT_EQ(dump(c.run(AggregationStrategy::kMax)), dump(first));
  // average: Zoë O (tie with I-PER, the first wins, as above); Zürich B-LOC (.875+.25+0)/3 = .375.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kAverage)), dump({group("LOC", .375, " Zürich", 13, 19)}));
}

// bert-base-chinese: one token per character, none a subword; two consecutive B-PER are two
// entities; WordPiece joins the characters of a group with spaces.
TEST(Aggregation, ChineseCharactersConsecutiveB) {
  const Case c = make_case("bert-base-chinese", "张三在北京工作。",
                           {{1, {{"B-PER", .75f}, {"O", .25f}}},                  // 张
                            {2, {{"B-PER", .5f}, {"I-PER", .25f}, {"O", .25f}}},  // 三
                            {4, {{"B-LOC", .625f}, {"O", .375f}}},                // 北
                            {5, {{"I-LOC", .875f}, {"O", .125f}}}});              // 京
  expect_tokens(c.encoding, {"[CLS]", "张", "三", "在", "北", "京", "工", "作", "。", "[SEP]"});
  for (const auto& p : c.pre(AggregationStrategy::kFirst)) EXPECT_FALSE(p.is_subword) << p.word;
  const std::vector<Json> expected = {group("PER", .75, "张", 0, 1), group("PER", .5, "三", 1, 2),
                                      group("LOC", .75, "北 京", 3, 5)};
  for (auto s : {AggregationStrategy::kSimple, AggregationStrategy::kFirst, AggregationStrategy::kMax,
                 AggregationStrategy::kAverage})
    EXPECT_EQ(dump(c.run(s)), dump(expected)) << tasks::aggregation_strategy_name(s);
}

// ---------------------------------------------------------------------------------------------
// Unknown tokens.

// [CLS] I [UNK] Rama ##zo ##tti in 東 京 [SEP]: the [UNK] covers "☃".
TEST(Aggregation, UnknownTokenTakesItsText) {
  const Case c = make_case("bert-base-cased", "I ☃ Ramazotti in 東京",
                           {{2, {{"B-MISC", .75f}, {"O", .25f}}},                    // [UNK]
                            {3, {{"B-MISC", .5f}, {"B-PER", .375f}, {"O", .125f}}},  // Rama
                            {4, {{"B-LOC", .75f}, {"B-PER", .25f}}},                 // ##zo
                            {5, {{"I-ORG", .625f}, {"B-PER", .375f}}},               // ##tti
                            {7, {{"B-LOC", .5f}, {"I-LOC", .25f}, {"O", .25f}}},     // 東
                            {8, {{"I-LOC", .625f}, {"O", .375f}}}});                 // 京
  expect_tokens(c.encoding, {"[CLS]", "I", "[UNK]", "Rama", "##zo", "##tti", "in", "東", "京", "[SEP]"});
  const auto pre = c.pre(AggregationStrategy::kNone);
  EXPECT_EQ(pre[1].word, "☃");
  EXPECT_FALSE(pre[1].is_subword);  // len("[UNK]") != len("☃"), but the unknown token never is
  EXPECT_EQ(dump(c.run(AggregationStrategy::kNone, {"O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"})),
            dump({token("B-MISC", .75, 2, "☃", 2, 3), token("B-MISC", .5, 3, "Rama", 4, 8)}));
  // first: Ramazotti takes Rama's B-MISC .5; a B-MISC after the B-MISC ☃ is a new entity.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kFirst)),
            dump({group("MISC", .75, "☃", 2, 3), group("MISC", .5, "Ramazotti", 4, 13),
                  group("LOC", .5625, "東 京", 17, 19)}));
  // max: ##zo's .75 (B-LOC) is the highest.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kMax)),
            dump({group("MISC", .75, "☃", 2, 3), group("LOC", .75, "Ramazotti", 4, 13),
                  group("LOC", .5625, "東 京", 17, 19)}));
  // average: B-PER (.375+.25+.375)/3 = 1/3 beats B-LOC .25, I-ORG .625/3, B-MISC .5/3: a label
  // that is no token's argmax.
  EXPECT_EQ(dump(c.run(AggregationStrategy::kAverage)),
            dump({group("MISC", .75, "☃", 2, 3), group("PER", 1.0f / 3, "Ramazotti", 4, 13),
                  group("LOC", .5625, "東 京", 17, 19)}));
}

TEST(Aggregation, UnknownTokenOfChineseBert) {
  // bert-base-chinese has no "Enzo" nor "UN": [UNK] (0,4) works at the [UNK] (18,20).
  const Case c = make_case("bert-base-chinese", "Enzo works at the UN",
                           {{1, {{"B-PER", .75f}, {"O", .25f}}}, {5, {{"B-ORG", .625f}, {"O", .375f}}}});
  expect_tokens(c.encoding, {"[CLS]", "[UNK]", "works", "at", "the", "[UNK]", "[SEP]"});
  EXPECT_EQ(dump(c.run(AggregationStrategy::kFirst)),
            dump({group("PER", .75, "Enzo", 0, 4), group("ORG", .625, "UN", 18, 20)}));
}

// ---------------------------------------------------------------------------------------------
// The cases of transformers' tests/pipelines/test_pipelines_token_classification.py that need no
// model (hand-made pre-entities), with their expected outputs (nested_simplify rounds scores to
// 3 decimals). Their score arrays have 8 values for 9 labels (and 10 in example 2): padded with 0
// (and the always-0 tenth dropped), which changes no argmax nor mean.

std::vector<tasks::PreEntity> enzo_un_example(const std::vector<size_t>& label_ids, size_t labels) {
  const std::vector<float> values = {0.9968166351318359f, 0.9957635998725891f, 0.9986497163772583f};
  const std::vector<std::string> words = {"En", "##zo", "UN"};
  const std::vector<int64_t> index = {1, 2, 7};
  const std::vector<size_t> start = {0, 2, 11}, end = {2, 4, 13};
  std::vector<tasks::PreEntity> out;
  for (size_t i = 0; i < 3; ++i) {
    tasks::PreEntity p;
    p.word = words[i];
    p.scores.assign(labels, 0.f);
    p.scores[label_ids[i]] = values[i];
    p.start = start[i];
    p.end = end[i];
    p.index = index[i];
    p.is_subword = i == 1;
    out.push_back(p);
  }
  return out;
}

void expect_rounded(const std::vector<Json>& actual, const std::vector<Json>& expected) {
  ASSERT_EQ(actual.size(), expected.size()) << dump(actual);
  for (size_t i = 0; i < actual.size(); ++i) {
    Json a = actual[i], e = expected[i];
    EXPECT_NEAR(a["score"].get<double>(), e["score"].get<double>(), 5e-4) << a.dump();
    a.erase("score");
    e.erase("score");
    EXPECT_EQ(a.dump(), e.dump());
  }
}

// The id2label of the tests' model (sshleifer/tiny-dbmdz-bert-large-cased-finetuned-conll03-english).
const std::vector<std::string> kDbmdzLabels = {"O",     "B-MISC", "I-MISC", "B-PER", "I-PER",
                                               "B-ORG", "I-ORG",  "B-LOC",  "I-LOC"};

TEST(Aggregation, TransformersTestAggregationStrategy) {
  const auto& bert = *tokenizer("bert-base-cased");
  const auto pre = enzo_un_example({4, 4, 5}, 9);  // I-PER, I-PER, B-ORG
  const auto& kLabels = kDbmdzLabels;
  expect_rounded(tasks::aggregate_entities(pre, kLabels, AggregationStrategy::kNone, bert),
                 {token("I-PER", 0.997, 1, "En", 0, 2), token("I-PER", 0.996, 2, "##zo", 2, 4),
                  token("B-ORG", 0.999, 7, "UN", 11, 13)});
  expect_rounded(tasks::aggregate_entities(pre, kLabels, AggregationStrategy::kSimple, bert),
                 {group("PER", 0.996, "Enzo", 0, 4), group("ORG", 0.999, "UN", 11, 13)});
  for (auto s : {AggregationStrategy::kFirst, AggregationStrategy::kMax})
    expect_rounded(tasks::aggregate_entities(pre, kLabels, s, bert),
                   {group("PER", 0.997, "Enzo", 0, 4), group("ORG", 0.999, "UN", 11, 13)});
  expect_rounded(tasks::aggregate_entities(pre, kLabels, AggregationStrategy::kAverage, bert),
                 {group("PER", 0.996, "Enzo", 0, 4), group("ORG", 0.999, "UN", 11, 13)});
}

TEST(Aggregation, TransformersTestAggregationStrategyNoBIPrefix) {
  const auto& bert = *tokenizer("bert-base-cased");
  const std::vector<std::string> labels = {"O", "MISC", "PER", "ORG", "LOC"};
  const auto pre = enzo_un_example({4, 4, 3}, 5);  // LOC, LOC, ORG
  expect_rounded(
      tasks::aggregate_entities(pre, labels, AggregationStrategy::kNone, bert),
      {token("LOC", 0.997, 1, "En", 0, 2), token("LOC", 0.996, 2, "##zo", 2, 4), token("ORG", 0.999, 7, "UN", 11, 13)});
  expect_rounded(tasks::aggregate_entities(pre, labels, AggregationStrategy::kSimple, bert),
                 {group("LOC", 0.996, "Enzo", 0, 4), group("ORG", 0.999, "UN", 11, 13)});
}

TEST(Aggregation, TransformersTestAggregationStrategyExample2) {
  const auto& bert = *tokenizer("bert-base-cased");
  auto make = [](std::vector<float> scores, bool sub, int64_t index, const std::string& word, size_t s, size_t e) {
    tasks::PreEntity p;
    p.scores = std::move(scores);
    p.is_subword = sub;
    p.index = index;
    p.word = word;
    p.start = s;
    p.end = e;
    return p;
  };
  const std::vector<tasks::PreEntity> pre = {make({0, .55f, 0, .45f, 0, 0, 0, 0, 0}, false, 1, "Ra", 0, 2),
                                             make({0, 0, 0, .2f, 0, 0, 0, .8f, 0}, true, 2, "##ma", 2, 4),
                                             make({0, 0, 0, .4f, 0, 0, .6f, 0, 0}, true, 3, "##zotti", 11, 13)};
  const auto& labels = kDbmdzLabels;  // 1 B-MISC, 3 B-PER, 6 I-ORG, 7 B-LOC
  expect_rounded(tasks::aggregate_entities(pre, labels, AggregationStrategy::kNone, bert),
                 {token("B-MISC", 0.55, 1, "Ra", 0, 2), token("B-LOC", 0.8, 2, "##ma", 2, 4),
                  token("I-ORG", 0.6, 3, "##zotti", 11, 13)});
  expect_rounded(tasks::aggregate_entities(pre, labels, AggregationStrategy::kFirst, bert),
                 {group("MISC", 0.55, "Ramazotti", 0, 13)});
  expect_rounded(tasks::aggregate_entities(pre, labels, AggregationStrategy::kMax, bert),
                 {group("LOC", 0.8, "Ramazotti", 0, 13)});
  expect_rounded(tasks::aggregate_entities(pre, labels, AggregationStrategy::kAverage, bert),
                 {group("PER", 0.35, "Ramazotti", 0, 13)});
}

TEST(Aggregation, TransformersTestGatherPreEntities) {
  // "Hello there", scores [1,0,0] for [CLS], [.1,.3,.6], [.8,.1,.1] (and a row for [SEP]).
  const auto tok = tokenizer("bert-base-cased");
  const auto enc = tok->encode("Hello there");
  ASSERT_EQ(enc.size(), 4u);
  const torch::Tensor p = torch::tensor({1.f, 0.f, 0.f, .1f, .3f, .6f, .8f, .1f, .1f, 1.f, 0.f, 0.f}).view({4, 3});
  const auto pre = tasks::gather_pre_entities("Hello there", enc, p, *tok, AggregationStrategy::kNone);
  ASSERT_EQ(pre.size(), 2u);
  EXPECT_EQ(pre[0].word, "Hello");
  EXPECT_EQ(pre[0].scores, (std::vector<float>{.1f, .3f, .6f}));
  EXPECT_EQ(pre[0].start, 0u);
  EXPECT_EQ(pre[0].end, 5u);
  EXPECT_FALSE(pre[0].is_subword);
  EXPECT_EQ(pre[0].index, 1);
  EXPECT_EQ(pre[1].word, "there");
  EXPECT_EQ(pre[1].scores, (std::vector<float>{.8f, .1f, .1f}));
  EXPECT_EQ(pre[1].start, 6u);
  EXPECT_EQ(pre[1].end, 11u);
  EXPECT_FALSE(pre[1].is_subword);
  EXPECT_EQ(pre[1].index, 2);
}

// ---------------------------------------------------------------------------------------------
// Scores: float32 means as numpy computes them.

TEST(Aggregation, ScoresAreFloat32MeansOfFloat32) {
  const auto& bert = *tokenizer("bert-base-cased");
  // Three I-PER tokens of 0.1f, 0.2f, 0.3f: np.nanmean of float32 sums in float32,
  // ((0 + 0.1f) + 0.2f) + 0.3f, then / 3 in float32; the double of that float is the JSON score.
  std::vector<tasks::PreEntity> pre;
  const float v[3] = {0.1f, 0.2f, 0.3f};
  for (int i = 0; i < 3; ++i) {
    tasks::PreEntity p;
    p.word = i == 0 ? "En" : "##zo";
    p.scores.assign(kLabels.size(), 0.f);
    p.scores[2] = v[i];
    p.start = 2 * i;
    p.end = 2 * i + 2;
    p.index = i + 1;
    pre.push_back(p);
  }
  const auto out = tasks::aggregate_entities(pre, kLabels, AggregationStrategy::kSimple, bert);
  ASSERT_EQ(out.size(), 1u);
  const float sum = (0.1f + 0.2f) + 0.3f;
  EXPECT_EQ(out[0]["score"].get<double>(), static_cast<double>(sum / 3.0f));
  EXPECT_NE(out[0]["score"].get<double>(), (0.1 + 0.2 + 0.3) / 3);  // not a double mean
}

TEST(Aggregation, ScoreOfElevenTokensIsNumpysPairwiseMean) {
  // numpy sums 8 or more float32 values pairwise (8 partial sums), not in order. Reference
  // (Debian python3-numpy 1.24.2):
  //   python3 -c "import numpy as np; print(float(np.nanmean([np.float32(x) for x in
  //     [.485,.981,.962,.725,.541,.277,.161,.970,.516,.116,.623]])))"  -> 0.5779091119766235
  // (the sum in order would give 0.5779090523719788).
  const auto& bert = *tokenizer("bert-base-cased");
  const std::vector<float> v = {.485f, .981f, .962f, .725f, .541f, .277f, .161f, .970f, .516f, .116f, .623f};
  std::vector<tasks::PreEntity> pre;
  for (size_t i = 0; i < v.size(); ++i) {
    tasks::PreEntity p;
    p.word = "x";
    p.scores.assign(kLabels.size(), 0.f);
    p.scores[2] = v[i];  // I-PER
    p.start = 2 * i;
    p.end = 2 * i + 1;
    p.index = static_cast<int64_t>(i + 1);
    pre.push_back(p);
  }
  const auto out = tasks::aggregate_entities(pre, kLabels, AggregationStrategy::kSimple, bert);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]["score"].get<double>(), 0.5779091119766235);
}

TEST(Aggregation, BadShapesAreDataErrors) {
  const Case c = enzo();
  // a row short
  EXPECT_THROW(
      tasks::gather_pre_entities(c.text, c.encoding, c.probs.narrow(0, 0, 7), *c.tok, AggregationStrategy::kSimple),
      DataError);
  // one score per label
  const auto pre = c.pre(AggregationStrategy::kSimple);
  const std::vector<std::string> fewer(kLabels.begin(), kLabels.begin() + 5);
  EXPECT_THROW(tasks::aggregate_entities(pre, fewer, AggregationStrategy::kSimple, *c.tok), DataError);
}

// ---------------------------------------------------------------------------------------------
// Overlapping entities of stride windows.

TEST(Aggregation, MergeOverlappingEntitiesHandCases) {
  EXPECT_TRUE(tasks::merge_overlapping_entities({}).empty());
  // Given out of order: sorted by start; PER 0-4 and the longer PER 0-12 (same start): the longer;
  // PER 5-8 starts inside 0-12 and is shorter: dropped; ORG 20-25 twice with the same length: the
  // higher score; ORG 25-30 starts at the kept one's end (end exclusive): kept; LOC 40-45 and LOC
  // 40-45 with the same score: the first (stable sort).
  std::vector<Json> in = {group("ORG", .5, "b", 20, 25),   group("LOC", .5, "first", 40, 45),
                          group("PER", .9, "a", 0, 4),     group("ORG", .95, "B", 20, 25),
                          group("PER", .8, "long", 0, 12), group("ORG", .7, "c", 25, 30),
                          group("PER", .99, "x", 5, 8),    group("LOC", .5, "second", 40, 45)};
  EXPECT_EQ(dump(tasks::merge_overlapping_entities(in)),
            dump({group("PER", .8, "long", 0, 12), group("ORG", .95, "B", 20, 25), group("ORG", .7, "c", 25, 30),
                  group("LOC", .5, "first", 40, 45)}));
  // A later, longer entity that starts inside the kept one replaces it.
  EXPECT_EQ(
      dump(tasks::merge_overlapping_entities({group("LOC", .75, "New", 24, 27), group("LOC", .6, "New York", 24, 32)})),
      dump({group("LOC", .6, "New York", 24, 32)}));
  // none's token entities (no entity_group) merge the same way.
  EXPECT_EQ(
      dump(tasks::merge_overlapping_entities({token("B-PER", .5, 3, "x", 10, 12), token("B-PER", .5, 1, "x", 10, 12)})),
      dump({token("B-PER", .5, 3, "x", 10, 12)}));
}

TEST(Aggregation, StrideWindowsMergeToTheWholeTextsEntities) {
  // The Hugging Face case in windows of 6 tokens overlapping by 2: each window's entities
  // (simple), merged, are the entities of the whole text; an entity cut by a window ("New" alone
  // in one window, "New York" in the next) is kept whole.
  const Case whole = hugging_face();
  const auto whole_entities = whole.run(AggregationStrategy::kSimple);
  tokenizers::EncodeOptions options;
  options.truncation = tokenizers::TruncationOptions{};
  options.truncation->max_length = 6;
  options.truncation->stride = 2;
  options.truncation->early_exit = false;  // windows over the whole text
  options.return_overflowing_tokens = true;
  tokenizers::Encoding first = whole.tok->encode(whole.text, std::nullopt, options);
  std::vector<tokenizers::Encoding> windows = {first};
  for (const auto& o : first.overflowing) windows.push_back(o);
  ASSERT_GE(windows.size(), 3u);
  // Each token's probabilities are the whole text's row of the token at the same offsets.
  std::vector<Json> all;
  bool cut = false;
  for (const auto& w : windows) {
    torch::Tensor p = torch::zeros({static_cast<int64_t>(w.size()), static_cast<int64_t>(kLabels.size())});
    for (size_t i = 0; i < w.size(); ++i) {
      p[i][0] = 1.f;
      for (size_t j = 0; j < whole.encoding.size(); ++j)
        if (!w.special_tokens_mask[i] && !whole.encoding.special_tokens_mask[j] &&
            whole.encoding.offsets[j] == w.offsets[i])
          p[i].copy_(whole.probs[j]);
    }
    const auto pre = tasks::gather_pre_entities(whole.text, w, p, *whole.tok, AggregationStrategy::kSimple);
    const auto entities = tasks::aggregate_entities(pre, kLabels, AggregationStrategy::kSimple, *whole.tok);
    for (const auto& e : entities) cut = cut || (e["word"] == "New");
    all.insert(all.end(), entities.begin(), entities.end());
  }
  EXPECT_TRUE(cut) << "some window holds New without York: " << dump(all);
  EXPECT_EQ(dump(tasks::merge_overlapping_entities(all)), dump(whole_entities));
}

}  // namespace
