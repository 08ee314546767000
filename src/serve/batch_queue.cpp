// Dynamic batching queue (see batch_queue.h).
#include "serve/batch_queue.h"

#include <algorithm>
#include <future>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace textune::serve {

/// One caller's inputs: filled by the workers, handed back when `remaining` reaches 0.
struct BatchQueue::Request {
  std::vector<core::Json> inputs;  // a copy: the caller may leave (cancelled) while a batch runs
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

std::vector<SequenceResult> BatchQueue::predict(const std::vector<core::Json>& inputs,
                                                const std::vector<size_t>& num_tokens, const CancelCheck& cancelled,
                                                const std::vector<size_t>& num_features) {
  if (inputs.size() != num_tokens.size() || (!num_features.empty() && num_features.size() != inputs.size()))
    throw std::invalid_argument("BatchQueue::predict: sizes differ");
  if (inputs.empty()) return {};
  auto request = std::make_shared<Request>();
  request->inputs = inputs;
  request->results.resize(inputs.size());
  request->remaining = inputs.size();
  std::future<void> done = request->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) throw HttpError(503, ErrorType::kUnhealthy, "the server is shutting down");
    const auto now = Clock::now();
    for (size_t i = 0; i < inputs.size(); ++i) {
      const size_t features = num_features.empty() ? 1 : std::max<size_t>(1, num_features[i]);
      queue_.push_back({request, i, num_tokens[i], features, now});
      queued_tokens_ += num_tokens[i];
      queued_features_ += features;
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
          queued_features_ -= it.num_features;
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
  return queued_features_ >= options_.max_batch_requests || queued_tokens_ >= options_.max_batch_tokens;
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
      size_t tokens = 0, features = 0;
      while (!queue_.empty()) {
        const size_t t = queue_.front().num_tokens, f = queue_.front().num_features;
        if (!batch.empty() && (tokens + t > options_.max_batch_tokens || features + f > options_.max_batch_requests))
          break;
        tokens += t;
        features += f;
        queued_tokens_ -= t;
        queued_features_ -= f;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    cv_.notify_all();  // the rest of the queue may make another worker's batch
    run_batch(batch);
  }
}

namespace {

/// The shape of a task input: "" for a string, else its object's keys (a text pair: "text,text_pair").
std::string input_shape(const core::Json& input) {
  if (!input.is_object()) return std::string();
  std::string keys = "{";
  for (const auto& item : input.items()) keys += item.key() + ",";
  return keys;
}

}  // namespace

void BatchQueue::run_batch(std::vector<Item>& batch) {
  const auto start = Clock::now();
  size_t tokens = 0, features = 0;
  // Inputs grouped by shape (strings first, then objects by their keys, in order of first
  // appearance): one predict_records call per group, so that only inputs of one shape are padded
  // together (see the class comment).
  std::vector<std::string> shapes{std::string()};
  std::vector<std::vector<size_t>> groups(1);  // positions in `batch`, per shape
  for (size_t i = 0; i < batch.size(); ++i) {
    tokens += batch[i].num_tokens;
    features += batch[i].num_features;
    const std::string shape = input_shape(batch[i].request->inputs[batch[i].index]);
    const size_t g = static_cast<size_t>(std::find(shapes.begin(), shapes.end(), shape) - shapes.begin());
    if (g == shapes.size()) {
      shapes.push_back(shape);
      groups.emplace_back();
    }
    groups[g].push_back(i);
  }

  std::vector<std::vector<core::Json>> records(groups.size());
  std::exception_ptr error;
  try {
    for (size_t g = 0; g < groups.size(); ++g) {
      if (groups[g].empty()) continue;
      std::vector<core::Json> inputs;
      inputs.reserve(groups[g].size());
      for (size_t i : groups[g]) inputs.push_back(batch[i].request->inputs[batch[i].index]);
      records[g] = pipeline_->predict_records(inputs);
      if (records[g].size() != inputs.size())
        throw std::runtime_error(fmt::format("Pipeline::predict_records returned {} records for {} inputs",
                                             records[g].size(), inputs.size()));
    }
  } catch (...) {
    error = std::current_exception();
  }
  const auto end = Clock::now();
  const double inference_s = std::chrono::duration<double>(end - start).count();
  if (metrics_) metrics_->batch(features, tokens, inference_s);  // sequences: windows of windowed inputs

  std::vector<std::shared_ptr<Request>> finished;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t g = 0; g < groups.size(); ++g) {
      for (size_t k = 0; k < groups[g].size(); ++k) {
        Item& it = batch[groups[g][k]];
        SequenceResult& r = it.request->results[it.index];
        if (!error) r.record = std::move(records[g][k]);
        r.error = error;
        r.queue_seconds = std::chrono::duration<double>(start - it.enqueued).count();
        r.inference_seconds = inference_s;
        r.batch_size = batch.size();
        if (--it.request->remaining == 0) finished.push_back(it.request);
      }
    }
  }
  for (auto& req : finished) req->done.set_value();
}

}  // namespace textune::serve
