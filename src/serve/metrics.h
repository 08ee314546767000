// Counters and histograms of the HTTP service, rendered in the Prometheus text exposition format
// (https://prometheus.io/docs/instrumenting/exposition_formats/). Metric names and bucket layouts
// follow text-embeddings-inference (`router/src/prometheus.rs`, the `te_*` metrics) so that its
// dashboards read textune unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace textune::serve {

/// A cumulative histogram with fixed upper bounds (`le`), plus a +Inf bucket. Not synchronized.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  /// Appends `NAME_bucket{le=...}`, `NAME_sum`, `NAME_count` lines.
  void render(const std::string& name, std::string& out) const;
  uint64_t count() const { return count_; }
  /// Number of observations <= bound (bound must be one of the bounds; +Inf for all).
  uint64_t count_le(double bound) const;

  /// Durations: 35 bounds 1.5^k * 1e-5 s for k = 1..35 (15 us to 14 min), as TEI.
  static std::vector<double> duration_bounds();
  /// Powers of two 2^0 .. 2^(n-1).
  static std::vector<double> power_of_two_bounds(int n);

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> buckets_;  // non-cumulative, one per bound, plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

/// Every metric of the server. Thread-safe (one mutex; updates are a few additions).
class Metrics {
 public:
  /// @param max_input_length bounds the `te_request_input_length` buckets (powers of two up to it).
  explicit Metrics(size_t max_input_length);

  /// A /predict request was received and parsed: `method` is "single" or "batch".
  void request_received(const std::string& method);
  void request_succeeded(const std::string& method, double duration_s, double tokenization_s, double queue_s,
                         double inference_s);
  /// A /predict request failed: `err` is TEI's failure label ("validation", "batch_size",
  /// "overloaded", "tokenizer", "backend", "empty", "unhealthy").
  void request_failed(const std::string& err);
  void input_length(size_t tokens);
  /// One batch run through the model: sequences, tokens, and seconds in Pipeline::predict.
  void batch(size_t size, size_t tokens, double inference_s);
  /// An HTTP response: `route` a known path or "other", `status` its code.
  void http_response(const std::string& route, int status);

  /// The text exposition; `queue_size` and `in_flight` are gauges sampled by the caller.
  std::string render(size_t queue_size, size_t in_flight) const;

  /// Observations of `te_batch_next_size` (batches run) and how many held exactly one sequence.
  uint64_t batches() const;
  uint64_t batches_of_one() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> request_count_, request_success_, request_failure_;
  std::map<std::pair<std::string, int>, uint64_t> http_responses_;
  Histogram request_duration_, tokenization_duration_, queue_duration_, inference_duration_;
  Histogram input_length_, batch_size_, batch_tokens_, batch_inference_duration_;
};

}  // namespace textune::serve
