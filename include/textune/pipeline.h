// The high-level C++ API: load a fine-tuned text classifier and predict.
//
// NOTE (interface pinned by the lead; implemented in src/eval/pipeline.cpp by the training/eval
// work, used by `textune predict`, `textune serve` and applications).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace textune {

/// Options of Pipeline::load.
struct PipelineOptions {
  std::string device = "cpu";            ///< "cpu", "cuda", "cuda:1"
  size_t batch_size = 32;                ///< texts per forward pass inside predict()
  std::optional<size_t> max_length;      ///< default: the model's maximum
  bool truncate = true;                  ///< false: a text longer than max_length is an error
};

/// One prediction of a sequence classifier.
struct Prediction {
  std::string label;     ///< the top label (multi-label: the top one; see `labels`)
  double score = 0;      ///< its probability (softmax; sigmoid for multi-label; the value for regression)
  std::vector<std::pair<std::string, double>> scores;  ///< every label with its probability, in id order
  std::vector<float> logits;                           ///< raw scores, in id order
  std::vector<std::string> labels;  ///< multi-label: every label whose probability >= threshold
  bool truncated = false;           ///< the input was cut to max_length
};

/// A fine-tuned sequence classifier with its tokenizer, ready to predict.
/// Thread-safe: `predict` may be called from many threads at once.
class Pipeline {
 public:
  /// Loads a model directory written by `textune train` or `save_pretrained`.
  /// @throws textune::DataError when the directory has no classifier or tokenizer;
  ///         textune::UsageError for a device this build or machine cannot use (core::parse_device).
  static std::shared_ptr<Pipeline> load(const std::string& model_dir, const PipelineOptions& options = {});
  virtual ~Pipeline() = default;

  /// Predicts single texts. @throws textune::DataError for a too-long text when truncate is false.
  virtual std::vector<Prediction> predict(const std::vector<std::string>& texts) const = 0;
  /// Predicts text pairs.
  virtual std::vector<Prediction> predict(const std::vector<std::pair<std::string, std::string>>& pairs) const = 0;

  /// Labels in id order.
  virtual const std::vector<std::string>& labels() const = 0;
  /// Maximum input length in tokens.
  virtual size_t max_length() const = 0;
  /// "single_label_classification", "multi_label_classification" or "regression".
  virtual std::string problem_type() const = 0;
};

}  // namespace textune
