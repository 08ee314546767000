// Dynamic batching queue (see batch_queue.h).
#include "serve/batch_queue.h"

#include <algorithm>
#include <future>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace textune::serve {

/// One caller's sequences: filled by the workers, handed back when `remaining` reaches 0.
struct BatchQueue::Request {
  std::vector<Sequence> sequences;  // a copy: the caller may leave (cancelled) while a batch runs
  std::vector<SequenceResult> results;
  size_t remaining = 0;  // guarded by the queue's mutex
  std::promise<void> done;
};

BatchQueue::BatchQueue(std::shared_ptr<const Pipeline> pipeline, BatchQueueOptions options, Metrics* metrics)
    : pipeline_(std::move(pipeline)), options_(options), metrics_(metrics) {
  options_.max_batch_requests = std::max<size_t>(1, options_.max_batch_requests);
  options_.num_workers = std::max<size_t>(1, options_.num_workers);
  for (size_t i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this] { work(); });
}

BatchQueue::~BatchQueue() {
  stop();
}

void BatchQueue::flush() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    flushing_ = true;
  }
  cv_.notify_all();
}

void BatchQueue::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_)
    if (t.joinable()) t.join();
}

size_t BatchQueue::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

std::vector<SequenceResult> BatchQueue::predict(const std::vector<Sequence>& sequences,
                                                const std::vector<size_t>& num_tokens, const CancelCheck& cancelled) {
  if (sequences.size() != num_tokens.size()) throw std::invalid_argument("BatchQueue::predict: sizes differ");
  if (sequences.empty()) return {};
  auto request = std::make_shared<Request>();
  request->sequences = sequences;
  request->results.resize(sequences.size());
  request->remaining = sequences.size();
  std::future<void> done = request->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw HttpError(503, ErrorType::kUnhealthy, "the server is shutting down");
    const auto now = Clock::now();
    for (size_t i = 0; i < sequences.size(); ++i) {
      queue_.push_back({request, i, num_tokens[i], now});
      queued_tokens_ += num_tokens[i];
    }
  }
  cv_.notify_all();
  if (cancelled) {
    while (done.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready) {
      if (!cancelled()) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        const auto end = std::remove_if(queue_.begin(), queue_.end(), [&](const Item& it) {
          if (it.request != request) return false;
          queued_tokens_ -= it.num_tokens;
          return true;
        });
        queue_.erase(end, queue_.end());
      }
      cv_.notify_all();
      throw Cancelled();
    }
  }
  done.wait();
  return std::move(request->results);
}

bool BatchQueue::batch_ready_locked() const {
  return queue_.size() >= options_.max_batch_requests || queued_tokens_ >= options_.max_batch_tokens;
}

void BatchQueue::work() {
  const auto max_wait = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(std::max(0.0, options_.max_wait_ms)));
  for (;;) {
    std::vector<Item> batch;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, nothing left
      // Give companions until the oldest sequence's deadline to join, unless the batch is full.
      const auto deadline = queue_.front().enqueued + max_wait;
      while (!stopping_ && !flushing_ && !queue_.empty() && !batch_ready_locked() && Clock::now() < deadline)
        cv_.wait_until(lock, deadline);
      if (queue_.empty()) continue;  // another worker took them
      size_t tokens = 0;
      while (!queue_.empty() && batch.size() < options_.max_batch_requests) {
        const size_t t = queue_.front().num_tokens;
        if (!batch.empty() && tokens + t > options_.max_batch_tokens) break;
        tokens += t;
        queued_tokens_ -= t;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    cv_.notify_all();  // the rest of the queue may make another worker's batch
    run_batch(batch);
  }
}

void BatchQueue::run_batch(std::vector<Item>& batch) {
  const auto start = Clock::now();
  size_t tokens = 0;
  std::vector<std::string> texts;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::vector<size_t> text_items, pair_items;  // positions in `batch`
  for (size_t i = 0; i < batch.size(); ++i) {
    const Sequence& s = batch[i].request->sequences[batch[i].index];
    tokens += batch[i].num_tokens;
    if (s.pair) {
      pairs.emplace_back(s.text, *s.pair);
      pair_items.push_back(i);
    } else {
      texts.push_back(s.text);
      text_items.push_back(i);
    }
  }

  std::vector<Prediction> text_predictions, pair_predictions;
  std::exception_ptr error;
  try {
    if (!texts.empty()) text_predictions = pipeline_->predict(texts);
    if (!pairs.empty()) pair_predictions = pipeline_->predict(pairs);
    if (text_predictions.size() != texts.size() || pair_predictions.size() != pairs.size())
      throw std::runtime_error(fmt::format("Pipeline::predict returned {} predictions for {} inputs",
                                           text_predictions.size() + pair_predictions.size(), batch.size()));
  } catch (...) {
    error = std::current_exception();
  }
  const auto end = Clock::now();
  const double inference_s = std::chrono::duration<double>(end - start).count();
  if (metrics_) metrics_->batch(batch.size(), tokens, inference_s);

  auto fill = [&](size_t item, Prediction* prediction) -> std::shared_ptr<Request> {
    Item& it = batch[item];
    SequenceResult& r = it.request->results[it.index];
    if (prediction) r.prediction = std::move(*prediction);
    r.error = error;
    r.queue_seconds = std::chrono::duration<double>(start - it.enqueued).count();
    r.inference_seconds = inference_s;
    r.batch_size = batch.size();
    return it.request;
  };
  std::vector<std::shared_ptr<Request>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t k = 0; k < text_items.size(); ++k) {
      auto req = fill(text_items[k], error ? nullptr : &text_predictions[k]);
      if (--req->remaining == 0) finished.push_back(req);
    }
    for (size_t k = 0; k < pair_items.size(); ++k) {
      auto req = fill(pair_items[k], error ? nullptr : &pair_predictions[k]);
      if (--req->remaining == 0) finished.push_back(req);
    }
  }
  for (auto& req : finished) req->done.set_value();
}

}  // namespace textune::serve
