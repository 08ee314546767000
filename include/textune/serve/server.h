// The HTTP service: a fine-tuned model (any task, through Pipeline's task interface) behind the
// request and response shapes of Hugging Face text-embeddings-inference (TEI,
// `router/src/http/server.rs` and `types.rs`), so that existing TEI clients work unchanged.
//
// Endpoints: POST /predict (also POST / and /invocations), POST /tokenize, GET /info, GET /health
// (also GET / and /ping), GET /metrics (Prometheus text format). Concurrent requests are queued and
// run together through Pipeline::predict_records (dynamic batching); each record is answered in the
// task's shape (Pipeline::response: TEI's for text classification); /info adds "task" and the
// task's fields (Pipeline::info). Every error is answered with a 4xx/5xx
// status and TEI's body `{"error": MESSAGE, "error_type": TYPE}`.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "textune/pipeline.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::serve {

/// Options of Server (the flags of `textune serve`; names and defaults follow TEI's router flags).
struct ServerOptions {
  std::string host = "127.0.0.1";       ///< address to bind; loopback by default
  int port = 8080;                      ///< TCP port; 0 picks a free one (see Server::port)
  std::string model_id;                 ///< shown as `model_id` by /info (the model directory)
  std::string model_dtype = "float32";  ///< shown as `model_dtype` by /info

  /// In-flight /predict requests; past it a request is answered 503 at once (TEI answers 429).
  size_t max_concurrent_requests = 512;
  /// Tokens (special tokens included) that one batch may hold; at least the model's maximum length.
  size_t max_batch_tokens = 16384;
  /// Sequences that one batch may hold; 1 turns dynamic batching off.
  size_t max_batch_requests = 32;
  /// How long the first queued sequence waits for others to join its batch, in milliseconds.
  double max_wait_ms = 0;
  /// Sequences one request may carry (413 above).
  size_t max_client_batch_size = 32;
  /// Request body limit in bytes (413 above); TEI's `--payload-limit` default.
  size_t max_request_bytes = 2000000;
  /// Truncate over-long inputs when a request does not say (`truncate` absent).
  bool auto_truncate = false;
  /// Threads that take batches from the queue and call Pipeline::predict_records.
  size_t num_workers = 1;

  /// Requests served at once (a thread each, from the end of a request's head to its answer);
  /// further complete requests wait for a thread. Connections waiting for a request head, or idle
  /// between keep-alive requests, hold no thread (one thread watches them all).
  size_t max_connections = 2048;
  /// A client that sends nothing for this long while a request is incomplete is disconnected
  /// (408 while its head is incomplete).
  double read_timeout_s = 5;
  /// Seconds from a request's first byte (on a new connection: from its opening) to the end of its
  /// head (request line and headers); past it the server answers 408 and closes. Trickling bytes
  /// (slowloris) does not extend it.
  double request_head_timeout_s = 10;
  /// Seconds from a request's first byte to the end of its body; past it: 408, and the connection
  /// closes. Computing the answer is not counted.
  double request_timeout_s = 60;
  /// Largest request head in bytes (request line, headers, CRLFs); 431 above (RFC 6585).
  size_t max_head_bytes = 65536;
  double write_timeout_s = 5;
  /// Idle keep-alive connections are closed after this long.
  double keep_alive_timeout_s = 5;
  /// Requests served on one keep-alive connection before it is closed.
  size_t keep_alive_max_count = 1000;
};

/// An HTTP server for one model. Thread-safe: shutdown() may be called from any thread.
///
/// Lifecycle: construct, bind(), listen() (blocks), shutdown() from another thread or a signal
/// (serve_until_signal): the listening socket closes, connections without a complete request head
/// are closed, requests already received are finished (their sequences still queued are predicted),
/// then listen() returns.
///
/// Abandoned requests: a request whose client hangs up stops early (/tokenize between texts and every
/// 1024 tokens, /predict while counting tokens and while queued: its sequences leave the queue), so
/// neither the model nor shutdown waits for work nobody will read.
class Server {
 public:
  /// @param pipeline predicts; loaded with `truncate = true` (the server checks lengths itself,
  ///        per request, against pipeline->max_length()).
  /// @param tokenizer the same model's tokenizer: counts tokens for batching and length checks,
  ///        and answers /tokenize.
  /// @throws textune::UsageError for inconsistent options (a zero limit, max_batch_tokens below the
  ///         model's maximum length).
  Server(std::shared_ptr<const Pipeline> pipeline, std::shared_ptr<const tokenizers::Tokenizer> tokenizer,
         ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds options.host:options.port and starts listening (connections queue until listen()).
  /// @return the bound port (the free port picked when options.port is 0).
  /// @throws textune::DataError when the address cannot be bound (in use, not local, bad host).
  int bind();
  /// Serves until shutdown(), then finishes every request already received and returns.
  /// Calls bind() first when it has not been called. Sets SIGPIPE to be ignored when it has its
  /// default action (a client disconnecting before its answer must not end the process).
  void listen();
  /// Stops accepting connections and makes listen() return once in-flight requests are answered.
  /// Keep-alive connections close after their current request; idle ones at once. Idempotent.
  void shutdown();

  /// The bound port (0 before bind()).
  int port() const;
  /// "http://HOST:PORT".
  std::string url() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Runs `server.listen()` until SIGINT or SIGTERM, then shuts it down gracefully (finishing queued
/// work) and returns. The previous SIGINT and SIGTERM handlers are restored afterwards. Raises the
/// process's soft limit of open files to its hard limit (one descriptor per connection).
/// Logs one line when listening starts (with the URL) and one when a signal arrives.
void serve_until_signal(Server& server);

}  // namespace textune::serve
