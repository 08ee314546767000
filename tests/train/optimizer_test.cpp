#include <cmath>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/train/optimizer.h"

using namespace textune;

namespace {

// The AdamW update of Loshchilov & Hutter (Algorithm 2, as torch.optim.AdamW implements it) for one
// scalar, in double: the reference the float32 implementations must match to float rounding.
struct ScalarAdam {
  double p, m = 0, v = 0;
  void step(double g, int t, double lr, double wd, double b1 = 0.9, double b2 = 0.999, double eps = 1e-8) {
    p *= 1 - lr * wd;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const double mhat_scale = lr / (1 - std::pow(b1, t));
    p -= mhat_scale * m / (std::sqrt(v) / std::sqrt(1 - std::pow(b2, t)) + eps);
  }
};

}  // namespace

TEST(AdamW, FusedUpdateMatchesThePaperInDoubleAndTorchsOperationSequence) {
  torch::manual_seed(3);
  const int64_t n = 100000;  // larger than one parallel grain
  auto init = torch::randn({n});
  auto p_fused = init.clone().set_requires_grad(true);
  auto p_ref = init.clone();
  auto m_ref = torch::zeros({n}), v_ref = torch::zeros({n});
  train::AdamWOptions o;
  o.weight_decay = 0.01;
  train::AdamW opt({{"w", p_fused, true}}, o);
  std::vector<ScalarAdam> scalar;
  for (int64_t i = 0; i < 5; ++i) scalar.push_back({init[i].item<double>()});
  const std::vector<double> lrs = {0.0, 5e-4, 1e-3, 7.5e-4};
  for (int t = 0; t < static_cast<int>(lrs.size()); ++t) {
    auto g = torch::randn({n}) * static_cast<double>(t + 1);
    p_fused.mutable_grad() = g.clone();
    opt.step(lrs[t]);
    train::adamw_reference_update(p_ref, g, m_ref, v_ref, t + 1, lrs[t], o, true);
    for (int64_t i = 0; i < 5; ++i) scalar[i].step(g[i].template item<double>(), t + 1, lrs[t], 0.01);
  }
  EXPECT_EQ(opt.step_count(0), 4);
  // The fused pass and torch's whole-tensor sequence agree to a few float ulps.
  EXPECT_LT((p_fused.detach() - p_ref).abs().max().item<double>(), 1e-6);
  for (int64_t i = 0; i < 5; ++i) EXPECT_NEAR(p_fused[i].item<double>(), scalar[i].p, 1e-6) << i;
}

TEST(AdamW, NoDecayGroupIsNotDecayedAndParamsWithoutGradAreSkipped) {
  auto a = torch::ones({3}).set_requires_grad(true);
  auto b = torch::ones({3}).set_requires_grad(true);
  train::AdamWOptions o;
  o.weight_decay = 0.5;
  train::AdamW opt({{"a.weight", a, true}, {"b.bias", b, false}}, o);
  a.mutable_grad() = torch::zeros({3});
  b.mutable_grad() = torch::zeros({3});
  opt.step(0.1);
  // zero gradient: Adam's step is 0 / (0 + eps) = 0; only the decoupled decay moves `a`: 1 - 0.1 * 0.5
  EXPECT_NEAR(a[0].item<double>(), 0.95, 1e-7);
  EXPECT_EQ(b[0].item<double>(), 1.0);
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
  opt.step(0.1);  // no gradients: nothing moves, no step counted
  EXPECT_NEAR(a[0].item<double>(), 0.95, 1e-7);
  EXPECT_EQ(opt.step_count(0), 1);
}

TEST(AdamW, StateRoundTripsThroughTensors) {
  auto a = torch::randn({4, 2}).set_requires_grad(true);
  train::AdamW opt({{"x", a, true}}, {});
  a.mutable_grad() = torch::randn({4, 2});
  opt.step(1e-3);
  auto saved = opt.state_tensors();
  auto a2 = a.detach().clone().set_requires_grad(true);
  train::AdamW opt2({{"x", a2, true}}, {});
  opt2.load_state_tensors(saved, "test");
  auto g = torch::randn({4, 2});
  a.mutable_grad() = g.clone();
  a2.mutable_grad() = g.clone();
  opt.step(1e-3);
  opt2.step(1e-3);
  EXPECT_TRUE(torch::equal(a.detach(), a2.detach()));
  EXPECT_EQ(opt2.step_count(0), 2);
  std::vector<std::pair<std::string, torch::Tensor>> missing(saved.begin() + 1, saved.end());
  EXPECT_THROW(opt2.load_state_tensors(missing, "ckpt/optimizer.safetensors"), DataError);
}

TEST(ClipGradNorm, ReturnsTheTotalNormAndScalesLikeTorch) {
  auto a = torch::zeros({2}).set_requires_grad(true);
  auto b = torch::zeros({1}).set_requires_grad(true);
  auto c = torch::zeros({1}).set_requires_grad(true);  // no gradient: ignored
  a.mutable_grad() = torch::tensor({3.0f, 4.0f});
  b.mutable_grad() = torch::tensor({12.0f});
  std::vector<train::OptimizerParam> ps = {{"a", a, true}, {"b", b, true}, {"c", c, true}};
  // total = sqrt(5^2 + 12^2) = 13; grads scaled by 1 / (13 + 1e-6)
  EXPECT_NEAR(train::clip_grad_norm(ps, 1.0), 13.0, 1e-6);
  EXPECT_NEAR(a.grad()[0].item<double>(), 3.0 / (13.0 + 1e-6), 1e-7);
  EXPECT_NEAR(b.grad()[0].item<double>(), 12.0 / (13.0 + 1e-6), 1e-7);
  // below the limit: unchanged (coefficient clamped at 1)
  EXPECT_NEAR(train::clip_grad_norm(ps, 5.0), 1.0, 1e-6);
  EXPECT_NEAR(b.grad()[0].item<double>(), 12.0 / 13.0, 1e-6);
}

TEST(ModelParameters, TiedTensorsAppearOnceUnderTheirFirstName) {
  torch::nn::Module m;
  auto emb = std::make_shared<torch::nn::Module>();
  auto w = emb->register_parameter("weight", torch::zeros({2, 2}));
  m.register_module("embeddings", emb);
  auto sub = std::make_shared<torch::nn::Module>();
  sub->register_parameter("weight", w);  // the same tensor under a second name
  m.register_module("decoder", sub);
  auto ps = train::model_parameters(m, {"embeddings.weight", "decoder.weight"});
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].name, "embeddings.weight");
  EXPECT_TRUE(ps[0].decay);
}
