// The Trainer on a tiny BERT: exact resume, checkpoint rotation, early stopping, class weights.
#include <filesystem>

#include "support/test_support.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/data/table.h"
#include "textune/train/trainer.h"
#include "tiny_setup.h"

using namespace textune;
using textune::testing::TempDir;
namespace fs = std::filesystem;

namespace {

struct Run {
  train::TrainOutput out;
  std::map<std::string, torch::Tensor> weights;  // of the saved final model
};

std::map<std::string, torch::Tensor> saved_weights(const std::string& dir) {
  auto w = core::CheckpointWeights::open(dir);
  std::map<std::string, torch::Tensor> out;
  for (const auto& n : w.names()) out[n] = w.get(n).clone();
  return out;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_dir = tmp / "model";
    textune::testing::write_tiny_bert(model_dir);
    textune::testing::write_text(tmp / "train.tsv", textune::testing::tiny_tsv(24));
    textune::testing::write_text(tmp / "dev.tsv", textune::testing::tiny_tsv(8, 100));
  }
  train::TrainingArguments base_args(const std::string& out) {
    train::TrainingArguments a;
    a.output_dir = out;
    a.learning_rate = 1e-3;
    a.per_device_train_batch_size = 4;
    a.per_device_eval_batch_size = 4;
    a.max_steps = 6;
    a.warmup_steps = 2;
    a.weight_decay = 0.01;
    a.logging_steps = 1;
    a.save_strategy = "steps";
    a.save_steps = 3;
    a.group_by_length = true;
    a.disable_tqdm = true;
    return a;
  }
  std::unique_ptr<train::Trainer> make(const train::TrainingArguments& a, bool with_eval = false) {
    data::Dataset tr = data::load_dataset(tmp / "train.tsv");
    std::optional<data::Dataset> ev;
    if (with_eval) ev = data::load_dataset(tmp / "dev.tsv", {}, &tr.label_map);
    auto model = train::load_for_training(model_dir, tr, ev ? &*ev : nullptr, a.seed, "cpu");
    return std::make_unique<train::Trainer>(model, tokenizers::Tokenizer::from_dir(model_dir), model_dir, std::move(tr),
                                            std::move(ev), a);
  }
  TempDir tmp;
  std::string model_dir;
};

// 3 steps, stop, resume for 3 more: the same losses and weights, bit for bit, as 6 steps at once
// (dropout on: the RNG state and the data order come back from the checkpoint).
TEST_F(TrainerTest, ResumeIsBitExact) {
  auto full = make(base_args(tmp / "full"));
  auto a = full->train();
  ASSERT_EQ(a.step_losses.size(), 6u);

  auto first = make(base_args(tmp / "split"));
  first->set_stop_callback([](int64_t step) { return step == 3; });
  auto b1 = first->train();
  ASSERT_EQ(b1.step_losses.size(), 3u);
  ASSERT_TRUE(fs::is_directory(tmp / "split/checkpoint-3"));
  auto second = make(base_args(tmp / "split"));
  auto b2 = second->train(tmp / "split/checkpoint-3");
  ASSERT_EQ(b2.step_losses.size(), 3u);
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(b1.step_losses[k], a.step_losses[k]) << "step " << k + 1;
    EXPECT_EQ(b2.step_losses[k], a.step_losses[k + 3]) << "step " << k + 4;
  }
  auto wa = saved_weights(tmp / "full"), wb = saved_weights(tmp / "split");
  ASSERT_EQ(wa.size(), wb.size());
  for (auto& [name, t] : wa) EXPECT_TRUE(torch::equal(t, wb[name])) << name;
  // the checkpoints of both runs at step 6 hold the same optimizer state
  auto oa = core::SafetensorsFile::open(tmp / "full/checkpoint-6/optimizer.safetensors");
  auto ob = core::SafetensorsFile::open(tmp / "split/checkpoint-6/optimizer.safetensors");
  for (const auto& info : oa.tensors()) EXPECT_TRUE(torch::equal(oa.get(info.name), ob.get(info.name))) << info.name;
  // trainer_state.json in transformers' shape
  auto state = core::read_json_file(tmp / "split/trainer_state.json");
  EXPECT_EQ(state["global_step"], 6);
  EXPECT_EQ(state["max_steps"], 6);
  EXPECT_TRUE(state["log_history"].is_array());
  EXPECT_EQ(state["log_history"][0]["step"], 1);
  EXPECT_TRUE(state["log_history"][0].contains("learning_rate"));
  // the final directory is a model transformers loads: config with labels, weights, tokenizer
  auto cfg = core::read_json_file(tmp / "split/config.json");
  EXPECT_EQ(cfg["architectures"][0], "BertForSequenceClassification");
  EXPECT_EQ(cfg["id2label"]["0"], "neg");
  EXPECT_EQ(cfg["label2id"]["pos"], 1);
  EXPECT_EQ(cfg["problem_type"], "single_label_classification");
  EXPECT_TRUE(fs::exists(tmp / "split/tokenizer.json"));
  EXPECT_TRUE(fs::exists(tmp / "split/training_log.jsonl"));
}

// save every step, keep 2: only the two newest checkpoints remain (transformers' _rotate_checkpoints).
TEST_F(TrainerTest, SaveTotalLimitKeepsTheNewest) {
  auto a = base_args(tmp / "rot");
  a.save_steps = 1;
  a.save_total_limit = 2;
  make(a)->train();
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp / "rot"))
    if (e.path().filename().string().rfind("checkpoint-", 0) == 0) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"checkpoint-5", "checkpoint-6"}));
}

// EarlyStoppingCallback on a scripted metric sequence (eval every step, patience 2, greater is better):
// 0.5 (best), 0.6 (best), 0.6 (no gain: 1), 0.55 (2: stop). load_best_model_at_end then restores step 2,
// and save_total_limit 1 keeps the best checkpoint beside the last one.
TEST_F(TrainerTest, EarlyStoppingOnScriptedMetricKeepsAndLoadsTheBest) {
  auto a = base_args(tmp / "es");
  a.max_steps = 10;
  a.eval_strategy = "steps";
  a.eval_steps = 1;
  a.save_steps = 1;
  a.save_total_limit = 1;
  a.metric_for_best_model = "score";
  a.early_stopping_patience = 2;
  a.load_best_model_at_end = true;
  auto trainer = make(a, true);
  auto calls = std::make_shared<int>(0);
  const std::vector<double> script = {0.5, 0.6, 0.6, 0.55, 0.9, 0.9};
  trainer->set_compute_metrics([calls, script](const torch::Tensor&, const data::Dataset&) {
    return core::Json{{"score", script[std::min<size_t>((*calls)++, script.size() - 1)]}};
  });
  auto out = trainer->train();
  EXPECT_TRUE(out.stopped_early);
  EXPECT_EQ(out.global_step, 4);
  ASSERT_TRUE(out.best_model_checkpoint);
  EXPECT_EQ(fs::path(*out.best_model_checkpoint).filename(), "checkpoint-2");
  EXPECT_TRUE(fs::is_directory(tmp / "es/checkpoint-2"));
  EXPECT_TRUE(fs::is_directory(tmp / "es/checkpoint-4"));
  EXPECT_FALSE(fs::exists(tmp / "es/checkpoint-3"));
  auto state = core::read_json_file(tmp / "es/trainer_state.json");
  EXPECT_EQ(state["best_metric"], 0.6);
  EXPECT_EQ(state["best_global_step"], 2);
  // the saved final model is the best checkpoint's
  auto best = saved_weights(tmp / "es/checkpoint-2"), final = saved_weights(tmp / "es");
  for (auto& [name, t] : best) EXPECT_TRUE(torch::equal(t, final[name])) << name;
}

// scikit-learn's compute_class_weight("balanced"): n / (classes * count).
TEST_F(TrainerTest, AutoClassWeightsAreBalanced) {
  data::Dataset tr = data::load_dataset(tmp / "train.tsv");
  auto counts = tr.label_counts();
  auto w = train::class_weights_for("auto", tr);
  ASSERT_EQ(w.size(0), 2);
  for (int k = 0; k < 2; ++k) EXPECT_NEAR(w[k].item<double>(), 24.0 / (2.0 * counts[k]), 1e-6);
  textune::testing::write_text(tmp / "w.json", R"({"neg": 2.0, "pos": 0.5})");
  auto wf = train::class_weights_for(tmp / "w.json", tr);
  EXPECT_FLOAT_EQ(wf[0].item<float>(), 2.0f);
  textune::testing::write_text(tmp / "bad.json", R"({"neg": 2.0, "meh": 0.5})");
  EXPECT_THROW(train::class_weights_for(tmp / "bad.json", tr), DataError);
}

// The same rows from .xlsx and from .csv train to identical metrics (a slice of real SST-2).
TEST_F(TrainerTest, XlsxAndCsvCopiesGiveIdenticalMetrics) {
  const std::string sst2 = textune::testing::data_dir() + "/en/sst2/train.tsv";
  data::Table full = data::read_table(sst2);
  data::Table slice = full;
  slice.rows.assign(full.rows.begin(), full.rows.begin() + 48);
  data::Table dev = full;
  dev.rows.assign(full.rows.begin() + 48, full.rows.begin() + 64);
  for (const char* ext : {"csv", "xlsx"}) {
    data::write_table(tmp / (std::string("train.") + ext), slice);
    data::write_table(tmp / (std::string("dev.") + ext), dev);
  }
  // a tokenizer that knows SST-2's words: init with the bert-base-uncased vocabulary
  const std::string bert = tmp / "bert";
  {
    core::Json cfg = core::read_model_config(model_dir);
    cfg["vocab_size"] = 30522;
    auto m = models::from_config(cfg, {});
    core::AtomicDirectory d(bert);
    models::save_pretrained_into(m, d.staging_path());
    tokenizers::write_bert_tokenizer(textune::testing::data_dir() + "/vocab/bert-base-uncased/vocab.txt", d.staging_path(), true, 64);
    d.commit();
  }
  std::vector<core::Json> metrics;
  for (const char* ext : {"csv", "xlsx"}) {
    data::Dataset tr = data::load_dataset(tmp / (std::string("train.") + ext));
    data::Dataset ev = data::load_dataset(tmp / (std::string("dev.") + ext), {}, &tr.label_map);
    auto a = base_args(tmp / (std::string("out_") + ext));
    a.eval_strategy = "steps";
    a.eval_steps = 3;
    a.save_strategy = "no";
    auto model = train::load_for_training(bert, tr, &ev, a.seed, "cpu");
    train::Trainer t(model, tokenizers::Tokenizer::from_dir(bert), bert, std::move(tr), std::move(ev), a);
    t.set_compute_metrics([](const torch::Tensor& logits, const data::Dataset& ds) {
      return core::Json{{"accuracy", (logits.argmax(1) == torch::tensor([&] {
                                        std::vector<int64_t> y;
                                        for (const auto& e : ds.examples) y.push_back(e.label);
                                        return y;
                                      }())).to(torch::kFloat64).mean().item<double>()}};
    });
    auto out = t.train();
    core::Json m = out.final_metrics;
    for (const char* k : {"eval_runtime", "eval_samples_per_second", "eval_steps_per_second"}) m.erase(k);
    metrics.push_back(m);
    EXPECT_EQ(out.step_losses.size(), 6u);
  }
  EXPECT_EQ(metrics[0], metrics[1]);
  EXPECT_TRUE(metrics[0].contains("eval_accuracy"));
}

// A directory holding files is refused as a data error (exit 1, as `textune init` refuses it).
TEST_F(TrainerTest, NonEmptyOutputWithoutResumeIsRefused) {
  fs::create_directories(tmp / "busy");
  textune::testing::write_text(tmp / "busy/keep.txt", "x");
  EXPECT_THROW(make(base_args(tmp / "busy"))->train(), DataError);
  EXPECT_TRUE(fs::exists(tmp / "busy/keep.txt"));
}

}  // namespace
