// The HTTP service on cpp-httplib (see include/textune/serve/server.h).
//
// Threads: cpp-httplib accepts connections and hands each to its task queue; ours (ConnectionPool)
// grows up to `max_connections` threads. HttpServer replaces cpp-httplib's per-connection loop
// (process_and_close_socket, a private virtual): a connection whose request head has not fully
// arrived goes to the HeadGate (connection.h), one epoll thread with the head deadline and size
// limit, and comes back to a pool thread only with a complete head; so slow heads (slowloris) and
// idle keep-alive connections hold no thread. Each request is then parsed by cpp-httplib's
// process_request over our ConnectionStream (deadline for the whole request, client hang-up
// detection). A /predict handler parses and validates its body, takes an in-flight slot (503 past
// `max_concurrent_requests`), counts tokens, and blocks on the BatchQueue, whose workers run the
// model; a client that hangs up cancels its request. Shutdown closes the listening socket and the
// waiting connections, lets the connection threads answer what they have read, then stops the
// queue.
#include "textune/serve/server.h"

#include <fcntl.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "serve/api.h"
#include "serve/batch_queue.h"
#include "serve/connection.h"
#include "serve/metrics.h"
#include "textune/core/error.h"

namespace textune::serve {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

/// cpp-httplib task queue that runs every connection on its own thread, creating threads on demand
/// up to `max_threads` (beyond that, connections wait for a free thread). Threads are kept for reuse.
class ConnectionPool : public httplib::TaskQueue {
 public:
  /// `on_shutdown` is called first thing in shutdown() (no enqueue() may follow it).
  ConnectionPool(size_t max_threads, std::function<void()> on_shutdown)
      : max_threads_(std::max<size_t>(1, max_threads)), on_shutdown_(std::move(on_shutdown)) {}
  ~ConnectionPool() override = default;

  void enqueue(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(fn));
      if (jobs_.size() > idle_ && threads_.size() < max_threads_) threads_.emplace_back([this] { work(); });
    }
    cv_.notify_one();
  }

  void shutdown() override {
    if (on_shutdown_) on_shutdown_();
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();  // no enqueue() after shutdown(): the accept loop has ended
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ++idle_;
        cv_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        --idle_;
        if (jobs_.empty()) return;  // shutting down
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      try {
        fn();
      } catch (const std::exception& e) {
        spdlog::error("serve: connection failed: {}", e.what());
      } catch (...) {
        spdlog::error("serve: connection failed");
      }
    }
  }

  size_t max_threads_;
  std::function<void()> on_shutdown_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::list<std::thread> threads_;
  size_t idle_ = 0;
  bool shutdown_ = false;
};

/// httplib::Server whose connections are served by our loop (see the top of this file).
class HttpServer : public httplib::Server {
 public:
  HttpServer()
      : gate_([this](std::shared_ptr<Connection> c) { return dispatch(std::move(c)); },
              [this](int status) {
                if (answered_) answered_(status);
              }) {}
  ~HttpServer() override { gate_.stop(); }

  /// Before listening: the limits of every connection, the most connection threads, and a callback
  /// told of each status the gate answers itself (408, 431).
  void configure(const ConnectionLimits& limits, size_t max_threads, std::function<void(int)> answered) {
    limits_ = limits;
    answered_ = std::move(answered);
    new_task_queue = [this, max_threads] {
      auto* pool = new ConnectionPool(max_threads, [this] {
        std::lock_guard<std::mutex> lock(pool_mu_);
        pool_ = nullptr;
      });
      std::lock_guard<std::mutex> lock(pool_mu_);
      pool_ = pool;
      return pool;
    };
  }

  /// cpp-httplib 0.11 listens with a backlog of 5; a burst of connections beyond it is dropped by
  /// the kernel and retried by clients a second later. listen() again on a listening socket only
  /// changes its backlog.
  void raise_backlog(int backlog) {
    const auto sock = svr_sock_.load();
    if (sock != INVALID_SOCKET) ::listen(sock, backlog);
  }

  /// Shutting down: waiting connections close, served ones close after their current request,
  /// stalled reads give up quickly.
  void begin_shutdown() {
    stopping_ = true;
    gate_.close_all();
  }
  /// After listening has ended: the gate's thread ends.
  void finish() { gate_.stop(); }

 private:
  // Called by cpp-httplib's accept loop on a pool thread, for each new connection.
  bool process_and_close_socket(socket_t sock) override {
    serve(std::make_shared<Connection>(sock, limits_, &stopping_));
    return true;
  }

  /// Serves requests on `conn` while their heads are complete; parks it in the gate otherwise.
  void serve(std::shared_ptr<Connection> conn) {
    for (;;) {
      if (stopping_) return;  // closes it
      switch (conn->read_available()) {
        case Connection::HeadState::kMore:
          gate_.wait_for_head(std::move(conn));
          return;
        case Connection::HeadState::kTooLarge:
          conn->send_error(
              431, "Request Header Fields Too Large",
              error_body(fmt::format("the request head exceeds the limit of {} bytes", limits_.max_head_bytes),
                         ErrorType::kValidation));
          if (answered_) answered_(431);
          gate_.linger(std::move(conn));
          return;
        case Connection::HeadState::kClosed:
          return;
        case Connection::HeadState::kComplete:
          break;
      }
      ConnectionStream stream(*conn);
      const bool last = conn->requests + 1 >= keep_alive_max_count_ || stopping_;
      bool connection_closed = false, ok = false;
      {
        Connection::Scope scope(conn.get());
        ok = process_request(stream, last, connection_closed, nullptr);
      }
      ++conn->requests;
      if (!ok || connection_closed || conn->close_after || last || stopping_) {
        // Whatever the client still sends is discarded for a while, so that it reads our answer.
        if (!stopping_ && !conn->client_gone()) gate_.linger(std::move(conn));
        return;
      }
      conn->await_request(true);
    }
  }

  /// From the gate: a complete head goes to a pool thread.
  bool dispatch(std::shared_ptr<Connection> conn) {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (!pool_ || stopping_) return false;
    pool_->enqueue([this, conn]() mutable { serve(std::move(conn)); });
    return true;
  }

  ConnectionLimits limits_;
  std::function<void(int)> answered_;
  std::atomic<bool> stopping_{false};
  std::mutex pool_mu_;
  ConnectionPool* pool_ = nullptr;  // the task queue of the running listen(), or null
  HeadGate gate_;                   // last: stopped before the members it calls back into go
};

/// Whether `method` is one of the comma-separated `allowed` ("GET, HEAD").
bool method_allowed(const std::string& allowed, const std::string& method) {
  size_t pos = 0;
  while (pos < allowed.size()) {
    size_t end = allowed.find(',', pos);
    if (end == std::string::npos) end = allowed.size();
    std::string m = allowed.substr(pos, end - pos);
    m.erase(0, m.find_first_not_of(' '));
    if (m == method) return true;
    pos = end + 1;
  }
  return false;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.rfind("127.", 0) == 0;
}

void set_json(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

/// Whether every Content-Length header of `req` is a non-negative decimal integer (RFC 9110 section
/// 8.6: `Content-Length = 1*DIGIT`) and all of them agree. cpp-httplib 0.11 reads the value with
/// strtoull, which takes "-5" for 2^64 - 5 (a 413) and "abc" for 0, so the check is ours.
bool content_length_valid(const httplib::Request& req) {
  const auto range = req.headers.equal_range("Content-Length");
  for (auto it = range.first; it != range.second; ++it) {
    const std::string& v = it->second;
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return false;
    if (v != range.first->second) return false;
  }
  return true;
}

/// Makes the connection headers of `res` one consistent set (RFC 9112 section 9.6): when a handler or
/// cpp-httplib said `Connection: close`, a single `Connection: close` and no `Keep-Alive` (httplib
/// 0.11 adds `Keep-Alive` whenever the request did not ask to close, whatever the handler set).
void settle_connection_headers(httplib::Response& res) {
  bool close = false;
  const auto range = res.headers.equal_range("Connection");
  for (auto it = range.first; it != range.second; ++it) close = close || it->second == "close";
  if (!close) return;
  res.headers.erase("Connection");
  res.headers.erase("Keep-Alive");
  res.set_header("Connection", "close");
}

/// Slot in the in-flight count, released on scope exit.
class InFlight {
 public:
  InFlight(std::atomic<size_t>& count, size_t limit) : count_(count) {
    if (count_.fetch_add(1) >= limit) {
      count_.fetch_sub(1);
      throw HttpError(503, ErrorType::kOverloaded, "Model is overloaded");
    }
  }
  ~InFlight() { count_.fetch_sub(1); }
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

 private:
  std::atomic<size_t>& count_;
};

/// TEI's failure label for te_request_failure.
std::string failure_label(const HttpError& e) {
  switch (e.type()) {
    case ErrorType::kValidation:
      return std::string(e.what()).rfind("batch size", 0) == 0 ? "batch_size" : "validation";
    case ErrorType::kEmpty:
      return "empty";
    case ErrorType::kOverloaded:
      return "overloaded";
    case ErrorType::kTokenizer:
      return "tokenizer";
    case ErrorType::kUnhealthy:
      return "unhealthy";
    case ErrorType::kBackend:
      return "backend";
  }
  return "backend";
}

/// The HttpError for an exception thrown by Pipeline::predict_records (TEI: a backend error, 424).
HttpError backend_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const HttpError& e) {
    return e;
  } catch (const std::exception& e) {
    return HttpError(424, ErrorType::kBackend, std::string("Backend error: ") + e.what());
  } catch (...) {
    return HttpError(424, ErrorType::kBackend, "Backend error: unknown exception");
  }
}

}  // namespace

struct Server::Impl {
  Impl(std::shared_ptr<const Pipeline> p, std::shared_ptr<const tokenizers::Tokenizer> t, ServerOptions o)
      : pipeline(std::move(p)),
        tokenizer(std::move(t)),
        options(std::move(o)),
        max_length(pipeline->max_length()),
        list_is_batch(pipeline->list_is_batch()),
        windows(pipeline->windows_long_inputs()),
        metrics(max_length) {}

  void validate_options() const;
  void build_info();
  void install_routes();
  /// Reads the body through `reader` into `body`, at most options.max_request_bytes; otherwise
  /// answers 413 (or 400 for a body that cannot be read) and returns false.
  bool read_body(const httplib::ContentReader& reader, httplib::Response& res, std::string& body) const;
  void predict(const std::string& raw_body, httplib::Response& res);
  void tokenize(const std::string& raw_body, httplib::Response& res);
  bool error_page(const httplib::Request& req, httplib::Response& res);
  /// Whether the client of the request this thread serves has hung up (never, outside a connection).
  static CancelCheck client_gone_check() {
    const Connection* conn = Connection::current();
    return [conn] { return conn && conn->client_gone(); };
  }
  /// The answer to an abandoned request (nginx's 499; nobody reads it), and the connection closes.
  static void abandoned(httplib::Response& res) {
    res.set_header("Connection", "close");
    set_json(res, 499, error_body("the client closed the connection", ErrorType::kValidation));
  }
  std::string route_label(const std::string& path) const;
  /// Tokens of one input, special tokens included: a text or pair encoded, an object's "text" (and
  /// "text_pair") or its pre-split "tokens" (encode_words); 0 for another object (the task checked it).
  size_t count_tokens(const Sequence& s) const {
    if (s.fields.is_null()) return tokenizer->encode(s.text, s.pair).size();
    const core::Json& f = s.fields;
    if (auto t = f.find("text"); t != f.end() && t->is_string()) {
      std::optional<std::string> pair;
      if (auto p = f.find("text_pair"); p != f.end() && p->is_string()) pair = p->get<std::string>();
      return tokenizer->encode(t->get<std::string>(), pair).size();
    }
    if (auto w = f.find("tokens"); w != f.end() && w->is_array()) {
      std::vector<std::string> words;
      words.reserve(w->size());
      for (const auto& x : *w)
        if (x.is_string()) words.push_back(x.get<std::string>());
      return tokenizer->encode_words(words).size();
    }
    return 0;
  }

  std::shared_ptr<const Pipeline> pipeline;
  std::shared_ptr<const tokenizers::Tokenizer> tokenizer;
  ServerOptions options;
  size_t max_length;
  bool list_is_batch;  ///< Pipeline::list_is_batch
  bool windows;        ///< Pipeline::windows_long_inputs
  Metrics metrics;
  std::unique_ptr<BatchQueue> queue;
  HttpServer http;
  std::string info_body;
  /// Known paths and the methods they answer (for 405 and its Allow header).
  std::map<std::string, std::string> allowed_methods;

  std::atomic<size_t> in_flight{0};
  std::atomic<bool> draining{false};
  std::mutex bind_mu;
  int port = 0;
  bool bound = false;
};

void Server::Impl::validate_options() const {
  auto positive = [](size_t v, const char* flag) {
    if (v == 0) throw UsageError(fmt::format("{} must be at least 1", flag));
  };
  positive(options.max_concurrent_requests, "--max-concurrent-requests");
  positive(options.max_batch_requests, "--max-batch-requests");
  positive(options.max_client_batch_size, "--max-client-batch-size");
  positive(options.max_request_bytes, "--max-request-bytes");
  positive(options.num_workers, "--workers");
  positive(options.max_connections, "--max-connections");
  if (options.max_batch_tokens < max_length)
    throw UsageError(fmt::format("--max-batch-tokens ({}) must be at least the model's maximum length ({} tokens)",
                                 options.max_batch_tokens, max_length));
  auto seconds = [](double v, const char* flag) {
    if (!(v > 0) || !std::isfinite(v) || v > 86400)
      throw UsageError(fmt::format("{} must be a number of seconds above 0 and at most 86400", flag));
  };
  seconds(options.read_timeout_s, "--read-timeout");
  seconds(options.write_timeout_s, "--write-timeout");
  seconds(options.keep_alive_timeout_s, "--keep-alive-timeout");
  seconds(options.request_head_timeout_s, "--request-head-timeout");
  seconds(options.request_timeout_s, "--request-timeout");
  if (options.max_head_bytes < 1024 || options.max_head_bytes > (64u << 20))
    throw UsageError(fmt::format("--max-head-bytes ({}) must be between 1024 and 67108864", options.max_head_bytes));
  if (!(options.max_wait_ms >= 0) || !std::isfinite(options.max_wait_ms))
    throw UsageError("--max-wait-ms must be a non-negative number of milliseconds");
  if (options.port < 0 || options.port > 65535)
    throw UsageError(fmt::format("--port {} is not a TCP port (0 to 65535)", options.port));
}

void Server::Impl::build_info() {
  // The task's fields (Pipeline::info). TEI's `model_type` is the task's "model_type" when it gives
  // one, else a classifier ({"classifier": {"id2label", "label2id"}}) when the task gives those
  // (text classification: the model's labels), else null.
  core::Json task_info = pipeline->info();
  if (!task_info.is_object()) task_info = core::Json::object();
  core::Json model_type = nullptr;
  if (task_info.contains("model_type")) {
    model_type = task_info["model_type"];
    task_info.erase("model_type");
  } else if (task_info.contains("id2label") && task_info.contains("label2id")) {
    core::Json classifier = core::Json::object();
    classifier["id2label"] = task_info["id2label"];
    classifier["label2id"] = task_info["label2id"];
    model_type = core::Json::object({{"classifier", std::move(classifier)}});
    task_info.erase("id2label");
    task_info.erase("label2id");
  }
  core::Json info = core::Json::object();
  // TEI's `Info`, field by field.
  info["model_id"] = options.model_id;
  info["model_sha"] = nullptr;
  info["model_dtype"] = options.model_dtype;
  info["model_type"] = std::move(model_type);
  info["max_concurrent_requests"] = options.max_concurrent_requests;
  info["max_input_length"] = max_length;
  info["max_batch_tokens"] = options.max_batch_tokens;
  info["max_batch_requests"] = options.max_batch_requests;
  info["max_client_batch_size"] = options.max_client_batch_size;
  info["auto_truncate"] = options.auto_truncate;
  info["tokenization_workers"] = 1;
  info["version"] = TEXTUNE_VERSION;
  info["sha"] = nullptr;
  info["docker_label"] = nullptr;
  // textune's additions: the task, what it says of itself (Pipeline::info; for text
  // classification its labels and problem type), the server's own options.
  info["task"] = pipeline->task();
  for (auto& item : task_info.items())
    if (!info.contains(item.key())) info[item.key()] = item.value();
  info["max_wait_ms"] = options.max_wait_ms;
  info["max_request_bytes"] = options.max_request_bytes;
  info["workers"] = options.num_workers;
  info_body = dump_json(info);
}

std::string Server::Impl::route_label(const std::string& path) const {
  return allowed_methods.count(path) ? path : "other";
}

bool Server::Impl::read_body(const httplib::ContentReader& reader, httplib::Response& res, std::string& body) const {
  // httplib refuses a Content-Length above the limit itself (413, after discarding the body), but
  // reads a chunked body of any size: count it here. An oversized body is read to its end (up to
  // 64 times the limit, then the connection is dropped) so that the 413 reaches the client.
  const size_t limit = options.max_request_bytes;
  size_t received = 0;
  const bool ok = reader([&](const char* data, size_t length) {
    received += length;
    if (received > limit) {
      body.clear();
      return received <= 64 * limit;
    }
    body.append(data, length);
    return true;
  });
  if (ok && received <= limit) return true;
  res.set_header("Connection", "close");
  const Connection* conn = Connection::current();
  if (conn && conn->timed_out)
    set_json(res, 408,
             error_body(fmt::format("the request was not received within {} s", options.request_timeout_s),
                        ErrorType::kValidation));
  else if (received > limit || res.status == 413)
    set_json(res, 413,
             error_body(fmt::format("the request body exceeds the limit of {} bytes", limit), ErrorType::kValidation));
  else
    set_json(res, 400, error_body("the request body could not be read", ErrorType::kValidation));
  return false;
}

void Server::Impl::predict(const std::string& raw_body, httplib::Response& res) {
  const auto start = Clock::now();
  std::string method;
  try {
    if (draining) throw HttpError(503, ErrorType::kUnhealthy, "the server is shutting down");
    const core::Json body = parse_request_json(raw_body);
    const PredictRequest request = parse_predict_request(body, options.max_client_batch_size, list_is_batch);
    method = request.batch ? "batch" : "single";
    metrics.request_received(method);
    InFlight slot(in_flight, options.max_concurrent_requests);

    // The task's own check of each input (Task::from_inputs): an input it refuses is this request's
    // 422, and never reaches a batch, where it would fail every request batched with it.
    std::vector<core::Json> inputs;
    inputs.reserve(request.inputs.size());
    for (size_t i = 0; i < request.inputs.size(); ++i) {
      inputs.push_back(input_json(request.inputs[i]));
      try {
        pipeline->check_input(inputs.back());
      } catch (const std::exception& e) {
        throw HttpError(422, ErrorType::kValidation,
                        request.batch ? fmt::format("Input validation error: inputs[{}]: {}", i, e.what())
                                      : fmt::format("Input validation error: {}", e.what()));
      }
    }

    // Token counts: for batching, and to refuse over-long inputs unless truncating (TEI's
    // `encode_input`). The pipeline itself always truncates to max_length, or windows (a task that
    // predicts long inputs in windows: nothing is refused for its length).
    const bool truncate = request.truncate.value_or(options.auto_truncate);
    const CancelCheck cancelled = client_gone_check();
    std::vector<size_t> num_tokens, num_features;
    num_tokens.reserve(request.inputs.size());
    num_features.reserve(request.inputs.size());
    for (size_t i = 0; i < request.inputs.size(); ++i) {
      const Sequence& s = request.inputs[i];
      if (cancelled()) throw Cancelled();
      size_t n = 0;
      // A windowed task's input counts the windows the task cuts it into (Pipeline::input_cost):
      // they are sequences of the batch, each against max_batch_requests, their tokens against
      // max_batch_tokens. An input is never split across batches, so one that cannot fit a batch is
      // refused (413); one over the task's window limit (max_windows) is the task's 422.
      std::optional<Pipeline::InputCost> cost;
      auto name = [&] { return request.batch ? fmt::format("inputs[{}]", i) : std::string("the input"); };
      if (windows) {
        try {
          cost = pipeline->input_cost(inputs[i]);
        } catch (const DataError& e) {
          throw HttpError(422, ErrorType::kValidation,
                          request.batch ? fmt::format("Input validation error: inputs[{}]: {}", i, e.what())
                                        : fmt::format("Input validation error: {}", e.what()));
        } catch (const std::exception& e) {
          throw HttpError(422, ErrorType::kTokenizer, std::string("tokenizer error ") + e.what());
        }
      }
      if (cost) {
        if (cost->features > options.max_batch_requests || cost->tokens > options.max_batch_tokens)
          throw HttpError(
              413, ErrorType::kValidation,
              fmt::format("Input validation error: {} becomes {} windows of {} tokens in all, more than "
                          "one batch holds (--max-batch-requests {}, --max-batch-tokens {})",
                          name(), cost->features, cost->tokens, options.max_batch_requests, options.max_batch_tokens));
        metrics.input_length(cost->tokens);
        num_tokens.push_back(cost->tokens);
        num_features.push_back(cost->features);
        continue;
      }
      try {
        n = count_tokens(s);
      } catch (const std::exception& e) {
        throw HttpError(422, ErrorType::kTokenizer, std::string("tokenizer error ") + e.what());
      }
      if (n > max_length && !windows) {  // windowed inputs count all their tokens
        if (!truncate)
          throw HttpError(
              413, ErrorType::kValidation,
              fmt::format("Input validation error: `inputs` must have less than {} tokens. Given: {}", max_length, n));
        n = max_length;
      }
      metrics.input_length(n);
      num_tokens.push_back(n);
      num_features.push_back(1);
    }
    const double tokenization_s = seconds_since(start);

    std::vector<SequenceResult> results = queue->predict(inputs, num_tokens, cancelled, num_features);
    core::Json answer = core::Json::array();
    double queue_s = 0, inference_s = 0;
    for (const SequenceResult& r : results) {
      if (r.error) throw backend_error(r.error);
      answer.push_back(response_json(*pipeline, r.record, request.raw_scores));
      queue_s += r.queue_seconds;
      inference_s += r.inference_seconds;
    }
    const std::string out = dump_json(request.batch ? answer : answer[0]);
    const double n = static_cast<double>(results.size());
    metrics.request_succeeded(method, seconds_since(start), tokenization_s, queue_s / n, inference_s / n);
    // TEI's timing headers, in milliseconds.
    res.set_header("x-compute-type", "cpu");
    res.set_header("x-total-time", std::to_string(static_cast<int64_t>(seconds_since(start) * 1000)));
    res.set_header("x-tokenization-time", std::to_string(static_cast<int64_t>(tokenization_s * 1000)));
    res.set_header("x-queue-time", std::to_string(static_cast<int64_t>(queue_s / n * 1000)));
    res.set_header("x-inference-time", std::to_string(static_cast<int64_t>(inference_s / n * 1000)));
    res.set_header("x-compute-tokens",
                   std::to_string(std::accumulate(num_tokens.begin(), num_tokens.end(), size_t{0})));
    set_json(res, 200, out);
  } catch (const HttpError& e) {
    metrics.request_failed(failure_label(e));
    if (e.type() == ErrorType::kUnhealthy) res.set_header("Connection", "close");
    set_json(res, e.status(), e.body());
  } catch (const Cancelled& e) {
    metrics.request_failed("cancelled");
    abandoned(res);
  } catch (const std::exception& e) {
    metrics.request_failed("backend");
    spdlog::error("serve: /predict failed: {}", e.what());
    set_json(res, 500, error_body(std::string("internal error: ") + e.what(), ErrorType::kBackend));
  } catch (...) {
    metrics.request_failed("backend");
    set_json(res, 500, error_body("internal error", ErrorType::kBackend));
  }
}

void Server::Impl::tokenize(const std::string& raw_body, httplib::Response& res) {
  try {
    if (draining) throw HttpError(503, ErrorType::kUnhealthy, "the server is shutting down");
    const core::Json body = parse_request_json(raw_body);
    const TokenizeRequest request = parse_tokenize_request(body, options.max_client_batch_size);
    tokenizers::EncodeOptions encode_options;
    encode_options.add_special_tokens = request.add_special_tokens;
    const CancelCheck cancelled = client_gone_check();
    core::Json answer = core::Json::array();
    for (const std::string& text : request.inputs) {
      if (cancelled()) throw Cancelled();
      tokenizers::Encoding encoding;
      try {
        encoding = tokenizer->encode(text, std::nullopt, encode_options);
      } catch (const std::exception& e) {
        throw HttpError(422, ErrorType::kTokenizer, std::string("tokenizer error ") + e.what());
      }
      answer.push_back(tokens_json(encoding, text, cancelled));
    }
    set_json(res, 200, dump_json(answer));
  } catch (const HttpError& e) {
    set_json(res, e.status(), e.body());
  } catch (const Cancelled&) {
    abandoned(res);
  } catch (const std::exception& e) {
    set_json(res, 500, error_body(std::string("internal error: ") + e.what(), ErrorType::kBackend));
  } catch (...) {
    set_json(res, 500, error_body("internal error", ErrorType::kBackend));
  }
}

bool Server::Impl::error_page(const httplib::Request& req, httplib::Response& res) {
  if (!res.body.empty()) return false;  // a handler answered already
  auto known = allowed_methods.find(req.path);
  if ((res.status == 404 || res.status == 400) && known != allowed_methods.end() && !req.method.empty() &&
      !method_allowed(known->second, req.method)) {
    res.status = 405;
    res.set_header("Allow", known->second);
    set_json(
        res, 405,
        error_body(fmt::format("method {} is not allowed on {} (allowed: {})", req.method, req.path, known->second),
                   ErrorType::kValidation));
    return true;
  }
  std::string message;
  switch (res.status) {
    case 400:
      message = "bad request: malformed HTTP request";
      break;
    case 404:
      message = fmt::format("no route for {} {}", req.method, req.path);
      break;
    case 408:
      message = "request timeout";
      break;
    case 413:
      message = fmt::format("the request body exceeds the limit of {} bytes", options.max_request_bytes);
      break;
    case 414:
      message = "the request URI is too long";
      break;
    case 415:
      message = "unsupported media type";
      break;
    case 416:
      message = "range not satisfiable";
      break;
    default:
      message = fmt::format("HTTP error {}", res.status);
  }
  set_json(res, res.status, error_body(message, res.status >= 500 ? ErrorType::kBackend : ErrorType::kValidation));
  return true;
}

void Server::Impl::install_routes() {
  allowed_methods = {{"/predict", "POST"},   {"/", "GET, HEAD, POST"}, {"/invocations", "POST"},
                     {"/tokenize", "POST"},  {"/info", "GET, HEAD"},   {"/health", "GET, HEAD"},
                     {"/ping", "GET, HEAD"}, {"/metrics", "GET, HEAD"}};
  // POST handlers read their bodies themselves (read_body) to bound chunked bodies too.
  auto predict_handler = [this](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
    std::string body;
    if (read_body(reader, res, body)) predict(body, res);
  };
  auto health_handler = [this](const httplib::Request&, httplib::Response& res) {
    if (draining) {
      res.set_header("Connection", "close");
      set_json(res, 503, error_body("unhealthy", ErrorType::kUnhealthy));
    } else {
      res.status = 200;  // TEI answers an empty 200
    }
  };
  http.Post("/predict", predict_handler);
  http.Post("/", predict_handler);
  http.Post("/invocations", predict_handler);
  http.Post("/tokenize", [this](const httplib::Request&, httplib::Response& res, const httplib::ContentReader& reader) {
    std::string body;
    if (read_body(reader, res, body)) tokenize(body, res);
  });
  http.Get("/health", health_handler);
  http.Get("/ping", health_handler);
  http.Get("/", health_handler);
  http.Get("/info", [this](const httplib::Request&, httplib::Response& res) { set_json(res, 200, info_body); });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.status = 200;
    res.set_content(metrics.render(queue ? queue->size() : 0, in_flight.load()), "text/plain; version=0.0.4");
  });

  // Before routing (and before httplib reads a body by its Content-Length): a Content-Length that is
  // not a number is a malformed request, 400, and the body's end is unknown, so the connection closes.
  // A Content-Length above the limit is answered 413 at once, before any of the body is read (httplib
  // would first read and discard that many bytes, waiting for them up to the read timeout).
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!content_length_valid(req)) {
      res.set_header("Connection", "close");
      set_json(
          res, 400,
          error_body("bad request: the Content-Length header is not a non-negative integer", ErrorType::kValidation));
      return httplib::Server::HandlerResponse::Handled;
    }
    const std::string length = req.get_header_value("Content-Length");
    if (!length.empty() && (length.size() > 18 || std::stoull(length) > options.max_request_bytes)) {
      res.set_header("Connection", "close");
      set_json(res, 413,
               error_body(fmt::format("the request body ({} bytes) exceeds the limit of {} bytes", length,
                                      options.max_request_bytes),
                          ErrorType::kValidation));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
    settle_connection_headers(res);
    Connection* conn = Connection::current();
    if (conn && res.get_header_value("Connection") == "close") conn->close_after = true;
  });
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        return error_page(req, res) ? httplib::Server::HandlerResponse::Handled
                                    : httplib::Server::HandlerResponse::Unhandled;
      }));
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("serve: request failed: {}", what);
    set_json(res, 500, error_body("internal error: " + what, ErrorType::kBackend));
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics.http_response(route_label(req.path), res.status);
    spdlog::debug("serve: {} {} -> {}", req.method, req.path, res.status);
  });

  http.set_payload_max_length(options.max_request_bytes);
  auto split = [](double s, time_t& sec, time_t& usec) {
    sec = static_cast<time_t>(s);
    usec = static_cast<time_t>((s - static_cast<double>(sec)) * 1e6);
  };
  time_t sec, usec;
  split(options.read_timeout_s, sec, usec);
  http.set_read_timeout(sec, usec);
  split(options.write_timeout_s, sec, usec);
  http.set_write_timeout(sec, usec);
  http.set_keep_alive_timeout(std::max<time_t>(1, static_cast<time_t>(std::lround(options.keep_alive_timeout_s))));
  http.set_keep_alive_max_count(options.keep_alive_max_count);
  http.set_tcp_nodelay(true);
  // SO_REUSEADDR only (httplib's default adds SO_REUSEPORT, which would let a second server share
  // the port silently instead of failing to bind).
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  ConnectionLimits limits;
  limits.head_timeout_s = options.request_head_timeout_s;
  limits.request_timeout_s = options.request_timeout_s;
  limits.read_timeout_s = options.read_timeout_s;
  limits.write_timeout_s = options.write_timeout_s;
  limits.keep_alive_timeout_s = options.keep_alive_timeout_s;
  limits.max_head_bytes = options.max_head_bytes;
  limits.linger_bytes = std::max<size_t>(options.max_request_bytes, 1 << 20) * 4;
  http.configure(limits, options.max_connections, [this](int status) { metrics.http_response("other", status); });
}

Server::Server(std::shared_ptr<const Pipeline> pipeline, std::shared_ptr<const tokenizers::Tokenizer> tokenizer,
               ServerOptions options) {
  if (!pipeline) throw std::invalid_argument("serve::Server: no pipeline");
  if (!tokenizer) throw std::invalid_argument("serve::Server: no tokenizer");
  impl_ = std::make_unique<Impl>(std::move(pipeline), std::move(tokenizer), std::move(options));
  impl_->validate_options();
  impl_->build_info();
  impl_->install_routes();
  BatchQueueOptions q;
  q.max_batch_tokens = impl_->options.max_batch_tokens;
  q.max_batch_requests = impl_->options.max_batch_requests;
  q.max_wait_ms = impl_->options.max_wait_ms;
  q.num_workers = impl_->options.num_workers;
  impl_->queue = std::make_unique<BatchQueue>(impl_->pipeline, q, &impl_->metrics);
}

Server::~Server() {
  if (!impl_) return;
  shutdown();
  impl_->queue->stop();
}

int Server::bind() {
  std::lock_guard<std::mutex> lock(impl_->bind_mu);
  if (impl_->bound) return impl_->port;
  const auto& o = impl_->options;
  int port = o.port;
  if (o.port == 0) {
    port = impl_->http.bind_to_any_port(o.host);
  } else if (!impl_->http.bind_to_port(o.host, o.port)) {
    port = -1;
  }
  if (port <= 0)
    throw DataError(
        fmt::format("cannot listen on {}:{} (address in use, or not an address of this machine)", o.host, o.port));
  impl_->http.raise_backlog(1024);
  impl_->port = port;
  impl_->bound = true;
  if (!is_loopback(o.host))
    spdlog::warn("serve: listening on {}, reachable from other machines; textune serve has no authentication", o.host);
  return port;
}

void Server::listen() {
  bind();
  // httplib writes without MSG_NOSIGNAL: a client that disconnects before its answer would raise
  // SIGPIPE and end the process.
  struct sigaction current {};
  if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) ::signal(SIGPIPE, SIG_IGN);
  // stop() is a no-op until httplib's accept loop runs: repeat it until the loop has ended.
  std::atomic<bool> returned{false};
  std::thread stopper([&] {
    while (!returned) {
      if (impl_->draining) impl_->http.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  if (!impl_->draining) impl_->http.listen_after_bind();  // returns once every connection is closed
  returned = true;
  stopper.join();
  impl_->http.finish();
  impl_->queue->stop();
}

void Server::shutdown() {
  impl_->draining = true;
  impl_->http.begin_shutdown();
  impl_->queue->flush();  // what is queued runs now rather than after max_wait_ms
  impl_->http.stop();
}

int Server::port() const {
  return impl_->port;
}

std::string Server::url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos && host.front() != '[';
  return fmt::format("http://{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", impl_->port);
}

// ---- signals ----

namespace {
int g_signal_pipe[2] = {-1, -1};

extern "C" void on_stop_signal(int sig) {
  const char byte = static_cast<char>(sig);
  const int saved = errno;
  [[maybe_unused]] ssize_t n = ::write(g_signal_pipe[1], &byte, 1);
  errno = saved;
}
}  // namespace

void serve_until_signal(Server& server) {
  server.bind();
  // Every connection is a descriptor, and waiting ones cost no thread: allow as many as the hard
  // limit does (Debian's soft limit is 1024), as nginx's worker_rlimit_nofile would.
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) throw DataError("serve: cannot create a pipe for signals");
  struct sigaction action {
  }, old_int{}, old_term{};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);

  std::atomic<bool> done{false};
  std::thread watcher([&] {
    bool stopping = false;
    while (!done) {
      pollfd p{g_signal_pipe[0], POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char sig = 0;
      while (::read(g_signal_pipe[0], &sig, 1) == 1) {
        if (!stopping) {
          spdlog::info("serve: received {}, finishing queued requests", sig == SIGINT ? "SIGINT" : "SIGTERM");
          server.shutdown();
          stopping = true;
        }
      }
    }
  });
  spdlog::info("serve: listening on {}", server.url());
  server.listen();
  done = true;
  watcher.join();
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::close(g_signal_pipe[0]);
  ::close(g_signal_pipe[1]);
  g_signal_pipe[0] = g_signal_pipe[1] = -1;
  spdlog::info("serve: stopped");
}

}  // namespace textune::serve
