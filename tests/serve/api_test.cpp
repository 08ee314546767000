// TEI request parsing and response shapes (src/serve/api.h), without HTTP.
#include "serve/api.h"

#include <gtest/gtest.h>

#include "serve/metrics.h"
#include "serve_support.h"
#include "textune/tasks/registry.h"

using textune::core::Json;
using namespace textune::serve;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

/// A pipeline that answers records with `task` (Task::response), as the real one does.
class TaskAnswers : public textune::testing::FakePipeline {
 public:
  explicit TaskAnswers(std::unique_ptr<textune::tasks::Task> task) : task_(std::move(task)) {}
  Json response(const Json& record, bool raw_scores) const override {
    textune::tasks::ResponseOptions o;
    o.raw_scores = raw_scores;
    return task_->response(record, o);
  }

 private:
  std::unique_ptr<textune::tasks::Task> task_;
};

/// Parses a /predict body; returns the HttpError status (0 when it parses).
int predict_status(const std::string& body, size_t max_client_batch_size = 4) {
  try {
    parse_predict_request(parse_request_json(body), max_client_batch_size);
    return 0;
  } catch (const HttpError& e) {
    return e.status();
  }
}

}  // namespace

TEST(ServeApi, PredictInputShapesFollowTei) {
  // TEI's PredictInput: a string; [string] (a single text); [a, b] (a pair); [[...], ...] (a batch).
  auto r = parse_predict_request(parse_request_json(R"({"inputs": "I like you."})"), 4);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_FALSE(r.batch);
  EXPECT_EQ(r.inputs[0].text, "I like you.");
  EXPECT_FALSE(r.inputs[0].pair);
  EXPECT_FALSE(r.truncate);
  EXPECT_FALSE(r.raw_scores);

  r = parse_predict_request(parse_request_json(R"({"inputs": ["only"]})"), 4);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_FALSE(r.batch);
  EXPECT_FALSE(r.inputs[0].pair);

  r = parse_predict_request(parse_request_json(R"({"inputs": ["a", "b"], "truncate": true, "raw_scores": true})"), 4);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_FALSE(r.batch);
  EXPECT_EQ(r.inputs[0].text, "a");
  EXPECT_EQ(*r.inputs[0].pair, "b");
  EXPECT_EQ(r.truncate, std::optional<bool>(true));
  EXPECT_TRUE(r.raw_scores);

  r = parse_predict_request(parse_request_json(R"({"inputs": [["a", "b"]], "truncate": null})"), 4);
  ASSERT_EQ(r.inputs.size(), 1u);
  EXPECT_TRUE(r.batch);
  EXPECT_EQ(*r.inputs[0].pair, "b");
  EXPECT_FALSE(r.truncate);

  r = parse_predict_request(parse_request_json(R"({"inputs": [["x"], ["y", "z"], ["w"]], "extra": 1})"), 4);
  ASSERT_EQ(r.inputs.size(), 3u);
  EXPECT_TRUE(r.batch);
  EXPECT_FALSE(r.inputs[0].pair);
  EXPECT_EQ(*r.inputs[1].pair, "z");
  EXPECT_EQ(r.inputs[2].text, "w");
}

TEST(ServeApi, PredictErrorsGetTeiStatuses) {
  // axum: JSON syntax errors are 400, valid JSON of the wrong shape 422.
  EXPECT_EQ(predict_status(R"({"inputs": "x")"), 400);
  EXPECT_EQ(predict_status(""), 400);
  EXPECT_EQ(predict_status("{\"inputs\": \"\xff\xfe\"}"), 400);                         // invalid UTF-8
  EXPECT_EQ(predict_status(std::string("{\"inputs\": \"a\0b\"}", 17)), 400);            // raw NUL in a string
  EXPECT_EQ(predict_status(std::string(100000, '[') + std::string(100000, ']')), 400);  // too deep
  EXPECT_EQ(predict_status(R"([1, 2])"), 422);
  EXPECT_EQ(predict_status(R"({"input": "x"})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": 5})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": null})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": []})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": ["a", "b", "c"]})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": ["a", 1]})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": [["a", "b", "c"]]})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": [[]]})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": [["a"], "b"]})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": [[["a"]]]})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": [{"text": "a"}]})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": "a", "truncate": "yes"})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": "a", "raw_scores": 1})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": "a", "truncation_direction": "Left"})"), 422);
  EXPECT_EQ(predict_status(R"({"inputs": "a", "truncation_direction": "Right"})"), 0);
  // Empty texts: TEI's ErrorType::Empty, 400.
  EXPECT_EQ(predict_status(R"({"inputs": ""})"), 400);
  EXPECT_EQ(predict_status(R"({"inputs": [["x"], [""]]})"), 400);
  EXPECT_EQ(predict_status(R"({"inputs": ["", ""]})"), 400);
  EXPECT_EQ(predict_status(R"({"inputs": ["", "b"]})"), 0);  // one empty text of a pair is fine
  // Above max_client_batch_size (4 here): 413 Validation.
  EXPECT_EQ(predict_status(R"({"inputs": [["a"], ["b"], ["c"], ["d"], ["e"]]})"), 413);
  EXPECT_EQ(predict_status(R"({"inputs": [["a"], ["b"], ["c"], ["d"]]})"), 0);
  // An escaped NUL is a character like any other.
  EXPECT_EQ(predict_status(R"({"inputs": "a\u0000b"})"), 0);
}

TEST(ServeApi, ErrorBodyIsTeiErrorResponse) {
  HttpError e(413, ErrorType::kValidation, "batch size 5 > maximum allowed batch size 4");
  auto j = Json::parse(e.body());
  EXPECT_EQ(j["error"], "batch size 5 > maximum allowed batch size 4");
  EXPECT_EQ(j["error_type"], "Validation");
  EXPECT_EQ(Json::parse(error_body("x", ErrorType::kOverloaded))["error_type"], "Overloaded");
  EXPECT_EQ(Json::parse(error_body("x", ErrorType::kEmpty))["error_type"], "Empty");
  // Invalid UTF-8 in a message (e.g. echoed from the request) still gives valid JSON.
  EXPECT_NO_THROW(Json::parse(error_body("bad \xff byte", ErrorType::kValidation)));
}

TEST(ServeApi, PredictionSortedByScoreHighestFirst) {
  // The answer is the text-classification task's (Task::response) for its labels, here those of a
  // labelled file, given by the server through Pipeline::response (serve::response_json).
  TempDir dir;
  write_text(dir / "labels.csv", "text,label\na,negative\nb,neutral\nc,positive\n");
  auto task = textune::tasks::create_task("text-classification");
  task->read(dir / "labels.csv", true);
  TaskAnswers pipeline(std::move(task));
  Json record = {{"scores", {{"negative", 0.2}, {"neutral", 0.5}, {"positive", 0.3}}}, {"logits", {-1.0f, 2.0f, 0.5f}}};
  auto j = response_json(pipeline, record, false);
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["label"], "neutral");
  EXPECT_EQ(j[0]["score"], 0.5);
  EXPECT_EQ(j[1]["label"], "positive");
  EXPECT_EQ(j[2]["label"], "negative");
  auto raw = response_json(pipeline, record, true);
  EXPECT_EQ(raw[0]["label"], "neutral");
  EXPECT_EQ(raw[0]["score"], 2.0);
  EXPECT_EQ(raw[2]["score"], -1.0);

  record["scores"]["neutral"] = std::nan("");
  try {
    response_json(pipeline, record, false);
    FAIL() << "NaN accepted";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 424);  // TEI: "score is NaN", a Backend error
    EXPECT_STREQ(e.what(), "score is NaN");
    EXPECT_EQ(e.type(), ErrorType::kBackend);
  }
}

TEST(ServeApi, Utf8SliceCountsCodePoints) {
  const std::string s = "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c!";  // "héllo 世界!"
  EXPECT_EQ(utf8_slice(s, 0, 5), "h\xc3\xa9llo");
  EXPECT_EQ(utf8_slice(s, 1, 2), "\xc3\xa9");
  EXPECT_EQ(utf8_slice(s, 6, 8), "\xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_EQ(utf8_slice(s, 8, 9), "!");
  EXPECT_EQ(utf8_slice(s, 8, 100), "!");
  EXPECT_EQ(utf8_slice(s, 100, 200), "");
}

TEST(ServeApi, TokenizeRequestShapes) {
  auto r = parse_tokenize_request(parse_request_json(R"({"inputs": "a b"})"), 4);
  EXPECT_FALSE(r.batch);
  EXPECT_TRUE(r.add_special_tokens);
  r = parse_tokenize_request(parse_request_json(R"({"inputs": ["a", "b"], "add_special_tokens": false})"), 4);
  EXPECT_TRUE(r.batch);
  EXPECT_EQ(r.inputs.size(), 2u);
  EXPECT_FALSE(r.add_special_tokens);
  auto status = [](const std::string& body) {
    try {
      parse_tokenize_request(parse_request_json(body), 4);
      return 0;
    } catch (const HttpError& e) {
      return e.status();
    }
  };
  EXPECT_EQ(status(R"({"inputs": []})"), 400);
  EXPECT_EQ(status(R"({"inputs": [["a"]]})"), 422);
  EXPECT_EQ(status(R"({"inputs": ["a","b","c","d","e"]})"), 413);
  EXPECT_EQ(status(R"({"inputs": "a", "add_special_tokens": "no"})"), 422);
}

TEST(ServeMetrics, PrometheusTextFormat) {
  Metrics m(512);
  m.request_received("single");
  m.request_succeeded("single", 0.002, 0.0001, 0.0005, 0.001);
  m.request_failed("validation");
  m.batch(3, 40, 0.001);
  m.batch(1, 12, 0.001);
  m.http_response("/predict", 200);
  m.http_response("other", 404);
  const std::string text = m.render(7, 2);
  EXPECT_NE(text.find("# TYPE te_request_count counter\nte_request_count{method=\"single\"} 1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("te_request_failure{err=\"validation\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("te_http_requests_total{route=\"other\",status=\"404\"} 1\n"), std::string::npos);
  // Cumulative buckets of batch sizes 3 and 1 (bounds 1, 2, 4, ...).
  EXPECT_NE(text.find("te_batch_next_size_bucket{le=\"1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("te_batch_next_size_bucket{le=\"2\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("te_batch_next_size_bucket{le=\"4\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("te_batch_next_size_bucket{le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("te_batch_next_size_sum 4\nte_batch_next_size_count 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE te_request_queue_duration histogram\n"), std::string::npos);
  EXPECT_NE(text.find("te_queue_size 7\n"), std::string::npos);
  EXPECT_NE(text.find("te_in_flight_requests 2\n"), std::string::npos);
  EXPECT_EQ(m.batches(), 2u);
  EXPECT_EQ(m.batches_of_one(), 1u);
}
