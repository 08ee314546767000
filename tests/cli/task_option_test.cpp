// `--task` names a registered task (tasks::create_task) or an alias, in `train` and `data`; the
// task's options come from its declaration (--pos_label on the command line or in --config), and the
// trained model directory names its task (textune_task.json) for eval and predict.
#include "../train/tiny_setup.h"
#include "support/test_support.h"
#include "textune/core/json.h"

using textune::testing::data_dir;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST(CliTaskOption, RegisteredNamesAndAliasesAreAcceptedAndUnknownOnesListed) {
  const std::string data = "data -i " + data_dir() + "/en/sst2/dev.tsv --limit 1";
  const auto plain = run_cli(data);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  for (const char* task : {"text-classification", "classification", "single_label_classification"}) {
    const auto r = run_cli(data + " --task " + task);
    EXPECT_EQ(r.exit_code, 0) << task << ": " << r.err;
    EXPECT_EQ(r.out, plain.out) << task;
  }
  const auto bad = run_cli(data + " --task token-classificatio");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.err, "unknown task \"token-classificatio\" (tasks: ")) << bad.err;
  EXPECT_TRUE(contains(bad.err, "text-classification")) << bad.err;
}

TEST(CliTaskOption, TrainSavesItsTaskAndTakesTaskOptionsFromConfig) {
  TempDir tmp;
  const std::string model = tmp / "model";
  textune::testing::write_tiny_bert(model);
  write_text(tmp / "train.tsv", textune::testing::tiny_tsv(8));
  // pos_label is the text-classification task's option: accepted in --config like a TrainingArguments key
  write_text(tmp / "config.json", R"({"task": "text-classification", "pos_label": "neg", "max_steps": 1})");
  const auto t = run_cli("train --model " + model + " --train " + tmp / "train.tsv" + " --output " + tmp / "out" +
                         " --config " + tmp / "config.json" + " --per_device_train_batch_size 4 --disable_tqdm");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto task = textune::core::read_json_file(tmp / "out/textune_task.json");
  EXPECT_EQ(task["task"], "text-classification") << task.dump();
  const auto data = textune::core::read_json_file(tmp / "out/textune_data.json");
  EXPECT_EQ(data["pos_label"], "neg") << data.dump();
  // a metric the task does not compute names the task and its metrics
  const auto m = run_cli("train --model " + model + " --train " + tmp / "train.tsv" + " --eval " + tmp / "train.tsv" +
                         " --output " + tmp / "out2" + " --metric_for_best_model bogus --load_best_model_at_end");
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_TRUE(contains(m.err, "not a metric of text-classification (one of: loss, accuracy, f1")) << m.err;
}
