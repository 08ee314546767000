// The dynamic batching queue (src/serve/batch_queue.h) over the fake pipeline.
#include "serve/batch_queue.h"

#include <future>

#include "serve_support.h"

using namespace textune::serve;
using textune::testing::fake_logits;
using textune::testing::FakePipeline;

namespace {

std::vector<textune::core::Json> texts(std::initializer_list<const char*> list) {
  std::vector<textune::core::Json> out;
  for (const char* t : list) out.push_back(t);
  return out;
}

/// The logits of a record (Pipeline::predict_records).
std::vector<float> logits_of(const SequenceResult& r) {
  return r.record.at("logits").get<std::vector<float>>();
}

}  // namespace

TEST(ServeBatchQueue, ConcurrentCallersAreBatchedAndGetTheirOwnResults) {
  auto pipeline = std::make_shared<FakePipeline>();
  BatchQueueOptions o;
  o.max_batch_requests = 16;
  o.max_wait_ms = 10000;  // a full batch (16 sequences) goes at once, long before this
  BatchQueue queue(pipeline, o, nullptr);
  std::vector<std::future<std::vector<SequenceResult>>> futures;
  std::vector<std::vector<Sequence>> sequences(8);
  std::vector<std::vector<textune::core::Json>> inputs(8);
  for (int c = 0; c < 8; ++c) {
    sequences[c] = {{"caller " + std::to_string(c) + std::string(c, 'a'), std::nullopt},
                    {"second " + std::to_string(c), std::string(c, 'b')}};
    for (const Sequence& s : sequences[c]) inputs[c].push_back(input_json(s));
    futures.push_back(std::async(std::launch::async, [&, c] { return queue.predict(inputs[c], {4, 6}); }));
  }
  for (int c = 0; c < 8; ++c) {
    auto results = futures[c].get();
    ASSERT_EQ(results.size(), 2u);
    EXPECT_FALSE(results[0].error);
    EXPECT_EQ(logits_of(results[0]), fake_logits(sequences[c][0].text));
    EXPECT_EQ(logits_of(results[1]), fake_logits(sequences[c][1].text + " || " + *sequences[c][1].pair));
    EXPECT_EQ(results[0].batch_size, 16u);
  }
  // One batch of 16 sequences: one call for the 8 texts and one for the 8 pairs.
  EXPECT_EQ(pipeline->calls(), (std::vector<size_t>{8, 8}));
}

TEST(ServeBatchQueue, BatchesRespectRequestAndTokenLimits) {
  auto pipeline = std::make_shared<FakePipeline>();
  pipeline->close_gate();
  BatchQueueOptions o;
  o.max_batch_requests = 3;
  o.max_batch_tokens = 10;
  BatchQueue queue(pipeline, o, nullptr);
  // The worker takes "first" alone and blocks at the gate; the rest queue up behind it.
  auto first = std::async(std::launch::async, [&] { return queue.predict(texts({"first"}), {3}); });
  while (pipeline->waiting() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto rest_inputs = texts({"a", "b", "c", "d", "e", "f"});
  auto rest = std::async(std::launch::async, [&] { return queue.predict(rest_inputs, {4, 4, 4, 1, 1, 1}); });
  while (queue.size() < 6) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  pipeline->open_gate();
  EXPECT_EQ(first.get().size(), 1u);
  auto results = rest.get();
  // Tokens 4+4 = 8 <= 10, + 4 > 10: batch {a, b}; then {c, d, e} (4+1+1, 3 requests); then {f}.
  EXPECT_EQ(pipeline->calls(), (std::vector<size_t>{1, 2, 3, 1}));
  EXPECT_EQ(results[0].batch_size, 2u);
  EXPECT_EQ(results[2].batch_size, 3u);
  EXPECT_EQ(results[5].batch_size, 1u);
}

TEST(ServeBatchQueue, MaxWaitGathersCompanionsAndStopFinishesQueuedWork) {
  auto pipeline = std::make_shared<FakePipeline>();
  BatchQueueOptions o;
  o.max_batch_requests = 64;
  o.max_wait_ms = 60000;  // nothing runs until stop()
  BatchQueue queue(pipeline, o, nullptr);
  std::vector<std::future<std::vector<SequenceResult>>> futures;
  auto inputs = texts({"one", "two", "three"});
  for (int i = 0; i < 3; ++i)
    futures.push_back(std::async(std::launch::async, [&, i] { return queue.predict({inputs[i]}, {3}); }));
  while (queue.size() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_TRUE(pipeline->calls().empty());
  queue.stop();  // does not wait for max_wait_ms: runs what is queued, then returns
  for (int i = 0; i < 3; ++i) EXPECT_EQ(logits_of(futures[i].get()[0]), fake_logits(inputs[i].get<std::string>()));
  EXPECT_EQ(pipeline->calls(), (std::vector<size_t>{3}));
  try {
    queue.predict(texts({"late"}), {3});
    FAIL() << "accepted work after stop()";
  } catch (const HttpError& e) {
    EXPECT_EQ(e.status(), 503);
  }
}

TEST(ServeBatchQueue, PipelineErrorsReachEveryCallerOfTheBatch) {
  auto pipeline = std::make_shared<FakePipeline>();
  BatchQueue queue(pipeline, {}, nullptr);
  auto results = queue.predict(texts({"fine", "boom"}), {3, 3});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].error);
  EXPECT_TRUE(results[1].error);
  // The queue keeps working afterwards.
  auto ok = queue.predict(texts({"fine"}), {3});
  EXPECT_FALSE(ok[0].error);
}
