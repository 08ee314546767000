// The one problem-type definition (core/problem_type.h). Expected spellings are transformers':
// PretrainedConfig's allowed_problem_types ("regression", "single_label_classification",
// "multi_label_classification", configuration_utils.py) and the config.json files of the fixtures
// that transformers wrote.
#include "textune/core/problem_type.h"

#include <type_traits>

#include <gtest/gtest.h>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/data/dataset.h"
#include "textune/models/model.h"

using textune::core::ProblemType;
namespace core = textune::core;

// One definition: the data layer's Task and the models layer's ProblemType are the same type, so no
// bridge between them is needed.
static_assert(std::is_same_v<textune::data::Task, core::ProblemType>);
static_assert(std::is_same_v<textune::models::ProblemType, core::ProblemType>);
static_assert(ProblemType::kClassification == ProblemType::kSingleLabel);

TEST(ProblemType, NamesAreTransformersAllowedProblemTypes) {
  EXPECT_EQ(core::problem_type_name(ProblemType::kSingleLabel), "single_label_classification");
  EXPECT_EQ(core::problem_type_name(ProblemType::kClassification), "single_label_classification");
  EXPECT_EQ(core::problem_type_name(ProblemType::kMultiLabel), "multi_label_classification");
  EXPECT_EQ(core::problem_type_name(ProblemType::kRegression), "regression");
  for (const char* name : {"regression", "single_label_classification", "multi_label_classification"})
    EXPECT_EQ(core::problem_type_name(core::problem_type_from_name(name)), name);
}

TEST(ProblemType, ReadsTheFixturesConfigJson) {
  // Both files were written by transformers' save_pretrained.
  const auto multi = core::read_json_file(textune::testing::model_fixture("bert-multilabel") + "/config.json");
  EXPECT_EQ(core::problem_type_from_name(multi["problem_type"].get<std::string>()), ProblemType::kMultiLabel);
  const auto single = core::read_json_file(textune::testing::model_fixture("bert-seqcls-lora-merged") + "/config.json");
  EXPECT_EQ(core::problem_type_from_name(single["problem_type"].get<std::string>()), ProblemType::kSingleLabel);
}

TEST(ProblemType, ConfigSpellingOnlyAndAnUnknownNameIsADataError) {
  // config.json accepts exactly transformers' three strings; a --task spelling there is an error.
  for (const char* bad : {"classification", "multi-label", "Regression", ""}) {
    try {
      core::problem_type_from_name(bad);
      ADD_FAILURE() << bad;
    } catch (const textune::Error& e) {
      EXPECT_EQ(e.exit_code(), textune::kExitDataError);
      EXPECT_NE(std::string(e.what()).find("single_label_classification"), std::string::npos) << e.what();
    }
  }
}

TEST(ProblemType, ParsesTheTaskSpellingsAndTheConfigSpellings) {
  for (const char* s : {"classification", "single-label", "single_label", "single_label_classification"})
    EXPECT_EQ(core::parse_problem_type(s), ProblemType::kSingleLabel) << s;
  for (const char* s : {"multi-label", "multi_label", "multilabel", "multi_label_classification"})
    EXPECT_EQ(core::parse_problem_type(s), ProblemType::kMultiLabel) << s;
  EXPECT_EQ(core::parse_problem_type("regression"), ProblemType::kRegression);
  // The data layer's historical names forward to the same functions.
  EXPECT_EQ(textune::data::parse_task("multi-label"), ProblemType::kMultiLabel);
  EXPECT_EQ(textune::data::problem_type(textune::data::Task::kClassification), "single_label_classification");
  EXPECT_EQ(textune::models::problem_type_from_name("regression"), textune::data::Task::kRegression);
}

TEST(ProblemType, AnUnknownTaskIsAUsageErrorListingTheNames) {
  try {
    core::parse_problem_type("ner");
    FAIL();
  } catch (const textune::Error& e) {
    EXPECT_EQ(e.exit_code(), textune::kExitUsageError);
    EXPECT_STREQ(e.what(), "unknown task \"ner\" (expected classification, multi-label or regression)");
  }
}
