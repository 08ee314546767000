// Dynamic batching: inputs from concurrent requests wait in one queue and are run through
// Pipeline::predict_records together, as text-embeddings-inference's queue does (`core/src/queue.rs`:
// batches bounded by `max_batch_tokens` and `max_batch_requests`), with an optional wait for
// companions (`max_wait_ms`). Inputs and records are the task's JSON (tasks::Task::from_inputs,
// tasks::Predictor): the queue knows nothing of the task.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "serve/api.h"
#include "serve/metrics.h"
#include "textune/core/json.h"
#include "textune/pipeline.h"

namespace textune::serve {

/// Options of BatchQueue.
struct BatchQueueOptions {
  size_t max_batch_tokens = 16384;  ///< tokens per batch (a single longer sequence runs alone)
  size_t max_batch_requests = 32;   ///< sequences per batch
  double max_wait_ms = 0;           ///< the oldest queued sequence waits at most this long for others
  size_t num_workers = 1;           ///< threads calling Pipeline::predict_records
};

/// What became of one input.
struct SequenceResult {
  core::Json record;             ///< its record (Pipeline::predict_records); null when `error` is set
  std::exception_ptr error;      ///< set when its batch failed (what Pipeline::predict_records threw)
  double queue_seconds = 0;      ///< from enqueue to the start of its batch
  double inference_seconds = 0;  ///< its batch's time in Pipeline::predict_records
  size_t batch_size = 0;         ///< inputs in its batch
};

/// A queue of inputs served by worker threads, each taking the longest prefix of the queue that
/// fits the limits (tokens, and features: an input's windows count one each) and calling Pipeline::predict_records once
/// per input shape in it: once for its strings (single texts), then once for each set of object keys ({"text",
/// "text_pair"}: pairs), in order of first appearance. Each input is featurized on its own but padded with its batch,
/// so inputs of one shape only are padded together, as when `predict(texts)` and `predict(pairs)` were called apart:
/// the answers do not depend on what else was queued with other shapes. Results go back to the caller that enqueued
/// them. Thread-safe.
class BatchQueue {
 public:
  using Clock = std::chrono::steady_clock;

  /// Starts `options.num_workers` workers. `metrics` (may be null) receives one observation per batch.
  BatchQueue(std::shared_ptr<const Pipeline> pipeline, BatchQueueOptions options, Metrics* metrics);
  /// stop().
  ~BatchQueue();
  BatchQueue(const BatchQueue&) = delete;
  BatchQueue& operator=(const BatchQueue&) = delete;

  /// Enqueues `inputs` (the task's inputs: strings or objects; with their token counts, special
  /// tokens included) and blocks until every one has been predicted. Results are in input order.
  /// `num_features`: the features (windows) each input becomes (Pipeline::input_cost; empty: one
  /// each), counted against max_batch_requests instead of the inputs, so that the windows of long
  /// contexts fill a batch as separate sequences would (an input is never split: one whose windows
  /// exceed the limit runs alone).
  /// While waiting, asks `cancelled` every 20 ms: when it says so, the request's inputs still queued
  /// are taken out (never predicted; those in a batch already running finish unseen) and Cancelled
  /// is thrown.
  /// @throws std::invalid_argument when the sizes differ; HttpError 503 (Unhealthy) after stop();
  ///         Cancelled.
  std::vector<SequenceResult> predict(const std::vector<core::Json>& inputs, const std::vector<size_t>& num_tokens,
                                      const CancelCheck& cancelled = {}, const std::vector<size_t>& num_features = {});

  /// From now on batches start at once (no waiting for max_wait_ms); used when shutting down.
  void flush();
  /// Finishes every queued input (without waiting for max_wait_ms), then joins the workers.
  /// Idempotent.
  void stop();

  /// Inputs waiting (not yet in a batch).
  size_t size() const;

 private:
  struct Request;
  struct Item {
    std::shared_ptr<Request> request;
    size_t index;
    size_t num_tokens;
    size_t num_features;  ///< windows (>= 1)
    Clock::time_point enqueued;
  };

  void work();
  bool batch_ready_locked() const;
  void run_batch(std::vector<Item>& batch);

  std::shared_ptr<const Pipeline> pipeline_;
  BatchQueueOptions options_;
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  size_t queued_tokens_ = 0;
  size_t queued_features_ = 0;
  bool stopping_ = false;
  bool flushing_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace textune::serve
