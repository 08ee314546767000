// Metrics against scikit-learn's and scipy's definitions: hand-computed cases (the arithmetic is in
// the comments) and the examples of their documentation.
#include <cmath>

#include "support/test_support.h"
#include "textune/eval/metrics.h"

namespace textune::eval {
namespace {

constexpr double kTol = 1e-12;

TEST(Metrics, ClassNeverPredictedAndMacroVersusMicro) {
  // y_true 0 0 0 0 1 1 2 2, y_pred 0 0 0 1 1 0 0 1: class 2 is never predicted.
  const std::vector<int64_t> y_true = {0, 0, 0, 0, 1, 1, 2, 2};
  const std::vector<int64_t> y_pred = {0, 0, 0, 1, 1, 0, 0, 1};
  ClassificationMetrics m = classification_metrics(y_true, y_pred, 3);
  // confusion, rows true: true 0 -> 3x0, 1x1; true 1 -> 1x0, 1x1; true 2 -> 1x0, 1x1
  EXPECT_EQ(m.confusion_matrix, (std::vector<std::vector<int64_t>>{{3, 1, 0}, {1, 1, 0}, {1, 1, 0}}));
  EXPECT_EQ(m.num_examples, 8u);
  EXPECT_NEAR(m.accuracy, 4.0 / 8, kTol);  // diagonal 3 + 1 + 0
  // class 0: tp 3, fp 1+1 = 2, fn 1 -> P 3/5, R 3/4, F1 2*3/(2*3+2+1) = 6/9
  // class 1: tp 1, fp 1+1 = 2, fn 1 -> P 1/3, R 1/2, F1 2/(2+2+1) = 2/5
  // class 2: tp 0, fp 0, fn 2 -> P 0/0 = 0 (zero_division=0), R 0, F1 0/(0+0+2) = 0
  ASSERT_EQ(m.per_class.size(), 3u);
  EXPECT_NEAR(m.per_class[0].precision, 3.0 / 5, kTol);
  EXPECT_NEAR(m.per_class[0].recall, 3.0 / 4, kTol);
  EXPECT_NEAR(m.per_class[0].f1, 6.0 / 9, kTol);
  EXPECT_NEAR(m.per_class[1].precision, 1.0 / 3, kTol);
  EXPECT_NEAR(m.per_class[1].recall, 1.0 / 2, kTol);
  EXPECT_NEAR(m.per_class[1].f1, 2.0 / 5, kTol);
  EXPECT_EQ(m.per_class[2].precision, 0.0);
  EXPECT_EQ(m.per_class[2].recall, 0.0);
  EXPECT_EQ(m.per_class[2].f1, 0.0);
  EXPECT_EQ(m.per_class[2].support, 2);
  // macro: plain means over the 3 classes
  EXPECT_NEAR(m.precision_macro, (3.0 / 5 + 1.0 / 3 + 0) / 3, kTol);
  EXPECT_NEAR(m.recall_macro, (3.0 / 4 + 1.0 / 2 + 0) / 3, kTol);
  EXPECT_NEAR(m.f1_macro, (6.0 / 9 + 2.0 / 5 + 0) / 3, kTol);  // 0.3556, the mean of F1s
  // micro: tp 4, fp 4, fn 4 summed over classes -> 0.5 each (= accuracy for single-label)
  EXPECT_NEAR(m.precision_micro, 0.5, kTol);
  EXPECT_NEAR(m.recall_micro, 0.5, kTol);
  EXPECT_NEAR(m.f1_micro, 0.5, kTol);
  EXPECT_GT(std::fabs(m.f1_micro - m.f1_macro), 0.1);
  // weighted by support 4, 2, 2 (of 8)
  EXPECT_NEAR(m.precision_weighted, (4 * 3.0 / 5 + 2 * 1.0 / 3 + 0) / 8, kTol);
  EXPECT_NEAR(m.recall_weighted, (4 * 3.0 / 4 + 2 * 1.0 / 2 + 0) / 8, kTol);
  EXPECT_NEAR(m.f1_weighted, (4 * 6.0 / 9 + 2 * 2.0 / 5 + 0) / 8, kTol);
  // MCC: t = (4, 2, 2), p = (5, 3, 0), c = 4, s = 8
  //   cov(yt, yp) = 4*8 - (5*4 + 3*2 + 0*2) = 6; cov(yp, yp) = 64 - (25 + 9 + 0) = 30;
  //   cov(yt, yt) = 64 - (16 + 4 + 4) = 40 -> 6 / sqrt(30 * 40)
  EXPECT_NEAR(m.mcc, 6.0 / std::sqrt(1200.0), kTol);
}

TEST(Metrics, AveragesRunOverLabelsPresentInTrueOrPredicted) {
  // The case above with a fourth label that occurs in neither y_true nor y_pred: sklearn's default
  // labels=None leaves it out of the averages; it is still listed per class with zeros.
  const std::vector<int64_t> y_true = {0, 0, 0, 0, 1, 1, 2, 2};
  const std::vector<int64_t> y_pred = {0, 0, 0, 1, 1, 0, 0, 1};
  ClassificationMetrics m = classification_metrics(y_true, y_pred, 4);
  EXPECT_NEAR(m.f1_macro, (6.0 / 9 + 2.0 / 5 + 0) / 3, kTol);
  EXPECT_EQ(m.per_class.size(), 4u);
  EXPECT_EQ(m.per_class[3].support, 0);
  EXPECT_EQ(m.confusion_matrix[3], (std::vector<int64_t>{0, 0, 0, 0}));
}

TEST(Metrics, SklearnDocumentationExamples) {
  // sklearn.metrics.f1_score / precision_score / recall_score docstrings:
  // y_true = [0, 1, 2, 0, 1, 2], y_pred = [0, 2, 1, 0, 0, 1]
  // f1: macro 0.26666..., micro 0.33333..., weighted 0.26666..., per class [0.8, 0, 0]
  // precision: macro 0.22222..., micro 0.33333..., weighted 0.22222...; recall: all 0.33333...
  ClassificationMetrics m = classification_metrics({0, 1, 2, 0, 1, 2}, {0, 2, 1, 0, 0, 1}, 3);
  EXPECT_NEAR(m.f1_macro, 0.26666666666666666, kTol);
  EXPECT_NEAR(m.f1_micro, 0.33333333333333333, kTol);
  EXPECT_NEAR(m.f1_weighted, 0.26666666666666666, kTol);
  EXPECT_NEAR(m.per_class[0].f1, 0.8, kTol);
  EXPECT_EQ(m.per_class[1].f1, 0.0);
  EXPECT_NEAR(m.precision_macro, 0.22222222222222222, kTol);
  EXPECT_NEAR(m.precision_micro, 0.33333333333333333, kTol);
  EXPECT_NEAR(m.precision_weighted, 0.22222222222222222, kTol);
  EXPECT_NEAR(m.recall_macro, 0.33333333333333333, kTol);
  EXPECT_NEAR(m.recall_weighted, 0.33333333333333333, kTol);
  // sklearn.metrics.matthews_corrcoef docstring: [+1, +1, +1, -1] vs [+1, -1, +1, +1] -> -0.33...
  // (here -1 is id 0 and +1 id 1)
  ClassificationMetrics b = classification_metrics({1, 1, 1, 0}, {1, 0, 1, 1}, 2);
  EXPECT_NEAR(b.mcc, -1.0 / 3, kTol);
}

TEST(Metrics, DegenerateInputsGiveZeroNotNaN) {
  // every prediction the same class: MCC's denominator is 0 -> sklearn returns 0.0
  ClassificationMetrics m = classification_metrics({0, 1, 1}, {1, 1, 1}, 2);
  EXPECT_EQ(m.mcc, 0.0);
  EXPECT_EQ(m.per_class[0].precision, 0.0);
  EXPECT_NEAR(m.accuracy, 2.0 / 3, kTol);
  ClassificationMetrics e = classification_metrics({}, {}, 2);
  EXPECT_EQ(e.accuracy, 0.0);
  EXPECT_EQ(e.f1_macro, 0.0);
  EXPECT_EQ(e.mcc, 0.0);
  EXPECT_THROW(classification_metrics({0, 2}, {0, 1}, 2), std::invalid_argument);
  EXPECT_THROW(classification_metrics({0}, {0, 1}, 2), std::invalid_argument);
}

TEST(Metrics, JsonHasTheKeysOfTextuneEval) {
  ClassificationMetrics m = classification_metrics({0, 1, 1}, {0, 1, 0}, 2);
  core::Json j = m.to_json({"negative", "positive"});
  for (const char* k : {"accuracy", "precision_macro", "recall_macro", "f1_macro", "f1_micro", "f1_weighted", "mcc",
                        "confusion_matrix", "per_class", "num_examples"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["confusion_matrix"].dump(), "[[1,0],[1,1]]");
  EXPECT_EQ(j["per_class"]["positive"]["support"], 2);
  EXPECT_EQ(j["per_class"]["positive"]["precision"], 1.0);  // 1 / (1 + 0)
  EXPECT_EQ(j["num_examples"], 3);
}

TEST(Metrics, PearsonSpearmanAndMse) {
  // scipy.stats.pearsonr docstring: x = [1, 2, 3, 4, 5], y = [10, 9, 2.5, 6, 4] -> -0.7426106572325057
  EXPECT_NEAR(pearson({1, 2, 3, 4, 5}, {10, 9, 2.5, 6, 4}), -0.7426106572325057, 1e-15);
  // scipy.stats.spearmanr docstring: [1, 2, 3, 4, 5] vs [5, 6, 7, 8, 7] -> 0.8207826816681233 (a tie at 7)
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 0.8207826816681233, 1e-15);
  // average ranks: 10 -> 1; the two 20s share ranks 2 and 3 -> 2.5; 30 -> 4 (scipy.stats.rankdata)
  EXPECT_EQ(rank_average({20, 10, 30, 20}), (std::vector<double>{2.5, 1, 4, 2.5}));
  // sklearn.metrics.mean_squared_error docstring: [3, -0.5, 2, 7] vs [2.5, 0.0, 2, 8] -> 0.375
  EXPECT_NEAR(mean_squared_error({3, -0.5, 2, 7}, {2.5, 0.0, 2, 8}), 0.375, kTol);
  // constant input: scipy warns and returns nan; JSON writes null
  EXPECT_TRUE(std::isnan(pearson({1, 1, 1}, {1, 2, 3})));
  RegressionMetrics r = regression_metrics({1, 1, 1}, {1, 2, 3});
  EXPECT_EQ(r.to_json().dump(), R"({"pearson":null,"spearman":null,"mse":1.6666666666666667,"num_examples":3})");
}

TEST(Metrics, MultiLabelAtAThreshold) {
  // predictions at >= 0.5: row 0 {0}, row 1 {1, 2}, row 2 {0, 1}
  // truth:                  row 0 {0, 2}, row 1 {1}, row 2 {0, 1} -> only row 2 matches: 1/3
  // label 0: tp 2 -> F1 1; label 1: tp 2 -> F1 1; label 2: tp 0, fp 1 (row 1), fn 1 (row 0) -> F1 0
  // macro (1 + 1 + 0) / 3; micro tp 4, fp 1, fn 1 -> F1 8 / (8 + 2) = 0.8, P = R = 4/5
  MultiLabelMetrics m =
      multi_label_metrics({{1, 0, 1}, {0, 1, 0}, {1, 1, 0}}, {{0.9, 0.2, 0.4}, {0.1, 0.6, 0.7}, {0.8, 0.5, 0.1}}, 0.5);
  EXPECT_NEAR(m.subset_accuracy, 1.0 / 3, kTol);
  EXPECT_NEAR(m.f1_macro, 2.0 / 3, kTol);
  EXPECT_NEAR(m.f1_micro, 0.8, kTol);
  EXPECT_NEAR(m.precision_micro, 0.8, kTol);
  EXPECT_NEAR(m.recall_micro, 0.8, kTol);
  EXPECT_EQ(m.per_label[2].f1, 0.0);
  EXPECT_EQ(m.to_json({"a", "b", "c"})["threshold"], 0.5);
  // a higher threshold drops row 1's label 1 (0.6) and row 2's label 1 (0.5): label 1 has tp 0
  MultiLabelMetrics h =
      multi_label_metrics({{1, 0, 1}, {0, 1, 0}, {1, 1, 0}}, {{0.9, 0.2, 0.4}, {0.1, 0.6, 0.7}, {0.8, 0.5, 0.1}}, 0.65);
  EXPECT_EQ(h.per_label[1].f1, 0.0);
  EXPECT_THROW(multi_label_metrics({{1, 0}}, {{0.5}}), std::invalid_argument);
}

}  // namespace
}  // namespace textune::eval
