#include "models/layers.h"

#include <cmath>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/torch_compat.h"

namespace textune::models {

Activation activation_from_name(const std::string& name, const std::string& source) {
  if (name == "gelu") return Activation::kGelu;
  if (name == "gelu_new") return Activation::kGeluNew;
  if (name == "gelu_pytorch_tanh") return Activation::kGeluPytorchTanh;
  if (name == "gelu_fast") return Activation::kGeluFast;
  if (name == "quick_gelu") return Activation::kQuickGelu;
  if (name == "relu") return Activation::kRelu;
  if (name == "silu" || name == "swish") return Activation::kSilu;
  if (name == "tanh") return Activation::kTanh;
  throw DataError(fmt::format("{}: unsupported activation \"{}\" (textune supports gelu, gelu_new, "
                              "gelu_pytorch_tanh, gelu_fast, quick_gelu, relu, silu, swish, tanh)",
                              source, name));
}

torch::Tensor apply_activation(const torch::Tensor& x, Activation act) {
  switch (act) {
    case Activation::kGelu:
      return torch::gelu(x);
    case Activation::kGeluNew: {
      // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), in this order (NewGELUActivation)
      const double k = std::sqrt(2.0 / M_PI);
      return 0.5 * x * (1.0 + torch::tanh(k * (x + 0.044715 * torch::pow(x, 3.0))));
    }
    case Activation::kGeluPytorchTanh:
      return torch::gelu(x, "tanh");
    case Activation::kGeluFast:
      // 0.5 x (1 + tanh(x * 0.7978845608 * (1 + 0.044715 x^2))) (FastGELUActivation)
      return 0.5 * x * (1.0 + torch::tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)));
    case Activation::kQuickGelu:
      return x * torch::sigmoid(1.702 * x);
    case Activation::kRelu:
      return torch::relu(x);
    case Activation::kSilu:
      return torch::silu(x);
    case Activation::kTanh:
      return torch::tanh(x);
  }
  return x;
}

torch::Tensor padding_attention_bias(const torch::Tensor& attention_mask, torch::Dtype dtype) {
  if (!attention_mask.defined()) return {};
  const double lowest = dtype == torch::kFloat64 ? std::numeric_limits<double>::lowest()
                        : dtype == torch::kFloat16 ? -65504.0
                        : dtype == torch::kBFloat16 ? -3.3895313892515355e38
                                                    : static_cast<double>(std::numeric_limits<float>::lowest());
  // (B, T) -> (B, 1, 1, T): 0 where attended, lowest where padded
  auto keep = attention_mask.to(torch::kBool).unsqueeze(1).unsqueeze(1);
  return torch::zeros(keep.sizes(), torch::TensorOptions().dtype(dtype).device(attention_mask.device()))
      .masked_fill_(keep.logical_not(), lowest);
}

torch::Tensor dot_product_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    const torch::Tensor& bias, double dropout_p, bool training, double scale) {
  return core::scaled_dot_product_attention(q, k, v, bias, training ? dropout_p : 0.0, scale);
}

void validate_inputs(const ModelInputs& inputs, std::optional<int64_t> max_length, const std::string& model_name) {
  const auto& ids = inputs.input_ids;
  if (!ids.defined()) throw DataError(model_name + ": input_ids is required");
  if (ids.dim() != 2)
    throw DataError(fmt::format("{}: input_ids must have shape (batch, sequence), got {} dimensions", model_name,
                                ids.dim()));
  if (!c10::isIntegralType(ids.scalar_type(), /*includeBool=*/false))
    throw DataError(fmt::format("{}: input_ids must hold integer token ids, got {}", model_name,
                                c10::toString(ids.scalar_type())));
  auto same_shape = [&](const torch::Tensor& t, const char* name) {
    if (t.defined() && t.sizes() != ids.sizes())
      throw DataError(fmt::format("{}: {} has shape {} but input_ids has shape {}", model_name, name,
                                  c10::str(t.sizes()), c10::str(ids.sizes())));
  };
  same_shape(inputs.attention_mask, "attention_mask");
  same_shape(inputs.token_type_ids, "token_type_ids");
  if (max_length && ids.size(1) > *max_length)
    throw DataError(fmt::format("{}: input_ids has {} tokens, longer than the {} positions this model allows "
                                "(max_position_embeddings); truncate the input",
                                model_name, ids.size(1), *max_length));
}

void check_index_range(const torch::Tensor& ids, int64_t limit, const char* name, const char* what,
                       const std::string& model_name) {
  if (!ids.defined() || !ids.device().is_cpu() || ids.numel() == 0) return;
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  if (lo < 0 || hi >= limit)
    throw DataError(fmt::format("{}: {} holds id {}, but {} has {} entries (ids 0..{})", model_name, name,
                                lo < 0 ? lo : hi, what, limit, limit - 1));
}

torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}

torch::nn::LayerNorm make_layer_norm(int64_t size, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({size}).eps(eps).elementwise_affine(true));
}

torch::nn::Embedding make_embedding(int64_t num, int64_t dim, std::optional<int64_t> padding_idx) {
  torch::nn::EmbeddingOptions o(num, dim);
  if (padding_idx && *padding_idx >= 0 && *padding_idx < num) o.padding_idx(*padding_idx);
  return torch::nn::Embedding(o);
}

TiedLinearImpl::TiedLinearImpl(int64_t in, int64_t out, torch::nn::Embedding tied_to) : tied(std::move(tied_to)) {
  if (tied.is_empty()) weight = register_parameter("weight", torch::empty({out, in}));
  bias = register_parameter("bias", torch::zeros({out}));
}

torch::Tensor TiedLinearImpl::forward(const torch::Tensor& x) {
  return torch::nn::functional::linear(x, tied.is_empty() ? weight : tied->weight, bias);
}

torch::Tensor sinusoidal_position_table(int64_t n_pos, int64_t dim) {
  auto table = torch::empty({n_pos, dim}, torch::kFloat64);
  auto a = table.accessor<double, 2>();
  for (int64_t pos = 0; pos < n_pos; ++pos)
    for (int64_t j = 0; j < dim; ++j) {
      const double angle = static_cast<double>(pos) / std::pow(10000.0, 2.0 * static_cast<double>(j / 2) / dim);
      a[pos][j] = (j % 2 == 0) ? std::sin(angle) : std::cos(angle);
    }
  return table.to(torch::kFloat32);
}

}  // namespace textune::models
