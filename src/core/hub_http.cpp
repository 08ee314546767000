// libcurl wrapper for the Hub client. See hub_http.h.
#include "core/hub_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>
#include <stdexcept>

namespace textune::core::http {
namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  Response* response;
  const std::function<void(const Response&)>* on_headers;
  const Sink* sink;
  bool headers_done = false;
};

bool is_2xx(long status) {
  return status >= 200 && status < 300;
}

size_t on_header(char* buffer, size_t size, size_t nitems, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nitems;
  std::string line(buffer, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (also after "100 Continue"): start over.
    t->response->headers.clear();
    const size_t sp = line.find(' ');
    t->response->status = sp == std::string::npos ? 0 : std::strtol(line.c_str() + sp + 1, nullptr, 10);
    t->headers_done = false;
    return n;
  }
  if (line.empty()) {
    if (t->response->status >= 200 && !t->headers_done) {
      t->headers_done = true;
      if (t->on_headers && *t->on_headers) (*t->on_headers)(*t->response);
    }
    return n;
  }
  const size_t colon = line.find(':');
  if (colon != std::string::npos) t->response->headers.add(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
  return n;
}

size_t on_body(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  Response& r = *t->response;
  if (is_2xx(r.status) && t->sink && *t->sink) {
    if (!(*t->sink)(data, n)) {
      r.sink_failed = true;
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
    r.body_bytes += n;
    return n;
  }
  if (r.body.size() < kMaxErrorBody) r.body.append(data, std::min(n, kMaxErrorBody - r.body.size()));
  return n;
}

}  // namespace

std::string Headers::get(const std::string& name) const {
  const std::string key = lower(name);
  for (const auto& [k, v] : items_)
    if (lower(k) == key) return v;
  return "";
}

bool Headers::has(const std::string& name) const {
  const std::string key = lower(name);
  for (const auto& [k, v] : items_)
    if (lower(k) == key) return true;
  return false;
}

bool Response::no_connection() const {
  const auto code = static_cast<CURLcode>(curl_code);
  return code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_CONNECT;
}

bool Response::network_error() const {
  if (sink_failed) return false;
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

Client::Client() {
  global_init();
  curl_ = curl_easy_init();
  if (!curl_) throw std::runtime_error("curl_easy_init failed");
}

Client::~Client() {
  curl_easy_cleanup(static_cast<CURL*>(curl_));
}

Response Client::head(const std::string& url, const std::vector<std::string>& headers, const RequestOptions& options) {
  return perform(true, url, headers, options, nullptr, nullptr);
}

Response Client::get(const std::string& url, const std::vector<std::string>& headers, const RequestOptions& options,
                     const std::function<void(const Response&)>& on_headers, const Sink& sink) {
  return perform(false, url, headers, options, &on_headers, &sink);
}

Response Client::perform(bool head, const std::string& url, const std::vector<std::string>& headers,
                         const RequestOptions& options, const std::function<void(const Response&)>* on_headers,
                         const Sink* sink) {
  CURL* c = static_cast<CURL*>(curl_);
  curl_easy_reset(c);  // keeps open connections and caches
  Response response;
  Transfer transfer{&response, on_headers, sink};
  char error[CURL_ERROR_SIZE] = {0};
  curl_slist* list = nullptr;
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "textune/" TEXTUNE_VERSION);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout_seconds * 1000));
  if (options.total_timeout_seconds > 0)
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.total_timeout_seconds * 1000));
  if (options.stall_timeout_seconds > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(options.stall_timeout_seconds)));
  }
  if (head) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);

  const CURLcode code = curl_easy_perform(c);
  curl_slist_free_all(list);
  response.curl_code = static_cast<int>(code);
  if (code != CURLE_OK) response.curl_error = error[0] ? error : curl_easy_strerror(code);
  long status = 0;
  if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status != 0) response.status = status;
  return response;
}

std::string origin_of(const std::string& url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "";
  const size_t host_begin = scheme_end + 3;
  size_t host_end = url.find_first_of("/?#", host_begin);
  if (host_end == std::string::npos) host_end = url.size();
  return lower(url.substr(0, host_end));
}

std::string resolve_location(const std::string& base, const std::string& location) {
  if (!origin_of(location).empty()) return location;
  const std::string origin_end = origin_of(base);
  const std::string base_origin = base.substr(0, origin_end.size());
  if (location.rfind("//", 0) == 0) return base.substr(0, base.find("://") + 1) + location;
  if (!location.empty() && location[0] == '/') return base_origin + location;
  // Relative to the base path's directory.
  std::string path = base.substr(base_origin.size());
  const size_t q = path.find_first_of("?#");
  if (q != std::string::npos) path.resize(q);
  const size_t slash = path.rfind('/');
  path = slash == std::string::npos ? "/" : path.substr(0, slash + 1);
  return base_origin + path + location;
}

std::string url_quote(const std::string& s, bool keep_slash) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace textune::core::http
