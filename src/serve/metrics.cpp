// Prometheus metrics of the HTTP service (see metrics.h).
#include "serve/metrics.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace textune::serve {
namespace {

/// Prometheus sample value: integers without a fraction, others with round-trip precision.
std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void labeled(std::string& out, const std::string& name, const char* label,
             const std::map<std::string, uint64_t>& values) {
  for (const auto& [k, v] : values) out += fmt::format("{}{{{}=\"{}\"}} {}\n", name, label, k, v);
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();  // first bound >= value
  ++buckets_[i];
  sum_ += value;
  ++count_;
}

uint64_t Histogram::count_le(double bound) const {
  uint64_t n = 0;
  for (size_t i = 0; i < bounds_.size(); ++i)
    if (bounds_[i] <= bound) n += buckets_[i];
  if (std::isinf(bound)) n += buckets_.back();
  return n;
}

void Histogram::render(const std::string& name, std::string& out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += buckets_[i];
    out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, number(bounds_[i]), cumulative);
  }
  cumulative += buckets_.back();
  out += fmt::format("{}_bucket{{le=\"+Inf\"}} {}\n", name, cumulative);
  out += fmt::format("{}_sum {}\n{}_count {}\n", name, number(sum_), name, count_);
}

std::vector<double> Histogram::duration_bounds() {
  std::vector<double> b;
  double v = 0.00001;
  for (int i = 0; i < 35; ++i) b.push_back(v *= 1.5);
  return b;
}

std::vector<double> Histogram::power_of_two_bounds(int n) {
  std::vector<double> b;
  for (int i = 0; i < n; ++i) b.push_back(std::ldexp(1.0, i));
  return b;
}

namespace {
std::vector<double> input_length_bounds(size_t max_input_length) {
  std::vector<double> b;
  for (double x : Histogram::power_of_two_bounds(20))
    if (x <= static_cast<double>(max_input_length)) b.push_back(x);
  if (b.empty()) b.push_back(1);
  return b;
}
}  // namespace

Metrics::Metrics(size_t max_input_length)
    : request_duration_(Histogram::duration_bounds()),
      tokenization_duration_(Histogram::duration_bounds()),
      queue_duration_(Histogram::duration_bounds()),
      inference_duration_(Histogram::duration_bounds()),
      input_length_(input_length_bounds(max_input_length)),
      batch_size_(Histogram::power_of_two_bounds(13)),
      batch_tokens_(Histogram::power_of_two_bounds(21)),
      batch_inference_duration_(Histogram::duration_bounds()) {}

void Metrics::request_received(const std::string& method) {
  std::lock_guard<std::mutex> lock(mu_);
  ++request_count_[method];
}

void Metrics::request_succeeded(const std::string& method, double duration_s, double tokenization_s, double queue_s,
                                double inference_s) {
  std::lock_guard<std::mutex> lock(mu_);
  ++request_success_[method];
  request_duration_.observe(duration_s);
  tokenization_duration_.observe(tokenization_s);
  queue_duration_.observe(queue_s);
  inference_duration_.observe(inference_s);
}

void Metrics::request_failed(const std::string& err) {
  std::lock_guard<std::mutex> lock(mu_);
  ++request_failure_[err];
}

void Metrics::input_length(size_t tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  input_length_.observe(static_cast<double>(tokens));
}

void Metrics::batch(size_t size, size_t tokens, double inference_s) {
  std::lock_guard<std::mutex> lock(mu_);
  batch_size_.observe(static_cast<double>(size));
  batch_tokens_.observe(static_cast<double>(tokens));
  batch_inference_duration_.observe(inference_s);
}

void Metrics::http_response(const std::string& route, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++http_responses_[{route, status}];
}

uint64_t Metrics::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batch_size_.count();
}

uint64_t Metrics::batches_of_one() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batch_size_.count_le(1);
}

std::string Metrics::render(size_t queue_size, size_t in_flight) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  header(out, "te_request_count", "counter", "Predict requests received, by method (single or batch).");
  labeled(out, "te_request_count", "method", request_count_);
  header(out, "te_request_success", "counter", "Predict requests answered with 200, by method.");
  labeled(out, "te_request_success", "method", request_success_);
  header(out, "te_request_failure", "counter", "Predict requests that failed, by reason.");
  labeled(out, "te_request_failure", "err", request_failure_);
  header(out, "te_http_requests_total", "counter", "HTTP responses, by route and status code.");
  for (const auto& [key, v] : http_responses_)
    out += fmt::format("te_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n", key.first, key.second, v);

  const std::pair<const char*, const Histogram*> histograms[] = {
      {"te_request_duration", &request_duration_},     {"te_request_tokenization_duration", &tokenization_duration_},
      {"te_request_queue_duration", &queue_duration_}, {"te_request_inference_duration", &inference_duration_},
      {"te_request_input_length", &input_length_},     {"te_batch_next_size", &batch_size_},
      {"te_batch_next_tokens", &batch_tokens_},        {"te_batch_inference_duration", &batch_inference_duration_},
  };
  const char* helps[] = {
      "Seconds from receiving a predict request to answering it.",
      "Seconds spent tokenizing a predict request (counting tokens, checking lengths).",
      "Seconds a request's sequences waited in the batching queue (mean over its sequences).",
      "Seconds of model inference for a request's sequences (mean over its sequences).",
      "Tokens per input sequence, special tokens included.",
      "Sequences per batch run through the model.",
      "Tokens per batch run through the model.",
      "Seconds per batch in Pipeline::predict.",
  };
  for (size_t i = 0; i < std::size(histograms); ++i) {
    header(out, histograms[i].first, "histogram", helps[i]);
    histograms[i].second->render(histograms[i].first, out);
  }
  header(out, "te_queue_size", "gauge", "Sequences waiting in the batching queue.");
  out += fmt::format("te_queue_size {}\n", queue_size);
  header(out, "te_in_flight_requests", "gauge", "Predict requests being served.");
  out += fmt::format("te_in_flight_requests {}\n", in_flight);
  return out;
}

}  // namespace textune::serve
