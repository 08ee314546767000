// Building blocks shared by the encoder families: activations as transformers names them, the
// attention kernel (SDPA on LibTorch 2.x, an exact reference path on 1.13), padding masks, and
// input validation.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>

#include "textune/models/model.h"

namespace textune::models {

/// An activation function by its transformers name (`ACT2FN` in transformers/activations.py).
enum class Activation { kGelu, kGeluNew, kGeluPytorchTanh, kGeluFast, kQuickGelu, kRelu, kSilu, kTanh };

/// Parses `hidden_act` ("gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "quick_gelu", "relu",
/// "silu"/"swish", "tanh"). @throws textune::DataError naming `source` and the value otherwise.
Activation activation_from_name(const std::string& name, const std::string& source);

/// Applies `act` elementwise: gelu is the exact erf form; gelu_new and gelu_fast are the tanh
/// approximation written out as transformers' NewGELUActivation/FastGELUActivation compute it;
/// gelu_pytorch_tanh is torch's `gelu(approximate="tanh")`; quick_gelu is x * sigmoid(1.702 x).
torch::Tensor apply_activation(const torch::Tensor& x, Activation act);

/// The additive attention bias for a padding mask: (B, T) 1/0 -> (B, 1, 1, T) with 0 where
/// attended and the dtype's lowest value where masked (transformers' `_prepare_4d_attention_mask`).
/// Undefined when `attention_mask` is undefined (nothing masked).
torch::Tensor padding_attention_bias(const torch::Tensor& attention_mask, torch::Dtype dtype);

/// softmax(q k^T * scale + bias) v with attention-probability dropout in training.
/// Shapes: q, k, v (B, NH, T, D); bias (B, 1, 1, T) or (B, NH, T, T) additive, or undefined.
/// Returns (B, NH, T, D). With LibTorch 2.x this is `at::scaled_dot_product_attention`; on 1.13 a
/// reference path computing what transformers' eager attention computes (scores in the input dtype,
/// softmax in float32).
torch::Tensor dot_product_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                    const torch::Tensor& bias, double dropout_p, bool training, double scale);

/// Checks a batch before a forward pass: input_ids (B, T) integer, attention_mask and
/// token_type_ids the same shape when given, T within `max_length` when set.
/// @throws textune::DataError describing the first problem ("input_ids has 130 tokens, longer than
///         the 128 positions of this model (max_position_embeddings)").
void validate_inputs(const ModelInputs& inputs, std::optional<int64_t> max_length, const std::string& model_name);

/// Checks that every id of a CPU tensor is in [0, limit) (on other devices the check would cost a
/// synchronisation and is left to the kernel). @throws textune::DataError naming the tensor, the
/// id and the limit ("input_ids holds token id 31000, but the vocabulary has 30522 entries").
void check_index_range(const torch::Tensor& ids, int64_t limit, const char* name, const char* what,
                       const std::string& model_name);

/// `nn.Linear` with bias, as LibTorch builds it.
torch::nn::Linear make_linear(int64_t in, int64_t out, bool bias = true);

/// `nn.LayerNorm(size, eps)` over the last dimension.
torch::nn::LayerNorm make_layer_norm(int64_t size, double eps);

/// `nn.Embedding(num, dim, padding_idx)`; padding_idx < 0 or nullopt means none.
torch::nn::Embedding make_embedding(int64_t num, int64_t dim, std::optional<int64_t> padding_idx = std::nullopt);

/// An output projection (in -> out) whose weight is an embedding matrix it shares (tied) and whose
/// bias is its own parameter "bias": transformers' tied decoders such as DistilBERT's
/// `vocab_projector` and ELECTRA's `generator_lm_head`. With no embedding to tie to it owns its
/// "weight" (out, in) too.
struct TiedLinearImpl : torch::nn::Module {
  TiedLinearImpl(int64_t in, int64_t out, torch::nn::Embedding tied_to);
  /// (..., in) -> (..., out).
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Embedding tied{nullptr};  // not registered: the parameter belongs to the embeddings
  torch::Tensor weight, bias;
};
TORCH_MODULE(TiedLinear);

/// Sinusoidal position table (n_pos, dim) as DistilBERT's `create_sinusoidal_embeddings`:
/// column 2i is sin(pos / 10000^(2i/dim)), column 2i+1 is cos of the same angle. Computed in
/// double precision, returned as float32.
torch::Tensor sinusoidal_position_table(int64_t n_pos, int64_t dim);

}  // namespace textune::models
