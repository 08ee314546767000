#include <filesystem>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/train/schedule.h"

using namespace textune;
using textune::testing::fixtures_dir;

namespace {

// Every model fixture with a trajectory (golden.json "trajectory"): names and the trajectory object.
std::vector<std::pair<std::string, core::Json>> fixture_trajectories() {
  std::vector<std::pair<std::string, core::Json>> out;
  for (const auto& entry : std::filesystem::directory_iterator(fixtures_dir() + "/models")) {
    const auto golden = entry.path() / "golden.json";
    if (!std::filesystem::exists(golden)) continue;
    auto j = core::read_json_file(golden.string());
    if (j.contains("trajectory")) out.emplace_back(entry.path().filename().string(), j["trajectory"]);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace

TEST(LrSchedule, LinearWarmupMatchesEveryFixturesLrUsedPerStep) {
  auto fixtures = fixture_trajectories();
  ASSERT_GE(fixtures.size(), 15u);
  for (const auto& [name, t] : fixtures) {
    const int64_t steps = t["steps"];
    train::LrSchedule s(train::parse_scheduler_type(t["schedule"]), t["lr"], t["warmup_steps"], steps);
    const auto& expected = t["lr_used_per_step"];
    ASSERT_EQ(expected.size(), static_cast<size_t>(steps)) << name;
    for (int64_t k = 0; k < steps; ++k)
      EXPECT_DOUBLE_EQ(s.lr(k), expected[k].get<double>()) << name << " step " << k;
  }
}

// Hand-computed from transformers' optimization.py formulas, lr 1.0, 2 warmup steps of 10:
// warmup k/2; cosine 0.5 (1 + cos(pi * (k - 2) / 8)); linear (10 - k) / 8.
TEST(LrSchedule, CosineConstantAndConstantWithWarmupFollowTransformersFormulas) {
  train::LrSchedule cosine(train::SchedulerType::kCosine, 1.0, 2, 10);
  EXPECT_DOUBLE_EQ(cosine.lr(0), 0.0);
  EXPECT_DOUBLE_EQ(cosine.lr(1), 0.5);
  EXPECT_DOUBLE_EQ(cosine.lr(2), 1.0);
  EXPECT_NEAR(cosine.lr(4), 0.5 * (1 + std::cos(M_PI * 2 / 8)), 1e-15);  // 0.853553...
  EXPECT_NEAR(cosine.lr(6), 0.5, 1e-15);
  EXPECT_NEAR(cosine.lr(10), 0.0, 1e-15);
  train::LrSchedule linear(train::SchedulerType::kLinear, 2e-5, 2, 10);
  EXPECT_DOUBLE_EQ(linear.lr(6), 2e-5 * 4 / 8);
  EXPECT_DOUBLE_EQ(linear.lr(12), 0.0);  // past the end: clamped at 0
  train::LrSchedule constant(train::SchedulerType::kConstant, 3e-4, 2, 10);
  EXPECT_DOUBLE_EQ(constant.lr(0), 3e-4);  // constant ignores warmup
  train::LrSchedule cww(train::SchedulerType::kConstantWithWarmup, 1.0, 4, 10);
  EXPECT_DOUBLE_EQ(cww.lr(1), 0.25);
  EXPECT_DOUBLE_EQ(cww.lr(4), 1.0);
  EXPECT_DOUBLE_EQ(cww.lr(9), 1.0);
}

// TrainingArguments.get_warmup_steps: warmup_steps if > 0 else ceil(total * warmup_ratio).
TEST(LrSchedule, WarmupStepsFromRatioRoundUp) {
  EXPECT_EQ(train::num_warmup_steps(1000, 0.06, 0), 60);
  EXPECT_EQ(train::num_warmup_steps(101, 0.1, 0), 11);  // 10.1 -> 11
  EXPECT_EQ(train::num_warmup_steps(101, 0.1, 7), 7);
  EXPECT_EQ(train::num_warmup_steps(50, 0.0, 0), 0);
}

TEST(LrSchedule, UnknownTypeIsUsageError) {
  EXPECT_THROW(train::parse_scheduler_type("polynomial_decay"), UsageError);
  EXPECT_EQ(train::scheduler_type_name(train::parse_scheduler_type("constant_with_warmup")), "constant_with_warmup");
}
