// core::parse_json: linear time on many keys, bounded nesting, and one-line DataErrors naming the
// source, line, column and key (issue 11).
#include "textune/core/json.h"

#include <gtest/gtest.h>

#include <chrono>

#include "support/test_support.h"
#include "textune/core/error.h"

using textune::DataError;
using textune::core::Json;
using textune::core::JsonLimits;
using textune::core::parse_json;
using textune::core::read_json_file;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    EXPECT_EQ(e.exit_code(), 1);
    return e.what();
  }
  ADD_FAILURE() << "expected a DataError";
  return "";
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string object_with_keys(size_t n) {
  std::string s = "{";
  for (size_t i = 0; i < n; ++i) s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
  return s + "}";
}

}  // namespace

TEST(JsonParse, ValuesAndKeyOrderAreKept) {
  const Json j = parse_json(std::string(R"({"b": 1, "a": [true, null, -2, 3.5, "x"], "c": {"z": {}, "y": []}})"), "t");
  ASSERT_TRUE(j.is_object());
  std::vector<std::string> keys;
  for (auto it = j.begin(); it != j.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(j["a"][2].get<int64_t>(), -2);
  EXPECT_EQ(j["a"][3].get<double>(), 3.5);
  EXPECT_EQ(j["c"].begin().key(), "z");
  EXPECT_EQ(j.dump(), R"({"b":1,"a":[true,null,-2,3.5,"x"],"c":{"z":{},"y":[]}})");
  EXPECT_EQ(parse_json(std::string("18446744073709551615"), "t").get<uint64_t>(), 18446744073709551615ull);
}

// Python: json.loads('{"a": 1, "b": 2, "a": 3}') == {"a": 3, "b": 2}, "a" first.
TEST(JsonParse, DuplicateKeysKeepFirstPositionAndLastValue) {
  EXPECT_EQ(parse_json(std::string(R"({"a": 1, "b": 2, "a": 3})"), "t").dump(), R"({"a":3,"b":2})");
  // The same past the size where duplicates are found with a hash set.
  std::string big = "{";
  for (int i = 0; i < 40; ++i) big += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  big += "\"k3\":\"again\",\"k39\":null}";
  const Json j = parse_json(big, "t");
  EXPECT_EQ(j.size(), 40u);
  EXPECT_EQ(j["k3"], "again");
  EXPECT_TRUE(j["k39"].is_null());
  EXPECT_EQ(std::next(j.begin(), 3).key(), "k3");
}

// Before: nlohmann's parser into ordered_json took 42 s for 200,000 keys (quadratic); now 0.12 s.
TEST(JsonParse, TwoHundredThousandKeysParseInLinearTime) {
  const std::string text = object_with_keys(200000);
  const auto t0 = std::chrono::steady_clock::now();
  const Json j = parse_json(text, "t");
  EXPECT_LT(seconds_since(t0), 5.0);
  ASSERT_EQ(j.size(), 200000u);
  EXPECT_EQ(j.begin().key(), "k0");
  EXPECT_EQ(std::prev(j.end()).value().get<int64_t>(), 199999);
}

TEST(JsonParse, SyntaxErrorNamesSourceLineAndColumn) {
  const std::string e = error_of([] { parse_json(std::string("{\n  \"a\": [1,\n  ]\n}"), "dir/x.json"); });
  EXPECT_TRUE(contains(e, "dir/x.json:3:3: invalid JSON: syntax error")) << e;
  EXPECT_TRUE(contains(error_of([] { parse_json(std::string(""), "empty.json"); }), "empty.json:1:1: invalid JSON"));
  EXPECT_TRUE(contains(error_of([] { parse_json(std::string("[NaN]"), "n.json"); }), "n.json:1:2: invalid JSON"));
}

// Was "internal error (please report it): [json.exception.out_of_range.406] number overflow".
TEST(JsonParse, NumberBeyondDoubleRangeIsADataErrorNamingTheKey) {
  const std::string e =
      error_of([] { parse_json(std::string("{\n\"hidden_size\": 4,\n\"layer_norm_eps\": 1e999}"), "m/config.json"); });
  EXPECT_TRUE(contains(e, "m/config.json:3:")) << e;
  EXPECT_TRUE(contains(e, "\"layer_norm_eps\"")) << e;
  EXPECT_TRUE(contains(e, "1e999 is out of range")) << e;
  EXPECT_TRUE(contains(error_of([] { parse_json(std::string("[-1e400]"), "a"); }), "-1e400 is out of range"));
}

TEST(JsonParse, NestingDeeperThanTheLimitIsAClearError) {
  JsonLimits limits;  // default depth 1000
  EXPECT_NO_THROW(parse_json(std::string(1000, '[') + std::string(1000, ']'), "ok", limits));
  // The issue's JSONL row: an unclosed 100,000-deep array.
  const std::string deep(100000, '[');
  const auto t0 = std::chrono::steady_clock::now();
  const std::string e = error_of([&] { parse_json(deep, "rows.jsonl line 1"); });
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_TRUE(contains(e, "rows.jsonl line 1:1:1001: JSON nested deeper than 1000 levels")) << e;
  // Brackets inside strings do not count.
  limits.max_depth = 2;
  EXPECT_NO_THROW(parse_json(std::string(R"({"a": ["[[[{{{"]})"), "s", limits));
  EXPECT_TRUE(contains(error_of([&] { parse_json(std::string(R"({"a": ["[[[", {}]})"), "s", limits); }),
                       "s:1:15: JSON nested deeper than 2 levels"));
}

TEST(JsonParse, TooManyKeysNamesTheObject) {
  JsonLimits limits;
  limits.max_object_keys = 20;
  EXPECT_NO_THROW(parse_json(object_with_keys(20), "ok", limits));
  const std::string text = R"({"a": [0, )" + object_with_keys(21) + "]}";
  const std::string e = error_of([&] { parse_json(text, "body", limits); });
  EXPECT_TRUE(contains(e, "body: the JSON object at \"/a/1\" has more than 20 keys")) << e;
}

TEST(JsonParse, ReadJsonFileNamesTheFile) {
  TempDir tmp;
  write_text(tmp / "config.json", "{\"vocab_size\": 1e999}");
  const std::string e = error_of([&] { read_json_file(tmp / "config.json"); });
  EXPECT_TRUE(contains(e, tmp / "config.json:1:")) << e;
  EXPECT_TRUE(contains(e, "\"vocab_size\"")) << e;
  write_text(tmp / "many.json", object_with_keys(100000));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(read_json_file(tmp / "many.json").size(), 100000u);
  EXPECT_LT(seconds_since(t0), 5.0);
}

TEST(JsonParse, ObjectAppendIsConstantTime) {
  Json j = Json::object();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 200000; ++i) textune::core::json_object_append(j, "k" + std::to_string(i), i);
  EXPECT_LT(seconds_since(t0), 5.0);
  EXPECT_EQ(j.size(), 200000u);
  EXPECT_EQ(j["k7"], 7);
}
