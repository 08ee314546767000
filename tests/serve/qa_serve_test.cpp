// serve and the C++ Pipeline with an extractive question-answering model (issue 13): POST /predict
// takes the Inference API's {"inputs": {"question", "context"}} or a list of them and answers
// {answer, score, start, end} (a list for a list; with top_k > 1 a list per input); long contexts
// become several windows, which the batching counts as sequences (Pipeline::input_cost) and batches
// with other requests' windows; a context whose windows cannot fit one batch is 413, one over
// max_windows 422 naming the input; the malformed-input suite.
//
// The model is untrained (random qa_outputs), so the checks are those that hold by definition for
// any logits: the answer is context[start:end] in code points, the score a probability, top_k lists
// sorted. Served answers are compared with Pipeline::answers for the same inputs: one path is the
// oracle of the other for the plumbing only (batching, windows of other requests, answer shapes).
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

#include "serve/api.h"
#include "serve/batch_queue.h"
#include "serve_support.h"
#include "support/qa_model.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/pipeline.h"

using textune::Answer;
using textune::Pipeline;
using textune::core::Json;
using textune::serve::ServerOptions;
using namespace textune::testing;

namespace {

const std::string kContext =
    "The caf\xc3\xa9 in Z\xc3\xbcrich opened in 1912 \xf0\x9f\x8e\x89 and was founded by Anna Meier. "
    "\xe5\x8c\x97\xe4\xba\xac\xe6\x98\xaf\xe4\xb8\xad\xe5\x9b\xbd\xe7\x9a\x84\xe9\xa6\x96\xe9\x83\xbd\xe3\x80\x82";

/// A context of `sentences` sentences (about 13 tokens each, with an emoji).
std::string context_of(int sentences, int seed = 0) {
  std::string s;
  for (int i = 0; i < sentences; ++i)
    s += "Sentence " + std::to_string(i + seed) + " tells of the river \xf0\x9f\x8c\x8a past mill " +
         std::to_string(seed) + ". ";
  return s;
}

Json qa(const std::string& question, const std::string& context) {
  return Json{{"question", question}, {"context", context}};
}

/// The served form of an Answer.
void expect_same(const Json& served, const Answer& a, const std::string& where) {
  ASSERT_TRUE(served.is_object()) << where << ": " << served.dump();
  EXPECT_EQ(served.size(), 4u) << where << ": " << served.dump();
  EXPECT_EQ(served["answer"], a.answer) << where;
  EXPECT_EQ(served["start"], a.start) << where;
  EXPECT_EQ(served["end"], a.end) << where;
  EXPECT_NEAR(served["score"].get<double>(), a.score, 1e-5) << where;
}

/// The real pipeline, with every predict_records call's inputs and windows recorded.
class RecordingPipeline : public Pipeline {
 public:
  explicit RecordingPipeline(std::shared_ptr<Pipeline> inner) : inner_(std::move(inner)) {}
  struct Call {
    size_t inputs = 0, windows = 0;
    std::set<std::string> contexts;
  };
  std::vector<textune::Prediction> predict(const std::vector<std::string>& t) const override {
    return inner_->predict(t);
  }
  std::vector<textune::Prediction> predict(const std::vector<std::pair<std::string, std::string>>& p) const override {
    return inner_->predict(p);
  }
  std::vector<std::vector<Answer>> answers(const std::vector<std::pair<std::string, std::string>>& q) const override {
    return inner_->answers(q);
  }
  std::string task() const override { return inner_->task(); }
  std::vector<Json> predict_records(const std::vector<Json>& inputs) const override {
    Call c;
    c.inputs = inputs.size();
    for (const auto& in : inputs) {
      c.windows += inner_->input_cost(in).value().features;
      c.contexts.insert(in.value("context", std::string()));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(c);
    }
    return inner_->predict_records(inputs);
  }
  Json response(const Json& record, bool raw) const override { return inner_->response(record, raw); }
  void check_input(const Json& input) const override { inner_->check_input(input); }
  bool list_is_batch() const override { return inner_->list_is_batch(); }
  bool windows_long_inputs() const override { return inner_->windows_long_inputs(); }
  std::optional<InputCost> input_cost(const Json& input) const override { return inner_->input_cost(input); }
  Json info() const override { return inner_->info(); }
  const std::vector<std::string>& labels() const override { return inner_->labels(); }
  size_t max_length() const override { return inner_->max_length(); }
  std::string problem_type() const override { return inner_->problem_type(); }
  std::vector<Call> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  std::shared_ptr<Pipeline> inner_;
  mutable std::mutex mu_;
  mutable std::vector<Call> calls_;
};

class QaServe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    model_ = *tmp_ / "qa";
    error_ = make_small_qa_model(tmp_->path(), model_);
    if (error_.empty()) copy_qa_model(model_, top3_ = *tmp_ / "qa-top3", R"({"doc_stride": 16, "top_k": 3})");
  }
  static void TearDownTestSuite() { delete tmp_; }
  void SetUp() override { ASSERT_EQ(error_, ""); }
  static std::shared_ptr<const textune::tokenizers::Tokenizer> tokenizer() {
    return textune::tokenizers::Tokenizer::from_dir(model_);
  }
  static TempDir* tmp_;
  static std::string model_, top3_, error_;
};
TempDir* QaServe::tmp_ = nullptr;
std::string QaServe::model_, QaServe::top3_, QaServe::error_;

}  // namespace

TEST_F(QaServe, PredictTakesTheInferenceApiShapes) {
  auto p = Pipeline::load(model_);
  RunningServer server(p, ServerOptions{}, tokenizer());
  auto cli = server.client();
  const std::string long_context = context_of(10);
  const auto expected = p->answers({{"Who founded the cafe?", kContext}, {"Which river?", long_context}});

  // One input: one answer object.
  auto r = cli.Post("/predict", Json{{"inputs", qa("Who founded the cafe?", kContext)}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json one = Json::parse(r->body);
  EXPECT_EQ(answer_problem(one, kContext), "");
  expect_same(one, expected[0][0], "single");

  // A list: a list of answers, in order.
  r = cli.Post(
      "/predict",
      Json{{"inputs", Json::array({qa("Who founded the cafe?", kContext), qa("Which river?", long_context)})}}.dump(),
      "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json two = Json::parse(r->body);
  ASSERT_TRUE(two.is_array() && two.size() == 2u) << r->body;
  expect_same(two[0], expected[0][0], "list 0");
  expect_same(two[1], expected[1][0], "list 1");
  // Per-request "parameters" are ignored (the task's options come from the model; README).
  r = cli.Post("/predict",
               Json{{"inputs", qa("Who founded the cafe?", kContext)}, {"parameters", {{"top_k", 3}}}}.dump(),
               "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  expect_same(Json::parse(r->body), expected[0][0], "parameters");

  // /info says the task.
  r = cli.Get("/info");
  ASSERT_EQ(r->status, 200);
  const Json info = Json::parse(r->body);
  EXPECT_EQ(info["task"], "question-answering");
  EXPECT_EQ(info["max_input_length"], 64);

  // top_k 3: a list of three per input; a list of lists for a list.
  auto p3 = Pipeline::load(top3_);
  RunningServer server3(p3, ServerOptions{}, tokenizer());
  auto cli3 = server3.client();
  r = cli3.Post("/predict", Json{{"inputs", qa("Which river?", long_context)}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json list = Json::parse(r->body);
  ASSERT_TRUE(list.is_array() && list.size() == 3u) << r->body;
  for (size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(answer_problem(list[k], long_context), "") << k;
    if (k) EXPECT_GE(list[k - 1]["score"].get<double>(), list[k]["score"].get<double>());
  }
  // Answers of the same text are merged, their scores summed (the pipeline's): the first of three
  // scores at least top_k 1's answer, taken from fewer spans.
  EXPECT_LE(expected[1][0].score, list[0]["score"].get<double>() + 1e-6);
  EXPECT_EQ(
      Json::parse(
          cli3.Post("/predict", Json{{"inputs", qa("Which river?", long_context)}}.dump(), "application/json")->body),
      list);  // the same answers again
  r = cli3.Post("/predict",
                Json{{"inputs", Json::array({qa("Who?", kContext), qa("Which river?", long_context)})}}.dump(),
                "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json lists = Json::parse(r->body);
  ASSERT_TRUE(lists.is_array() && lists.size() == 2u && lists[0].size() == 3u && lists[1].size() == 3u) << r->body;
}

// Before input_cost, the queue counted a request of 3 windows as one sequence against
// max_batch_requests (and QA objects as 0 tokens): 4 such inputs made a batch of 12 windows.
TEST_F(QaServe, BatchesCountWindowsAndMixRequests) {
  auto inner = Pipeline::load(model_);
  auto p = std::make_shared<RecordingPipeline>(inner);
  // Contexts of exactly 2 windows each.
  std::vector<Json> inputs;
  for (int seed = 0; inputs.size() < 6 && seed < 40; ++seed) {
    Json in = qa("Which river?", context_of(6, seed));
    if (inner->input_cost(in).value().features == 2) inputs.push_back(in);
  }
  ASSERT_EQ(inputs.size(), 6u) << "no 2-window contexts";
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& in : inputs) pairs.emplace_back(in["question"], in["context"]);
  const auto expected = inner->answers(pairs);

  ServerOptions o;
  o.max_batch_requests = 4;  // two inputs of 2 windows per batch
  o.max_wait_ms = 300;       // requests sent together wait for each other
  RunningServer server(p, o, tokenizer());
  std::vector<std::future<std::pair<int, std::string>>> answers;
  for (const auto& in : inputs)
    answers.push_back(std::async(std::launch::async, [&server, in] {
      auto r = server.client().Post("/predict", Json{{"inputs", in}}.dump(), "application/json");
      return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
    }));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto [status, body] = answers[i].get();
    ASSERT_EQ(status, 200) << body;
    expect_same(Json::parse(body), expected[i][0], "request " + std::to_string(i));
  }
  size_t windows = 0, most_contexts = 0;
  for (const auto& c : p->calls()) {
    EXPECT_LE(c.windows, 4u) << c.inputs << " inputs";
    windows += c.windows;
    most_contexts = std::max(most_contexts, c.contexts.size());
  }
  EXPECT_EQ(windows, 12u);
  EXPECT_EQ(most_contexts, 2u);  // windows of two requests in one batch

  // An input whose windows cannot fit one batch: 413, naming it.
  const Json five = [&] {
    for (int n = 4; n < 40; ++n) {
      Json in = qa("Which river?", context_of(n));
      if (inner->input_cost(in).value().features > 4) return in;
    }
    return Json();
  }();
  ASSERT_FALSE(five.is_null());
  auto cli = server.client();
  auto r = cli.Post("/predict", Json{{"inputs", Json::array({qa("Who?", "Anna."), five})}}.dump(), "application/json");
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_NE(Json::parse(r->body)["error"].get<std::string>().find("inputs[1] becomes"), std::string::npos) << r->body;
  // Still serving.
  r = cli.Post("/predict", Json{{"inputs", qa("Who?", "Anna.")}}.dump(), "application/json");
  EXPECT_EQ(r->status, 200) << r->body;
}

// The malformed-input suite as for the other tasks, and the task's own bad inputs.
TEST_F(QaServe, MalformedInputSuite) {
  auto p = Pipeline::load(model_);
  ServerOptions o;
  o.max_client_batch_size = 4;
  o.max_request_bytes = 1 << 20;
  RunningServer server(p, o, tokenizer());
  std::vector<BadRequest> cases = malformed_requests(context_of(100));
  // Strings are not inputs of the task: a long one is refused for its shape (422), not its length.
  const std::map<std::string, int> here = {{"text above max length", 422}};
  for (auto& c : cases)
    if (auto it = here.find(c.what); it != here.end()) c.status = it->second;
  auto post = [](const std::string& body) { return post_request("/predict", body); };
  const std::string ctx = Json(kContext).dump();
  const std::vector<BadRequest> task_cases = {
      {"inputs 5", post(R"({"inputs": 5})"), 422},
      {"empty question", post(R"({"inputs": {"question": "", "context": )" + ctx + "}}"), 422},
      {"whitespace question", post(R"({"inputs": {"question": "  ", "context": )" + ctx + "}}"), 422},
      {"question only", post(R"({"inputs": {"question": ""}})"), 422},
      {"missing context", post(R"({"inputs": {"question": "Who?"}})"), 422},
      {"non-string context", post(R"({"inputs": {"question": "Who?", "context": 5}})"), 422},
      {"non-string question", post(R"({"inputs": {"question": ["Who?"], "context": "x"}})"), 422},
      {"empty context", post(R"({"inputs": {"question": "Who?", "context": ""}})"), 422},
      {"empty list", post(R"({"inputs": []})"), 422},
      {"a string in the list", post(R"({"inputs": [{"question": "Who?", "context": "Anna."}, "x"]})"), 422},
      {"five inputs",
       post(Json{{"inputs", Json::array({qa("a", "b"), qa("a", "b"), qa("a", "b"), qa("a", "b"), qa("a", "b")})}}
                .dump()),
       413},
  };
  cases.insert(cases.end(), task_cases.begin(), task_cases.end());
  expect_statuses(server.port(), cases);

  // The bad input of a list is named.
  auto cli = server.client();
  auto r = cli.Post("/predict", R"({"inputs": [{"question": "Who?", "context": "Anna."}, {"question": "Who?"}]})",
                    "application/json");
  ASSERT_EQ(r->status, 422);
  EXPECT_EQ(Json::parse(r->body)["error"].get<std::string>().rfind("Input validation error: inputs[1]: ", 0), 0u)
      << r->body;

  // A huge context (just under the 1 MiB body limit) is over max_windows (50): 422 naming the
  // input, in bounded time (the context is tokenized only as far as 50 windows reach).
  std::string huge;
  while (huge.size() < (1 << 20) - 200) huge += "river mill sentence \xf0\x9f\x8c\x8a ";
  const auto start = std::chrono::steady_clock::now();
  r = cli.Post("/predict", Json{{"inputs", Json::array({qa("Who?", "Anna."), qa("Which river?", huge)})}}.dump(),
               "application/json");
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_EQ(r->status, 422) << r->body.substr(0, 300);
  const std::string error = Json::parse(r->body)["error"];
  EXPECT_EQ(error.rfind("Input validation error: inputs[1]: ", 0), 0u) << error;
  EXPECT_NE(error.find("more than 50 windows"), std::string::npos) << error;
  EXPECT_LT(seconds, 5.0);
  // A context of 40 windows is within max_windows but above one batch (32 sequences): 413.
  const Json forty = [&] {
    for (int n = 100; n < 400; n += 5) {
      Json in = qa("Which river?", context_of(n));
      const size_t f = p->input_cost(in).value().features;
      if (f > 32 && f <= 50) return in;
    }
    return Json();
  }();
  ASSERT_FALSE(forty.is_null());
  r = cli.Post("/predict", Json{{"inputs", forty}}.dump(), "application/json");
  EXPECT_EQ(r->status, 413) << r->body;
  EXPECT_NE(Json::parse(r->body)["error"].get<std::string>().find("the input becomes"), std::string::npos) << r->body;
  // Still serving.
  r = cli.Post("/predict", Json{{"inputs", qa("Who?", "Anna.")}}.dump(), "application/json");
  EXPECT_EQ(r->status, 200) << r->body;
}

// 32 clients at once, each with one question of 1 to 3 windows: each gets its own answer (the one
// Pipeline::answers gives alone). Prints requests/s and the median latency.
TEST_F(QaServe, ConcurrentClientsGetTheirOwnAnswers) {
  auto p = Pipeline::load(model_);
  std::vector<Json> inputs;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (int i = 0; i < 32; ++i) {
    const std::string question = i % 2 ? "Which river?" : "Where is the mill " + std::to_string(i) + "?";
    inputs.push_back(qa(question, context_of(2 + (i % 3) * 4, i)));  // 2, 6 or 10 sentences
    pairs.emplace_back(question, inputs.back()["context"]);
  }
  std::map<size_t, size_t> windows;
  for (const auto& in : inputs) ++windows[p->input_cost(in).value().features];
  EXPECT_EQ(windows.begin()->first, 1u);
  EXPECT_EQ(windows.rbegin()->first, 3u);
  const auto expected = p->answers(pairs);

  ServerOptions o;
  o.max_wait_ms = 2;
  RunningServer server(p, o, tokenizer());
  std::vector<std::future<std::tuple<int, std::string, double>>> answers;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& in : inputs)
    answers.push_back(std::async(std::launch::async, [&server, in] {
      const auto t0 = std::chrono::steady_clock::now();
      auto r = server.client().Post("/predict", Json{{"inputs", in}}.dump(), "application/json");
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      return r ? std::make_tuple(r->status, r->body, s) : std::make_tuple(0, std::string(), s);
    }));
  std::vector<double> latencies;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto [status, body, s] = answers[i].get();
    latencies.push_back(s);
    ASSERT_EQ(status, 200) << body;
    expect_same(Json::parse(body), expected[i][0], "client " + std::to_string(i));
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(latencies.begin(), latencies.end());
  std::cout << "[ qa serve ] 32 concurrent requests (" << windows[1] << "x1, " << windows[2] << "x2, " << windows[3]
            << "x3 windows): " << 32 / wall << " requests/s, p50 latency " << latencies[15] * 1000 << " ms, max "
            << latencies.back() * 1000 << " ms\n";
}

// The queue counts features: inputs of 3 windows each fill a batch of 4 sequences one at a time.
TEST(ServeBatchQueueWindows, FeaturesCountAgainstMaxBatchRequests) {
  auto pipeline = std::make_shared<FakePipeline>();
  pipeline->close_gate();
  textune::serve::BatchQueueOptions o;
  o.max_batch_requests = 4;
  textune::serve::BatchQueue queue(pipeline, o, nullptr);
  std::vector<Json> first = {Json("first")};
  auto f = std::async(std::launch::async, [&] { return queue.predict(first, {3}); });
  while (pipeline->waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::vector<Json> rest = {Json("a"), Json("b"), Json("c"), Json("d")};
  auto g = std::async(std::launch::async, [&] { return queue.predict(rest, {3, 3, 3, 3}, {}, {3, 1, 2, 4}); });
  while (queue.size() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  pipeline->open_gate();
  EXPECT_EQ(f.get().size(), 1u);
  const auto results = g.get();
  // 3 + 1 = 4 windows: {a, b}; 2 + 4 > 4: {c}; {d} (4 windows) alone.
  EXPECT_EQ(pipeline->calls(), (std::vector<size_t>{1, 2, 1, 1}));
  EXPECT_EQ(results[0].batch_size, 2u);
  EXPECT_EQ(results[2].batch_size, 1u);
  EXPECT_THROW(queue.predict(rest, {1, 1, 1, 1}, {}, {1}), std::invalid_argument);
}

// The README's example program (examples/cpp/qa.cpp), built against the public headers only: the
// answers of Pipeline::answers (plumbing), exit codes of the library's errors.
TEST_F(QaServe, ExampleProgramPrintsTheAnswers) {
  TempDir out;
  auto quote = [](const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
  };
  const std::string example = std::string(TEXTUNE_BINARY_DIR) + "/example_qa ";
  ASSERT_EQ(std::system((example + quote(top3_) + " " + quote(kContext) + " 'Who founded it?' 'When?' > " +
                         quote(out / "stdout"))
                            .c_str()),
            0);
  const auto direct = Pipeline::load(top3_)->answers({{"Who founded it?", kContext}, {"When?", kContext}});
  std::istringstream lines(read_text(out / "stdout"));
  std::string line;
  size_t rows = 0;
  for (size_t i = 0; i < 2; ++i)
    for (size_t k = 0; k < direct[i].size(); ++k) {
      ASSERT_TRUE(std::getline(lines, line));
      ++rows;
      std::istringstream cells(line);
      std::string index, rank, score, start, end, answer;
      std::getline(cells, index, '\t');
      std::getline(cells, rank, '\t');
      std::getline(cells, score, '\t');
      std::getline(cells, start, '\t');
      std::getline(cells, end, '\t');
      std::getline(cells, answer);
      EXPECT_EQ(index, std::to_string(i));
      EXPECT_EQ(rank, std::to_string(k));
      EXPECT_NEAR(std::stod(score), direct[i][k].score, 1e-8);
      EXPECT_EQ(start, std::to_string(direct[i][k].start));
      EXPECT_EQ(end, std::to_string(direct[i][k].end));
      EXPECT_EQ(answer, direct[i][k].answer);
      EXPECT_EQ(answer_problem(Json{{"answer", answer},
                                    {"score", std::stod(score)},
                                    {"start", std::stoul(start)},
                                    {"end", std::stoul(end)}},
                               kContext),
                "");
    }
  EXPECT_EQ(rows, 6u);
  EXPECT_FALSE(std::getline(lines, line));
  // An empty question: the task's data error, exit 1, one line.
  const int status =
      std::system((example + quote(model_) + " " + quote(kContext) + " '' 2> " + quote(out / "stderr")).c_str());
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string err = read_text(out / "stderr");
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}
