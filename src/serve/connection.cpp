// Client connections and the head gate (see connection.h).
#include "serve/connection.h"

#include <netdb.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "serve/api.h"

namespace textune::serve {
namespace {

using Clock = Connection::Clock;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::max(0.0, s)));
}

/// Milliseconds from now to `t`, clamped to [0, cap].
int millis_until(Clock::time_point t, int cap) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(ms, 0, cap));
}

thread_local Connection* t_current = nullptr;

constexpr size_t kReadChunk = 16 << 10;

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

}  // namespace

Connection::Connection(int fd, const ConnectionLimits& limits, const std::atomic<bool>* stopping)
    : fd_(fd), limits_(limits), stopping_(stopping) {
  await_request(false);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

Connection* Connection::current() {
  return t_current;
}

Connection::Scope::Scope(Connection* c) : previous_(t_current) {
  t_current = c;
}

Connection::Scope::~Scope() {
  t_current = previous_;
}

void Connection::await_request(bool keep_alive) {
  keep_alive_wait_ = keep_alive;
  if (pos_ == buf_.size()) {
    std::string().swap(buf_);  // a connection waiting in the gate keeps no read buffer
    pos_ = 0;
  }
  wait_start_ = head_start_ = last_byte_ = Clock::now();
  scanned_ = pos_;
  timed_out = false;
  close_after = false;
  // A new connection's head deadline runs from its opening, a kept-alive one's from its first byte
  // (buffered already for a pipelined request).
  head_started_ = pos_ < buf_.size();
}

Clock::time_point Connection::wait_deadline() const {
  if (!head_started_) {
    // Nothing of the request yet: an idle connection.
    const double idle = keep_alive_wait_ ? limits_.keep_alive_timeout_s
                                         : std::min(limits_.keep_alive_timeout_s, limits_.head_timeout_s);
    return wait_start_ + seconds(idle);
  }
  return std::min(head_start_ + seconds(limits_.head_timeout_s), last_byte_ + seconds(limits_.read_timeout_s));
}

Connection::HeadState Connection::read_available() {
  for (;;) {
    // "\r\n\r\n" in the unconsumed bytes ends the head (cpp-httplib takes CRLF line ends only).
    const size_t from = std::max(pos_, scanned_ >= 3 ? scanned_ - 3 : size_t{0});
    if (buf_.size() >= from + 4 && buf_.find("\r\n\r\n", from) != std::string::npos) return HeadState::kComplete;
    scanned_ = buf_.size();
    const size_t have = buf_.size() - pos_;
    if (have >= limits_.max_head_bytes) return HeadState::kTooLarge;
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = scanned_ = 0;
    }
    // Through a small stack buffer: a waiting connection keeps only the bytes it has sent.
    char chunk[4096];
    const size_t want = std::min(sizeof(chunk), limits_.max_head_bytes - have);
    const ssize_t n = ::recv(fd_, chunk, want, MSG_DONTWAIT);
    if (n > 0) {
      buf_.append(chunk, static_cast<size_t>(n));
      last_byte_ = Clock::now();
      if (!head_started_) {
        head_started_ = true;
        if (keep_alive_wait_) head_start_ = last_byte_;
      }
      continue;
    }
    if (n == 0) return HeadState::kClosed;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return HeadState::kMore;
    return HeadState::kClosed;
  }
}

ssize_t Connection::read(char* out, size_t size) {
  if (size == 0) return 0;
  if (pos_ < buf_.size()) {
    const size_t n = std::min(size, buf_.size() - pos_);
    std::memcpy(out, buf_.data() + pos_, n);
    pos_ += n;
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = scanned_ = 0;
    }
    return static_cast<ssize_t>(n);
  }
  const auto request_deadline = head_start_ + seconds(limits_.request_timeout_s);
  const auto entered = Clock::now();
  for (;;) {
    const auto now = Clock::now();
    if (now >= request_deadline) {
      timed_out = true;
      return -1;
    }
    // While shutting down, a stalled client is not waited for long.
    const double stall = stopping() ? std::min(limits_.read_timeout_s, 0.5) : limits_.read_timeout_s;
    const auto stall_deadline = entered + seconds(stall);
    if (now >= stall_deadline) return -1;
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, millis_until(std::min(request_deadline, stall_deadline), 100));
    if (r < 0 && errno != EINTR) return -1;
    if (r <= 0) continue;
    ssize_t n;
    if (size < kReadChunk) {
      buf_.resize(kReadChunk);
      n = ::recv(fd_, &buf_[0], kReadChunk, MSG_DONTWAIT);
      buf_.resize(static_cast<size_t>(std::max<ssize_t>(n, 0)));
      pos_ = scanned_ = 0;
      if (n > 0) {
        last_byte_ = Clock::now();
        return read(out, size);
      }
    } else {
      n = ::recv(fd_, out, size, MSG_DONTWAIT);
      if (n > 0) {
        last_byte_ = Clock::now();
        return n;
      }
    }
    if (n == 0) return 0;
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    return -1;
  }
}

bool Connection::write_all(const char* data, size_t size) {
  size_t sent = 0;
  auto stall_start = Clock::now();
  while (sent < size) {
    const ssize_t n = ::send(fd_, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      stall_start = Clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
    const auto deadline = stall_start + seconds(limits_.write_timeout_s);
    if (Clock::now() >= deadline) return false;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, millis_until(deadline, 100)) < 0 && errno != EINTR) return false;
    if (p.revents & (POLLERR | POLLHUP)) return false;
  }
  return true;
}

bool Connection::readable_now() const {
  if (pos_ < buf_.size()) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

bool Connection::client_gone() const {
  pollfd p{fd_, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

ssize_t Connection::discard_available(size_t max) {
  char tmp[16384];
  size_t total = 0;
  while (total < max) {
    const ssize_t n = ::recv(fd_, tmp, std::min(sizeof(tmp), max - total), MSG_DONTWAIT);
    if (n > 0) {
      total += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return -1;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return -1;
  }
  return static_cast<ssize_t>(total);
}

void Connection::send_error(int status, const char* reason, const std::string& json_body) {
  const std::string response = fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}", status,
      reason, json_body.size(), json_body);
  [[maybe_unused]] const ssize_t n = ::send(fd_, response.data(), response.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

// ---- ConnectionStream ----

bool ConnectionStream::is_readable() const {
  return c_.readable_now();
}

bool ConnectionStream::is_writable() const {
  pollfd p{c_.fd(), POLLOUT, 0};
  return ::poll(&p, 1, static_cast<int>(c_.limits().write_timeout_s * 1000)) > 0 && (p.revents & POLLOUT) &&
         !c_.client_gone();
}

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  return c_.read(ptr, size);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  return c_.write_all(ptr, size) ? static_cast<ssize_t>(size) : -1;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  address_of(c_.fd(), true, ip, port);
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  address_of(c_.fd(), false, ip, port);
}

// ---- HeadGate ----

HeadGate::HeadGate(Ready ready, Answered answered) : ready_(std::move(ready)), answered_(std::move(answered)) {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = wake_fd_;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { run(); });
}

HeadGate::~HeadGate() {
  stop();
}

void HeadGate::wait_for_head(std::shared_ptr<Connection> conn) {
  add(std::move(conn), false);
}

void HeadGate::linger(std::shared_ptr<Connection> conn) {
  ::shutdown(conn->fd(), SHUT_WR);
  add(std::move(conn), true);
}

void HeadGate::add(std::shared_ptr<Connection> conn, bool lingering) {
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;  // the connection closes as `conn` goes
  Entry e;
  e.lingering = lingering;
  e.linger_deadline = Clock::now() + seconds(conn->limits().linger_s);
  const int fd = conn->fd();
  e.conn = std::move(conn);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) return;
  entries_[fd] = std::move(e);
}

void HeadGate::remove_locked(int fd) {
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  entries_.erase(fd);  // closes the socket unless a connection thread holds it
}

void HeadGate::close_all() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
  for (auto& [fd, e] : entries_) ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  entries_.clear();
}

void HeadGate::stop() {
  if (!thread_.joinable()) return;
  close_all();
  stop_ = true;
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  thread_.join();
  ::close(epoll_fd_);
  ::close(wake_fd_);
  epoll_fd_ = wake_fd_ = -1;
}

size_t HeadGate::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

void HeadGate::run() {
  std::vector<epoll_event> events(256);
  auto next_scan = Clock::now();
  std::vector<int> answers;
  std::vector<std::shared_ptr<Connection>> ready;
  while (!stop_) {
    const int n = ::epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), 100);
    answers.clear();
    ready.clear();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto to_linger = [&](Entry& e, int status, const char* reason, const std::string& message) {
        e.conn->send_error(status, reason, error_body(message, ErrorType::kValidation));
        answers.push_back(status);
        ::shutdown(e.conn->fd(), SHUT_WR);
        e.lingering = true;
        e.linger_deadline = Clock::now() + seconds(e.conn->limits().linger_s);
      };
      for (int i = 0; i < n; ++i) {
        const int fd = events[i].data.fd;
        if (fd == wake_fd_) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(wake_fd_, &v, sizeof(v));
          continue;
        }
        auto it = entries_.find(fd);
        if (it == entries_.end()) continue;
        Entry& e = it->second;
        if (e.lingering) {
          const ssize_t d = e.conn->discard_available(e.conn->limits().linger_bytes);
          if (d < 0 || (e.discarded += static_cast<size_t>(d)) >= e.conn->limits().linger_bytes) remove_locked(fd);
          continue;
        }
        switch (e.conn->read_available()) {
          case Connection::HeadState::kComplete:
            ready.push_back(e.conn);
            remove_locked(fd);
            break;
          case Connection::HeadState::kMore:
            break;
          case Connection::HeadState::kTooLarge:
            to_linger(e, 431, "Request Header Fields Too Large",
                      fmt::format("the request head exceeds the limit of {} bytes", e.conn->limits().max_head_bytes));
            break;
          case Connection::HeadState::kClosed:
            remove_locked(fd);
            break;
        }
      }
      const auto now = Clock::now();
      if (now >= next_scan) {
        next_scan = now + std::chrono::milliseconds(100);
        std::vector<int> expired;
        for (auto& [fd, e] : entries_) {
          if (e.lingering) {
            if (now >= e.linger_deadline) expired.push_back(fd);
          } else if (now >= e.conn->wait_deadline()) {
            if (e.conn->head_started())
              to_linger(
                  e, 408, "Request Timeout",
                  fmt::format("the request head was not received in time (limits: {} s in all, {} s without data)",
                              e.conn->limits().head_timeout_s, e.conn->limits().read_timeout_s));
            else
              expired.push_back(fd);  // idle: closed without an answer
          }
        }
        for (int fd : expired) remove_locked(fd);
      }
    }
    for (int status : answers)
      if (answered_) answered_(status);
    for (auto& conn : ready) ready_(std::move(conn));  // refused: closed when the last reference goes
  }
}

}  // namespace textune::serve
