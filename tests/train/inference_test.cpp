// The one inference loop (train::run_inference) and the Trainer on the task interface, on a tiny
// BERT: rows in length order, outputs equal to one forward per example, eval_loss as its
// definition (cross-entropy averaged over examples), the model's mode restored, the cancel hook,
// and the task saved beside every model.
#include <filesystem>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/tasks/registry.h"
#include "textune/tasks/text_classification.h"
#include "textune/train/inference.h"
#include "textune/train/trainer.h"
#include "tiny_setup.h"

using namespace textune;
using textune::testing::TempDir;
namespace fs = std::filesystem;

namespace {

// Records what the loop hands to a sink: the feature of every row in arrival order, and the logits.
class Recorder : public tasks::OutputSink {
 public:
  void add(const tasks::Batch& batch, const models::ModelOutputs& outputs) override {
    EXPECT_EQ(outputs.logits.device().type(), torch::kCPU);
    EXPECT_EQ(outputs.logits.scalar_type(), torch::kFloat32);
    EXPECT_EQ(outputs.logits.size(0), static_cast<int64_t>(batch.features.size()));
    for (size_t r = 0; r < batch.features.size(); ++r) {
      rows.push_back(batch.features[r]);
      logits[batch.features[r]] = outputs.logits[static_cast<int64_t>(r)].clone();
    }
    batches += 1;
  }
  std::vector<size_t> rows;
  std::map<size_t, torch::Tensor> logits;
  int batches = 0;
};

class InferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_dir = tmp / "model";
    textune::testing::write_tiny_bert(model_dir);
    textune::testing::write_text(tmp / "train.tsv", textune::testing::tiny_tsv(24));
    textune::testing::write_text(tmp / "dev.tsv", textune::testing::tiny_tsv(11, 100));
    data::Dataset tr = data::load_dataset(tmp / "train.tsv");
    data::Dataset dev = data::load_dataset(tmp / "dev.tsv", {}, &tr.label_map);
    model = train::load_for_training(model_dir, tr, &dev, 42, "cpu");
    task = std::make_shared<tasks::TextClassificationTask>(tr.task);
    task->bind_model(model);
    examples = tasks::wrap_dataset(std::move(dev));
    tokenizer = tokenizers::Tokenizer::from_dir(model_dir);
    tasks::FeatureOptions fo;
    fo.max_length = 64;
    features = task->featurize(*examples, *tokenizer, fo);
  }
  TempDir tmp;
  std::string model_dir;
  models::PreTrainedModel model = nullptr;
  std::shared_ptr<tasks::TextClassificationTask> task;
  std::shared_ptr<tasks::ClassificationExamples> examples;
  std::shared_ptr<const tokenizers::Tokenizer> tokenizer;
  tasks::Features features;
};

// Rows come longest first (ties in feature order), in batches of batch_size; each example's logits
// are those of a forward pass over that example alone (padding changes nothing); the loss is the
// mean cross-entropy over the examples (torch.nn.functional.cross_entropy, reduction "mean", of
// each batch, weighted by the batch's size), and the model is back in training mode afterwards.
TEST_F(InferenceTest, LengthSortedBatchesGiveEachExamplesOwnLogitsAndTheMeanLoss) {
  model->train();
  Recorder rec;
  train::InferenceOptions io;
  io.batch_size = 4;
  io.compute_loss = true;
  const double loss = train::run_inference(model, *task, *examples, features, io, {&rec});
  EXPECT_TRUE(model->is_training());
  ASSERT_EQ(rec.rows.size(), features.size());
  EXPECT_EQ(rec.batches, 3);  // 11 examples in batches of 4
  for (size_t k = 1; k < rec.rows.size(); ++k) {
    const size_t a = rec.rows[k - 1], b = rec.rows[k];
    EXPECT_TRUE(features.length(a) > features.length(b) || (features.length(a) == features.length(b) && a < b))
        << "row " << k;
  }
  // the definition, one example at a time
  torch::NoGradGuard no_grad;
  model->eval();
  const auto& ds = examples->dataset();
  std::vector<torch::Tensor> all;
  for (size_t i = 0; i < features.size(); ++i) {
    const auto& e = features.encodings[i];
    models::ModelInputs in;
    in.input_ids = torch::tensor(std::vector<int64_t>(e.ids.begin(), e.ids.end()), torch::kInt64).unsqueeze(0);
    in.token_type_ids =
        torch::tensor(std::vector<int64_t>(e.type_ids.begin(), e.type_ids.end()), torch::kInt64).unsqueeze(0);
    const torch::Tensor alone = model->forward(in).logits[0];
    EXPECT_TRUE(torch::allclose(alone, rec.logits.at(i), 1e-5, 1e-6)) << "example " << i;
    all.push_back(alone);
  }
  std::vector<int64_t> y;
  for (const auto& ex : ds.examples) y.push_back(ex.label);
  const double expected =
      torch::nn::functional::cross_entropy(torch::stack(all), torch::tensor(y, torch::kInt64)).item<double>();
  EXPECT_NEAR(loss, expected, 1e-6);
}

// Without compute_loss (or without labels) no loss: NaN, and the labels stay out of the model.
TEST_F(InferenceTest, NoLossWithoutComputeLoss) {
  Recorder rec;
  train::InferenceOptions io;
  io.batch_size = 5;
  EXPECT_TRUE(std::isnan(train::run_inference(model, *task, *examples, features, io, {&rec})));
  EXPECT_EQ(rec.rows.size(), features.size());
}

// The cancel hook is asked before every batch: true stops the loop with InferenceCancelled, the
// sinks holding the batches run so far, and the model's mode restored.
TEST_F(InferenceTest, CancelHookStopsBetweenBatches) {
  model->train();
  Recorder rec;
  train::InferenceOptions io;
  io.batch_size = 2;
  int asked = 0;
  io.cancelled = [&] { return ++asked > 2; };
  EXPECT_THROW(train::run_inference(model, *task, *examples, features, io, {&rec}), train::InferenceCancelled);
  EXPECT_EQ(rec.batches, 2);
  EXPECT_EQ(rec.rows.size(), 4u);
  EXPECT_TRUE(model->is_training());
}

// The Trainer on the task interface: the task's evaluator gives the eval_* scalars (its full report
// kept as last_eval_report), and every saved model, checkpoint-N and final, names its task in
// textune_task.json (tasks::save_task).
TEST_F(InferenceTest, TrainerEvaluatesWithTheTaskAndSavesItWithEveryModel) {
  data::Dataset tr = data::load_dataset(tmp / "train.tsv");
  auto train_examples = tasks::wrap_dataset(std::move(tr));
  train::TrainingArguments a;
  a.output_dir = tmp / "out";
  a.learning_rate = 1e-3;
  a.per_device_train_batch_size = 4;
  a.per_device_eval_batch_size = 4;
  a.max_steps = 4;
  a.save_steps = 2;
  a.logging_steps = 1;
  a.eval_strategy = "steps";
  a.eval_steps = 2;
  a.disable_tqdm = true;
  train::Trainer trainer(model, tokenizer, model_dir, task, train_examples, examples, a);
  const train::TrainOutput out = trainer.train();
  ASSERT_TRUE(out.final_metrics.contains("eval_accuracy"));
  const tasks::EvalReport& report = trainer.last_eval_report();
  EXPECT_EQ(out.final_metrics["eval_accuracy"], report.scalars["accuracy"]);
  // accuracy by its definition, from the final model's own predictions
  std::unique_ptr<tasks::Predictor> predictor = task->predictor(*examples, features);
  train::InferenceOptions io;
  train::run_inference(trainer.model(), *task, *examples, features, io, {predictor.get()});
  const auto records = predictor->finish();
  double correct = 0;
  for (size_t i = 0; i < records.size(); ++i)
    correct += records[i]["label"] == examples->dataset().label_map.label(examples->dataset().examples[i].label);
  EXPECT_DOUBLE_EQ(out.final_metrics["eval_accuracy"].get<double>(), correct / static_cast<double>(records.size()));
  for (const char* dir : {"out/checkpoint-2", "out/checkpoint-4", "out"}) {
    const fs::path file = fs::path(tmp.path()) / dir / tasks::kTaskFile;
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(core::read_json_file(file)["task"], "text-classification") << file;
  }
}

}  // namespace
