// core::OptionTable: one declaration per option gives its JSON round trip, its lookup by alias and
// one-line UsageErrors naming the source and the option (issue 17, "options declared once").
#include "textune/core/options.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>

#include "textune/core/error.h"

using textune::UsageError;
using textune::core::Json;
using textune::core::OptionTable;

namespace {

struct Fields {
  bool flag = false;
  bool on = true;
  int64_t steps = -1;
  uint64_t seed = 42;
  size_t length = 512;
  int small = 3;
  double rate = 5e-5;
  std::string name = "linear";
  std::optional<int64_t> limit;
  std::optional<bool> greater;
  std::optional<std::string> label;
};

OptionTable table_of(Fields& f) {
  OptionTable t;
  t.add("flag", &f.flag, "a flag");
  t.add("on", &f.on, "a bool that takes a value");
  t.add("steps", &f.steps, "signed");
  t.add("seed", &f.seed, "unsigned");
  t.add("length", &f.length, "size_t").aliases = {"max-length"};
  t.add("small", &f.small, "int");
  t.add("rate", &f.rate, "double");
  auto& name = t.add("name", &f.name, "string");
  name.choices = {"linear", "cosine"};
  name.json_aliases = {"old_name"};
  t.add("limit", &f.limit, "optional int");
  t.add("greater", &f.greater, "optional bool");
  t.add("label", &f.label, "optional string");
  return t;
}

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    EXPECT_EQ(e.exit_code(), 2);
    return e.what();
  }
  ADD_FAILURE() << "expected a UsageError";
  return "";
}

TEST(OptionTable, SpecsKeepDeclarationOrderTypesAndFlags) {
  Fields f;
  const OptionTable t = table_of(f);
  std::vector<std::string> names, types;
  for (const auto& s : t.specs()) names.push_back(s.name), types.push_back(s.type);
  EXPECT_EQ(names, (std::vector<std::string>{"flag", "on", "steps", "seed", "length", "small", "rate", "name", "limit",
                                             "greater", "label"}));
  EXPECT_EQ(types, (std::vector<std::string>{"bool", "bool", "int", "uint", "uint", "int", "float", "string", "int",
                                             "bool", "string"}));
  // a bool declared false is a command-line flag; one declared true takes a value
  EXPECT_TRUE(t.find("flag")->flag);
  EXPECT_FALSE(t.find("on")->flag);
  EXPECT_FALSE(t.find("greater")->flag);
  // unsigned integers refuse negative values on the command line
  EXPECT_EQ(t.find("seed")->cli_min, std::optional<int64_t>(0));
  EXPECT_EQ(t.find("steps")->cli_min, std::nullopt);
  EXPECT_TRUE(t.find("limit")->optional);
  EXPECT_FALSE(t.find("steps")->optional);
  // lookup by name, command-line alias and JSON alias
  EXPECT_EQ(t.find("max-length")->name, "length");
  EXPECT_EQ(t.find("old_name")->name, "name");
  EXPECT_EQ(t.find("nope"), nullptr);
  // a table's group goes to every option it declares
  EXPECT_EQ(t.find("flag")->group, "");
  OptionTable grouped("Training");
  EXPECT_EQ(grouped.add("flag", &f.flag, "a flag").group, "Training");
}

TEST(OptionTable, ToJsonIsEveryFieldInDeclarationOrderWithUnsetOptionalsAsNull) {
  Fields f;
  const OptionTable t = table_of(f);
  EXPECT_EQ(t.to_json().dump(),
            R"({"flag":false,"on":true,"steps":-1,"seed":42,"length":512,"small":3,"rate":5e-05,"name":"linear",)"
            R"("limit":null,"greater":null,"label":null})");
  f.limit = 2;
  f.label = "pos";
  EXPECT_EQ(t.to_json()["limit"], 2);
  EXPECT_EQ(t.to_json()["label"], "pos");
}

TEST(OptionTable, UpdateFromJsonSetsFieldsAndReturnsTheirNames) {
  Fields f;
  const OptionTable t = table_of(f);
  const auto set = t.update_from_json(
      Json::parse(R"({"flag": true, "steps": 10, "seed": 7, "rate": 2, "old_name": "cosine", "limit": 3,
                      "greater": false, "small": 4.0})"),
      "cfg.json");
  EXPECT_EQ(set, (std::vector<std::string>{"flag", "steps", "seed", "rate", "name", "limit", "greater", "small"}));
  EXPECT_TRUE(f.flag);
  EXPECT_EQ(f.steps, 10);
  EXPECT_EQ(f.seed, 7u);
  EXPECT_EQ(f.rate, 2.0);  // an integer is a number
  EXPECT_EQ(f.name, "cosine");
  EXPECT_EQ(f.limit, std::optional<int64_t>(3));
  EXPECT_EQ(f.greater, std::optional<bool>(false));
  EXPECT_EQ(f.small, 4);  // an integral float is an integer (Python's json writes 4.0 for a float 4)
  // null unsets an optional
  t.update_from_json(Json::parse(R"({"limit": null})"), "cfg.json");
  EXPECT_EQ(f.limit, std::nullopt);
  // round trip
  Fields g;
  table_of(g).update_from_json(t.to_json(), "saved");
  EXPECT_EQ(table_of(g).to_json(), t.to_json());
}

TEST(OptionTable, BadValuesAreUsageErrorsNamingTheSourceTheOptionAndTheValue) {
  Fields f;
  const OptionTable t = table_of(f);
  auto set = [&](const char* json) { return usage_error([&] { t.update_from_json(Json::parse(json), "cfg.json"); }); };
  EXPECT_EQ(set(R"({"steps": 2.5})"), R"(cfg.json: "steps" must be an integer, not 2.5)");
  EXPECT_EQ(set(R"({"steps": "3"})"), R"(cfg.json: "steps" must be an integer, not "3")");
  EXPECT_EQ(set(R"({"seed": -1})"), R"(cfg.json: "seed" must be a non-negative integer, not -1)");
  EXPECT_EQ(set(R"({"small": 4294967296})"),
            R"(cfg.json: "small" must be an integer in [-2147483648, 2147483647], not 4294967296)");
  EXPECT_EQ(set(R"({"small": -4294967296})"),
            R"(cfg.json: "small" must be an integer in [-2147483648, 2147483647], not -4294967296)");
  EXPECT_EQ(set(R"({"steps": 1e300})"), R"(cfg.json: "steps" must be an integer, not 1e+300)");
  EXPECT_EQ(set(R"({"flag": 1})"), R"(cfg.json: "flag" must be true or false, not 1)");
  EXPECT_EQ(set(R"({"rate": "fast"})"), R"(cfg.json: "rate" must be a number, not "fast")");
  EXPECT_EQ(set(R"({"name": 3})"), R"(cfg.json: "name" must be a string, not 3)");
  EXPECT_EQ(set(R"({"name": "polynomial"})"), R"(cfg.json: "name" must be one of linear, cosine, not "polynomial")");
  EXPECT_EQ(set(R"({"steps": null})"), R"(cfg.json: "steps" must be an integer, not null)");
  EXPECT_EQ(set(R"({"stpes": 3})"), R"(cfg.json: unknown option "stpes" (did you mean "steps"?))");
  EXPECT_EQ(set(R"({"zzzzzzzzzz": 3})"), R"(cfg.json: unknown option "zzzzzzzzzz")");
  // command-line aliases are not JSON keys
  EXPECT_EQ(set(R"({"max-length": 3})"), R"(cfg.json: unknown option "max-length" (did you mean "length"?))");
  EXPECT_EQ(set(R"([1])"), "cfg.json: expected a JSON object of options, not array");
  // a failed update leaves earlier keys set, the bad one unchanged
  EXPECT_EQ(f.steps, -1);
  // unknown keys may be skipped
  EXPECT_EQ(t.update_from_json(Json::parse(R"({"other": 1, "steps": 5})"), "saved", true),
            std::vector<std::string>{"steps"});
  EXPECT_EQ(f.steps, 5);
}

TEST(OptionTable, IntegerLimitsAreExact) {
  Fields f;
  const OptionTable t = table_of(f);
  t.update_from_json(Json::parse(R"({"seed": 18446744073709551615, "steps": -9223372036854775808})"), "cfg.json");
  EXPECT_EQ(f.seed, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(f.steps, std::numeric_limits<int64_t>::min());
  // 2^63 as a float is one past int64's maximum
  EXPECT_NE(usage_error([&] { t.update_from_json(Json::parse(R"({"steps": 9223372036854775808.0})"), "c"); }), "");
}

}  // namespace
