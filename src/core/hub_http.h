// A small HTTP client over libcurl for the Hub client (internal to src/core): one request at a
// time on a reused handle (keep-alive), no automatic redirects (the caller follows them, so it
// decides which headers travel to which host), response headers collected case-insensitively.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace textune::core::http {

/// Response headers in arrival order; lookups ignore case.
class Headers {
 public:
  void clear() { items_.clear(); }
  void add(std::string name, std::string value) { items_.emplace_back(std::move(name), std::move(value)); }
  /// The first value of `name`, "" when absent.
  std::string get(const std::string& name) const;
  bool has(const std::string& name) const;

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// What one request returned. `status` is 0 when no HTTP answer arrived (see `curl_code`).
struct Response {
  long status = 0;
  Headers headers;
  std::string body;          ///< non-2xx bodies only (at most 64 KiB), for error messages
  int curl_code = 0;         ///< CURLcode; 0 = the transfer completed
  std::string curl_error;    ///< libcurl's message when curl_code != 0
  uint64_t body_bytes = 0;   ///< 2xx body bytes handed to the sink
  bool sink_failed = false;  ///< the sink refused bytes (disk full): not a network error

  bool ok_transfer() const { return curl_code == 0; }
  /// A connection-level failure worth retrying (refused, reset, timed out, cut short).
  bool network_error() const;
  /// No connection could be made: the host or proxy name does not resolve, or the connection is
  /// refused (nothing was sent).
  bool no_connection() const;
};

/// Timeouts of one request.
struct RequestOptions {
  double connect_timeout_seconds = 10;
  /// Whole-request limit (0: none); used for HEAD.
  double total_timeout_seconds = 0;
  /// Abort when fewer than 1 byte/s arrives for this long (0: never); used for downloads.
  double stall_timeout_seconds = 0;
};

/// Receives 2xx body bytes; returns false to abort the transfer.
using Sink = std::function<bool(const char* data, size_t size)>;

/// One libcurl easy handle, reused across requests so connections stay open.
class Client {
 public:
  Client();
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  /// HEAD `url` with extra request headers ("Name: value").
  Response head(const std::string& url, const std::vector<std::string>& headers, const RequestOptions& options);
  /// GET `url`; a 2xx body goes to `sink`, other bodies into Response::body. `on_status` runs once
  /// the status line and headers are in, before any body byte (to prepare the sink).
  Response get(const std::string& url, const std::vector<std::string>& headers, const RequestOptions& options,
               const std::function<void(const Response&)>& on_headers, const Sink& sink);

 private:
  Response perform(bool head, const std::string& url, const std::vector<std::string>& headers,
                   const RequestOptions& options, const std::function<void(const Response&)>* on_headers,
                   const Sink* sink);
  void* curl_;
};

/// "scheme://host:port" of an absolute URL (lower-cased scheme and host), "" when relative.
std::string origin_of(const std::string& url);
/// `location` resolved against `base` (absolute, "/path" or a relative path).
std::string resolve_location(const std::string& base, const std::string& location);
/// Percent-encodes everything but unreserved characters (and '/' when `keep_slash`).
std::string url_quote(const std::string& s, bool keep_slash);

}  // namespace textune::core::http
