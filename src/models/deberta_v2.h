// DeBERTa-v2 and DeBERTa-v3 (transformers' models/deberta_v2/modeling_deberta_v2.py): the relative
// position helpers that the disentangled attention uses, exposed for tests. The modules themselves
// live in deberta_v2.cpp and are reached through the registry ("deberta-v2").
#pragma once

#include <torch/torch.h>

namespace textune::models {

/// DeBERTa's log-bucketed relative positions (transformers' `make_log_bucket_position`): a distance
/// d with |d| <= bucket_size / 2 keeps its value; a longer one becomes
/// sign(d) * (ceil(log(|d| / mid) / log((max_position - 1) / mid) * (mid - 1)) + mid) with
/// mid = bucket_size / 2, computed in float32 as transformers does.
/// @param relative_pos int64 distances (any shape); returns float32 of the same shape.
torch::Tensor make_log_bucket_position(const torch::Tensor& relative_pos, int64_t bucket_size, int64_t max_position);

/// The relative position of every query to every key (transformers' `build_relative_position`):
/// (1, query_size, key_size) int64 holding q - k, log-bucketed when bucket_size > 0 and
/// max_position > 0.
torch::Tensor build_relative_position(int64_t query_size, int64_t key_size, int64_t bucket_size, int64_t max_position,
                                      torch::Device device = torch::kCPU);

}  // namespace textune::models
