// Pipeline::answers (the C++ API of issue 13) on a small untrained question-answering model: the
// answers of the task's predict_records as Answer lists. What holds by definition for any logits is
// checked: the answer is context[start:end] in code points (emoji, CJK, combining marks), the score
// a probability, top_k lists sorted with distinct texts; Pipeline::input_cost counts the
// doc_stride windows; bad inputs are the task's DataError, another task's model a UsageError.
#include "support/qa_model.h"
#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/pipeline.h"
#include "tiny_setup.h"

using textune::Answer;
using textune::Pipeline;
using textune::core::Json;
using namespace textune::testing;

namespace {

const std::string kContext =
    "The cafe\xcc\x81 in Z\xc3\xbcrich opened in 1912 \xf0\x9f\x8e\x89 and was founded by Anna Meier. "
    "\xe5\x8c\x97\xe4\xba\xac\xe6\x98\xaf\xe4\xb8\xad\xe5\x9b\xbd\xe7\x9a\x84\xe9\xa6\x96\xe9\x83\xbd\xe3\x80\x82 "
    "It serves coffee \xe2\x98\x95 and cake.";

std::string long_context() {
  std::string s;
  for (int i = 0; i < 12; ++i) s += "Sentence " + std::to_string(i) + " tells of the river \xf0\x9f\x8c\x8a. ";
  return s;
}

Json as_json(const Answer& a) {
  return Json{{"answer", a.answer}, {"score", a.score}, {"start", a.start}, {"end", a.end}};
}

class QaPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    model_ = *tmp_ / "qa";
    error_ = make_small_qa_model(tmp_->path(), model_);
    if (error_.empty()) copy_qa_model(model_, top3_ = *tmp_ / "qa-top3", R"({"doc_stride": 16, "top_k": 3})");
  }
  static void TearDownTestSuite() { delete tmp_; }
  void SetUp() override { ASSERT_EQ(error_, ""); }
  static TempDir* tmp_;
  static std::string model_, top3_, error_;
};
TempDir* QaPipeline::tmp_ = nullptr;
std::string QaPipeline::model_, QaPipeline::top3_, QaPipeline::error_;

}  // namespace

// Before issue 13: Pipeline::answers threw for every model.
TEST_F(QaPipeline, AnswersAreContextSpansBestFirst) {
  auto p = Pipeline::load(model_);
  EXPECT_EQ(p->task(), "question-answering");
  EXPECT_TRUE(p->list_is_batch());
  EXPECT_TRUE(p->windows_long_inputs());
  EXPECT_THROW(p->predict(std::vector<std::string>{"a"}), textune::UsageError);
  EXPECT_THROW(p->entities({"a"}), textune::UsageError);
  const std::string lc = long_context();
  const auto got =
      p->answers({{"Who founded the cafe?", kContext}, {"Which river?", lc}, {"What is served?", kContext}});
  ASSERT_EQ(got.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(got[i].size(), 1u) << i;
    EXPECT_EQ(answer_problem(as_json(got[i][0]), i == 1 ? lc : kContext), "") << i;
  }
  // The same answer asked alone (the batch does not change it).
  const auto alone = p->answers({{"Which river?", lc}});
  EXPECT_EQ(alone.at(0).at(0).start, got[1][0].start);
  EXPECT_EQ(alone[0][0].end, got[1][0].end);
  EXPECT_NEAR(alone[0][0].score, got[1][0].score, 1e-6);
  EXPECT_TRUE(p->answers({}).empty());

  // Windows: 64 positions, doc_stride 16.
  EXPECT_GT(p->input_cost(Json{{"question", "Which river?"}, {"context", lc}}).value().features, 2u);
  EXPECT_EQ(p->input_cost(Json{{"question", "Who?"}, {"context", "Anna."}}).value().features, 1u);

  // top_k 3 (textune_task.json): three answers, best first; the first is top_k 1's.
  auto p3 = Pipeline::load(top3_);
  const auto three = p3->answers({{"Which river?", lc}});
  ASSERT_EQ(three.at(0).size(), 3u);
  for (size_t k = 0; k < 3; ++k) EXPECT_EQ(answer_problem(as_json(three[0][k]), lc), "") << k;
  EXPECT_GE(three[0][0].score, three[0][1].score);
  EXPECT_GE(three[0][1].score, three[0][2].score);
  // Answers of the same text are one answer, their scores summed over spans and windows (the
  // pipeline's): distinct texts, and the first scores at least top_k 1's answer, taken from fewer spans.
  EXPECT_NE(three[0][0].answer, three[0][1].answer);
  EXPECT_NE(three[0][1].answer, three[0][2].answer);
  EXPECT_NE(three[0][0].answer, three[0][2].answer);
  EXPECT_LE(got[1][0].score, three[0][0].score + 1e-6);
}

TEST_F(QaPipeline, BadInputsAndOtherTasks) {
  auto p = Pipeline::load(model_);
  EXPECT_THROW(p->answers({{"", kContext}}), textune::DataError);
  EXPECT_THROW(p->answers({{"   ", kContext}}), textune::DataError);
  EXPECT_THROW(p->answers({{"Who?", "  "}}), textune::DataError);
  EXPECT_THROW(p->check_input(Json{{"question", "Who?"}}), textune::DataError);
  EXPECT_THROW(p->check_input(Json{{"question", "Who?"}, {"context", 5}}), textune::DataError);
  EXPECT_THROW(p->input_cost(Json("a text")), textune::DataError);
  // A text classifier has no answers, and no windows to count.
  TempDir tmp;
  write_tiny_bert(tmp / "base");
  {
    textune::models::LoadOptions lo;
    lo.architecture = "BertForSequenceClassification";
    lo.labels = std::vector<std::string>{"negative", "positive"};
    auto model = textune::models::load_pretrained(tmp / "base", lo);
    textune::core::AtomicDirectory out(tmp / "cls");
    textune::models::save_pretrained_into(model, out.staging_path());
    textune::tokenizers::copy_tokenizer_files(tmp / "base", out.staging_path());
    out.commit();
  }
  auto c = Pipeline::load(tmp / "cls");
  EXPECT_THROW(c->answers({{"Who?", "Anna."}}), textune::UsageError);
  EXPECT_FALSE(c->input_cost(Json("good movie")).has_value());
}
