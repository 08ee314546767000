// The LibTorch-version shims of core (core/torch_compat.h): each checked against its definition.
#include "textune/core/torch_compat.h"

#include <torch/torch.h>
#include <torch/version.h>

#include <cmath>
#include <stdexcept>

#include <gtest/gtest.h>

namespace core = textune::core;

TEST(TorchCompat, AttentionIsSoftmaxOfScaledScoresPlusBiasTimesValues) {
  // One batch, one head, two queries over three keys of dimension 2; the third key is padded out
  // by an additive bias of float's lowest value (padding_attention_bias). By definition
  // out[i] = sum_j softmax_j(scale * q_i . k_j + bias_j) v_j.
  const auto q = torch::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({1, 1, 2, 2});
  const auto k = torch::tensor({1.0f, 0.0f, 0.0f, 1.0f, 5.0f, 5.0f}).view({1, 1, 3, 2});
  const auto v = torch::tensor({1.0f, 2.0f, 3.0f, 4.0f, 100.0f, 100.0f}).view({1, 1, 3, 2});
  const auto bias = torch::tensor({0.0f, 0.0f, std::numeric_limits<float>::lowest()}).view({1, 1, 1, 3});
  const double scale = 0.5;
  const auto out = core::scaled_dot_product_attention(q, k, v, bias, 0.0, scale);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{1, 1, 2, 2}));
  // query 0: scores (0.5, 0); query 1: scores (0, 1). Weights w = e^a / (e^a + e^b).
  const double w0 = std::exp(0.5) / (std::exp(0.5) + 1.0);
  const double w1 = 1.0 / (1.0 + std::exp(1.0));
  const auto o = out.accessor<float, 4>();
  EXPECT_NEAR(o[0][0][0][0], w0 * 1 + (1 - w0) * 3, 1e-6);
  EXPECT_NEAR(o[0][0][0][1], w0 * 2 + (1 - w0) * 4, 1e-6);
  EXPECT_NEAR(o[0][0][1][0], w1 * 1 + (1 - w1) * 3, 1e-6);
  EXPECT_NEAR(o[0][0][1][1], w1 * 2 + (1 - w1) * 4, 1e-6);
  // Without a bias every key counts.
  const auto all = core::scaled_dot_product_attention(q, k, v, torch::Tensor(), 0.0, scale);
  const double e0 = std::exp(0.5), e2 = std::exp(2.5);  // query 0 over keys (0.5, 0, 2.5)
  EXPECT_NEAR(all[0][0][0][0].item<float>(), (e0 * 1 + 1 * 3 + e2 * 100) / (e0 + 1 + e2), 1e-4);
}

TEST(TorchCompat, FusedAdamWOnlyWithLibTorch2) {
  EXPECT_EQ(core::fused_adamw_available(), TORCH_VERSION_MAJOR >= 2);
  if (!core::fused_adamw_available()) {
    const auto t = torch::zeros({2});
    EXPECT_THROW(core::fused_adamw_step(t, t, t, t, torch::ones({}), 1e-3, 0.9, 0.999, 0.0, 1e-8), std::logic_error);
  }
}

TEST(TorchCompat, AutocastGuardDisabledChangesNothing) {
  {
    core::AutocastGuard guard(false);
    const auto a = torch::ones({2, 2});
    EXPECT_EQ(torch::matmul(a, a).scalar_type(), torch::kFloat32);
  }
}
