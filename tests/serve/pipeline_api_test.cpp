// The C++ API (include/textune/pipeline.h) as an application uses it: load, predict texts and pairs,
// labels and limits, truncation, and many threads sharing one pipeline.
#include <cmath>
#include <fstream>
#include <future>

#include "classifier_model.h"
#include "textune/core/error.h"
#include "textune/pipeline.h"

using namespace textune::testing;
using textune::Pipeline;
using textune::PipelineOptions;
using textune::Prediction;

namespace {

class PipelineApi : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    model_ = *tmp_ / "classifier";
    ASSERT_EQ(make_small_classifier(tmp_->path(), model_), "");
  }
  static void TearDownTestSuite() { delete tmp_; }
  static TempDir* tmp_;
  static std::string model_;
};
TempDir* PipelineApi::tmp_ = nullptr;
std::string PipelineApi::model_;

std::vector<std::string> sst2_sentences(size_t n) {
  std::ifstream in(data_dir() + "/en/sst2/dev.tsv");
  std::string line;
  std::getline(in, line);
  std::vector<std::string> out;
  while (out.size() < n && std::getline(in, line)) out.push_back(line.substr(0, line.find('\t')));
  return out;
}

void expect_near(const Prediction& a, const Prediction& b, const std::string& what) {
  ASSERT_EQ(a.scores.size(), b.scores.size()) << what;
  for (size_t i = 0; i < a.scores.size(); ++i) {
    EXPECT_EQ(a.scores[i].first, b.scores[i].first) << what;
    EXPECT_NEAR(a.scores[i].second, b.scores[i].second, 1e-6) << what;
  }
  EXPECT_EQ(a.label, b.label) << what;
}

}  // namespace

TEST_F(PipelineApi, PredictionsAreProbabilitiesOverTheLabelsInIdOrder) {
  auto pipeline = Pipeline::load(model_);
  EXPECT_EQ(pipeline->labels(), (std::vector<std::string>{"negative", "neutral", "positive"}));
  EXPECT_EQ(pipeline->max_length(), 64u);  // the init'd model's max_position_embeddings
  EXPECT_EQ(pipeline->problem_type(), "single_label_classification");
  const auto texts = sst2_sentences(20);
  const auto predictions = pipeline->predict(texts);
  ASSERT_EQ(predictions.size(), texts.size());
  for (const auto& p : predictions) {
    ASSERT_EQ(p.logits.size(), 3u);
    ASSERT_EQ(p.scores.size(), 3u);
    // softmax of the logits (computed here in double), labels in id order, argmax as the label.
    double m = *std::max_element(p.logits.begin(), p.logits.end()), z = 0;
    for (float l : p.logits) z += std::exp(l - m);
    size_t best = 0;
    for (size_t c = 0; c < 3; ++c) {
      EXPECT_EQ(p.scores[c].first, pipeline->labels()[c]);
      EXPECT_NEAR(p.scores[c].second, std::exp(p.logits[c] - m) / z, 1e-6);
      if (p.logits[c] > p.logits[best]) best = c;
    }
    EXPECT_EQ(p.label, pipeline->labels()[best]);
    EXPECT_DOUBLE_EQ(p.score, p.scores[best].second);
    EXPECT_FALSE(p.truncated);
  }
  // One text at a time gives the same answers as the batch.
  for (size_t i = 0; i < texts.size(); i += 7) expect_near(pipeline->predict({texts[i]})[0], predictions[i], texts[i]);
  // Pairs: [CLS] a [SEP] b [SEP] differs from the text alone.
  auto pair = pipeline->predict(std::vector<std::pair<std::string, std::string>>{{texts[0], texts[1]}});
  ASSERT_EQ(pair.size(), 1u);
  EXPECT_NE(pair[0].logits, predictions[0].logits);
}

TEST_F(PipelineApi, OneSharedPipelineAnswersManyThreadsAsItAnswersOne) {
  auto pipeline = Pipeline::load(model_);
  const auto texts = sst2_sentences(64);
  const auto expected = pipeline->predict(texts);
  std::vector<std::future<std::vector<Prediction>>> futures;
  for (size_t t = 0; t < 8; ++t)
    futures.push_back(std::async(std::launch::async, [&, t] {
      std::vector<std::string> mine;
      for (size_t i = t; i < texts.size(); i += 8) mine.push_back(texts[i]);
      std::vector<Prediction> all;
      for (int round = 0; round < 3; ++round) all = pipeline->predict(mine);
      return all;
    }));
  for (size_t t = 0; t < 8; ++t) {
    const auto got = futures[t].get();
    for (size_t k = 0, i = t; i < texts.size(); ++k, i += 8) expect_near(got[k], expected[i], texts[i]);
  }
}

TEST_F(PipelineApi, LongInputsAreTruncatedOrRefused) {
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "word ";
  auto truncating = Pipeline::load(model_);
  auto p = truncating->predict({long_text});
  EXPECT_TRUE(p[0].truncated);
  PipelineOptions strict;
  strict.truncate = false;
  auto refusing = Pipeline::load(model_, strict);
  EXPECT_THROW(refusing->predict({long_text}), textune::DataError);
  EXPECT_NO_THROW(refusing->predict({"short enough"}));
  PipelineOptions shorter;
  shorter.max_length = 16;
  EXPECT_EQ(Pipeline::load(model_, shorter)->max_length(), 16u);
}

TEST_F(PipelineApi, LoadingSomethingElseIsADataError) {
  EXPECT_THROW(Pipeline::load("/nonexistent/model"), textune::DataError);
  EXPECT_THROW(Pipeline::load(tmp_->path() + "/base"), textune::DataError);  // an encoder without a head
}
