// Helpers of the serve tests: a fake Pipeline and Tokenizer whose outputs are computed by hand-written
// formulas (so a test can compute the expected answer independently), an in-process server on an
// ephemeral loopback port, and raw-socket HTTP for requests no well-behaved client would send.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/pipeline.h"
#include "textune/serve/server.h"
#include "textune/tasks/task.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::testing {

/// Splits on ASCII spaces; offsets in code points of `text`.
inline std::vector<std::pair<std::string, std::pair<size_t, size_t>>> split_words(const std::string& text) {
  std::vector<std::pair<std::string, std::pair<size_t, size_t>>> words;
  size_t cp = 0, start_cp = 0;
  std::string word;
  for (size_t b = 0; b <= text.size(); ++b) {
    const bool end = b == text.size();
    if (!end && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) {  // continuation byte
      word += text[b];
      continue;
    }
    if (end || text[b] == ' ') {
      if (!word.empty()) words.push_back({word, {start_cp, cp}});
      word.clear();
      start_cp = cp + 1;
    } else {
      if (word.empty()) start_cp = cp;
      word += text[b];
    }
    ++cp;
  }
  return words;
}

/// A BERT-shaped whitespace tokenizer: [CLS] words [SEP] (pair: [CLS] a [SEP] b [SEP]); the id of a
/// word is 1000 + its length in bytes; [CLS] 101, [SEP] 102.
class FakeTokenizer : public tokenizers::Tokenizer {
 public:
  tokenizers::Encoding encode(const std::string& text, const std::optional<std::string>& pair,
                              const tokenizers::EncodeOptions& options) const override {
    if (text.find('\x01') != std::string::npos) throw DataError("fake tokenizer refuses U+0001");
    tokenizers::Encoding e;
    auto special = [&](const char* tok, int64_t id) {
      if (!options.add_special_tokens) return;
      e.ids.push_back(id);
      e.tokens.push_back(tok);
      e.offsets.push_back({0, 0});
      e.special_tokens_mask.push_back(1);
      e.type_ids.push_back(0);
    };
    auto words = [&](const std::string& s) {
      for (auto& [w, off] : split_words(s)) {
        e.ids.push_back(1000 + static_cast<int64_t>(w.size()));
        e.tokens.push_back(w);
        e.offsets.push_back(off);
        e.special_tokens_mask.push_back(0);
        e.type_ids.push_back(0);
      }
    };
    special("[CLS]", 101);
    words(text);
    special("[SEP]", 102);
    if (pair) {
      words(*pair);
      special("[SEP]", 102);
    }
    e.attention_mask.assign(e.ids.size(), 1);
    return e;
  }
  std::vector<tokenizers::Encoding> encode_batch(const std::vector<std::string>& texts,
                                                 const std::vector<std::string>* pairs,
                                                 const tokenizers::EncodeOptions& options) const override {
    std::vector<tokenizers::Encoding> out;
    for (size_t i = 0; i < texts.size(); ++i)
      out.push_back(encode(texts[i], pairs ? std::optional<std::string>((*pairs)[i]) : std::nullopt, options));
    return out;
  }
  void pad(std::vector<tokenizers::Encoding>&, const tokenizers::PaddingOptions&) const override {}
  std::string decode(const std::vector<int64_t>&, bool) const override { return ""; }
  std::optional<int64_t> token_to_id(const std::string&) const override { return std::nullopt; }
  std::optional<std::string> id_to_token(int64_t) const override { return std::nullopt; }
  size_t vocab_size() const override { return 2000; }
  std::optional<int64_t> pad_token_id() const override { return 0; }
  std::optional<size_t> model_max_length() const override { return std::nullopt; }
  size_t num_special_tokens_to_add(bool pair) const override { return pair ? 3 : 2; }
};

/// Logits of the fake classifier for one input (a pair is joined as "a || b"):
/// negative = number of 'a' minus 1.5, neutral = 0.25 per word, positive = 0.7 * (bytes mod 5) - 1.
inline std::vector<float> fake_logits(const std::string& input) {
  float a = 0;
  for (char c : input) a += c == 'a';
  return {a - 1.5f, 0.25f * static_cast<float>(split_words(input).size()),
          0.7f * static_cast<float>(input.size() % 5) - 1.0f};
}

/// A sequence classifier over the three labels negative/neutral/positive with fake_logits and
/// softmax probabilities. Records the size of every predict() and predict_records() call (a
/// predict_records call of single texts or of pairs counts as one predict call); can hold calls at a
/// gate. Its records and answers have text classification's shapes (tasks/text_classification).
class FakePipeline : public Pipeline {
 public:
  explicit FakePipeline(size_t max_length = 16) : max_length_(max_length) {}

  std::string task() const override { return "text-classification"; }
  /// Strings are single texts, {"text", "text_pair"} objects pairs: one predict() call for each kind.
  std::vector<core::Json> predict_records(const std::vector<core::Json>& inputs) const override {
    std::vector<std::string> texts;
    std::vector<std::pair<std::string, std::string>> pairs;
    std::vector<size_t> text_at, pair_at;
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].is_string()) {
        texts.push_back(inputs[i].get<std::string>());
        text_at.push_back(i);
      } else {
        pairs.emplace_back(inputs[i].at("text").get<std::string>(), inputs[i].at("text_pair").get<std::string>());
        pair_at.push_back(i);
      }
    }
    std::vector<core::Json> out(inputs.size());
    if (!texts.empty()) {
      const auto p = predict(texts);
      for (size_t k = 0; k < p.size(); ++k) out[text_at[k]] = record(p[k]);
    }
    if (!pairs.empty()) {
      const auto p = predict(pairs);
      for (size_t k = 0; k < p.size(); ++k) out[pair_at[k]] = record(p[k]);
    }
    return out;
  }
  /// TEI's answer: every label with its score (or logit), highest first; ResponseError as the task's.
  core::Json response(const core::Json& record, bool raw_scores) const override {
    std::vector<std::pair<std::string, double>> scored;
    if (raw_scores) {
      const auto& logits = record.at("logits");
      if (logits.size() != labels_.size())
        throw tasks::ResponseError("the model returned " + std::to_string(logits.size()) + " logits for " +
                                   std::to_string(labels_.size()) + " labels");
      for (size_t i = 0; i < labels_.size(); ++i) scored.emplace_back(labels_[i], logits[i].get<double>());
    } else {
      for (const auto& item : record.at("scores").items()) scored.emplace_back(item.key(), item.value().get<double>());
      if (scored.empty()) throw tasks::ResponseError("the model returned no scores");
    }
    for (const auto& s : scored)
      if (std::isnan(s.second)) throw tasks::ResponseError("score is NaN");
    std::stable_sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
    core::Json out = core::Json::array();
    for (const auto& [label, score] : scored) out.push_back(core::Json{{"label", label}, {"score", score}});
    return out;
  }
  /// Text classification's fields: labels, problem_type, id2label, label2id.
  core::Json info() const override {
    core::Json id2label = core::Json::object(), label2id = core::Json::object();
    for (size_t i = 0; i < labels_.size(); ++i) {
      id2label[std::to_string(i)] = labels_[i];
      label2id[labels_[i]] = i;
    }
    return core::Json{
        {"labels", labels_}, {"problem_type", problem_type()}, {"id2label", id2label}, {"label2id", label2id}};
  }
  /// The record of text classification's predictor for `p`.
  static core::Json record(const Prediction& p) {
    core::Json scores = core::Json::object();
    for (const auto& s : p.scores) scores[s.first] = s.second;
    return core::Json{
        {"label", p.label}, {"score", p.score}, {"scores", scores}, {"logits", p.logits}, {"truncated", p.truncated}};
  }

  std::vector<Prediction> predict(const std::vector<std::string>& texts) const override {
    enter(texts.size());
    std::vector<Prediction> out;
    for (const auto& t : texts) {
      if (t == "boom") throw DataError("the fake model refuses 'boom'");
      out.push_back(make(fake_logits(t)));
    }
    return out;
  }
  std::vector<Prediction> predict(const std::vector<std::pair<std::string, std::string>>& pairs) const override {
    enter(pairs.size());
    std::vector<Prediction> out;
    for (const auto& [a, b] : pairs) out.push_back(make(fake_logits(a + " || " + b)));
    return out;
  }
  const std::vector<std::string>& labels() const override { return labels_; }
  size_t max_length() const override { return max_length_; }
  std::string problem_type() const override { return "single_label_classification"; }

  /// Sizes of the predict() calls so far.
  std::vector<size_t> calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  /// While closed, predict() blocks (after counting itself in `waiting()`).
  void close_gate() {
    std::lock_guard<std::mutex> lock(mu_);
    gate_open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      gate_open_ = true;
    }
    cv_.notify_all();
  }
  /// predict() calls blocked at the gate.
  size_t waiting() const {
    std::lock_guard<std::mutex> lock(mu_);
    return waiting_;
  }
  /// Extra time every predict() call takes.
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }

  /// The Prediction the fake computes for `logits`: softmax scores in id order, argmax label.
  Prediction make(const std::vector<float>& logits) const {
    Prediction p;
    p.logits = logits;
    double m = *std::max_element(logits.begin(), logits.end()), z = 0;
    for (float l : logits) z += std::exp(l - m);
    size_t best = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
      p.scores.emplace_back(labels_[i], std::exp(logits[i] - m) / z);
      if (logits[i] > logits[best]) best = i;
    }
    p.label = labels_[best];
    p.score = p.scores[best].second;
    return p;
  }

 private:
  void enter(size_t n) const {
    std::unique_lock<std::mutex> lock(mu_);
    calls_.push_back(n);
    ++waiting_;
    cv_.wait(lock, [&] { return gate_open_; });
    --waiting_;
    lock.unlock();
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_.load()));
  }

  size_t max_length_;
  std::vector<std::string> labels_{"negative", "neutral", "positive"};
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  mutable std::vector<size_t> calls_;
  mutable size_t waiting_ = 0;
  bool gate_open_ = true;
  std::atomic<int64_t> delay_ms_{0};
};

/// A serve::Server on an ephemeral loopback port, listening on its own thread until destroyed.
class RunningServer {
 public:
  RunningServer(std::shared_ptr<const Pipeline> pipeline, serve::ServerOptions options,
                std::shared_ptr<const tokenizers::Tokenizer> tokenizer = std::make_shared<FakeTokenizer>()) {
    options.host = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<serve::Server>(std::move(pipeline), std::move(tokenizer), options);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->listen(); });
  }
  ~RunningServer() { stop(); }
  /// Shuts the server down and waits for listen() to return.
  void stop() {
    if (!thread_.joinable()) return;
    server_->shutdown();
    thread_.join();
  }
  int port() const { return port_; }
  serve::Server& server() { return *server_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    c.set_connection_timeout(5, 0);
    return c;
  }

 private:
  std::unique_ptr<serve::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

/// A TCP connection to 127.0.0.1:port for hand-made requests.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() { close(); }
  bool connected() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  /// Sends all bytes; false when the peer closed.
  bool send(const std::string& bytes) {
    size_t sent = 0;
    while (sent < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  /// Reads until the peer closes or `timeout` passes without data; returns what arrived.
  std::string receive(std::chrono::milliseconds timeout = std::chrono::milliseconds(10000)) {
    std::string out;
    char buf[65536];
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) break;
      ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      // One complete response with Content-Length is enough.
      auto head_end = out.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        auto cl = out.find("Content-Length: ");
        if (cl != std::string::npos && cl < head_end) {
          size_t len = std::stoul(out.substr(cl + 16));
          if (out.size() >= head_end + 4 + len) break;
        }
      }
    }
    return out;
  }

 private:
  int fd_ = -1;
};

/// The status code of a raw HTTP response ("HTTP/1.1 413 ..."), or -1 when there is none.
inline int status_of(const std::string& response) {
  if (response.rfind("HTTP/1.", 0) != 0 || response.size() < 12) return -1;
  return std::stoi(response.substr(9, 3));
}

/// The body of a raw HTTP response.
inline std::string body_of(const std::string& response) {
  auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

/// A POST request with `body` and an exact Content-Length.
inline std::string post_request(const std::string& path, const std::string& body,
                                const std::string& content_type = "application/json") {
  return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

/// One hand-made request and the status it must get.
struct BadRequest {
  const char* what;
  std::string request;  // raw bytes on the wire
  int status;           // expected status
};

/// The malformed-input suite (51 requests): truncated JSON, wrong field types, wrong nesting depth,
/// invalid UTF-8, NUL bytes, 10 MB bodies, an empty batch, a batch above the limit, a text above the
/// model's maximum, unknown routes and methods. Statuses are text-embeddings-inference's
/// (router/src/http/server.rs: 400 for bodies that are not JSON or fail validation, 422 for JSON of
/// the wrong shape, 413 for too-large payloads and batches, 404/405 for routes; RFC 9112 section 6.3: 400
/// for a Content-Length that is not a number; RFC 6585: 431 for a too large head). Some requests keep the connection
/// alive, so that the answer's connection headers are those of a persistent connection. Expects a server with
/// max_client_batch_size 4 and max_request_bytes 1 MiB; `over_long_text` must have more tokens than
/// the model's maximum. 18 of the requests are /predict 422s.
inline std::vector<BadRequest> malformed_requests(const std::string& over_long_text) {
  auto post = [](const std::string& body) { return post_request("/predict", body); };
  using core::Json;
  const std::string ten_mb(10 << 20, 'x');
  std::string chunked_10mb =
      "POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  for (int i = 0; i < 10; ++i) chunked_10mb += "100000\r\n" + std::string(1 << 20, 'y') + "\r\n";
  chunked_10mb += "0\r\n\r\n";

  const std::string keep_alive_2mb =
      "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: 2097152\r\n\r\n" +
      std::string(2 << 20, 'z');
  auto content_length = [](const std::string& value, bool close) {
    return "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " + value +
           (close ? "\r\nConnection: close" : "") + "\r\n\r\n{}";
  };

  const std::vector<BadRequest> cases = {
      {"truncated object", post(R"({"inputs": "abc")"), 400},
      {"truncated array", post(R"({"inputs": ["a", )"), 400},
      {"empty body", post(""), 400},
      {"form body", post_request("/predict", "inputs=hello", "application/x-www-form-urlencoded"), 400},
      {"trailing garbage", post(R"({"inputs": "a"} x)"), 400},
      {"top-level array", post(R"(["a"])"), 422},
      {"top-level string", post(R"("a")"), 422},
      {"no inputs", post("{}"), 422},
      {"misspelled field", post(R"({"input": "a"})"), 422},
      {"inputs number", post(R"({"inputs": 42})"), 422},
      {"inputs null", post(R"({"inputs": null})"), 422},
      {"inputs object", post(R"({"inputs": {"text": "a"}})"), 422},
      {"inputs boolean", post(R"({"inputs": true})"), 422},
      {"empty batch", post(R"({"inputs": []})"), 422},
      {"three texts", post(R"({"inputs": ["a", "b", "c"]})"), 422},
      {"three texts in a batch", post(R"({"inputs": [["a", "b", "c"]]})"), 422},
      {"empty sequence in a batch", post(R"({"inputs": [[]]})"), 422},
      {"depth 3", post(R"({"inputs": [[["a"]]]})"), 422},
      {"batch mixing arrays and strings", post(R"({"inputs": [["a"], "b"]})"), 422},
      {"number in a pair", post(R"({"inputs": ["a", 1]})"), 422},
      {"number in a batch", post(R"({"inputs": [[1]]})"), 422},
      {"truncate string", post(R"({"inputs": "a", "truncate": "yes"})"), 422},
      {"raw_scores number", post(R"({"inputs": "a", "raw_scores": 1})"), 422},
      {"empty text", post(R"({"inputs": ""})"), 400},
      {"empty text in a batch", post(R"({"inputs": [["a"], [""]]})"), 400},
      {"batch above the limit", post(R"({"inputs": [["a"], ["b"], ["c"], ["d"], ["e"]]})"), 413},
      {"text above max length", post(Json{{"inputs", over_long_text}}.dump()), 413},
      {"invalid UTF-8 in a string", post("{\"inputs\": \"caf\xc3\x28\"}"), 400},
      {"invalid UTF-8 outside strings", post("{\"inputs\": \"a\"}\xff"), 400},
      {"lone surrogate escape", post(R"({"inputs": "\ud800"})"), 400},
      {"NUL byte in a string", post(std::string("{\"inputs\": \"a\0b\"}", 17)), 400},
      {"only NUL bytes", post(std::string(64, '\0')), 400},
      {"deeply nested", post(std::string(200000, '[') + std::string(200000, ']')), 400},
      {"10 MB body", post(R"({"inputs": ")" + ten_mb + R"("})"), 413},
      {"10 MB chunked body", chunked_10mb, 413},
      {"unknown POST route", post_request("/embed", R"({"inputs": "a"})"), 404},
      {"unknown GET route", "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404},
      {"GET on /predict", "GET /predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405},
      {"PUT on /predict", "PUT /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", 405},
      {"DELETE on /info", "DELETE /info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405},
      {"POST on /health", post_request("/health", "{}"), 405},
      {"garbage request line", "GARBAGE\r\n\r\n", 400},
      {"URI too long", "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414},
      {"tokenize number", post_request("/tokenize", R"({"inputs": 5})"), 422},
      {"tokenize empty list", post_request("/tokenize", R"({"inputs": []})"), 400},
      {"tokenize truncated", post_request("/tokenize", R"({"inputs": )"), 400},
      {"negative Content-Length", content_length("-5", true), 400},
      {"negative Content-Length, keep-alive", content_length("-5", false), 400},
      {"Content-Length not a number", content_length("2x", true), 400},
      {"2 MB body, keep-alive", keep_alive_2mb, 413},
      // RFC 6585 section 5: request header fields too large (the head is above ServerOptions'
      // max_head_bytes, 64 KiB by default).
      {"200 KB header",
       "GET /info HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(200 << 10, 'h') + "\r\nConnection: close\r\n\r\n", 431},
  };
  return cases;
}

/// Sends each request on its own connection and checks its status and TEI's JSON error body.
inline void expect_statuses(int port, const std::vector<BadRequest>& cases) {
  using core::Json;
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    RawConnection conn(port);
    ASSERT_TRUE(conn.connected()) << c.what;
    conn.send(c.request);
    const std::string response = conn.receive();
    EXPECT_EQ(status_of(response), c.status) << c.what << "\n" << response.substr(0, 400);
    // One consistent set of connection headers (RFC 9112 section 9.6): at most one Connection header,
    // and no Keep-Alive beside `Connection: close`.
    const std::string head = response.substr(0, response.find("\r\n\r\n"));
    size_t connection_headers = 0;
    for (size_t p = head.find("\r\nConnection:"); p != std::string::npos; p = head.find("\r\nConnection:", p + 1))
      ++connection_headers;
    EXPECT_LE(connection_headers, 1u) << c.what << "\n" << head;
    if (head.find("\r\nConnection: close") != std::string::npos)
      EXPECT_EQ(head.find("\r\nKeep-Alive:"), std::string::npos) << c.what << "\n" << head;
    if (status_of(response) >= 400) {
      // TEI's error body, valid JSON even when the request held invalid UTF-8.
      Json body;
      ASSERT_NO_THROW(body = Json::parse(body_of(response))) << c.what << ": " << body_of(response);
      EXPECT_TRUE(body["error"].is_string()) << c.what;
      EXPECT_TRUE(body["error_type"].is_string()) << c.what;
      if (c.status == 405) EXPECT_NE(response.find("Allow: "), std::string::npos) << c.what;
    }
  }
}

}  // namespace textune::testing
