// The high-level Pipeline: a fine-tuned sequence classifier and its tokenizer, predicting labels with
// probabilities (transformers' TextClassificationPipeline with top_k=None: softmax over the labels,
// sigmoid per label for multi_label_classification, the raw value for regression).
#include "textune/pipeline.h"

#include <numeric>

#include <fmt/format.h>

#include "textune/core/device.h"
#include "textune/core/error.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune {
namespace {

class ClassifierPipeline final : public Pipeline {
 public:
  ClassifierPipeline(const std::string& dir, const PipelineOptions& options) : options_(options) {
    models::LoadOptions lo;
    lo.device = core::parse_device(options.device);
    model_ = models::load_pretrained(dir, lo);
    if (model_->task() != models::TaskKind::kSequenceClassification)
      throw DataError(dir + " holds a " + model_->architecture() + ", not a sequence classifier");
    model_->eval();
    tokenizer_ = tokenizers::Tokenizer::from_dir(dir);
    labels_ = model_->id2label();
    problem_type_ = models::problem_type_name(model_->problem_type());
    size_t max_len = 512;
    const auto model_max = model_->max_sequence_length();
    if (model_max) max_len = static_cast<size_t>(*model_max);
    if (auto t = tokenizer_->model_max_length()) max_len = std::min(max_len, *t);
    if (options.max_length) {
      if (model_max && *options.max_length > static_cast<size_t>(*model_max))
        throw UsageError(fmt::format("max_length {} is longer than the model allows ({})", *options.max_length, *model_max));
      max_len = *options.max_length;
    }
    max_length_ = max_len;
    device_ = lo.device;
  }

  std::vector<Prediction> predict(const std::vector<std::string>& texts) const override {
    return run(texts, nullptr);
  }

  std::vector<Prediction> predict(const std::vector<std::pair<std::string, std::string>>& pairs) const override {
    std::vector<std::string> a, b;
    for (const auto& [x, y] : pairs) {
      a.push_back(x);
      b.push_back(y);
    }
    return run(a, &b);
  }

  const std::vector<std::string>& labels() const override { return labels_; }
  size_t max_length() const override { return max_length_; }
  std::string problem_type() const override { return problem_type_; }

 private:
  std::vector<Prediction> run(const std::vector<std::string>& texts, const std::vector<std::string>* pairs) const {
    std::vector<Prediction> out(texts.size());
    if (texts.empty()) return out;
    tokenizers::EncodeOptions eo;
    tokenizers::TruncationOptions tr;
    tr.max_length = max_length_;
    eo.truncation = tr;
    eo.return_overflowing_tokens = true;  // non-empty overflow: the input was cut
    std::vector<tokenizers::Encoding> enc = tokenizer_->encode_batch(texts, pairs, eo);
    for (size_t i = 0; i < enc.size(); ++i) {
      out[i].truncated = !enc[i].overflowing.empty();
      enc[i].overflowing.clear();
      if (out[i].truncated && !options_.truncate)
        throw DataError(fmt::format("input {} is longer than {} tokens (truncation is off)", i + 1, max_length_));
    }
    // Longest first, so each batch pads only to its own longest input.
    std::vector<size_t> order(enc.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return enc[a].size() > enc[b].size(); });
    const int64_t pad_id = tokenizer_->pad_token_id().value_or(0);
    const size_t bs = std::max<size_t>(1, options_.batch_size);
    torch::NoGradGuard no_grad;
    for (size_t start = 0; start < order.size(); start += bs) {
      const size_t end = std::min(order.size(), start + bs);
      size_t t = 0;
      for (size_t k = start; k < end; ++k) t = std::max(t, enc[order[k]].size());
      const int64_t b = static_cast<int64_t>(end - start);
      torch::Tensor ids = torch::full({b, static_cast<int64_t>(t)}, pad_id, torch::kInt64);
      torch::Tensor mask = torch::zeros({b, static_cast<int64_t>(t)}, torch::kInt64);
      torch::Tensor types = torch::zeros({b, static_cast<int64_t>(t)}, torch::kInt64);
      auto ia = ids.accessor<int64_t, 2>();
      auto ma = mask.accessor<int64_t, 2>();
      auto ta = types.accessor<int64_t, 2>();
      for (size_t k = start; k < end; ++k) {
        const auto& e = enc[order[k]];
        for (size_t j = 0; j < e.size(); ++j) {
          ia[k - start][j] = e.ids[j];
          ma[k - start][j] = 1;
          ta[k - start][j] = e.type_ids[j];
        }
      }
      models::ModelInputs in;
      in.input_ids = ids.to(device_);
      in.attention_mask = mask.to(device_);
      in.token_type_ids = types.to(device_);
      torch::Tensor logits = model_.ptr()->forward(in).logits.to(torch::kCPU, torch::kFloat32).contiguous();  // (b, C)
      torch::Tensor probs;
      if (problem_type_ == "multi_label_classification") probs = torch::sigmoid(logits);
      else if (problem_type_ == "regression") probs = logits;
      else probs = torch::softmax(logits, 1);
      auto la = logits.accessor<float, 2>();
      auto pa = probs.accessor<float, 2>();
      for (size_t k = start; k < end; ++k) {
        Prediction& p = out[order[k]];
        const int64_t r = static_cast<int64_t>(k - start);
        int64_t best = 0;
        for (int64_t c = 0; c < logits.size(1); ++c) {
          p.logits.push_back(la[r][c]);
          const std::string& name = c < static_cast<int64_t>(labels_.size()) ? labels_[c] : labels_.back();
          p.scores.emplace_back(name, pa[r][c]);
          if (pa[r][c] > pa[r][best]) best = c;
          if (problem_type_ == "multi_label_classification" && pa[r][c] >= 0.5) p.labels.push_back(name);
        }
        p.label = p.scores[best].first;
        p.score = p.scores[best].second;
      }
    }
    return out;
  }

  PipelineOptions options_;
  models::PreTrainedModel model_ = nullptr;
  std::shared_ptr<const tokenizers::Tokenizer> tokenizer_;
  std::vector<std::string> labels_;
  std::string problem_type_;
  size_t max_length_ = 512;
  torch::Device device_{torch::kCPU};
};

}  // namespace

std::vector<core::Json> Pipeline::predict_records(const std::vector<core::Json>& inputs) const {
  throw UsageError("this pipeline has no task: predict_records is not available");
}

core::Json Pipeline::response(const core::Json& record, bool raw_scores) const {
  throw UsageError("this pipeline has no task: response is not available");
}

core::Json Pipeline::info() const {
  return core::Json::object();
}

std::shared_ptr<Pipeline> Pipeline::load(const std::string& model_dir, const PipelineOptions& options) {
  return std::make_shared<ClassifierPipeline>(model_dir, options);
}

}  // namespace textune
