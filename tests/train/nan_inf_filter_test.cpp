// transformers' logging_nan_inf_filter, from its definition in Trainer._inner_training_loop:
//   if logging_nan_inf_filter and (isnan(tr_loss_step) or isinf(tr_loss_step)):
//       tr_loss += tr_loss / (1 + global_step - _globalstep_last_logged)
//   else:
//       tr_loss += tr_loss_step
// and the logged loss is tr_loss / (global_step - _globalstep_last_logged).
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "textune/train/trainer.h"

using textune::train::nan_inf_filtered_sum;

namespace {

// A logging window of 3 steps with losses 1, 3, NaN: after two steps tr_loss = 4; the NaN step
// adds 4 / (1 + 2) = 4/3; the logged loss is (4 + 4/3) / 3 = 16/9.
TEST(NanInfFilter, NanStepAddsTheWindowSumOverOnePlusItsSteps) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  double sum = 0;
  sum = nan_inf_filtered_sum(sum, 1.0, 0, true);
  sum = nan_inf_filtered_sum(sum, 3.0, 1, true);
  sum = nan_inf_filtered_sum(sum, nan, 2, true);
  EXPECT_DOUBLE_EQ(sum, 4.0 + 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(sum / 3, 16.0 / 9.0);
}

TEST(NanInfFilter, InfinityIsFilteredAndAnEmptyWindowAddsZero) {
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_DOUBLE_EQ(nan_inf_filtered_sum(0.0, inf, 0, true), 0.0);
  EXPECT_DOUBLE_EQ(nan_inf_filtered_sum(2.0, -inf, 1, true), 3.0);
}

TEST(NanInfFilter, OffTheNonFiniteValueIsAddedAsIs) {
  EXPECT_TRUE(std::isnan(nan_inf_filtered_sum(4.0, std::nan(""), 2, false)));
  EXPECT_DOUBLE_EQ(nan_inf_filtered_sum(4.0, 0.5, 2, false), 4.5);
}

}  // namespace
