// Client connections of the HTTP service, below cpp-httplib: each request's head is awaited without
// a thread (one epoll "head gate" thread for all connections), with a deadline for the head and for
// the whole request, a size limit for the head, and a way for long computations to learn that their
// client has hung up. Only complete heads reach the connection threads, so clients that trickle
// bytes (slowloris) or sit idle on keep-alive cost no thread and cannot starve `/health`.
//
// Statuses the gate answers itself: 408 (head not complete by its deadline, or stalled longer than
// the read timeout) and 431 (head above max_head_bytes, RFC 6585 section 5).
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace textune::serve {

/// Time and size limits of one connection (from ServerOptions).
struct ConnectionLimits {
  double head_timeout_s = 10;        ///< from a request's first byte (a new connection: its opening) to its head's end
  double request_timeout_s = 60;     ///< from a request's first byte to the end of its body
  double read_timeout_s = 5;         ///< longest stall while a request is incomplete
  double write_timeout_s = 5;        ///< longest stall while writing an answer
  double keep_alive_timeout_s = 5;   ///< an idle keep-alive connection is closed after this
  size_t max_head_bytes = 64 << 10;  ///< request line and headers, CRLFs included
  double linger_s = 2;               ///< after an early answer, how long to discard what the client still sends
  size_t linger_bytes = 64 << 20;    ///< ... and how much of it
};

/// One client socket and the bytes read from it but not yet consumed. Closes the socket when
/// destroyed. Used by one thread at a time (the gate, or the connection thread serving it).
class Connection {
 public:
  using Clock = std::chrono::steady_clock;

  Connection(int fd, const ConnectionLimits& limits, const std::atomic<bool>* stopping);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  const ConnectionLimits& limits() const { return limits_; }

  /// Starts waiting for the next request: a new connection (`keep_alive` false) has head_timeout_s
  /// from now; a kept-alive one may idle keep_alive_timeout_s, then head_timeout_s from its first byte.
  void await_request(bool keep_alive);

  enum class HeadState { kComplete, kMore, kTooLarge, kClosed };
  /// Reads what has arrived, without blocking, until the head is complete (nothing beyond).
  HeadState read_available();
  /// Whether a byte of the awaited request has arrived.
  bool head_started() const { return head_started_; }
  /// When the current wait ends: idle, head or stall deadline, whichever is first.
  Clock::time_point wait_deadline() const;

  /// Reads for cpp-httplib: buffered bytes first, then the socket, waiting at most read_timeout_s
  /// per stall and never past the request's deadline (then `timed_out` is set). -1 on failure, 0 at
  /// the end of the stream.
  ssize_t read(char* out, size_t size);
  /// Writes all bytes, waiting at most write_timeout_s per stall; false on failure.
  bool write_all(const char* data, size_t size);
  /// Whether data is waiting (buffered or on the socket) without blocking.
  bool readable_now() const;

  /// Whether the client has hung up (or reset the connection). Cheap: one poll(2) without waiting.
  bool client_gone() const;

  /// Discards up to `max` bytes that have arrived, without blocking.
  /// @return the bytes discarded, or -1 at the end of the stream or on an error.
  ssize_t discard_available(size_t max);

  /// Writes a small complete answer with `Connection: close` (best effort, non-blocking).
  void send_error(int status, const char* reason, const std::string& json_body);

  bool close_after = false;  ///< the answer said `Connection: close`
  bool timed_out = false;    ///< a read hit the request deadline
  size_t requests = 0;       ///< requests served so far

  /// The connection whose request the calling thread is serving (null outside a request).
  static Connection* current();
  /// Makes `c` current() on this thread until destroyed.
  class Scope {
   public:
    explicit Scope(Connection* c);
    ~Scope();

   private:
    Connection* previous_;
  };

 private:
  bool stopping() const { return stopping_ && stopping_->load(); }

  int fd_;
  ConnectionLimits limits_;
  const std::atomic<bool>* stopping_;
  std::string buf_;  // received bytes; [pos_, size) not yet consumed
  size_t pos_ = 0;
  size_t scanned_ = 0;  // head search resumes here
  bool keep_alive_wait_ = false;
  bool head_started_ = false;
  Clock::time_point wait_start_, head_start_, last_byte_;
};

/// cpp-httplib's Stream over a Connection.
class ConnectionStream : public httplib::Stream {
 public:
  explicit ConnectionStream(Connection& c) : c_(c) {}
  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return c_.fd(); }

 private:
  Connection& c_;
};

/// One thread that holds every connection waiting for a request head (or lingering before close),
/// with epoll. A complete head goes to `ready` (which hands it to a connection thread); a deadline
/// or size limit passed is answered here (408, 431) and the connection closed.
class HeadGate {
 public:
  /// Takes a connection whose head is complete; false when it cannot (shutting down): it is closed.
  using Ready = std::function<bool(std::shared_ptr<Connection>)>;
  /// Told of every status the gate answers itself.
  using Answered = std::function<void(int status)>;

  HeadGate(Ready ready, Answered answered);
  /// stop().
  ~HeadGate();
  HeadGate(const HeadGate&) = delete;
  HeadGate& operator=(const HeadGate&) = delete;

  /// Waits, without a thread, for the head of `conn`'s next request (await_request() done).
  void wait_for_head(std::shared_ptr<Connection> conn);
  /// Closes our side of `conn`, then discards what the client still sends (so that it reads our
  /// answer instead of a reset) until it closes, linger_s pass or linger_bytes arrive.
  void linger(std::shared_ptr<Connection> conn);
  /// Closes every waiting connection; from now on connections handed in are closed at once.
  void close_all();
  /// close_all(), then ends the thread. Idempotent.
  void stop();
  /// Connections held now.
  size_t size() const;

 private:
  struct Entry {
    std::shared_ptr<Connection> conn;
    bool lingering = false;
    Connection::Clock::time_point linger_deadline;
    size_t discarded = 0;
  };
  void add(std::shared_ptr<Connection> conn, bool lingering);
  void run();
  void remove_locked(int fd);

  Ready ready_;
  Answered answered_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  mutable std::mutex mu_;
  std::unordered_map<int, Entry> entries_;
  bool closed_ = false;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace textune::serve
