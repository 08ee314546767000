// train::predict_logits, the inference loop over bare encodings that `textune eval` used before
// train::run_inference (kept while a caller remains). See include/textune/train/trainer.h.
#include <cmath>
#include <numeric>

#include "textune/train/inference.h"
#include "textune/train/trainer.h"

namespace textune::train {

torch::Tensor predict_logits(models::PreTrainedModel model, const std::vector<tokenizers::Encoding>& encodings,
                             size_t batch_size, const data::CollateOptions& collate, const data::Dataset* dataset,
                             double* loss) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const torch::Device device = model_device(model);
  std::vector<size_t> order(encodings.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return encodings[a].size() > encodings[b].size(); });
  torch::Tensor logits;
  double loss_sum = 0;
  size_t loss_n = 0;
  for (size_t start = 0; start < order.size(); start += batch_size) {
    std::vector<size_t> idx(order.begin() + start, order.begin() + std::min(order.size(), start + batch_size));
    data::Batch b = data::collate(encodings, idx, (dataset && dataset->has_labels()) ? dataset : nullptr, collate);
    models::ModelInputs in;
    in.input_ids = b.input_ids;
    in.attention_mask = b.attention_mask;
    in.token_type_ids = b.token_type_ids;
    in.labels = b.labels;
    in = inputs_to_device(in, device);
    if (!loss) in.labels = torch::Tensor();
    models::ModelOutputs out = model->forward(in);
    torch::Tensor l = out.logits.to(torch::kCPU, torch::kFloat32);  // (b, C)
    if (!logits.defined()) logits = torch::empty({static_cast<int64_t>(encodings.size()), l.size(1)}, torch::kFloat32);
    logits.index_copy_(0, torch::tensor(std::vector<int64_t>(idx.begin(), idx.end()), torch::kInt64), l);
    if (loss && out.loss.defined()) {
      loss_sum += out.loss.item<double>() * static_cast<double>(idx.size());
      loss_n += idx.size();
    }
  }
  if (loss) *loss = loss_n ? loss_sum / static_cast<double>(loss_n) : std::nan("");
  if (was_training) model->train();
  if (!logits.defined()) logits = torch::empty({0, 0}, torch::kFloat32);
  return logits;
}

}  // namespace textune::train
