// The task-generic members of the C++ Pipeline (include/textune/pipeline.h): task(),
// predict_records, response and info, for the text classifier and for a model whose directory names
// another task (textune_task.json), which predict() refuses and predict_records serves.
#include <cmath>
#include <filesystem>
#include <mutex>

#include "classifier_model.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/pipeline.h"
#include "textune/tasks/registry.h"
#include "textune/tasks/text_classification.h"

using namespace textune::testing;
using textune::Pipeline;
using textune::PipelineOptions;
using textune::core::Json;

namespace {

/// Text classification under another registry name: a task the Pipeline knows only by its interface.
class RenamedClassification : public textune::tasks::TextClassificationTask {
 public:
  std::string name() const override { return "renamed-text-classification"; }
};

class PipelineRecords : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    model_ = *tmp_ / "classifier";
    ASSERT_EQ(make_small_classifier(tmp_->path(), model_), "");
    static std::once_flag once;
    std::call_once(once, [] {
      textune::tasks::register_task("renamed-text-classification", {},
                                    textune::models::TaskKind::kSequenceClassification,
                                    [](const std::string&) { return std::make_unique<RenamedClassification>(); });
    });
    renamed_ = *tmp_ / "renamed";
    std::filesystem::copy(model_, renamed_, std::filesystem::copy_options::recursive);
    write_text(renamed_ + "/textune_task.json", R"({"task": "renamed-text-classification", "options": {}})");
  }
  static void TearDownTestSuite() { delete tmp_; }
  static TempDir* tmp_;
  static std::string model_, renamed_;
};
TempDir* PipelineRecords::tmp_ = nullptr;
std::string PipelineRecords::model_, PipelineRecords::renamed_;

Json pair(const std::string& a, const std::string& b) {
  Json j = Json::object();
  j["text"] = a;
  j["text_pair"] = b;
  return j;
}

}  // namespace

TEST_F(PipelineRecords, ClassifierRecordsAreSoftmaxOfTheLogitsAndAnswerAsTei) {
  auto pipeline = Pipeline::load(model_);
  EXPECT_EQ(pipeline->task(), "text-classification");
  const std::vector<std::string> labels{"negative", "neutral", "positive"};
  std::vector<Json> records = pipeline->predict_records({Json("a charming and affecting journey")});
  records.push_back(pipeline->predict_records({pair("a bad plot", "a good film")}).at(0));
  ASSERT_EQ(records.size(), 2u);
  for (const auto& r : records) {
    ASSERT_EQ(r["logits"].size(), 3u) << r.dump();
    ASSERT_EQ(r["scores"].size(), 3u) << r.dump();
    // softmax of the logits, computed here in double; the label is the argmax
    std::vector<double> logits;
    for (const auto& l : r["logits"]) logits.push_back(l.get<double>());
    double m = *std::max_element(logits.begin(), logits.end()), z = 0;
    for (double l : logits) z += std::exp(l - m);
    size_t best = 0;
    for (size_t c = 0; c < 3; ++c) {
      EXPECT_NEAR(r["scores"][labels[c]].get<double>(), std::exp(logits[c] - m) / z, 1e-6);
      if (logits[c] > logits[best]) best = c;
    }
    EXPECT_EQ(r["label"], labels[best]);
    EXPECT_DOUBLE_EQ(r["score"].get<double>(), r["scores"][labels[best]].get<double>());
    // TEI: every label with its score, highest first; raw_scores: the logits
    const Json answer = pipeline->response(r, false);
    ASSERT_EQ(answer.size(), 3u) << answer.dump();
    EXPECT_EQ(answer[0]["label"], labels[best]);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_DOUBLE_EQ(answer[k]["score"].get<double>(),
                       r["scores"][answer[k]["label"].get<std::string>()].get<double>());
      if (k) EXPECT_GE(answer[k - 1]["score"].get<double>(), answer[k]["score"].get<double>());
    }
    const Json raw = pipeline->response(r, true);
    ASSERT_EQ(raw.size(), 3u);
    for (const auto& e : raw) {
      const size_t c = std::find(labels.begin(), labels.end(), e["label"].get<std::string>()) - labels.begin();
      ASSERT_LT(c, 3u);
      EXPECT_NEAR(e["score"].get<double>(), logits[c], 1e-6);
    }
  }
  // the records are what predict() gives
  const auto single = pipeline->predict({"a charming and affecting journey"});
  EXPECT_EQ(single[0].label, records[0]["label"]);
  EXPECT_DOUBLE_EQ(single[0].score, records[0]["score"].get<double>());
  const auto pairs = pipeline->predict(std::vector<std::pair<std::string, std::string>>{{"a bad plot", "a good film"}});
  EXPECT_DOUBLE_EQ(pairs[0].score, records[1]["score"].get<double>());
  const Json info = pipeline->info();
  EXPECT_EQ(info["labels"], Json(labels)) << info.dump();
  EXPECT_EQ(info["problem_type"], "single_label_classification") << info.dump();
  EXPECT_TRUE(pipeline->predict_records({}).empty());
  // Whitespace-only and empty texts are predicted, as before the tasks layer (serve answered them
  // 200): an empty text is [CLS] [SEP], whose prediction is defined.
  const auto blank = pipeline->predict(std::vector<std::string>{"   ", ""});
  ASSERT_EQ(blank.size(), 2u);
  EXPECT_EQ(blank[0].scores.size(), labels.size());
  EXPECT_EQ(blank[0].logits, blank[1].logits);  // BERT drops the whitespace: both are [CLS] [SEP]
  const auto blank_pair = pipeline->predict(std::vector<std::pair<std::string, std::string>>{{"a", ""}});
  EXPECT_EQ(blank_pair[0].scores.size(), labels.size());
}

TEST_F(PipelineRecords, TooLongInputIsNamedWhenTruncationIsOff) {
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word ";
  PipelineOptions strict;
  strict.truncate = false;
  auto pipeline = Pipeline::load(model_, strict);
  try {
    pipeline->predict_records({Json("short enough"), Json(long_text)});
    FAIL() << "no error";
  } catch (const textune::DataError& e) {
    // the second input; 64 tokens: the model's max_position_embeddings
    EXPECT_STREQ(e.what(), "input 2 is longer than 64 tokens (truncation is off)");
  }
}

TEST_F(PipelineRecords, AnotherTaskIsServedByRecordsAndRefusedByPredict) {
  auto renamed = Pipeline::load(renamed_);
  EXPECT_EQ(renamed->task(), "renamed-text-classification");
  EXPECT_THROW(renamed->predict({"a good film"}), textune::UsageError);
  const auto got = renamed->predict_records({Json("a good film"), Json("a bad plot")});
  const auto expected = Pipeline::load(model_)->predict_records({Json("a good film"), Json("a bad plot")});
  ASSERT_EQ(got.size(), 2u);
  for (size_t i = 0; i < 2; ++i) EXPECT_EQ(got[i]["logits"], expected[i]["logits"]);
}
