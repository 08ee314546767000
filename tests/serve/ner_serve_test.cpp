// serve and the C++ Pipeline for issue 12: each /predict input is checked by its task
// (Pipeline::check_input) before it joins a batch, so that a bad input fails its own request only;
// a token classifier answers the Inference API's entity lists; Pipeline::entities.
#include <future>
#include <thread>

#include "classifier_model.h"
#include "serve_support.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/pipeline.h"

using textune::Pipeline;
using textune::core::Json;
using textune::serve::ServerOptions;
using namespace textune::testing;

namespace {

/// The fake classifier with a task-side input check: "boom", which its model refuses (and so fails
/// the whole batch it is in), is refused by check_input as a task's from_inputs would refuse it.
class CheckingPipeline : public FakePipeline {
 public:
  void check_input(const Json& input) const override {
    if (input.is_string() && input.get<std::string>() == "boom")
      throw textune::DataError("input 1 of 1: the fake task refuses 'boom'");
  }
};

/// The answer the fake classifier gives for `text` (TEI's shape: labels by score, highest first).
Json fake_answer(const FakePipeline& p, const std::string& text) {
  return p.response(FakePipeline::record(p.make(fake_logits(text))), false);
}

}  // namespace

// Before check_input, "boom" reached the batch queue, and the batch it joined failed with 424 for
// every request in it.
TEST(ServeCheckInput, ABadInputFailsOnlyItsOwnRequestNotTheBatchItWouldHaveJoined) {
  auto pipeline = std::make_shared<CheckingPipeline>();
  ServerOptions o;
  o.max_wait_ms = 400;  // requests sent together wait for each other: one batch
  o.max_batch_requests = 32;
  RunningServer server(pipeline, o);

  const std::vector<std::string> texts = {"a cat", "boom", "an aardvark", "the sea", "banana"};
  std::vector<std::future<std::pair<int, std::string>>> answers;
  for (const auto& t : texts)
    answers.push_back(std::async(std::launch::async, [&server, t] {
      auto cli = server.client();
      auto r = cli.Post("/predict", Json{{"inputs", t}}.dump(), "application/json");
      return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
    }));
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto [status, body] = answers[i].get();
    if (texts[i] == "boom") {
      EXPECT_EQ(status, 422) << body;
      EXPECT_EQ(Json::parse(body),
                Json({{"error", "Input validation error: input 1 of 1: the fake task refuses 'boom'"},
                      {"error_type", "Validation"}}));
    } else {
      ASSERT_EQ(status, 200) << texts[i] << ": " << body;
      EXPECT_EQ(Json::parse(body), fake_answer(*pipeline, texts[i])) << texts[i];
    }
  }
  // The model saw the four good texts only.
  size_t predicted = 0;
  for (size_t n : pipeline->calls()) predicted += n;
  EXPECT_EQ(predicted, 4u);

  // In a batch request, the element is named.
  auto cli = server.client();
  auto r = cli.Post("/predict", R"({"inputs": [["fine"], ["boom"]]})", "application/json");
  ASSERT_EQ(r->status, 422);
  EXPECT_EQ(Json::parse(r->body)["error"],
            "Input validation error: inputs[1]: input 1 of 1: the fake task refuses 'boom'");
}

// The fake classifier keeps TEI's request shapes: objects are not inputs of a task that takes pairs.
TEST(ServeCheckInput, ObjectsAndStringListsKeepTeisMeaningByDefault) {
  auto pipeline = std::make_shared<CheckingPipeline>();
  RunningServer server(pipeline, ServerOptions{});
  auto cli = server.client();
  EXPECT_EQ(cli.Post("/predict", R"({"inputs": {"text": "a"}})", "application/json")->status, 422);
  auto r = cli.Post("/predict", R"({"inputs": ["a b", "c"]})", "application/json");  // a pair
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body),
            pipeline->response(FakePipeline::record(pipeline->make(fake_logits("a b || c"))), false));
}

/// A task whose list input is a batch (token classification): the Inference API's list is a batch
/// and objects are the task's input fields, checked by check_input.
class NoPairsPipeline : public CheckingPipeline {
 public:
  bool list_is_batch() const override { return true; }
  void check_input(const Json& input) const override {
    CheckingPipeline::check_input(input);
    if (input.is_object()) throw textune::DataError("input 1 of 1: expected a string, got an object");
  }
};

TEST(ServeCheckInput, AListIsABatchForATaskThatSaysSo) {
  auto pipeline = std::make_shared<NoPairsPipeline>();
  RunningServer server(pipeline, ServerOptions{});
  auto cli = server.client();
  auto r = cli.Post("/predict", R"({"inputs": ["a b", "c"]})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body), Json::array({fake_answer(*pipeline, "a b"), fake_answer(*pipeline, "c")}));
  r = cli.Post("/predict", R"({"inputs": {"tokens": 3}})", "application/json");
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(Json::parse(r->body)["error"], "Input validation error: input 1 of 1: expected a string, got an object");
  r = cli.Post("/predict", R"({"inputs": ["a", 3]})", "application/json");
  EXPECT_EQ(r->status, 422);
  r = cli.Post("/predict", R"({"inputs": ["a", ""]})", "application/json");
  EXPECT_EQ(r->status, 400);  // an empty text, as TEI
}

// ---- the real text classifier's Pipeline (TaskPipeline) ----

class PipelineCheckInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    model_ = *tmp_ / "classifier";
    ASSERT_EQ(make_small_classifier(tmp_->path(), model_), "");
  }
  static void TearDownTestSuite() { delete tmp_; }
  static TempDir* tmp_;
  static std::string model_;
};
TempDir* PipelineCheckInput::tmp_ = nullptr;
std::string PipelineCheckInput::model_;

// Before: Pipeline::check_input was the default no-op for every model.
TEST_F(PipelineCheckInput, TheTasksFromInputsDecides) {
  auto p = Pipeline::load(model_);
  EXPECT_NO_THROW(p->check_input(Json("a text")));
  EXPECT_NO_THROW(p->check_input(Json{{"text", "a"}, {"text_pair", "b"}}));
  EXPECT_THROW(p->check_input(Json{{"tokens", 3}}), textune::DataError);
  EXPECT_THROW(p->check_input(Json(3)), textune::DataError);
  EXPECT_THROW(p->check_input(Json{{"text", 3}}), textune::DataError);
  // Text classification: TEI's request shapes, long texts cut (serve's reading of its requests).
  EXPECT_FALSE(p->list_is_batch());
  EXPECT_FALSE(p->windows_long_inputs());
  // entities() is the token classifier's.
  EXPECT_THROW(p->entities({"a text"}), textune::UsageError);
}

// A real model served: a bad input among good ones answers 422 alone.
TEST_F(PipelineCheckInput, ServedClassifierAnswersGoodRequestsBesideABadOne) {
  auto p = Pipeline::load(model_);
  auto tok = textune::tokenizers::Tokenizer::from_dir(model_);
  ServerOptions o;
  o.max_wait_ms = 300;
  RunningServer server(p, o, tok);
  std::vector<std::future<int>> statuses;
  const std::vector<std::string> bodies = {R"({"inputs": "good one"})", R"({"inputs": [["x"], ["y", "z"]]})",
                                           R"({"inputs": "  "})", R"({"inputs": ["a", "b"]})"};
  for (const auto& b : bodies)
    statuses.push_back(std::async(std::launch::async, [&server, b] {
      auto r = server.client().Post("/predict", b, "application/json");
      return r ? r->status : 0;
    }));
  for (auto& s : statuses) EXPECT_EQ(s.get(), 200);
}
