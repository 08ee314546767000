// `textune init/train/eval/predict` end to end on a tiny BERT, including the bad inputs of issue 5.
#include <filesystem>

#include "../train/tiny_setup.h"
#include "support/test_support.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

using namespace textune;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;
namespace fs = std::filesystem;

namespace {

class TrainCli : public ::testing::Test {
 protected:
  void SetUp() override {
    model = tmp / "model";
    textune::testing::write_tiny_bert(model);
    write_text(tmp / "train.tsv", textune::testing::tiny_tsv(16));
    write_text(tmp / "dev.tsv", textune::testing::tiny_tsv(6, 50));
  }
  std::string train_cmd(const std::string& train, const std::string& extra = "") {
    return "train --model " + model + " --train " + train + " --output " + tmp / "out" +
           " --max_steps 2 --per_device_train_batch_size 4 --disable_tqdm " + extra;
  }
  TempDir tmp;
  std::string model;
};

TEST_F(TrainCli, TrainsEvaluatesAndPredictsEndToEnd) {
  auto r = run_cli(train_cmd(tmp / "train.tsv", "--eval " + tmp / "dev.tsv" + " --learning_rate 1e-3"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto summary = nlohmann::json::parse(r.out);
  EXPECT_EQ(summary["global_step"], 2);
  EXPECT_TRUE(summary["eval"].contains("eval_accuracy"));
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "trainer_state.json",
                        "training_log.jsonl", "training_curves.png", "confusion_matrix.png", "eval_results.json"})
    EXPECT_TRUE(fs::exists(tmp / ("out/" + std::string(f)))) << f;
  EXPECT_NE(r.err.find("training_curves.png"), std::string::npos) << r.err;

  auto p = run_cli("predict --model " + tmp / "out" + " 'a good film' 'the boring plot'");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::istringstream lines(p.out);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j["label"] == "neg" || j["label"] == "pos");
    const double sum = j["scores"]["neg"].get<double>() + j["scores"]["pos"].get<double>();
    EXPECT_NEAR(sum, 1.0, 1e-6);  // softmax
    EXPECT_DOUBLE_EQ(j["score"].get<double>(), j["scores"][j["label"].get<std::string>()].get<double>());
    ++n;
  }
  EXPECT_EQ(n, 2);
  auto c = run_cli("predict --model " + tmp / "out" + " --input " + tmp / "dev.tsv" + " --output " + tmp / "p.csv");
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(textune::testing::read_text(tmp / "p.csv").substr(0, 37), "text,label,score,score_neg,score_pos\n");
}

// A classifier that always predicts "pos" (classifier weight 0, bias [0, 1]) on 2 neg + 3 pos rows:
// confusion [[0, 2], [0, 3]]; accuracy 3/5; pos: precision 3/5, recall 1, F1 2*3/(2*3+2) = 0.75;
// neg is never predicted: precision, recall and F1 0 (zero_division=0); macro P 0.3, R 0.5,
// F1 0.375; micro F1 = accuracy 0.6; weighted F1 (0*2 + 0.75*3)/5 = 0.45; MCC 0 (a constant
// prediction: the denominator is 0).
TEST_F(TrainCli, EvalPrintsSklearnMetricsOnAHandCheckableCase) {
  {
    models::LoadOptions lo;
    lo.task = models::TaskKind::kSequenceClassification;
    lo.labels = std::vector<std::string>{"neg", "pos"};
    auto m = models::load_pretrained(model, lo);
    torch::NoGradGuard ng;
    for (auto& p : m->named_parameters(true)) {
      if (p.key() == "classifier.weight") p.value().zero_();
      if (p.key() == "classifier.bias") p.value().copy_(torch::tensor({0.0f, 1.0f}));
    }
    core::AtomicDirectory d(tmp / "always_pos");
    models::save_pretrained_into(m, d.staging_path());
    tokenizers::copy_tokenizer_files(model, d.staging_path());
    d.commit();
  }
  write_text(tmp / "hand.csv", "text,label\na good film,pos\nbad,neg\ngreat fun,pos\nawful plot,neg\nfine,pos\n");
  auto r = run_cli("eval --model " + tmp / "always_pos" + " --data " + tmp / "hand.csv" + " --output " + tmp / "e.json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["num_examples"], 5);
  EXPECT_DOUBLE_EQ(j["accuracy"], 0.6);
  EXPECT_DOUBLE_EQ(j["precision_macro"], 0.3);
  EXPECT_DOUBLE_EQ(j["recall_macro"], 0.5);
  EXPECT_DOUBLE_EQ(j["f1_macro"], 0.375);
  EXPECT_DOUBLE_EQ(j["f1_micro"], 0.6);
  EXPECT_DOUBLE_EQ(j["f1_weighted"], 0.45);
  EXPECT_DOUBLE_EQ(j["mcc"], 0.0);
  EXPECT_EQ(j["confusion_matrix"], nlohmann::json::parse("[[0, 2], [0, 3]]"));
  EXPECT_DOUBLE_EQ(j["per_class"]["neg"]["f1"], 0.0);
  EXPECT_DOUBLE_EQ(j["per_class"]["pos"]["f1"], 0.75);
  EXPECT_EQ(j["per_class"]["pos"]["support"], 3);
  EXPECT_TRUE(fs::exists(tmp / "e.json"));
  EXPECT_TRUE(fs::exists(tmp / "e_confusion_matrix.png"));
}

TEST_F(TrainCli, InitWritesAModelWithItsTokenizer) {
  auto r = run_cli("init --arch bert --vocab " + model + "/vocab.txt --output " + tmp / "scratch" +
                   " --layers 1 --hidden 32 --heads 2 --intermediate 37 --max-position 40");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto cfg = core::read_json_file(tmp / "scratch/config.json");
  EXPECT_EQ(cfg["num_hidden_layers"], 1);
  EXPECT_EQ(cfg["intermediate_size"], 37);
  EXPECT_EQ(cfg["max_position_embeddings"], 40);
  EXPECT_EQ(cfg["vocab_size"], 21);
  EXPECT_TRUE(fs::exists(tmp / "scratch/tokenizer.json"));
  auto bad = run_cli("init --vocab " + model + "/vocab.txt --output " + tmp / "x" + " --hidden 30 --heads 4");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("not a multiple"), std::string::npos) << bad.err;
}

// ---- bad input, end to end through `train` (issue 5) ----

TEST_F(TrainCli, QuotedNewlineAndBomAndStringLabelsTrain) {
  write_text(tmp / "q.csv",
             "\xEF\xBB\xBFtext,label\r\n\"a good\nfilm, really\",pos\r\nbad,neg\r\n\"the \"\"great\"\" plot\",pos\r\nawful,neg\r\n");
  auto r = run_cli(train_cmd(tmp / "q.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto cfg = core::read_json_file(tmp / "out/config.json");
  EXPECT_EQ(cfg["id2label"], core::Json::parse(R"({"0": "neg", "1": "pos"})"));
}

TEST_F(TrainCli, EmptyTextStopsWithTheRowAndColumn) {
  write_text(tmp / "e.csv", "text,label\ngood,pos\n,neg\nbad,neg\n");
  auto r = run_cli(train_cmd(tmp / "e.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("e.csv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("row 3"), std::string::npos) << r.err;  // file line 3 (the header is row 1)
  EXPECT_NE(r.err.find("empty"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "out/model.safetensors"));
  // --skip-invalid trains on the rest
  auto s = run_cli(train_cmd(tmp / "e.csv", "--skip-invalid"));
  EXPECT_EQ(s.exit_code, 0) << s.err;
}

TEST_F(TrainCli, LabelUnseenInTrainingIsNamedWithItsRow) {
  write_text(tmp / "dev2.csv", "text,label\ngood,pos\nfine,meh\n");
  auto r = run_cli(train_cmd(tmp / "train.tsv", "--eval " + tmp / "dev2.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("meh"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("row 3"), std::string::npos) << r.err;  // file line 3 (the header is row 1)
}

TEST_F(TrainCli, Latin1BytesAreADataError) {
  write_text(tmp / "l.csv", "text,label\ngood,pos\ncaf\xE9 bad,neg\n");
  auto r = run_cli(train_cmd(tmp / "l.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("row 3"), std::string::npos) << r.err;  // file line 3 (the header is row 1)
  EXPECT_NE(r.err.find("UTF-8"), std::string::npos) << r.err;
}

TEST_F(TrainCli, UsageErrorsExitTwo) {
  EXPECT_EQ(run_cli("train --model " + model + " --output " + tmp / "o").exit_code, 2);  // no --train
  auto r = run_cli(train_cmd(tmp / "train.tsv", "--lr_scheduler_type polynomial"));
  EXPECT_EQ(r.exit_code, 2);
  r = run_cli(train_cmd(tmp / "train.tsv", "--eval_strategy steps"));  // no --eval
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--eval"), std::string::npos) << r.err;
  r = run_cli(train_cmd(tmp / "missing.tsv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.tsv"), std::string::npos) << r.err;
}

TEST_F(TrainCli, ConfigFileUsesTrainingArgumentsKeysAndTheCommandLineWins) {
  write_text(tmp / "cfg.json", R"({"learning_rate": 0.002, "max_steps": 3, "seed": 7, "weight_decay": 0.1})");
  auto r = run_cli(train_cmd(tmp / "train.tsv", "--config " + tmp / "cfg.json"));  // --max_steps 2 wins
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto args = core::read_json_file(tmp / "out/training_args.json");
  EXPECT_EQ(args["max_steps"], 2);
  EXPECT_DOUBLE_EQ(args["learning_rate"], 0.002);
  EXPECT_EQ(args["seed"], 7);
  write_text(tmp / "bad.json", R"({"learning_rat": 0.1})");
  auto b = run_cli(train_cmd(tmp / "train.tsv", "--config " + tmp / "bad.json"));
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_NE(b.err.find("learning_rat"), std::string::npos) << b.err;
}

}  // namespace
