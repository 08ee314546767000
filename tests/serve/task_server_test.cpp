// The server knows nothing of text classification: a pipeline of another task (a word counter whose
// records, answers and /info fields are its own) is served through Pipeline::predict_records,
// Pipeline::response and Pipeline::info, with TEI's batching, errors and metrics.
#include <mutex>

#include "serve_support.h"
#include "textune/core/json.h"
#include "textune/tasks/task.h"

using textune::core::Json;
using textune::serve::ServerOptions;
using namespace textune::testing;

namespace {

/// The task "word-count": a record per input is {"words": N} (the words of the text and of its pair,
/// split_words's count); the answer adds what `raw_scores` was; 13 words cannot be answered.
class WordCountPipeline : public textune::Pipeline {
 public:
  std::string task() const override { return "word-count"; }
  std::vector<Json> predict_records(const std::vector<Json>& inputs) const override {
    std::vector<Json> out;
    std::string shapes;
    for (const Json& input : inputs) {
      size_t n = 0;
      if (input.is_string()) {
        n = split_words(input.get<std::string>()).size();
        shapes += "s";
      } else {
        n = split_words(input.at("text").get<std::string>()).size() +
            split_words(input.at("text_pair").get<std::string>()).size();
        shapes += "p";
      }
      if (n == 0) throw textune::DataError("the word counter refuses an input without words");
      out.push_back(Json{{"words", n}});
    }
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(shapes);
    return out;
  }
  Json response(const Json& record, bool raw_scores) const override {
    if (record.at("words") == 13) throw textune::tasks::ResponseError("13 words cannot be counted");
    return Json{{"words", record.at("words")}, {"raw", raw_scores}};
  }
  Json info() const override { return Json{{"unit", "words"}, {"labels", Json::array()}}; }

  std::vector<textune::Prediction> predict(const std::vector<std::string>&) const override {
    throw textune::UsageError("word-count has no predict(texts)");
  }
  std::vector<textune::Prediction> predict(const std::vector<std::pair<std::string, std::string>>&) const override {
    throw textune::UsageError("word-count has no predict(pairs)");
  }
  const std::vector<std::string>& labels() const override { return labels_; }
  size_t max_length() const override { return 16; }
  std::string problem_type() const override { return ""; }

  /// The inputs of each predict_records call: "s" per string, "p" per pair, in call order.
  std::vector<std::string> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::vector<std::string> labels_;
  mutable std::mutex mu_;
  mutable std::vector<std::string> calls_;
};

ServerOptions options() {
  ServerOptions o;
  o.max_client_batch_size = 8;
  o.max_batch_tokens = 64;
  o.model_id = "word-counter";
  return o;
}

}  // namespace

TEST(ServeTask, AnotherTaskIsServedThroughThePipelinesTaskInterface) {
  auto pipeline = std::make_shared<WordCountPipeline>();
  RunningServer server(pipeline, options());
  auto cli = server.client();

  // /info: TEI's fields, then the task's name and its own fields.
  const Json info = Json::parse(cli.Get("/info")->body);
  EXPECT_EQ(info["task"], "word-count");
  EXPECT_EQ(info["unit"], "words");
  EXPECT_EQ(info["model_id"], "word-counter");
  EXPECT_EQ(info["max_input_length"], 16);
  EXPECT_FALSE(info.contains("problem_type"));
  EXPECT_TRUE(info["model_type"].is_null());  // no id2label: not one of TEI's classifiers

  // A single text and raw_scores: the task's answer, unchanged.
  auto r = cli.Post("/predict", R"({"inputs": "one two three"})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body), Json({{"words", 3}, {"raw", false}}));
  r = cli.Post("/predict", R"({"inputs": "one two", "raw_scores": true})", "application/json");
  EXPECT_EQ(Json::parse(r->body), Json({{"words", 2}, {"raw", true}}));

  // A batch keeps its order; its strings go in one call and its pairs in another, strings first.
  r = cli.Post("/predict", R"({"inputs": [["a b", "c"], ["d"], ["e f g", "h i"], ["j k"]]})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json batch = Json::parse(r->body);
  ASSERT_EQ(batch.size(), 4u);
  EXPECT_EQ(batch[0]["words"], 3);
  EXPECT_EQ(batch[1]["words"], 1);
  EXPECT_EQ(batch[2]["words"], 5);
  EXPECT_EQ(batch[3]["words"], 2);
  EXPECT_EQ(pipeline->calls(), (std::vector<std::string>{"s", "s", "ss", "pp"}));

  // A record the task cannot answer: TEI's Backend error (424) with the task's message.
  r = cli.Post("/predict", Json{{"inputs", "w w w w w w w w w w w w w"}}.dump(), "application/json");
  EXPECT_EQ(r->status, 424);
  EXPECT_EQ(Json::parse(r->body), Json({{"error", "13 words cannot be counted"}, {"error_type", "Backend"}}));
  // predict_records failing: 424 too.
  r = cli.Post("/predict", R"({"inputs": " "})", "application/json");
  EXPECT_EQ(r->status, 424) << r->body;
  EXPECT_EQ(Json::parse(r->body)["error"], "Backend error: the word counter refuses an input without words");

  // Still serving.
  r = cli.Post("/predict", R"({"inputs": "still here"})", "application/json");
  EXPECT_EQ(Json::parse(r->body), Json({{"words", 2}, {"raw", false}}));
}
