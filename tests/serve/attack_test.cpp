// Hardening of the HTTP service against hostile clients (issue 11), in process: /tokenize in linear
// time, abandoned requests cancelled (and not waited for at shutdown), deadlines for the request head
// and the whole request, 413 at once for an announced oversized body, bodies with many keys, and the
// attack suite of attack_support.h with /health probed throughout.
#include <future>
#include <random>

#include "attack_support.h"
#include "serve/api.h"
#include "serve_support.h"
#include "textune/core/json.h"

using textune::core::Json;
using textune::serve::ServerOptions;
using namespace textune::testing;
using Clock = std::chrono::steady_clock;

namespace {

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// The code points of UTF-8 `text`, each as its bytes (decoded by the lead byte, independently of
/// the server's cursor).
std::vector<std::string> code_points(const std::string& text) {
  std::vector<std::string> cps;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
    cps.push_back(text.substr(i, n));
    i += n;
  }
  return cps;
}

std::string join(const std::vector<std::string>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t k = begin; k < end && k < cps.size(); ++k) out += cps[k];
  return out;
}

/// FakeTokenizer that takes `delay` per text and counts its calls.
class SlowTokenizer : public FakeTokenizer {
 public:
  explicit SlowTokenizer(std::chrono::milliseconds delay) : delay_(delay) {}
  textune::tokenizers::Encoding encode(const std::string& text, const std::optional<std::string>& pair,
                                       const textune::tokenizers::EncodeOptions& options) const override {
    ++calls;
    std::this_thread::sleep_for(delay_);
    return FakeTokenizer::encode(text, pair, options);
  }
  mutable std::atomic<int> calls{0};

 private:
  std::chrono::milliseconds delay_;
};

ServerOptions attack_options() {
  ServerOptions o;
  o.max_client_batch_size = 32;
  o.max_batch_tokens = 64;
  o.max_request_bytes = 2000000;
  o.read_timeout_s = 1;
  o.request_head_timeout_s = 2;
  o.request_timeout_s = 3;
  o.keep_alive_timeout_s = 1;
  o.max_connections = 16;  // far fewer threads than attacking connections
  return o;
}

}  // namespace

TEST(ServeHardening, Utf8CursorMatchesCodePointSlicesInAnyOrder) {
  const std::string text = "h\xc3\xa9llo \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x98\x80 caf\xc3\xa9!";
  const auto cps = code_points(text);
  std::mt19937 rng(7);
  textune::serve::Utf8Cursor cursor(text);
  for (int i = 0; i < 2000; ++i) {  // random order: forward and backward moves
    size_t a = rng() % (cps.size() + 3), b = rng() % (cps.size() + 3);
    if (a > b) std::swap(a, b);
    ASSERT_EQ(cursor.slice(a, b), join(cps, a, b)) << a << " " << b;
    ASSERT_EQ(textune::serve::utf8_slice(text, a, b), join(cps, a, b));
  }
}

TEST(ServeHardening, TokenizeOf100kWordsIsLinear) {
  // Issue 11: 100k words (500 KB) took 48 s, utf8_slice scanning from byte 0 for every token.
  auto tokenizer = textune::tokenizers::Tokenizer::from_dir(tokenizer_fixture("bert-base-uncased"));
  ServerOptions o;
  RunningServer server(std::make_shared<FakePipeline>(512), o, tokenizer);
  const std::vector<std::string> vocabulary = {"caf\xc3\xa9", "\xe4\xb8\x96\xe7\x95\x8c", "film", "great", "a", "x9z"};
  std::string text;
  for (size_t i = 0; i < 100000; ++i) text += vocabulary[(i * 7 + i / 3) % vocabulary.size()] + " ";
  auto cli = server.client();
  const auto t0 = Clock::now();
  auto r = cli.Post("/tokenize", Json{{"inputs", text}, {"add_special_tokens", false}}.dump(), "application/json");
  const double ms = ms_since(t0);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  EXPECT_LT(ms, 5000) << "100k words took " << ms << " ms";
  std::printf("[ measure ] /tokenize of 100k words (%zu bytes): %.0f ms\n", text.size(), ms);
  // Every token's text is its slice of the input by code-point offsets.
  const Json answer = Json::parse(r->body);
  ASSERT_EQ(answer.size(), 1u);
  const auto cps = code_points(text);
  ASSERT_GE(answer[0].size(), 100000u);
  for (const Json& t : answer[0])
    ASSERT_EQ(t["text"].get<std::string>(), join(cps, t["start"].get<size_t>(), t["stop"].get<size_t>())) << t.dump();
}

TEST(ServeHardening, AbandonedTokenizeStopsAndShutdownDoesNotWaitForIt) {
  auto tokenizer = std::make_shared<SlowTokenizer>(std::chrono::milliseconds(100));
  auto server = std::make_unique<RunningServer>(std::make_shared<FakePipeline>(16), attack_options(), tokenizer);
  Json inputs = Json::array();
  for (int i = 0; i < 32; ++i) inputs.push_back("text " + std::to_string(i));  // 3.2 s of tokenizing
  {
    RawConnection c(server->port());
    c.send(post_request("/tokenize", Json{{"inputs", inputs}}.dump()));
    while (tokenizer->calls < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }  // the client hangs up
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const int after_hang_up = tokenizer->calls;
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(tokenizer->calls, after_hang_up) << "still tokenizing for a client that left";
  EXPECT_LE(after_hang_up, 5);

  // Again, then shut down at once: the server does not wait for the abandoned work.
  {
    RawConnection c(server->port());
    c.send(post_request("/tokenize", Json{{"inputs", inputs}}.dump()));
    const int before = tokenizer->calls;
    while (tokenizer->calls < before + 1) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const auto t0 = Clock::now();
  server.reset();
  EXPECT_LT(ms_since(t0), 1000);
}

TEST(ServeHardening, AbandonedPredictLeavesTheQueueUnpredicted) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  RunningServer server(pipeline, attack_options());
  pipeline->close_gate();
  auto held = std::async(std::launch::async, [&server] {
    auto r = server.client().Post("/predict", R"({"inputs": "held in the model"})", "application/json");
    return r ? r->status : -1;
  });
  while (pipeline->waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto cli = server.client();
  auto queue_size = [&] {
    const std::string m = cli.Get("/metrics")->body;
    const auto p = m.find("\nte_queue_size ");
    return p == std::string::npos ? -1 : std::stoi(m.substr(p + 15));
  };
  {
    RawConnection gone(server.port());
    gone.send(post_request("/predict", R"({"inputs": [["left 1"], ["left 2"], ["left 3"]]})"));
    for (int i = 0; i < 500 && queue_size() != 3; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_EQ(queue_size(), 3);
  }  // hangs up while its three sequences are queued
  for (int i = 0; i < 500 && queue_size() != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(queue_size(), 0);
  pipeline->open_gate();
  EXPECT_EQ(held.get(), 200);
  EXPECT_EQ(cli.Post("/predict", R"({"inputs": "next"})", "application/json")->status, 200);
  EXPECT_EQ(pipeline->calls(), (std::vector<size_t>{1, 1}));  // the abandoned three never reached the model
}

TEST(ServeHardening, HeadDeadlineEndsTricklingClients) {
  RunningServer server(std::make_shared<FakePipeline>(16), attack_options());  // head 2 s, stall 1 s
  RawConnection slow(server.port());
  const auto t0 = Clock::now();
  std::string got;
  // One header byte every 200 ms: never a stall of the read timeout, but the head never ends.
  const std::string head = "GET /health HTTP/1.1\r\nHost: x\r\nX-Trickle: " + std::string(100, 't');
  for (size_t i = 0; i < head.size() && got.empty() && ms_since(t0) < 6000; ++i) {
    slow.send(std::string(1, head[i]));
    got = slow.receive(std::chrono::milliseconds(200));
  }
  const double ms = ms_since(t0);
  EXPECT_EQ(status_of(got), 408) << got;
  EXPECT_GT(ms, 1800);
  EXPECT_LT(ms, 3500);
  Json body = Json::parse(body_of(got));
  EXPECT_NE(body["error"].get<std::string>().find("2 s"), std::string::npos) << body;
}

TEST(ServeHardening, BodyDeadlineEndsTricklingBodies) {
  RunningServer server(std::make_shared<FakePipeline>(16), attack_options());  // whole request 3 s
  RawConnection slow(server.port());
  const auto t0 = Clock::now();
  slow.send("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n");
  std::string got;
  while (got.empty() && ms_since(t0) < 8000) {
    slow.send("x");
    got = slow.receive(std::chrono::milliseconds(300));
  }
  const double ms = ms_since(t0);
  EXPECT_EQ(status_of(got), 408) << got;
  EXPECT_GT(ms, 2800);
  EXPECT_LT(ms, 4500);
}

TEST(ServeHardening, AnnouncedOversizedBodyGets413AtOnce) {
  ServerOptions o;
  o.max_request_bytes = 1000;
  o.read_timeout_s = 5;  // httplib discarded the announced bytes first: 413 only after this
  RunningServer server(std::make_shared<FakePipeline>(16), o);
  for (const std::string length : {"1001", "5000000000", "99999999999999999999999"}) {
    RawConnection c(server.port());
    const auto t0 = Clock::now();
    c.send("POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + length +
           "\r\n\r\n{\"inputs\": ");
    const std::string got = c.receive(std::chrono::milliseconds(8000));
    EXPECT_EQ(status_of(got), 413) << length << "\n" << got;
    EXPECT_LT(ms_since(t0), 1000) << length;
    EXPECT_NE(got.find("Connection: close"), std::string::npos);
    EXPECT_NE(body_of(got).find("exceeds the limit of 1000 bytes"), std::string::npos) << got;
  }
  // At the limit: read and answered as usual.
  std::string body = R"({"inputs": ")" + std::string(1000 - 14, 'b') + "\"}";
  ASSERT_EQ(body.size(), 1000u);
  EXPECT_EQ(server.client().Post("/predict", body, "application/json")->status, 200);
}

TEST(ServeHardening, BodiesWithManyKeysAreRefusedInLinearTime) {
  // Issue 11: a 1.9 MB /predict body with 170k keys held both cores for 146 s.
  RunningServer server(std::make_shared<FakePipeline>(16), attack_options());
  auto cli = server.client();
  const std::string body = many_keys_body();
  ASSERT_GT(body.size(), 1800000u);
  ASSERT_LT(body.size(), 2000000u);
  const auto t0 = Clock::now();
  auto r = cli.Post("/predict", body, "application/json");
  const double ms = ms_since(t0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_NE(r->body.find("more than 1024 keys"), std::string::npos) << r->body;
  EXPECT_LT(ms, 2000);
  std::printf("[ measure ] /predict with 170,000 keys (%zu bytes): %.0f ms\n", body.size(), ms);
  // 1,000 keys are read as usual (the unknown ones ignored, as TEI does).
  r = cli.Post("/predict", many_keys_body(1000), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // Deep nesting: 400, in objects as in arrays.
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "{\"a\":";
  EXPECT_EQ(cli.Post("/predict", deep, "application/json")->status, 400);
}

TEST(ServeHardening, AttackSuiteLeavesHealthAnswering) {
  auto pipeline = std::make_shared<FakePipeline>(16);
  RunningServer server(pipeline, attack_options());
  AttackPlan plan;
  const AttackReport r = run_attack_suite(server.port(), plan);
  std::printf("[ measure ] attack: %zu /health probes, %zu ok, slowest %.0f ms; %zu/%zu slow heads got 408\n",
              r.health_probes, r.health_ok, r.health_max_ms, r.slow_heads_408, plan.slow_heads);
  EXPECT_GT(r.health_probes, 20u);
  EXPECT_EQ(r.health_ok, r.health_probes);
  EXPECT_LT(r.health_max_ms, 2000);
  EXPECT_EQ(r.slow_heads_408, plan.slow_heads);
  EXPECT_EQ(r.slow_heads_open, 0u);
  EXPECT_EQ(r.many_keys_status, std::vector<int>(plan.many_keys, 400));
  EXPECT_EQ(r.huge_length_status, std::vector<int>(plan.huge_lengths, 413));
  EXPECT_LT(r.huge_length_max_ms, 1000);
  EXPECT_EQ(r.deep_status, (std::vector<int>{400, 400}));
  EXPECT_EQ(r.big_head_status, 431);
  // Still serving, and it stops promptly.
  EXPECT_EQ(server.client().Post("/predict", R"({"inputs": "after"})", "application/json")->status, 200);
  const auto t0 = Clock::now();
  server.stop();
  EXPECT_LT(ms_since(t0), 3000);
}

TEST(ServeHardening, RequestJsonLimitsAreCoresParserLimits) {
  using textune::serve::HttpError;
  using textune::serve::parse_request_json;
  auto status_and_message = [](const std::string& body) -> std::pair<int, std::string> {
    try {
      parse_request_json(body);
      return {0, ""};
    } catch (const HttpError& e) {
      return {e.status(), e.what()};
    }
  };
  auto object_of = [](size_t keys) {
    std::string s = "{";
    for (size_t i = 0; i < keys; ++i) s += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":0";
    return s + "}";
  };
  EXPECT_EQ(status_and_message(object_of(1024)).first, 0);  // the default cap: 1024 keys per object
  auto [status, message] = status_and_message(object_of(1025));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("more than 1024 keys"), std::string::npos) << message;
  EXPECT_EQ(status_and_message("{\"inputs\": \"a\", \"x\": " + object_of(5000) + "}").first, 400);  // nested
  // Depth: 64 levels accepted, 65 refused, in arrays and objects.
  EXPECT_EQ(status_and_message(std::string(64, '[') + std::string(64, ']')).first, 0);
  std::tie(status, message) = status_and_message(std::string(65, '[') + std::string(65, ']'));
  EXPECT_EQ(status, 400);
  EXPECT_NE(message.find("64 levels"), std::string::npos) << message;
  EXPECT_EQ(status_and_message(R"({"inputs": 1e999})").first, 400);  // out of the double range
}
