// The problems a new user met following the README: every bad invocation fails before anything is
// loaded or written, with the exit code of README's rule (1: data, model or file; 2: usage) and a
// message naming the option or path; nothing the user had is ever replaced unasked.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "../train/tiny_setup.h"
#include "support/test_support.h"

using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

class NewUser : public ::testing::Test {
 protected:
  void SetUp() override {
    model = tmp / "model";
    textune::testing::write_tiny_bert(model);
    write_text(tmp / "train.tsv", textune::testing::tiny_tsv(8));
  }
  std::string train_cmd(const std::string& extra, int max_steps = 1) {
    return "train --model " + model + " --train " + tmp / "train.tsv" + " --output " + tmp / "out" + " --max_steps " +
           std::to_string(max_steps) + " --per_device_train_batch_size 4 --disable_tqdm " + extra;
  }
  // A fine-tuned model in tmp/out (1 step).
  void train_once() { ASSERT_EQ(run_cli(train_cmd("")).exit_code, 0); }
  TempDir tmp;
  std::string model;
};

// Issue 1: `init --output DIR` on a directory holding a user's files refuses (exit 1, naming the
// directory and --overwrite_output_dir) and leaves every file as it was.
TEST_F(NewUser, InitRefusesANonEmptyDirectory) {
  const std::string dir = tmp / "mine";
  fs::create_directories(dir);
  write_text(dir + "/notes.txt", "my notes");
  const std::string init = "init --vocab " + model + "/vocab.txt --output " + dir + " --layers 1 --hidden 8 --heads 2";
  auto r = run_cli(init);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, dir)) << r.err;
  EXPECT_TRUE(contains(r.err, "not empty")) << r.err;
  EXPECT_TRUE(contains(r.err, "--overwrite_output_dir")) << r.err;
  EXPECT_EQ(read_text(dir + "/notes.txt"), "my notes");
  EXPECT_FALSE(fs::exists(dir + "/config.json"));
  // an empty existing directory is fine; --overwrite_output_dir replaces the contents
  fs::create_directories(tmp / "empty");
  EXPECT_EQ(run_cli("init --vocab " + model + "/vocab.txt --output " + tmp / "empty --layers 1 --hidden 8 --heads 2")
                .exit_code,
            0);
  auto o = run_cli(init + " --overwrite_output_dir");
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(fs::exists(dir + "/config.json"));
  EXPECT_FALSE(fs::exists(dir + "/notes.txt"));
}

// Issue 2: eval writes a plot only where asked (--plot, or beside --output), never into the
// current directory; a missing parent directory of --output is an error (1), a directory given as
// --output a usage error (2), both before evaluating.
TEST_F(NewUser, EvalWritesNoPlotUnaskedAndChecksOutputPaths) {
  train_once();
  const std::string cwd = tmp / "cwd";
  fs::create_directories(cwd);
  const std::string eval = "eval --model " + tmp / "out" + " --data " + tmp / "train.tsv";
  auto r = run_cli("-q " + eval);
  {
    // run_cli runs in this process's directory: run again from `cwd` through a shell
    const std::string cmd = "cd '" + cwd + "' && '" + textune::testing::cli_path() + "' " + eval + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_empty(cwd));
  EXPECT_FALSE(contains(r.err, "confusion matrix:")) << r.err;
  auto p = run_cli(eval + " --plot " + tmp / "cm.png");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  EXPECT_TRUE(fs::exists(tmp / "cm.png"));

  auto missing = run_cli(eval + " --output " + tmp / "no/such/e.json");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, tmp / "no/such")) << missing.err;
  EXPECT_TRUE(contains(missing.err, "does not exist")) << missing.err;
  EXPECT_FALSE(fs::exists(tmp / "no"));
  EXPECT_TRUE(missing.out.empty()) << missing.out;  // nothing was evaluated
  auto dir = run_cli(eval + " --output " + tmp / "cwd");
  EXPECT_EQ(dir.exit_code, 2);
  EXPECT_TRUE(contains(dir.err, "is a directory")) << dir.err;
  EXPECT_TRUE(dir.out.empty()) << dir.out;
}

// Issue 3: a metric the task does not compute, --eval_steps 0 and a --max_length longer than the
// model allows are usage errors found before training: nothing is written.
TEST_F(NewUser, TrainValidatesMetricEvalStepsAndMaxLengthBeforeTraining) {
  const std::string eval = "--eval " + tmp / "train.tsv" + " ";
  auto m = run_cli(train_cmd(eval + "--load_best_model_at_end --metric_for_best_model bogus"));
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_TRUE(contains(m.err, "--metric_for_best_model bogus")) << m.err;
  EXPECT_TRUE(contains(m.err, "accuracy")) << m.err;
  EXPECT_TRUE(contains(m.err, "f1_macro")) << m.err;
  EXPECT_FALSE(fs::exists(tmp / "out"));
  // with or without transformers' eval_ prefix
  EXPECT_EQ(run_cli(train_cmd(eval + "--load_best_model_at_end --metric_for_best_model eval_f1_macro")).exit_code, 0);
  fs::remove_all(tmp / "out");
  EXPECT_EQ(run_cli(train_cmd(eval + "--load_best_model_at_end --metric_for_best_model mcc")).exit_code, 0);
  fs::remove_all(tmp / "out");

  auto s = run_cli(train_cmd(eval + "--eval_strategy steps --eval_steps 0"));
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_TRUE(contains(s.err, "--eval_steps")) << s.err;
  EXPECT_TRUE(contains(s.err, "must be >= 1")) << s.err;
  write_text(tmp / "cfg.json", R"({"eval_steps": 0, "eval_strategy": "steps"})");
  auto c = run_cli(train_cmd(eval + "--config " + tmp / "cfg.json"));
  EXPECT_EQ(c.exit_code, 2);
  EXPECT_TRUE(contains(c.err, "--eval_steps must be >= 1")) << c.err;
  // the tiny model has 64 positions (tiny_setup.h)
  auto l = run_cli(train_cmd("--max_length 1000"));
  EXPECT_EQ(l.exit_code, 2);
  EXPECT_TRUE(contains(l.err, "--max_length 1000 is longer than the model allows")) << l.err;
  EXPECT_FALSE(fs::exists(tmp / "out"));
}

// Issue 3: the output directory's state is checked before the model loads: --model names nothing,
// yet the error is the directory's.
TEST_F(NewUser, TrainChecksTheOutputDirectoryBeforeTheModel) {
  fs::create_directories(tmp / "out");
  write_text(tmp / "out/notes.txt", "x");
  auto r = run_cli("train --model " + tmp / "no-such-model --train " + tmp / "train.tsv --output " + tmp / "out");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "output directory " + tmp / "out" + " exists and is not empty")) << r.err;
  EXPECT_TRUE(contains(r.err, "--overwrite_output_dir")) << r.err;
}

// Issue 4: SIGINT during training stops after the step in progress, names the step and the last
// checkpoint for --resume, exits 130 (SIGTERM: 143) and writes no final model.
TEST_F(NewUser, InterruptedTrainingStopsCleanlyAndNamesTheCheckpoint) {
  for (int sig : {SIGINT, SIGTERM}) {
    fs::remove_all(tmp / "out");
    const std::string out = tmp / "out", rc = tmp / "rc", pid = tmp / "pid", err = tmp / "err";
    fs::remove(rc);
    // many steps, a checkpoint every 2; the shell records the exit status of textune itself
    const std::string cmd = "sh -c \"'" + textune::testing::cli_path() + "' " +
                            train_cmd("--save_strategy steps --save_steps 2 --logging_steps 1", 1000000) + " >'" +
                            tmp / "stdout" + "' 2>'" + err + "' & echo \\$! >'" + pid + "'; wait \\$!; echo \\$? >'" +
                            rc + "'\" &";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    // wait until checkpoint-2 exists (training is under way), up to 60 s
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(out + "/checkpoint-2") && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_TRUE(fs::exists(out + "/checkpoint-2")) << read_text(err);
    ASSERT_EQ(kill(std::stoi(read_text(pid)), sig), 0);
    while (!fs::exists(rc) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the shell finishes writing rc
    ASSERT_TRUE(fs::exists(rc));
    const std::string e = read_text(err);
    EXPECT_EQ(std::stoi(read_text(rc)), 128 + sig) << e;
    EXPECT_TRUE(
        contains(e, sig == SIGINT ? "training interrupted (SIGINT) at step " : "training interrupted (SIGTERM)"))
        << e;
    // one line, the last, says it all
    const size_t at = e.rfind("training interrupted");
    ASSERT_NE(at, std::string::npos) << e;
    const std::string line = e.substr(at);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << e;
    EXPECT_TRUE(contains(line, "--resume")) << e;
    EXPECT_TRUE(contains(line, out + "/checkpoint-")) << e;
    EXPECT_FALSE(fs::exists(out + "/model.safetensors"));  // no final model
    EXPECT_FALSE(fs::exists(out + "/config.json"));
    // and --resume continues from it (to a nearby step, to finish fast)
  }
  const auto last = fs::path(tmp / "out/checkpoint-2");
  ASSERT_TRUE(fs::exists(last));
  auto r = run_cli(train_cmd("--save_strategy steps --save_steps 2 --resume " + last.string(), 3));
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

// Issue 5: batch sizes of 0, devices this build cannot use, missing and directory input files.
TEST_F(NewUser, EvalAndPredictCheckBatchSizeDeviceAndFiles) {
  train_once();
  const std::string m = " --model " + tmp / "out";
  for (const std::string& cmd : {"eval" + m + " --data " + tmp / "train.tsv", "predict" + m + " hello"}) {
    auto b = run_cli(cmd + " --per_device_eval_batch_size 0");
    EXPECT_EQ(b.exit_code, 2) << cmd;
    EXPECT_TRUE(contains(b.err, "--per_device_eval_batch_size: must be >= 1")) << b.err;
    EXPECT_TRUE(contains(b.err, "--help")) << b.err;  // the second line of a usage error
    auto d = run_cli(cmd + " --device tpu");
    EXPECT_EQ(d.exit_code, 2) << cmd;
    EXPECT_TRUE(contains(d.err, "--device tpu: not usable here (usable devices: cpu")) << d.err;
    auto h = run_cli(cmd + " --help");
    EXPECT_TRUE(contains(h.out, "--device")) << h.out;
    EXPECT_TRUE(contains(h.out, "usable here: cpu")) << h.out;
  }
  auto t = run_cli(train_cmd("--device tpu"));
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_TRUE(contains(t.err, "usable devices: cpu")) << t.err;
  // a missing or directory input file is a data error (1) naming it, in data, eval and train alike
  fs::create_directories(tmp / "adir");
  for (const std::string& cmd : {std::string("data --input "), "eval" + m + " --data ", "predict" + m + " --input ",
                                 "train --model " + model + " --output " + tmp / "o2 --train "}) {
    auto missing = run_cli(cmd + tmp / "nonexist.csv");
    EXPECT_EQ(missing.exit_code, 1) << cmd << missing.err;
    EXPECT_TRUE(contains(missing.err, tmp / "nonexist.csv")) << missing.err;
    EXPECT_TRUE(contains(missing.err, "no such file")) << missing.err;
    auto dir = run_cli(cmd + tmp / "adir");
    EXPECT_EQ(dir.exit_code, 1) << cmd << dir.err;
    EXPECT_TRUE(contains(dir.err, "is a directory")) << dir.err;
  }
}

// Issue 6: single-label data with one label cannot train a classifier.
TEST_F(NewUser, SingleClassTrainingDataIsRefused) {
  write_text(tmp / "one.tsv", "text\tlabel\ngood\t1\nbad\t1\nfine\t1\n");
  auto r = run_cli("train --model " + model + " --train " + tmp / "one.tsv --output " + tmp / "out --max_steps 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "the training data has only one label (\"1\"): classification needs at least 2"))
      << r.err;
  EXPECT_FALSE(fs::exists(tmp / "out/model.safetensors"));
}

// Issue 7: predict refuses empty and whitespace-only texts, naming the position, before loading.
TEST_F(NewUser, PredictRefusesEmptyTexts) {
  train_once();
  auto e = run_cli("predict --model " + tmp / "out" + " ''");
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_TRUE(contains(e.err, "text 1 of 1 is empty")) << e.err;
  auto w = run_cli("predict --model " + tmp / "out" + " 'good' '   '");
  EXPECT_EQ(w.exit_code, 1);
  EXPECT_TRUE(contains(w.err, "text 2 of 2 is empty (only whitespace)")) << w.err;
  EXPECT_TRUE(w.out.empty()) << w.out;
}

// Issue 8: messages.
TEST_F(NewUser, MessagesForNegativeNumbersUnknownCommandsScalarJsonAndBadConfigs) {
  auto l = run_cli("tokenize --tokenizer " + model + " hi --max-length 5");  // sanity: tokenize untouched
  EXPECT_EQ(l.exit_code, 0) << l.err;
  auto neg = run_cli(train_cmd("--max_length -5"));
  EXPECT_EQ(neg.exit_code, 2);
  EXPECT_TRUE(contains(neg.err, "--max_length: must be >= 1, not -5")) << neg.err;
  auto seed = run_cli(train_cmd("--seed -1"));
  EXPECT_EQ(seed.exit_code, 2);
  EXPECT_TRUE(contains(seed.err, "--seed: must be >= 0, not -1")) << seed.err;
  auto layers = run_cli("init --vocab " + model + "/vocab.txt --output " + tmp / "i --layers 0");
  EXPECT_EQ(layers.exit_code, 2);
  EXPECT_TRUE(contains(layers.err, "--layers: must be >= 1, not 0")) << layers.err;
  EXPECT_LT(layers.err.size(), 200u) << layers.err;
  auto unknown = run_cli("frobnicate");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.err, "unknown command \"frobnicate\" (commands: init, train, eval, predict"))
      << unknown.err;
  write_text(tmp / "num.json", "42\n");
  auto num = run_cli("data --input " + tmp / "num.json");
  EXPECT_EQ(num.exit_code, 1);
  EXPECT_TRUE(contains(num.err, "neither a JSON array of records nor JSON Lines")) << num.err;
  // a model directory whose config.json is broken: the message names the directory
  fs::create_directories(tmp / "bad");
  for (const auto& f : fs::directory_iterator(model)) fs::copy(f.path(), tmp / "bad" / f.path().filename());
  write_text(tmp / "bad/config.json", "{\"model_type\": 5}");
  auto bad = run_cli("predict --model " + tmp / "bad" + " hello");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, tmp / "bad")) << bad.err;
  // grammar: one example, one epoch
  write_text(tmp / "two.tsv", "text\tlabel\ngood\tpos\nbad\tneg\n");
  auto d = run_cli("data --input " + tmp / "two.tsv" + " --limit 1");
  EXPECT_TRUE(contains(d.err, "2 examples from")) << d.err;
  write_text(tmp / "one_row.tsv", "text\tlabel\ngood\tpos\n");
  auto one = run_cli("data --input " + tmp / "one_row.tsv");
  EXPECT_TRUE(contains(one.err, "1 example from")) << one.err;
  EXPECT_TRUE(contains(one.err, "1 row read, 0 invalid rows skipped")) << one.err;
  auto t = run_cli(train_cmd("--num_train_epochs 1", -1));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  EXPECT_TRUE(contains(t.err, "Training: 8 examples, 1 epoch, 2 steps")) << t.err;
}

}  // namespace
