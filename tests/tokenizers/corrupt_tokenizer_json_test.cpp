// A corrupted-tokenizer.json corpus (issue 11): truncated files, wrong types, unknown component
// types, ids beyond u32 (which a cast would wrap: 4294974889 -> 7593), negative sizes, deep nesting,
// duplicate ids, a missing model, and a sweep replacing every value of three small valid files by
// hostile values. Each must load or fail with a DataError naming the file; nothing may crash, hang
// or allocate by the value of an id. Bounded: the whole suite runs in a few seconds.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"
#include "tokenizers/tokenizer_impl.h"

namespace textune::tokenizers {
namespace {

using textune::testing::TempDir;
using Json = nlohmann::json;  // tokenizer.json is read as plain nlohmann::json (TokenizerJson)

const char* kWordPiece = R"({
 "version": "1.0", "truncation": null,
 "padding": {"strategy": "BatchLongest", "direction": "Right", "pad_to_multiple_of": null, "pad_id": 0,
             "pad_type_id": 0, "pad_token": "[PAD]"},
 "added_tokens": [
  {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
  {"id": 1, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
  {"id": 2, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true},
  {"id": 3, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
 "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFD"}, {"type": "Lowercase"}, {"type": "StripAccents"},
                {"type": "Replace", "pattern": {"String": "``"}, "content": "\""}]},
 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"},
                   {"type": "Digits", "individual_digits": true}, {"type": "Punctuation", "behavior": "Isolated"}]},
 "post_processor": {"type": "TemplateProcessing",
   "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
              {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
   "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
            {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
            {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
   "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                      "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
 "decoder": {"type": "Sequence", "decoders": [{"type": "WordPiece", "prefix": "##", "cleanup": true},
             {"type": "Strip", "content": " ", "start": 0, "stop": 0}]},
 "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
           "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6, "a": 7, "1": 8, ".": 9}}
})";

const char* kBpe = R"({
 "version": "1.0", "truncation": null, "padding": null,
 "added_tokens": [{"id": 7, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true},
                  {"id": 8, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": true, "special": true}],
 "normalizer": null,
 "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
 "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 8], "cls": ["<s>", 7], "trim_offsets": true, "add_prefix_space": false},
 "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
 "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": "", "end_of_word_suffix": "",
           "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
           "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "abc": 4, "\u0120": 5, "\u0120a": 6, "<s>": 7, "</s>": 8},
           "merges": ["a b", ["ab", "c"], "\u0120 a"]}
})";

const char* kUnigram = R"({
 "version": "1.0", "truncation": null, "padding": null,
 "added_tokens": [{"id": 0, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}],
 "normalizer": {"type": "Sequence", "normalizers": [{"type": "Nmt"}, {"type": "NFKC"}, {"type": "Strip", "strip_left": true, "strip_right": true}]},
 "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
 "post_processor": {"type": "BertProcessing", "sep": ["</s>", 2], "cls": ["<s>", 1]},
 "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": true},
 "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": false,
           "vocab": [["<unk>", 0.0], ["<s>", 0.0], ["</s>", 0.0], ["\u2581", -2.0], ["a", -3.0], ["b", -3.5], ["\u2581ab", -1.5]]}
})";

/// Loads `j` as the file `path`; returns "" when it loads, else the DataError's message. Any other
/// exception fails the test.
std::string load_error(const Json& j, const std::string& path) {
  try {
    auto tok = load_tokenizer_json(j, path);
    tok->encode("hello world a1. ab abc");  // a loaded tokenizer must also encode without crashing
    return "";
  } catch (const DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a DataError: " << e.what() << "\n  for " << j.dump().substr(0, 300);
    return e.what();
  }
}

/// Expects loading `j` to fail with a DataError that names the file and each of `needles`.
void expect_error(const Json& j, const std::vector<std::string>& needles) {
  const std::string path = "/corpus/tokenizer.json";
  const std::string msg = load_error(j, path);
  ASSERT_FALSE(msg.empty()) << "loaded, but should fail: " << j.dump().substr(0, 300);
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "no \"" << n << "\" in: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line: " << msg;
}

Json wordpiece() {
  return Json::parse(kWordPiece);
}
Json bpe() {
  return Json::parse(kBpe);
}
Json unigram() {
  return Json::parse(kUnigram);
}

TEST(CorruptTokenizerJson, TheCorpusBasesLoad) {
  for (const char* text : {kWordPiece, kBpe, kUnigram}) EXPECT_EQ(load_error(Json::parse(text), "base.json"), "");
}

// 4294974889 = 2^32 + 7593: before, the cast to u32 made it id 7593.
TEST(CorruptTokenizerJson, IdsBeyondU32AreRefusedEverywhereTheyAreRead) {
  const uint64_t huge = 4294974889ULL;
  Json j = wordpiece();
  j["model"]["vocab"]["world"] = huge;
  expect_error(j, {"\"world\"", "4294974889"});
  j = bpe();
  j["model"]["vocab"]["abc"] = huge;
  expect_error(j, {"\"abc\"", "4294974889"});
  j = wordpiece();
  j["added_tokens"][1]["id"] = huge;
  expect_error(j, {"added_tokens[1]", "\"id\"", "4294974889"});
  j = wordpiece();
  j["post_processor"]["special_tokens"]["[SEP]"]["ids"][0] = huge;
  expect_error(j, {"[SEP]", "4294974889"});
  j = bpe();
  j["post_processor"]["sep"][1] = huge;
  expect_error(j, {"sep", "4294974889"});
  j = unigram();
  j["post_processor"]["cls"][1] = huge;
  expect_error(j, {"cls", "4294974889"});
  j = wordpiece();
  j["padding"]["pad_id"] = huge;
  expect_error(j, {"pad_id", "4294974889"});
  j = unigram();
  j["model"]["unk_id"] = huge;
  expect_error(j, {"unk_id", "4294974889"});
  // Negative and fractional ids.
  j = wordpiece();
  j["model"]["vocab"]["world"] = -5;
  expect_error(j, {"\"world\"", "-5"});
  j = wordpiece();
  j["model"]["vocab"]["world"] = 5.5;
  expect_error(j, {"\"world\"", "5.5"});
  j = wordpiece();
  j["added_tokens"][0]["id"] = -1;
  expect_error(j, {"added_tokens[0]", "-1"});
  // An id the size of u32 is valid, and must not allocate a table of 2^32 entries.
  j = wordpiece();
  j["model"]["vocab"]["world"] = 4294967295ULL;
  EXPECT_EQ(load_error(j, "big.json"), "");
  auto tok = load_tokenizer_json(j, "big.json");
  EXPECT_EQ(tok->encode("world", std::nullopt, {false}).ids, std::vector<int64_t>{4294967295LL});
  EXPECT_EQ(tok->id_to_token(4294967295LL), "world");
}

TEST(CorruptTokenizerJson, NegativeOrOutOfRangeSizesNameTheKey) {
  Json j = wordpiece();
  j["model"]["max_input_chars_per_word"] = -1;
  expect_error(j, {"max_input_chars_per_word", "-1"});
  j = wordpiece();
  j["decoder"]["decoders"][1]["stop"] = -3;
  expect_error(j, {"\"stop\"", "-3"});
  j = wordpiece();
  j["post_processor"]["pair"][3]["Sequence"]["type_id"] = -1;
  expect_error(j, {"type_id", "-1"});
  j = wordpiece();
  j["padding"]["pad_type_id"] = -2;
  expect_error(j, {"pad_type_id", "-2"});
  j = bpe();
  j["model"]["dropout"] = -0.5;
  expect_error(j, {"dropout", "-0.5"});
  j = bpe();
  j["model"]["dropout"] = 1.5;
  expect_error(j, {"dropout", "1.5"});
  j = bpe();
  j["model"]["dropout"] = "0.1";
  expect_error(j, {"dropout"});
}

TEST(CorruptTokenizerJson, DuplicateIdsInAVocabularyAreRefused) {
  Json j = wordpiece();
  j["model"]["vocab"]["world"] = 4;  // "hello" has id 4 too: decoding 4 would be ambiguous
  expect_error(j, {"\"hello\"", "\"world\"", "id 4"});
  j = bpe();
  j["model"]["vocab"]["abc"] = 3;
  expect_error(j, {"\"ab\"", "\"abc\"", "id 3"});
}

TEST(CorruptTokenizerJson, UnknownComponentTypesAndMissingModel) {
  for (const char* key : {"normalizer", "pre_tokenizer", "model", "post_processor", "decoder"}) {
    Json j = wordpiece();
    j[key]["type"] = "Nope";
    expect_error(j, {key, "\"Nope\""});
    j[key]["type"] = 12;
    expect_error(j, {key});
  }
  Json j = wordpiece();
  j["normalizer"]["normalizers"][2]["type"] = "Nope";
  expect_error(j, {"normalizer", "Nope"});
  j = wordpiece();
  j.erase("model");
  expect_error(j, {"model"});
  j = wordpiece();
  j["model"] = nullptr;
  expect_error(j, {"model"});
  expect_error(Json::array(), {});
  expect_error(Json::object(), {"model"});
  expect_error(Json("text"), {});
}

TEST(CorruptTokenizerJson, WrongTypes) {
  Json j = wordpiece();
  j["model"]["vocab"] = Json::array({"a", "b"});
  expect_error(j, {"vocab"});
  j = wordpiece();
  j["added_tokens"] = Json::object();
  expect_error(j, {"added_tokens"});
  j = wordpiece();
  j["added_tokens"][0] = "[PAD]";
  expect_error(j, {"added_tokens[0]"});
  j = wordpiece();
  j["added_tokens"][0]["content"] = 5;
  expect_error(j, {"content"});
  j = wordpiece();
  j["post_processor"]["special_tokens"]["[CLS]"]["ids"] = 2;
  expect_error(j, {"[CLS]"});
  j = wordpiece();
  j["post_processor"]["special_tokens"]["[CLS]"]["tokens"] = Json::array({2});
  expect_error(j, {"[CLS]"});
  j = wordpiece();
  j["padding"] = "yes";
  expect_error(j, {"padding"});
  j = bpe();
  j["model"]["merges"] = Json::array({Json::array({1, 2})});
  expect_error(j, {"merge 0"});
  j = unigram();
  j["model"]["vocab"][3] = Json::array({"x", "y"});
  expect_error(j, {"vocab entry 3"});
}

TEST(CorruptTokenizerJson, DeepNestingIsRefusedWithoutRecursion) {
  // A Sequence of Sequences 100,000 deep: before, building it recursed once per level.
  Json j = wordpiece();
  Json inner = Json{{"type", "Lowercase"}};
  for (int i = 0; i < 100000; ++i) inner = Json{{"type", "Sequence"}, {"normalizers", Json::array({std::move(inner)})}};
  j["normalizer"] = std::move(inner);
  expect_error(j, {"nested deeper than 128"});
  // The same as a file, and a bare array nest.
  TempDir dir;
  const std::string path = dir / "tokenizer.json";
  textune::testing::write_text(path, std::string(200000, '[') + std::string(200000, ']'));
  try {
    Tokenizer::from_file(path);
    ADD_FAILURE() << "loaded";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  // Just under serde_json's limit of 128 loads (nesting in an unused field).
  j = wordpiece();
  Json deep = Json::array();
  for (int i = 0; i < 120; ++i) deep = Json::array({std::move(deep)});
  j["unused"] = deep;
  EXPECT_EQ(load_error(j, "ok.json"), "");
}

TEST(CorruptTokenizerJson, TruncatedFilesNameTheFile) {
  TempDir dir;
  const std::string path = dir / "tokenizer.json";
  const std::string full = Json::parse(kWordPiece).dump(1);
  for (size_t cut = 0; cut < full.size(); cut += std::max<size_t>(1, full.size() / 97)) {
    textune::testing::write_text(path, full.substr(0, cut));
    try {
      Tokenizer::from_file(path);
      ADD_FAILURE() << "loaded a file cut at " << cut;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
  }
}

/// Every value of the three base files replaced by each hostile value in turn: load or DataError,
/// never anything else, all within a few seconds.
TEST(CorruptTokenizerJson, EveryValueReplacedByHostileValues) {
  const std::vector<Json> hostile = {nullptr,
                                     Json(-1),
                                     Json(4294974889ULL),
                                     Json(18446744073709551615ULL),
                                     Json(1.5),
                                     Json(-1e300),
                                     Json(""),
                                     Json("Nope"),
                                     Json::array(),
                                     Json::object(),
                                     Json::array({Json::array({Json::array()})})};
  const auto start = std::chrono::steady_clock::now();
  size_t loads = 0, refused = 0;
  for (const char* text : {kWordPiece, kBpe, kUnigram}) {
    const Json base = Json::parse(text);
    std::vector<Json::json_pointer> pointers;
    std::function<void(const Json&, const Json::json_pointer&)> walk = [&](const Json& v, const Json::json_pointer& p) {
      if (!p.empty()) pointers.push_back(p);
      if (v.is_object())
        for (auto it = v.begin(); it != v.end(); ++it) walk(it.value(), p / it.key());
      if (v.is_array())
        for (size_t i = 0; i < v.size(); ++i) walk(v[i], p / i);
    };
    walk(base, Json::json_pointer());
    for (const auto& p : pointers) {
      for (const Json& h : hostile) {
        Json j = base;
        j[p] = h;
        ++loads;
        const std::string msg = load_error(j, "/corpus/t.json");
        if (msg.empty()) continue;
        ++refused;
        EXPECT_NE(msg.find("/corpus/t.json"), std::string::npos) << p.to_string() << " = " << h.dump() << ": " << msg;
      }
    }
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_GT(refused, loads / 4);
  EXPECT_LT(s, 20.0) << loads << " loads";
}

}  // namespace
}  // namespace textune::tokenizers
