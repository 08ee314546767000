// ModernBERT (transformers' models/modernbert/modeling_modernbert.py): the rotary position tables
// and the local-attention window, exposed for tests. The modules live in modernbert.cpp and are
// reached through the registry ("modernbert").
#pragma once

#include <torch/torch.h>

namespace textune::models {

/// Rotary embedding tables (Su et al. 2021, RoFormer; transformers' ModernBertRotaryEmbedding with
/// rope_type "default"): inv_freq[i] = 1 / theta^(2i / head_dim) for i < head_dim / 2 (float32),
/// angle[t][i] = t * inv_freq[i], and the table repeats the half: cos/sin of
/// cat(angle, angle). Returns {cos, sin}, each (1, 1, T, head_dim) in `dtype` on `device`.
std::pair<torch::Tensor, torch::Tensor> rotary_cos_sin(int64_t seq_len, int64_t head_dim, double theta,
                                                       torch::Device device, torch::Dtype dtype);

/// q * cos + rotate_half(q) * sin, where rotate_half(x) = cat(-x[..., D/2:], x[..., :D/2]).
/// x (B, NH, T, D); cos, sin broadcastable to it -> (B, NH, T, D).
torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

/// The local attention window of ModernBERT's sliding layers: (T, T) bool, true where
/// |i - j| <= local_attention / 2 (transformers' `_update_attention_mask`).
torch::Tensor sliding_window(int64_t seq_len, int64_t local_attention, torch::Device device = torch::kCPU);

}  // namespace textune::models
