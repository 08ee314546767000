// The one evaluation/inference loop. See include/textune/train/inference.h.
#include "textune/train/inference.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "textune/core/torch_compat.h"

namespace textune::train {
namespace {

// Puts the model in eval mode for the guard's lifetime, then back in the mode it was in.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(models::PreTrainedModel& model) : model_(model), was_training_(model->is_training()) {
    model_->eval();
  }
  ~EvalModeGuard() {
    if (was_training_) model_->train();
  }
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  models::PreTrainedModel& model_;
  bool was_training_;
};

torch::Tensor to_cpu_float(const torch::Tensor& t) {
  return t.defined() ? t.to(torch::kCPU, torch::kFloat32) : t;
}

// The outputs the sinks see: loss and logits on the CPU as float32, nothing else.
models::ModelOutputs outputs_for_sinks(const models::ModelOutputs& out) {
  models::ModelOutputs o;
  o.loss = to_cpu_float(out.loss);
  o.logits = to_cpu_float(out.logits);
  o.start_logits = to_cpu_float(out.start_logits);
  o.end_logits = to_cpu_float(out.end_logits);
  return o;
}

// Feature indices, longest first; equal lengths keep their order.
std::vector<size_t> length_order(const tasks::Features& features) {
  std::vector<size_t> order(features.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return features.length(a) > features.length(b); });
  return order;
}

}  // namespace

torch::Device model_device(const models::PreTrainedModel& model) {
  const auto params = model->parameters();
  return params.empty() ? torch::Device(torch::kCPU) : params.front().device();
}

models::ModelInputs inputs_to_device(const models::ModelInputs& inputs, const torch::Device& device) {
  models::ModelInputs in = inputs;
  for (torch::Tensor* t :
       {&in.input_ids, &in.attention_mask, &in.token_type_ids, &in.labels, &in.start_positions, &in.end_positions})
    if (t->defined()) *t = t->to(device);
  return in;
}

double run_inference(models::PreTrainedModel model, const tasks::Task& task, const tasks::Examples& examples,
                     const tasks::Features& features, const InferenceOptions& options,
                     const std::vector<tasks::OutputSink*>& sinks) {
  torch::NoGradGuard no_grad;
  EvalModeGuard eval_mode(model);
  const torch::Device device = model_device(model);
  const bool with_loss = options.compute_loss && examples.has_labels();
  torch::Generator own_generator;
  if (!options.generator) own_generator = at::detail::createCPUGenerator(options.seed);
  torch::Generator& generator = options.generator ? *options.generator : own_generator;
  const std::vector<size_t> order = length_order(features);
  const size_t batch_size = std::max<size_t>(1, options.batch_size);
  double loss_sum = 0;
  size_t loss_n = 0;
  for (size_t start = 0; start < order.size(); start += batch_size) {
    if (options.cancelled && options.cancelled()) throw InferenceCancelled("inference cancelled");
    const std::vector<size_t> rows(order.begin() + start, order.begin() + std::min(order.size(), start + batch_size));
    const tasks::Batch batch = task.collate(examples, features, rows, options.collate, generator);
    tasks::Batch on_device{inputs_to_device(batch.inputs, device), batch.features};
    if (!with_loss) {
      on_device.inputs.labels = torch::Tensor();
      on_device.inputs.start_positions = torch::Tensor();
      on_device.inputs.end_positions = torch::Tensor();
    }
    models::ModelOutputs out;
    torch::Tensor loss;
    {
      core::AutocastGuard autocast(options.bf16 && device.is_cuda());
      out = model->forward(on_device.inputs);
      if (with_loss) loss = task.loss(on_device, out);
    }
    if (loss.defined()) {
      loss_sum += loss.item<double>() * static_cast<double>(rows.size());
      loss_n += rows.size();
    }
    const models::ModelOutputs cpu = outputs_for_sinks(out);
    for (tasks::OutputSink* sink : sinks) sink->add(batch, cpu);
  }
  return loss_n ? loss_sum / static_cast<double>(loss_n) : std::nan("");
}

}  // namespace textune::train
