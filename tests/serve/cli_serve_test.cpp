// `textune serve` end to end: a small BERT made by `textune init` with the real bert-base-uncased
// vocabulary, served by the real binary on an ephemeral loopback port; its answers compared with
// Pipeline::predict, `textune predict` and the C++ example program; shutdown on SIGTERM and SIGINT.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <future>

#include "attack_support.h"
#include "classifier_model.h"
#include "serve_process.h"
#include "serve_support.h"
#include "textune/core/json.h"
#include "textune/pipeline.h"

using textune::core::Json;
using namespace textune::testing;

namespace {

/// The small classifier of classifier_model.h, made once for the suite.
class ServeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    model_ = *tmp_ / "classifier";
    const std::string error = make_small_classifier(tmp_->path(), model_);
    ASSERT_EQ(error, "");
  }
  static void TearDownTestSuite() { delete tmp_; }
  std::string log(const std::string& name) const { return *tmp_ / name; }
  static TempDir* tmp_;
  static std::string model_;
};
TempDir* ServeCli::tmp_ = nullptr;
std::string ServeCli::model_;

const std::vector<std::string> kTexts = {
    "it 's a charming and often affecting journey . ",
    "unflinchingly bleak and desperate ",
    "the acting , costumes , music , cinematography and sound are all astounding given the production 's "
    "austere locales .",
};

/// Every label's score in an answer of /predict, by label.
std::map<std::string, double> scores_of(const Json& answer) {
  std::map<std::string, double> m;
  for (const auto& p : answer) m[p["label"]] = p["score"].get<double>();
  return m;
}

/// Compares a /predict answer with a Prediction: the same scores (float32 rounding across different
/// batch paddings: 1e-6), highest first.
void expect_same(const Json& answer, const textune::Prediction& p, const std::string& what) {
  ASSERT_EQ(answer.size(), p.scores.size()) << what;
  auto got = scores_of(answer);
  for (const auto& [label, score] : p.scores) EXPECT_NEAR(got[label], score, 1e-6) << what << " " << label;
  for (size_t i = 1; i < answer.size(); ++i) EXPECT_GE(answer[i - 1]["score"], answer[i]["score"]) << what;
  EXPECT_EQ(answer[0]["label"], p.label) << what;
}

}  // namespace

TEST_F(ServeCli, AnswersAgreeWithPipelinePredictCommandAndExample) {
  ServeProcess server({"--model", model_, "--max-wait-ms", "20"}, log("serve.log"));
  ASSERT_TRUE(server.listening()) << server.log();
  EXPECT_NE(server.log().find("listening on http://127.0.0.1:" + std::to_string(server.port())), std::string::npos);
  auto cli = server.client();
  auto pipeline = textune::Pipeline::load(model_);

  EXPECT_EQ(cli.Get("/health")->status, 200);
  const Json info = Json::parse(cli.Get("/info")->body);
  EXPECT_EQ(info["model_id"], model_);
  EXPECT_EQ(info["max_input_length"], 64);  // max_position_embeddings of the init'd model
  EXPECT_EQ(info["labels"], Json({"negative", "neutral", "positive"}));
  EXPECT_EQ(info["model_type"]["classifier"]["id2label"]["1"], "neutral");
  EXPECT_EQ(info["model_dtype"], "float32");
  EXPECT_EQ(info["version"], TEXTUNE_VERSION);

  // Single texts, a batch, and a pair, against Pipeline::predict.
  const auto direct = pipeline->predict(kTexts);
  for (size_t i = 0; i < kTexts.size(); ++i) {
    auto r = cli.Post("/predict", Json{{"inputs", kTexts[i]}}.dump(), "application/json");
    ASSERT_EQ(r->status, 200) << r->body;
    expect_same(Json::parse(r->body), direct[i], kTexts[i]);
  }
  Json batch = Json::array();
  for (const auto& t : kTexts) batch.push_back(Json::array({t}));
  auto r = cli.Post("/predict", Json{{"inputs", batch}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json answers = Json::parse(r->body);
  ASSERT_EQ(answers.size(), kTexts.size());
  for (size_t i = 0; i < kTexts.size(); ++i) expect_same(answers[i], direct[i], "batch " + kTexts[i]);
  const auto pair = pipeline->predict(std::vector<std::pair<std::string, std::string>>{{kTexts[0], kTexts[1]}});
  r = cli.Post("/predict", Json{{"inputs", Json::array({kTexts[0], kTexts[1]})}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  expect_same(Json::parse(r->body), pair[0], "pair");
  // raw_scores: the logits.
  r = cli.Post("/predict", Json{{"inputs", kTexts[0]}, {"raw_scores", true}}.dump(), "application/json");
  auto raw = scores_of(Json::parse(r->body));
  for (size_t c = 0; c < 3; ++c) EXPECT_NEAR(raw[pipeline->labels()[c]], direct[0].logits[c], 1e-5);

  // `textune predict` on the same texts: JSON lines with a label -> probability map.
  std::string args = "predict --model " + shell_quote(model_);
  for (const auto& t : kTexts) args += " " + shell_quote(t);
  auto predicted = run_cli(args);
  ASSERT_EQ(predicted.exit_code, 0) << predicted.err;
  std::istringstream lines(predicted.out);
  std::string line;
  for (size_t i = 0; i < kTexts.size(); ++i) {
    ASSERT_TRUE(std::getline(lines, line)) << predicted.out;
    const Json row = Json::parse(line);
    EXPECT_EQ(row["text"], kTexts[i]);
    EXPECT_EQ(row["label"], answers[i][0]["label"]);
    auto served = scores_of(answers[i]);
    for (const auto& [label, score] : row["scores"].items())
      EXPECT_NEAR(served[label], score.get<double>(), 1e-6) << kTexts[i] << " " << label;
  }

  // The README's example program, built against the public headers only.
  std::string example = std::string(TEXTUNE_BINARY_DIR) + "/example_classify " + shell_quote(model_);
  for (const auto& t : kTexts) example += " " + shell_quote(t);
  TempDir out;
  ASSERT_EQ(std::system((example + " > " + (out / "stdout")).c_str()), 0);
  std::istringstream printed(read_text(out / "stdout"));
  for (size_t i = 0; i < kTexts.size(); ++i) {
    std::string label, score, text;
    ASSERT_TRUE(std::getline(printed, label, '\t') && std::getline(printed, score, '\t') &&
                std::getline(printed, text));
    EXPECT_EQ(label, direct[i].label);
    EXPECT_NEAR(std::stod(score), direct[i].score, 1e-6);
    EXPECT_EQ(text, kTexts[i]);
  }
  // A model directory that does not exist: one line naming it, exit code 1 (a data error), no abort.
  const std::string missing = out / "no-such-model";
  const int status = std::system((std::string(TEXTUNE_BINARY_DIR) + "/example_classify " + shell_quote(missing) +
                                  " hello 2> " + shell_quote(out / "stderr"))
                                     .c_str());
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  const std::string err = read_text(out / "stderr");
  EXPECT_NE(err.find(missing), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;

  // /tokenize with the bert-base-uncased vocabulary: Hugging Face's ids for "Hello world!"
  // (fixtures/tokenizers/bert-base-uncased/golden_single.jsonl, first row).
  r = cli.Post("/tokenize", R"({"inputs": "Hello world!"})", "application/json");
  ASSERT_EQ(r->status, 200);
  std::vector<int64_t> ids;
  const Json tokens = Json::parse(r->body);
  for (const auto& t : tokens[0]) ids.push_back(t["id"]);
  EXPECT_EQ(ids, (std::vector<int64_t>{101, 7592, 2088, 999, 102}));

  // Over 64 tokens: refused unless truncated, and then equal to the pipeline's own truncation.
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += "word ";
  r = cli.Post("/predict", Json{{"inputs", long_text}}.dump(), "application/json");
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(Json::parse(r->body)["error"], "Input validation error: `inputs` must have less than 64 tokens. Given: 82");
  r = cli.Post("/predict", Json{{"inputs", long_text}, {"truncate", true}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200);
  expect_same(Json::parse(r->body), pipeline->predict(std::vector<std::string>{long_text})[0], "truncated");

  // Three texts, a pair, raw scores, the refused and the truncated long text; one batch.
  auto metrics = cli.Get("/metrics")->body;
  EXPECT_NE(metrics.find("te_request_count{method=\"single\"} 7"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("te_request_count{method=\"batch\"} 1"), std::string::npos);

  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.log();
  EXPECT_NE(server.log().find("serve: stopped"), std::string::npos);
}

TEST_F(ServeCli, MalformedAndSlowRequestsLeaveTheRealServerAnswering) {
  // The suite of serve_support.h against the binary, the real tokenizer and model.
  ServeProcess server(
      {"--model", model_, "--max-client-batch-size", "4", "--max-request-bytes", "1048576", "--read-timeout", "1"},
      log("malformed.log"));
  ASSERT_TRUE(server.listening()) << server.log();
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += "word ";  // 82 tokens with [CLS] and [SEP]; the model takes 64
  expect_statuses(server.port(), malformed_requests(long_text));

  // A client that sends half a request and stalls: others are served meanwhile, and the server hangs
  // up on it after the read timeout (1 s).
  RawConnection slow(server.port());
  slow.send("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inputs\": \"hal");
  auto cli = server.client();
  auto r = cli.Post("/predict", Json{{"inputs", kTexts[0]}}.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  const std::string hung_up = slow.receive(std::chrono::milliseconds(8000));  // returns when the server hangs up
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_TRUE(status_of(hung_up) == -1 || status_of(hung_up) == 400 || status_of(hung_up) == 408) << hung_up;

  // Still serving, with the model's answer.
  expect_same(Json::parse(r->body), textune::Pipeline::load(model_)->predict(std::vector<std::string>{kTexts[0]})[0],
              "after the malformed suite");
  r = cli.Post("/predict", Json{{"inputs", Json::array({Json::array({kTexts[1]}), Json::array({kTexts[2]})})}}.dump(),
               "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(Json::parse(r->body).size(), 2u);
  EXPECT_EQ(cli.Get("/health")->status, 200);
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.log();
}

TEST_F(ServeCli, SigtermFinishesQueuedRequestsAndExitsZero) {
  // Sequences wait up to a minute for companions: only the shutdown can send them through in time.
  ServeProcess server({"--model", model_, "--max-wait-ms", "60000", "--max-batch-requests", "64"}, log("term.log"));
  ASSERT_TRUE(server.listening()) << server.log();
  const int port = server.port();
  std::vector<std::future<int>> answers;
  for (size_t i = 0; i < 5; ++i)
    answers.push_back(std::async(std::launch::async, [port, i] {
      httplib::Client c("127.0.0.1", port);
      c.set_read_timeout(60, 0);
      auto r = c.Post("/predict", Json{{"inputs", kTexts[i % kTexts.size()]}}.dump(), "application/json");
      return r ? r->status : -1;
    }));
  auto cli = server.client();
  for (int i = 0; i < 1000; ++i) {
    auto m = cli.Get("/metrics");
    if (m && m->body.find("\nte_queue_size 5\n") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const auto t0 = std::chrono::steady_clock::now();
  server.signal(SIGTERM);
  for (auto& a : answers) EXPECT_EQ(a.get(), 200);
  EXPECT_EQ(server.wait(), 0) << server.log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(20));
  EXPECT_FALSE(RawConnection(port).connected());
  EXPECT_NE(server.log().find("received SIGTERM"), std::string::npos);
}

TEST_F(ServeCli, SigintAndAWarningWhenNotOnLoopback) {
  ServeProcess server({"--model", model_, "--host", "0.0.0.0"}, log("int.log"));
  ASSERT_TRUE(server.listening()) << server.log();
  EXPECT_NE(server.log().find("reachable from other machines"), std::string::npos) << server.log();
  EXPECT_EQ(server.client().Get("/health")->status, 200);
  server.signal(SIGINT);
  EXPECT_EQ(server.wait(), 0) << server.log();
}

TEST_F(ServeCli, BadModelBusyPortAndBadOptionsExitWithOneLineErrors) {
  auto r = run_cli("serve --model /nonexistent/model --port 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(r.err.rfind("error: ", 0), 0u) << r.err;

  ServeProcess first({"--model", model_}, log("first.log"));
  ASSERT_TRUE(first.listening()) << first.log();
  ServeProcess second({"--model", model_, "--port", std::to_string(first.port())}, log("second.log"));
  EXPECT_FALSE(second.listening());
  EXPECT_EQ(second.wait(), 1) << second.log();
  EXPECT_NE(second.log().find("cannot listen on 127.0.0.1:" + std::to_string(first.port())), std::string::npos)
      << second.log();
  first.signal(SIGTERM);
  EXPECT_EQ(first.wait(), 0);

  r = run_cli("serve --model " + model_ + " --max-batch-tokens 10");  // below the model's 64
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--max-batch-tokens"), std::string::npos) << r.err;
}

TEST_F(ServeCli, AbandonedRequestDoesNotDelaySigterm) {
  // Issue 11: an abandoned 500 KB /tokenize went on for 48 s, and SIGTERM waited for it. Here 1.5 MB
  // (32 texts of 7,000 words) is sent, the client hangs up, and SIGTERM follows at once.
  ServeProcess server({"--model", model_, "--max-client-batch-size", "32"}, log("abandoned.log"));
  ASSERT_TRUE(server.listening()) << server.log();
  std::string text;
  for (int w = 0; w < 7000; ++w) text += "word" + std::to_string(w % 97) + " ";
  Json inputs = Json::array();
  for (int i = 0; i < 32; ++i) inputs.push_back(text);
  {
    RawConnection c(server.port());
    ASSERT_TRUE(c.send(post_request("/tokenize", Json{{"inputs", inputs}}.dump())));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the server is at work on it
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t0 = std::chrono::steady_clock::now();
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(std::chrono::seconds(20)), 0) << server.log();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(s, 3.0);
  std::printf("[ measure ] SIGTERM after an abandoned 1.5 MB /tokenize: exit in %.2f s\n", s);
}

TEST_F(ServeCli, AttackSuiteAgainstTheRealBinary) {
  ServeProcess server({"--model", model_, "--max-client-batch-size", "32", "--max-connections", "16",
                       "--request-head-timeout", "2", "--request-timeout", "3", "--read-timeout", "1"},
                      log("attack.log"));
  ASSERT_TRUE(server.listening()) << server.log();
  AttackPlan plan;
  plan.slow_heads = 300;
  const AttackReport r = run_attack_suite(server.port(), plan);
  std::printf(
      "[ measure ] attack on textune serve: %zu /health probes, %zu ok, slowest %.0f ms; %zu/%zu slow heads "
      "got 408; many keys answered within %.0f ms\n",
      r.health_probes, r.health_ok, r.health_max_ms, r.slow_heads_408, plan.slow_heads, r.many_keys_max_ms);
  EXPECT_GT(r.health_probes, 20u);
  EXPECT_EQ(r.health_ok, r.health_probes);
  EXPECT_LT(r.health_max_ms, 2000);
  EXPECT_EQ(r.slow_heads_408, plan.slow_heads);
  EXPECT_EQ(r.many_keys_status, std::vector<int>(plan.many_keys, 400));
  EXPECT_EQ(r.huge_length_status, std::vector<int>(plan.huge_lengths, 413));
  EXPECT_LT(r.huge_length_max_ms, 1000);
  EXPECT_EQ(r.deep_status, (std::vector<int>{400, 400}));
  EXPECT_EQ(r.big_head_status, 431);
  auto cli = server.client();
  auto p = cli.Post("/predict", Json{{"inputs", kTexts[0]}}.dump(), "application/json");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 200);
  const auto t0 = std::chrono::steady_clock::now();
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait(), 0) << server.log();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
}
