// The HTTP service in process (serve::Server over the fake pipeline and tokenizer of serve_support.h):
// every endpoint, the malformed-input suite, batching, the concurrency limit, slow and vanishing
// clients, and graceful shutdown on SIGTERM.
#include <signal.h>

#include <future>
#include <regex>

#include "serve_support.h"
#include "textune/core/json.h"

using textune::core::Json;
using textune::serve::ServerOptions;
using namespace textune::testing;

namespace {

/// The answer TEI gives for `prediction`: every label with its score, highest first.
Json expected_answer(const textune::Prediction& p, bool raw = false) {
  std::vector<std::pair<std::string, double>> s;
  for (size_t i = 0; i < p.scores.size(); ++i)
    s.emplace_back(p.scores[i].first, raw ? static_cast<double>(p.logits[i]) : p.scores[i].second);
  std::stable_sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.second > b.second; });
  Json out = Json::array();
  for (auto& [label, score] : s) out.push_back(Json{{"label", label}, {"score", score}});
  return out;
}

/// The value of an unlabelled sample or a labelled one ("name{...}") in a Prometheus text exposition.
double metric_value(const std::string& text, const std::string& sample) {
  auto pos = text.find("\n" + sample + " ");
  if (pos == std::string::npos) return -1;
  pos += sample.size() + 2;
  return std::stod(text.substr(pos, text.find('\n', pos) - pos));
}

/// te_http_requests_total is counted after a response is written (httplib's logger), possibly after
/// the client has read it: poll /metrics until `sample` reaches `expected` (or 5 s pass).
double eventually(httplib::Client& cli, const std::string& sample, double expected) {
  double v = -1;
  for (int i = 0; i < 500 && v != expected; ++i) {
    if (i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto m = cli.Get("/metrics");
    if (m) v = metric_value(m->body, sample);
  }
  return v;
}

std::string words(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s += (i ? " w" : "w") + std::to_string(i);
  return s;
}

ServerOptions small_options() {
  ServerOptions o;
  o.max_client_batch_size = 4;
  o.max_batch_tokens = 64;
  o.max_request_bytes = 1 << 20;
  o.read_timeout_s = 1;
  o.keep_alive_timeout_s = 1;
  o.model_id = "fake-model";
  return o;
}

}  // namespace

TEST(ServeServer, EveryEndpointAnswersWithTeiShapes) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  RunningServer server(pipeline, small_options());
  auto cli = server.client();

  auto health = cli.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(cli.Get("/ping")->status, 200);
  EXPECT_EQ(cli.Get("/")->status, 200);

  auto info = cli.Get("/info");
  ASSERT_TRUE(info);
  EXPECT_EQ(info->status, 200);
  EXPECT_EQ(info->get_header_value("Content-Type"), "application/json");
  auto j = Json::parse(info->body);
  EXPECT_EQ(j["model_id"], "fake-model");
  EXPECT_EQ(j["max_input_length"], 16);
  EXPECT_EQ(j["max_client_batch_size"], 4);
  EXPECT_EQ(j["max_batch_tokens"], 64);
  EXPECT_EQ(j["max_batch_requests"], 32);
  EXPECT_EQ(j["max_concurrent_requests"], 512);
  EXPECT_EQ(j["version"], TEXTUNE_VERSION);
  EXPECT_EQ(j["labels"], Json({"negative", "neutral", "positive"}));
  EXPECT_EQ(j["model_type"]["classifier"]["id2label"]["2"], "positive");
  EXPECT_EQ(j["model_type"]["classifier"]["label2id"]["neutral"], 1);
  EXPECT_EQ(j["problem_type"], "single_label_classification");

  // A single text: a list of {label, score}, equal to Pipeline::predict, highest score first.
  const std::string text = "a banana and a bandana";
  auto r = cli.Post("/predict", Json{{"inputs", text}}.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto direct = pipeline->predict(std::vector<std::string>{text})[0];
  EXPECT_EQ(Json::parse(r->body), expected_answer(direct));
  EXPECT_EQ(Json::parse(r->body)[0]["label"], direct.label);

  // raw_scores: the logits.
  r = cli.Post("/predict", Json{{"inputs", text}, {"raw_scores", true}}.dump(), "application/json");
  EXPECT_EQ(Json::parse(r->body), expected_answer(direct, true));

  // A pair ["a", "b"] is one sequence; [["a", "b"]] is a batch of one.
  const auto pair = pipeline->predict(std::vector<std::pair<std::string, std::string>>{{"is it", "a pair"}})[0];
  r = cli.Post("/predict", R"({"inputs": ["is it", "a pair"]})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body), expected_answer(pair));
  r = cli.Post("/predict", R"({"inputs": [["is it", "a pair"]]})", "application/json");
  EXPECT_EQ(Json::parse(r->body), Json::array({expected_answer(pair)}));

  // A mixed batch keeps its order.
  r = cli.Post("/predict", R"({"inputs": [["first one"], ["is it", "a pair"], ["aaaa"]]})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  auto batch = Json::parse(r->body);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0], expected_answer(pipeline->predict(std::vector<std::string>{"first one"})[0]));
  EXPECT_EQ(batch[1], expected_answer(pair));
  EXPECT_EQ(batch[2], expected_answer(pipeline->predict(std::vector<std::string>{"aaaa"})[0]));

  // TEI's aliases of /predict.
  EXPECT_EQ(Json::parse(cli.Post("/", Json{{"inputs", text}}.dump(), "application/json")->body),
            expected_answer(direct));
  EXPECT_EQ(cli.Post("/invocations", Json{{"inputs", text}}.dump(), "application/json")->status, 200);

  // Length: 15 words + [CLS] + [SEP] = 17 tokens > 16 is refused unless truncate is true.
  r = cli.Post("/predict", Json{{"inputs", words(15)}}.dump(), "application/json");
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Json::parse(r->body),
            Json({{"error", "Input validation error: `inputs` must have less than 16 tokens. Given: 17"},
                  {"error_type", "Validation"}}));
  r = cli.Post("/predict", Json{{"inputs", words(15)}, {"truncate", true}}.dump(), "application/json");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json::parse(r->body), expected_answer(pipeline->predict(std::vector<std::string>{words(15)})[0]));
  r = cli.Post("/predict", Json{{"inputs", words(14)}}.dump(), "application/json");  // exactly 16
  EXPECT_EQ(r->status, 200);

  // /tokenize: TEI's SimpleToken lists (offsets in code points; specials without offsets).
  r = cli.Post("/tokenize", R"({"inputs": "hello w\u00f6rld"})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body), Json::parse(R"([[
      {"id": 101, "text": "[CLS]", "special": true, "start": null, "stop": null},
      {"id": 1005, "text": "hello", "special": false, "start": 0, "stop": 5},
      {"id": 1006, "text": "w\u00f6rld", "special": false, "start": 6, "stop": 11},
      {"id": 102, "text": "[SEP]", "special": true, "start": null, "stop": null}]])"));
  r = cli.Post("/tokenize", R"({"inputs": ["a", "bb cc"], "add_special_tokens": false})", "application/json");
  EXPECT_EQ(Json::parse(r->body), Json::parse(R"([
      [{"id": 1001, "text": "a", "special": false, "start": 0, "stop": 1}],
      [{"id": 1002, "text": "bb", "special": false, "start": 0, "stop": 2},
       {"id": 1002, "text": "cc", "special": false, "start": 3, "stop": 5}]])"));

  // /metrics: Prometheus text with what happened above.
  auto m = cli.Get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type"), "text/plain; version=0.0.4");
  // single: text, raw, pair, "/", "/invocations", 413, truncate, 16 tokens = 8; batch: 2.
  EXPECT_EQ(metric_value(m->body, "te_request_count{method=\"single\"}"), 8);
  EXPECT_EQ(metric_value(m->body, "te_request_count{method=\"batch\"}"), 2);
  EXPECT_EQ(metric_value(m->body, "te_request_success{method=\"single\"}"), 7);
  EXPECT_EQ(metric_value(m->body, "te_request_failure{err=\"validation\"}"), 1);
  EXPECT_EQ(eventually(cli, "te_http_requests_total{route=\"/predict\",status=\"413\"}", 1), 1);
  EXPECT_EQ(metric_value(m->body, "te_request_duration_count"), 9);
  // 7 single sequences and 2 batches (of 1 and of 3 sequences), each its own model batch.
  EXPECT_EQ(metric_value(m->body, "te_batch_next_size_count"), 9);
  EXPECT_EQ(metric_value(m->body, "te_batch_next_size_sum"), 11);
  EXPECT_NE(m->body.find("# TYPE te_request_inference_duration histogram"), std::string::npos);
  EXPECT_NE(m->body.find("# TYPE te_request_queue_duration histogram"), std::string::npos);
}

TEST(ServeServer, MalformedRequestsGetTheRightStatusAndTheServerCarriesOn) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  ServerOptions o = small_options();
  RunningServer server(pipeline, o);

  const std::vector<BadRequest> cases = malformed_requests(words(20));
  expect_statuses(server.port(), cases);

  // An escaped NUL is an ordinary character: 200.
  RawConnection nul(server.port());
  nul.send(post_request("/predict", R"({"inputs": "a\u0000b"})"));
  EXPECT_EQ(status_of(nul.receive()), 200);

  // A backend failure is TEI's 424.
  auto cli = server.client();
  auto r = cli.Post("/predict", R"({"inputs": "boom"})", "application/json");
  EXPECT_EQ(r->status, 424);
  EXPECT_EQ(Json::parse(r->body)["error_type"], "Backend");
  // A tokenizer failure is TEI's 422 Tokenizer.
  r = cli.Post("/predict", R"({"inputs": "bad \u0001"})", "application/json");
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(Json::parse(r->body)["error_type"], "Tokenizer");

  // Still serving, with the right answer.
  r = cli.Post("/predict", R"({"inputs": "still here"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json::parse(r->body), expected_answer(pipeline->predict(std::vector<std::string>{"still here"})[0]));
  // 18 cases + the tokenizer error.
  EXPECT_EQ(eventually(cli, "te_http_requests_total{route=\"/predict\",status=\"422\"}", 19), 19);
}

TEST(ServeServer, SlowAndVanishingClientsDoNotHoldUpOthers) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  RunningServer server(pipeline, small_options());  // read timeout 1 s

  // Half a request, then silence: others are served meanwhile, and the server hangs up on it.
  RawConnection slow(server.port());
  slow.send("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inputs\": \"hal");
  RawConnection slow_headers(server.port());
  slow_headers.send("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Le");
  auto cli = server.client();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = cli.Post("/predict", R"({"inputs": "meanwhile"})", "application/json");
  EXPECT_EQ(r->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
  for (RawConnection* c : {&slow, &slow_headers}) {
    const auto t1 = std::chrono::steady_clock::now();
    const std::string response = c->receive(std::chrono::milliseconds(5000));  // returns when the server hangs up
    EXPECT_LT(std::chrono::steady_clock::now() - t1, std::chrono::milliseconds(4000));
    const int status = status_of(response);
    EXPECT_TRUE(status == -1 || status == 400 || status == 408) << response;
  }

  // A client that disconnects before its answer: the answer is dropped, the server carries on.
  pipeline->close_gate();
  {
    RawConnection gone(server.port());
    gone.send(post_request("/predict", R"({"inputs": "nobody listens"})"));
    while (pipeline->waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }  // closed here
  pipeline->open_gate();
  for (int i = 0; i < 3; ++i) {
    r = cli.Post("/predict", R"({"inputs": "after the hang-up"})", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

TEST(ServeServer, ConcurrentRequestsAreBatchedAndEachGetsItsOwnResult) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  ServerOptions o = small_options();
  o.max_wait_ms = 300;
  o.max_batch_requests = 8;
  RunningServer server(pipeline, o);
  std::vector<std::string> texts;
  for (int i = 0; i < 8; ++i) texts.push_back("caller " + std::to_string(i) + " " + std::string(i, 'a'));
  std::vector<std::future<std::string>> answers;
  for (const auto& t : texts)
    answers.push_back(std::async(std::launch::async, [&server, t] {
      auto r = server.client().Post("/predict", Json{{"inputs", t}}.dump(), "application/json");
      return r && r->status == 200 ? r->body : std::string("failed");
    }));
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(Json::parse(answers[i].get()), expected_answer(pipeline->predict(std::vector<std::string>{texts[i]})[0]))
        << texts[i];
  const auto m = server.client().Get("/metrics")->body;
  // Some batch held more than one sequence: fewer batches of at most 1 than batches.
  const double batches = metric_value(m, "te_batch_next_size_count");
  const double of_one = metric_value(m, "te_batch_next_size_bucket{le=\"1\"}");
  EXPECT_GT(batches, of_one) << m;
  EXPECT_GT(metric_value(m, "te_batch_next_size_sum"), batches);
}

TEST(ServeServer, PastTheConcurrencyLimitAnswers503AtOnce) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  ServerOptions o = small_options();
  o.max_concurrent_requests = 2;
  RunningServer server(pipeline, o);
  pipeline->close_gate();
  std::vector<std::future<int>> held;
  for (int i = 0; i < 2; ++i)
    held.push_back(std::async(std::launch::async, [&server, i] {
      auto r =
          server.client().Post("/predict", Json{{"inputs", "held " + std::to_string(i)}}.dump(), "application/json");
      return r ? r->status : -1;
    }));
  auto cli = server.client();
  for (;;) {  // both in flight
    auto m = cli.Get("/metrics");
    if (metric_value(m->body, "te_in_flight_requests") == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto r = cli.Post("/predict", R"({"inputs": "one too many"})", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(Json::parse(r->body), Json({{"error", "Model is overloaded"}, {"error_type", "Overloaded"}}));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(cli.Get("/health")->status, 200);  // health and metrics are not limited
  pipeline->open_gate();
  for (auto& h : held) EXPECT_EQ(h.get(), 200);
  EXPECT_EQ(cli.Post("/predict", R"({"inputs": "room again"})", "application/json")->status, 200);
  EXPECT_EQ(metric_value(cli.Get("/metrics")->body, "te_request_failure{err=\"overloaded\"}"), 1);
}

TEST(ServeServer, SigtermFinishesQueuedWorkThenStops) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  ServerOptions o = small_options();
  o.host = "127.0.0.1";
  o.port = 0;
  textune::serve::Server server(pipeline, std::make_shared<FakeTokenizer>(), o);
  const int port = server.bind();
  auto serving = std::async(std::launch::async, [&] { textune::serve::serve_until_signal(server); });

  pipeline->close_gate();
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < 4; ++i)
    answers.push_back(std::async(std::launch::async, [port, i] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(30, 0);
      auto r = c.Post("/predict", Json{{"inputs", "queued " + std::to_string(i)}}.dump(), "application/json");
      return r && r->status == 200 ? r->body
                                   : "failed " + (r ? std::to_string(r->status) : httplib::to_string(r.error()));
    }));
  // One batch blocked in the model, the other requests queued behind it.
  while (pipeline->waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  // The listening socket closes: new connections are refused...
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {
    refused = !RawConnection(port).connected();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
  EXPECT_EQ(serving.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  // ...while everything already received is answered.
  pipeline->open_gate();
  for (int i = 0; i < 4; ++i) {
    const std::string answer = answers[i].get();
    EXPECT_EQ(Json::parse(answer, nullptr, false),
              expected_answer(pipeline->predict(std::vector<std::string>{"queued " + std::to_string(i)})[0]))
        << answer;
  }
  EXPECT_EQ(serving.wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

TEST(ServeServer, ShutdownRunsQueuedSequencesWithoutWaitingForCompanions) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  ServerOptions o = small_options();
  o.max_wait_ms = 600000;  // ten minutes: only shutdown() can start these batches in time
  o.max_batch_requests = 64;
  RunningServer server(pipeline, o);
  std::vector<std::future<int>> answers;
  for (int i = 0; i < 3; ++i)
    answers.push_back(std::async(std::launch::async, [&server, i] {
      auto r =
          server.client().Post("/predict", Json{{"inputs", "waiting " + std::to_string(i)}}.dump(), "application/json");
      return r ? r->status : -1;
    }));
  auto cli = server.client();
  while (metric_value(cli.Get("/metrics")->body, "te_queue_size") < 3)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const auto t0 = std::chrono::steady_clock::now();
  server.stop();
  for (auto& a : answers) EXPECT_EQ(a.get(), 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_EQ(pipeline->calls(), (std::vector<size_t>{3}));  // one batch of the three
}
