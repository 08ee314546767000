// GLUE's and scikit-learn's headline F1 (issue 11): for two labels "f1" is the positive class's F1
// (f1_score's average="binary", pos_label=1), for more labels the macro average; f1_macro and
// f1_micro are reported beside it. Values from the definitions (arithmetic in the comments) and
// golden numbers of a real MRPC prediction file (tests/eval/data/mrpc_golden.py).
#include <torch/torch.h>

#include <fstream>
#include <sstream>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/data/dataset.h"
#include "textune/eval/evaluate.h"
#include "textune/eval/metrics.h"

namespace textune::eval {
namespace {

constexpr double kTol = 1e-12;

TEST(BinaryF1, IsThePositiveClassNotTheMacroAverage) {
  // y_true 1 1 1 1 0 0, y_pred 1 1 1 0 1 0
  // class 1: tp 3, fp 1, fn 1 -> P 3/4, R 3/4, F1 6/8;  class 0: tp 1, fp 1, fn 1 -> F1 2/4
  ClassificationMetrics m = classification_metrics({1, 1, 1, 1, 0, 0}, {1, 1, 1, 0, 1, 0}, 2);
  EXPECT_EQ(m.pos_label, 1);
  EXPECT_NEAR(m.f1, 6.0 / 8, kTol);
  EXPECT_NEAR(m.precision, 3.0 / 4, kTol);
  EXPECT_NEAR(m.recall, 3.0 / 4, kTol);
  EXPECT_NEAR(m.f1_macro, (6.0 / 8 + 2.0 / 4) / 2, kTol);  // 0.625, what "f1" was before
  EXPECT_NEAR(m.f1_micro, 4.0 / 6, kTol);                  // = accuracy
  // pos_label=0: class 0's scores, as f1_score(..., pos_label=0)
  ClassificationMetrics z = classification_metrics({1, 1, 1, 1, 0, 0}, {1, 1, 1, 0, 1, 0}, 2, 0);
  EXPECT_NEAR(z.f1, 2.0 / 4, kTol);
  EXPECT_NEAR(z.precision, 1.0 / 2, kTol);
  EXPECT_NEAR(z.recall, 1.0 / 2, kTol);
  EXPECT_THROW(classification_metrics({0, 1}, {0, 1}, 2, 2), std::invalid_argument);
  // sklearn f1_score docstring, binary: y_true [0,1,1,0,1,1], y_pred [0,1,0,0,1,1]:
  // tp 3, fp 0, fn 1 -> precision 1, recall 3/4, f1 6/7
  ClassificationMetrics d = classification_metrics({0, 1, 1, 0, 1, 1}, {0, 1, 0, 0, 1, 1}, 2);
  EXPECT_NEAR(d.f1, 6.0 / 7, kTol);
  EXPECT_NEAR(d.precision, 1.0, kTol);
  EXPECT_NEAR(d.recall, 0.75, kTol);
  // the positive class never predicted and never true: zero_division=0 gives 0, not NaN
  ClassificationMetrics n = classification_metrics({0, 0}, {0, 0}, 2);
  EXPECT_EQ(n.f1, 0.0);
  EXPECT_EQ(n.precision, 0.0);
}

TEST(BinaryF1, MoreThanTwoLabelsIsMacro) {
  // sklearn f1_score docstring: y_true [0,1,2,0,1,2], y_pred [0,2,1,0,0,1]: macro 0.2666...
  ClassificationMetrics m = classification_metrics({0, 1, 2, 0, 1, 2}, {0, 2, 1, 0, 0, 1}, 3);
  EXPECT_EQ(m.pos_label, -1);
  EXPECT_NEAR(m.f1, 0.26666666666666666, kTol);
  EXPECT_NEAR(m.precision, 0.22222222222222222, kTol);
  EXPECT_NEAR(m.recall, 0.33333333333333333, kTol);
  core::Json j = m.to_json({"a", "b", "c"});
  EXPECT_EQ(j["f1_average"], "macro");
  EXPECT_FALSE(j.contains("pos_label"));
}

std::vector<std::string> split_tab(const std::string& line) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string f;
  while (std::getline(ss, f, '\t')) out.push_back(f);
  return out;
}

// A dataset of two labels "0" and "1" (as MRPC's integer labels load) and the one-hot logits of
// the predictions, so that evaluation_report's argmax gives them back.
void mrpc_inputs(data::Dataset& ds, torch::Tensor& logits) {
  std::ifstream in(textune::testing::source_dir() + "/tests/eval/data/mrpc_dev_predictions.tsv");
  ASSERT_TRUE(in) << "tests/eval/data/mrpc_dev_predictions.tsv";
  std::string line;
  std::getline(in, line);
  ASSERT_EQ(line, "label\tprediction");
  ds.source = "mrpc_dev_predictions.tsv";
  ds.task = data::Task::kClassification;
  ds.label_map = data::LabelMap({"0", "1"});
  ds.text_column = "text";
  ds.label_column = "label";
  std::vector<float> l;
  while (std::getline(in, line)) {
    auto f = split_tab(line);
    ASSERT_EQ(f.size(), 2u);
    data::Example ex;
    ex.text = "x";
    ex.label = std::stoll(f[0]);
    ds.examples.push_back(ex);
    const int p = std::stoi(f[1]);
    l.push_back(p == 0 ? 1.f : 0.f);
    l.push_back(p == 1 ? 1.f : 0.f);
  }
  logits = torch::tensor(l).reshape({static_cast<int64_t>(ds.examples.size()), 2});
}

TEST(BinaryF1, MrpcGoldenNumbers) {
  const core::Json golden = core::Json::parse(
      textune::testing::read_text(textune::testing::source_dir() + "/tests/eval/data/mrpc_dev_golden.json"));
  data::Dataset ds;
  torch::Tensor logits;
  mrpc_inputs(ds, logits);
  ASSERT_EQ(ds.size(), golden["num_examples"].get<size_t>());
  const core::Json r = evaluation_report(logits, ds);
  for (const char* k :
       {"accuracy", "f1", "precision", "recall", "f1_macro", "precision_macro", "recall_macro", "f1_micro", "mcc"})
    EXPECT_NEAR(r[k].get<double>(), golden[k].get<double>(), kTol) << k;
  EXPECT_EQ(r["confusion_matrix"], golden["confusion_matrix"]);
  EXPECT_EQ(r["pos_label"], "1");
  EXPECT_EQ(r["f1_average"], "binary");
  // what the Trainer logs as eval_f1 is the positive class's F1
  EXPECT_NEAR(scalar_metrics(r)["f1"].get<double>(), golden["f1"].get<double>(), kTol);
  EXPECT_GT(golden["f1"].get<double>() - golden["f1_macro"].get<double>(), 0.05);
  // --pos_label by name or id
  for (const std::string pos : {"0"}) {
    const core::Json z = evaluation_report(logits, ds, 0.5, pos);
    EXPECT_NEAR(z["f1"].get<double>(), golden["f1_pos_label_0"].get<double>(), kTol);
    EXPECT_NEAR(z["precision"].get<double>(), golden["precision_pos_label_0"].get<double>(), kTol);
    EXPECT_NEAR(z["recall"].get<double>(), golden["recall_pos_label_0"].get<double>(), kTol);
    EXPECT_EQ(z["pos_label"], "0");
  }
  EXPECT_THROW(evaluation_report(logits, ds, 0.5, std::string("yes")), UsageError);
}

TEST(BinaryF1, PosLabelByNameOrId) {
  EXPECT_EQ(resolve_pos_label({"neg", "pos"}, std::nullopt), 1);
  EXPECT_EQ(resolve_pos_label({"neg", "pos"}, std::string("neg")), 0);
  EXPECT_EQ(resolve_pos_label({"neg", "pos"}, std::string("0")), 0);
  EXPECT_EQ(resolve_pos_label({"1", "0"}, std::string("0")), 1);  // a name wins over an id
  try {
    resolve_pos_label({"neg", "pos"}, std::string("2"));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--pos_label 2: not a label of the model (labels: neg (id 0), pos (id 1))"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace textune::eval
