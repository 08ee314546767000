// Crash safety of `textune train`'s output folder (issue 11, "Lost runs and wrong files"): a run is
// killed (SIGKILL, through the TEXTUNE_KILL_AT hook of core::kill_point) at every named phase of its
// checkpoint and final saves; the folder must then hold the run as it was before the save (the
// checkpoints and log of the run in progress, or the complete previous run) or the complete new run,
// and a following `train --resume` (or a new `train`) must end with the same model as a run that was
// never interrupted, leaving no hidden staging folder behind. Also: a symlinked --output is written
// through, a diverging run stops with exit 1 and no model, and --resume does not call the trained
// head "newly initialized".
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "../train/tiny_setup.h"
#include "support/test_support.h"
#include "textune/core/checkpoint.h"
#include "textune/core/json.h"
#include "textune/train/trainer.h"

using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;
namespace fs = std::filesystem;

namespace {

// Runs `textune ARGS` with TEXTUNE_KILL_AT=phase (none when empty).
textune::testing::CommandResult run_killed(const std::string& args, const std::string& phase) {
  if (!phase.empty()) setenv("TEXTUNE_KILL_AT", phase.c_str(), 1);
  auto r = run_cli(args);
  unsetenv("TEXTUNE_KILL_AT");
  return r;
}

bool was_killed(const textune::testing::CommandResult& r) {
  return r.exit_code == -1 || r.exit_code == 128 + 9;  // SIGKILL, seen directly or through sh
}

// Every file under `dir` (relative path -> bytes).
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_text(e.path().string());
  return out;
}

// The same files with the same bytes (differences named, not printed).
::testing::AssertionResult same_files(const std::map<std::string, std::string>& got,
                                      const std::map<std::string, std::string>& want) {
  std::string diff;
  for (const auto& [k, v] : want)
    if (!got.count(k))
      diff += " missing " + k + ";";
    else if (got.at(k) != v)
      diff += " changed " + k + ";";
  for (const auto& [k, v] : got)
    if (!want.count(k)) diff += " extra " + k + ";";
  if (diff.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << diff;
}

// Hidden entries beside `dir` (staging leftovers) and inside it.
std::vector<std::string> hidden(const std::string& dir) {
  std::vector<std::string> out;
  const std::string name = fs::path(dir).filename().string();
  for (const auto& e : fs::directory_iterator(fs::path(dir).parent_path())) {
    const std::string n = e.path().filename().string();
    if (n.rfind("." + name + ".", 0) == 0) out.push_back(n);
  }
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string()[0] == '.') out.push_back(name + "/" + e.path().filename().string());
  return out;
}

bool complete_checkpoint(const std::string& dir) {
  for (const char* f : {"config.json", "model.safetensors", "optimizer.safetensors", "scheduler.json",
                        "rng_state.safetensors", "data_order.json", "trainer_state.json", "training_args.json"})
    if (!fs::is_regular_file(dir + "/" + f)) return false;
  return true;
}

std::vector<int64_t> logged_steps(const std::string& dir) {
  std::vector<int64_t> steps;
  std::istringstream log(read_text(dir + "/training_log.jsonl"));
  for (std::string line; std::getline(log, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) steps.push_back(j["step"]);
  }
  return steps;
}

// A complete run of 2 steps with a checkpoint at each, whose model is `model_bytes`.
::testing::AssertionResult is_complete_run(const std::string& dir, const std::string& model_bytes) {
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "trainer_state.json",
                        "training_args.json", "training_log.jsonl", "training_curves.png"})
    if (!fs::is_regular_file(dir + "/" + f)) return ::testing::AssertionFailure() << "no " << f << " in " << dir;
  if (read_text(dir + "/model.safetensors") != model_bytes)
    return ::testing::AssertionFailure() << dir << "/model.safetensors is not the expected model";
  for (const char* c : {"checkpoint-1", "checkpoint-2"})
    if (!complete_checkpoint(dir + "/" + c)) return ::testing::AssertionFailure() << dir << ": incomplete " << c;
  if (logged_steps(dir) != std::vector<int64_t>{1, 2}) return ::testing::AssertionFailure() << "log steps differ";
  if (textune::core::read_json_file(dir + "/trainer_state.json")["global_step"] != 2)
    return ::testing::AssertionFailure() << "global_step differs";
  return ::testing::AssertionSuccess();
}

// The run in progress before its final save: no final model, complete checkpoints only.
::testing::AssertionResult is_run_in_progress(const std::string& dir, size_t checkpoints) {
  if (fs::exists(dir + "/model.safetensors")) return ::testing::AssertionFailure() << "a final model is there";
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("checkpoint-", 0) != 0) continue;
    if (!complete_checkpoint(e.path().string())) return ::testing::AssertionFailure() << "incomplete " << name;
    ++n;
  }
  if (n != checkpoints) return ::testing::AssertionFailure() << n << " checkpoints, expected " << checkpoints;
  return ::testing::AssertionSuccess();
}

class KillAtEverySavePhase : public ::testing::Test {
 protected:
  void SetUp() override {
    model = tmp / "model";
    textune::testing::write_tiny_bert(model);
    write_text(tmp / "train.tsv", textune::testing::tiny_tsv(8));
  }
  // 2 steps, a checkpoint after each, no evaluation (the plot of the curves is the FinalRecords).
  std::string train_cmd(const std::string& out, int seed, const std::string& extra = "") {
    return "train --model " + model + " --train " + tmp / "train.tsv" + " --output " + out +
           " --max_steps 2 --save_steps 1 --per_device_train_batch_size 4 --learning_rate 1e-3 --disable_tqdm --seed " +
           std::to_string(seed) + " " + extra;
  }
  // The model an uninterrupted run with `seed` ends with.
  std::string reference_model(int seed) {
    const std::string out = tmp / ("ref" + std::to_string(seed));
    auto r = run_cli(train_cmd(out, seed));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return read_text(out + "/model.safetensors");
  }
  TempDir tmp;
  std::string model;
};

// A fresh output folder. Before the swap the folder is the run in progress (its checkpoints and
// log, untouched: nothing is moved out of it), after it the complete run; `--resume` then ends with
// the model of an uninterrupted run, cleaning (and reporting) the staging leftovers: an incomplete
// `.checkpoint-2.incomplete-*` included, which is never carried into the final folder. The resumed
// run takes its classifier from the checkpoint and does not call it "newly initialized".
TEST_F(KillAtEverySavePhase, FreshOutputHoldsTheRunInProgressOrTheCompleteRun) {
  const std::string ref = reference_model(1);
  struct Case {
    const char* phase;
    int checkpoints;  // before the final save; -1: the complete run
    bool leftover;    // a hidden staging folder is left to clean
  };
  const std::vector<Case> cases = {
      {"checkpoint:written#1", 0, true}, {"checkpoint:written#2", 1, true}, {"checkpoint:committed#2", 2, false},
      {"final:model", 2, true},          {"final:linked", 2, true},         {"final:records", 2, true},
      {"final:exchanged", -1, true},     {"final:done", -1, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.phase);
    const std::string out = tmp / "out";
    fs::remove_all(out);
    auto k = run_killed(train_cmd(out, 1), c.phase);
    ASSERT_TRUE(was_killed(k)) << k.exit_code << " " << k.err;
    if (c.checkpoints < 0)
      EXPECT_TRUE(is_complete_run(out, ref));
    else
      EXPECT_TRUE(is_run_in_progress(out, static_cast<size_t>(c.checkpoints)));
    EXPECT_EQ(!hidden(out).empty(), c.leftover) << ::testing::PrintToString(hidden(out));
    if (std::string(c.phase) == "checkpoint:written#2") {
      // the checkpoint being written is a hidden staging folder inside the output folder
      ASSERT_EQ(hidden(out).size(), 1u);
      EXPECT_EQ(hidden(out)[0].rfind("out/.checkpoint-2.incomplete-", 0), 0u) << hidden(out)[0];
    }
    // a run with no checkpoint yet starts again; otherwise --resume continues it
    auto next = run_cli(train_cmd(out, 1, c.checkpoints == 0 ? "--overwrite_output_dir" : "--resume"));
    ASSERT_EQ(next.exit_code, 0) << next.err;
    EXPECT_TRUE(is_complete_run(out, ref));
    EXPECT_TRUE(hidden(out).empty()) << ::testing::PrintToString(hidden(out));
    if (c.leftover) EXPECT_NE(next.err.find("interrupted"), std::string::npos) << next.err;
    if (std::string(c.phase) == "checkpoint:written#2")  // removed and said so, never carried into the final folder
      EXPECT_NE(next.err.find("removed " + out + "/.checkpoint-2.incomplete-"), std::string::npos) << next.err;
    for (const auto& e : fs::recursive_directory_iterator(out))
      EXPECT_EQ(e.path().filename().string().find(".incomplete-"), std::string::npos) << e.path();
    // the resumed run loads its trained head from the checkpoint: not "newly initialized" (the
    // first run, from the base model without a classifier, says so)
    if (c.checkpoints != 0) {
      EXPECT_EQ(next.err.find("newly initialized"), std::string::npos) << next.err;
      EXPECT_NE(k.err.find("newly initialized"), std::string::npos) << k.err;
    }
  }
}

// --overwrite_output_dir on a complete run A: until the swap the folder is A, file for file and
// byte for byte (the new run's checkpoints wait in a hidden run folder), after it the complete new
// run B; `--resume` continues B from its hidden folder and ends with B's uninterrupted model.
TEST_F(KillAtEverySavePhase, OverwrittenFolderHoldsTheOldRunOrTheNewOne) {
  const std::string ref_b = reference_model(2);
  const std::string out = tmp / "out";
  auto a = run_cli(train_cmd(out, 1));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const auto run_a = snapshot(out);
  fs::copy(out, tmp / "a_copy", fs::copy_options::recursive);
  const std::string ckpt_a = read_text(out + "/checkpoint-2/model.safetensors");
  struct Case {
    const char* phase;
    bool swapped;
  };
  const std::vector<Case> cases = {{"checkpoint:written#2", false},
                                   {"final:model", false},
                                   {"final:records", false},
                                   {"final:exchanged", true},
                                   {"final:done", true}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.phase);
    fs::remove_all(out);  // back to run A
    fs::copy(tmp / "a_copy", out, fs::copy_options::recursive);
    auto k = run_killed(train_cmd(out, 2, "--overwrite_output_dir"), c.phase);
    ASSERT_TRUE(was_killed(k)) << k.exit_code << " " << k.err;
    if (c.swapped)
      EXPECT_TRUE(is_complete_run(out, ref_b));
    else
      EXPECT_TRUE(same_files(snapshot(out), run_a));  // the old run, whole and unchanged
    auto next = run_cli(train_cmd(out, 2, "--resume"));
    ASSERT_EQ(next.exit_code, 0) << next.err;
    EXPECT_TRUE(is_complete_run(out, ref_b));
    EXPECT_NE(read_text(out + "/checkpoint-2/model.safetensors"), ckpt_a);  // B's checkpoints, not A's
    EXPECT_TRUE(hidden(out).empty()) << ::testing::PrintToString(hidden(out));
  }
}

// The same tiny setup for the other output-folder checks of issue 11.
using TrainOutputSafety = KillAtEverySavePhase;

// --output is a symbolic link to a folder elsewhere: the run is written into the link's target, the
// link stays a link, and with --overwrite_output_dir the target's previous run is replaced in place
// (its files are not moved anywhere else).
TEST_F(TrainOutputSafety, SymlinkedOutputIsWrittenThrough) {
  fs::create_directories(tmp / "real");
  fs::create_directory_symlink(tmp / "real/target", tmp / "link");  // dangling until the run
  auto r = run_cli(train_cmd(tmp / "link", 1));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(tmp / "link"));
  EXPECT_TRUE(fs::is_regular_file(tmp / "real/target/model.safetensors"));
  const std::string first = read_text(tmp / "real/target/model.safetensors");
  auto o = run_cli(train_cmd(tmp / "link", 2, "--overwrite_output_dir"));
  ASSERT_EQ(o.exit_code, 0) << o.err;
  EXPECT_TRUE(fs::is_symlink(tmp / "link"));
  EXPECT_NE(read_text(tmp / "real/target/model.safetensors"), first);
  EXPECT_TRUE(fs::is_directory(tmp / "real/target/checkpoint-2"));
  std::set<std::string> in_tmp, in_real;
  for (const auto& e : fs::directory_iterator(tmp.path())) in_tmp.insert(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(tmp / "real")) in_real.insert(e.path().filename().string());
  EXPECT_EQ(in_real, (std::set<std::string>{"target"}));
  EXPECT_EQ(in_tmp.count("target"), 0u);
  auto resumed = run_cli(train_cmd(tmp / "link", 2, "--resume"));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_TRUE(fs::is_symlink(tmp / "link"));
}

// A learning rate of 1e8 drives the weights to NaN/inf within a few steps: the run stops with exit 1
// at the first non-finite loss, gradient norm or weight, names the step, keeps the checkpoints saved
// before (all finite), and writes no final model.
TEST_F(TrainOutputSafety, NonFiniteLossStopsWithoutAModel) {
  const std::string out = tmp / "out";
  auto r = run_cli("train --model " + model + " --train " + tmp / "train.tsv" + " --output " + out +
                   " --max_steps 30 --save_steps 1 --per_device_train_batch_size 4 --learning_rate 1e8 --disable_tqdm");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("training diverged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("step "), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out + "/model.safetensors"));
  const auto last = textune::train::last_checkpoint(out);
  if (last) {
    EXPECT_NE(r.err.find("the last good checkpoint is " + *last), std::string::npos) << r.err;
    auto w = textune::core::CheckpointWeights::open(*last);
    for (const auto& n : w.names()) EXPECT_TRUE(torch::isfinite(w.get(n)).all().item<bool>()) << n;
  }
  // the guard off: transformers' behaviour (the steps are taken), but a non-finite model is still not saved
  auto off = run_cli("train --model " + model + " --train " + tmp / "train.tsv" + " --output " + tmp / "off" +
                     " --max_steps 30 --save_strategy no --per_device_train_batch_size 4 --learning_rate 1e8 "
                     "--disable_tqdm --halt_on_nonfinite false");
  EXPECT_EQ(off.exit_code, 1) << off.err;
  EXPECT_NE(off.err.find("weights are not finite"), std::string::npos) << off.err;
  EXPECT_FALSE(fs::exists(tmp / "off/model.safetensors"));
}

}  // namespace
