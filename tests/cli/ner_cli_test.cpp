// `textune train/eval/predict/data --task ner` end to end on a tiny BERT that memorises a tiny tagged
// set: properties that hold by definition (a memorised set scores entity F1 1; entity offsets index
// the text; every word of a sentence longer than max_length gets a tag), and the exit codes of bad
// input (usage 2, data 1, naming the file and line).
#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include "../train/tiny_setup.h"
#include "support/test_support.h"
#include "textune/core/checkpoint.h"
#include "textune/core/json.h"

using namespace textune;
using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// 16 sentences of the tiny vocabulary: "movie"/"film" are ORG, "plot boring" a LOC, the rest O.
// Each tag follows from the word alone, so a few steps memorise it.
std::string memorable_conll(unsigned seed = 3, int n = 16) {
  std::mt19937 r(seed);
  const std::vector<std::string> fill = {"the", "a",    "is",   "was",   "good",  "bad",
                                         "not", "very", "fine", "great", "awful", "fun"};
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (i) out += "\n";
    const int words = 2 + static_cast<int>(r() % 4);
    for (int k = 0; k < words; ++k) {
      const unsigned c = r() % 20;
      if (c < 5)
        out += "movie\tB-ORG\n";
      else if (c < 8)
        out += "plot\tB-LOC\nboring\tI-LOC\n";
      else if (c < 10)
        out += "film\tB-ORG\n";
      else
        out += fill[r() % fill.size()] + "\tO\n";
    }
  }
  return out;
}

class NerCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const std::string model = *dir_ / "tiny";
    textune::testing::write_tiny_bert(model, 0.0);
    write_text(*dir_ / "train.conll", memorable_conll());
    train_result_ = new textune::testing::CommandResult(
        run_cli("train --task ner --model " + model + " --train_file " + *dir_ / "train.conll" + " --validation_file " +
                *dir_ / "train.conll" + " --output " + *dir_ / "out" +
                " --max_steps 150 --per_device_train_batch_size 8 --learning_rate 5e-3 --disable_tqdm"));
  }
  static void TearDownTestSuite() {
    delete train_result_;
    delete dir_;
  }
  static std::string path(const std::string& name) { return *dir_ / name; }
  static TempDir* dir_;
  static textune::testing::CommandResult* train_result_;
};

TempDir* NerCli::dir_ = nullptr;
textune::testing::CommandResult* NerCli::train_result_ = nullptr;

}  // namespace

TEST_F(NerCli, TrainMemorisesATinySetToEntityF1One) {
  const auto& r = *train_result_;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto summary = core::Json::parse(r.out);
  EXPECT_EQ(summary["global_step"], 150);
  EXPECT_DOUBLE_EQ(summary["eval"]["eval_f1"].get<double>(), 1.0) << r.out;
  EXPECT_DOUBLE_EQ(summary["eval"]["eval_accuracy"].get<double>(), 1.0);
  for (const char* f : {"config.json", "model.safetensors", "textune_task.json", "entity_f1.png",
                        "entity_confusion_matrix.png", "eval_results.json", "training_curves.png"})
    EXPECT_TRUE(fs::exists(path("out/") + f)) << f;
  const auto task = core::read_json_file(path("out/textune_task.json"));
  EXPECT_EQ(task["task"], "token-classification");
  EXPECT_EQ(task["options"]["train_tag_scheme"], "IOB2");
  // the label list of the training file, first seen with "O" first
  const auto cfg = core::read_json_file(path("out/config.json"));
  EXPECT_EQ(cfg["architectures"][0], "BertForTokenClassification");
  std::vector<std::string> labels;
  for (int i = 0; i < static_cast<int>(cfg["id2label"].size()); ++i)
    labels.push_back(cfg["id2label"][std::to_string(i)].get<std::string>());
  EXPECT_EQ(labels.front(), "O");
  EXPECT_EQ(labels.size(), 4u);                   // O B-ORG B-LOC I-LOC in some first-seen order
  EXPECT_TRUE(contains(r.err, "IOB2")) << r.err;  // the scheme detected is said
}

TEST_F(NerCli, EvalPrintsSeqevalAndWritesBothPlots) {
  ASSERT_EQ(train_result_->exit_code, 0);
  const auto r =
      run_cli("eval --model " + path("out") + " --data " + path("train.conll") + " --output " + path("ev.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = core::Json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["overall_f1"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["ORG"]["f1"].get<double>(), 1.0);
  EXPECT_TRUE(j.contains("macro_avg") && j.contains("weighted_avg"));
  EXPECT_TRUE(contains(r.err, "precision")) << r.err;  // seqeval's text report
  EXPECT_TRUE(fs::exists(path("ev_entity_f1.png")));
  EXPECT_TRUE(fs::exists(path("ev_entity_confusion_matrix.png")));
}

TEST_F(NerCli, PredictEntitiesIndexTheText) {
  ASSERT_EQ(train_result_->exit_code, 0);
  const std::string text = "the movie was fun the plot boring";
  const auto r = run_cli("predict --model " + path("out") + " '" + text + "'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = core::Json::parse(r.out);
  EXPECT_EQ(j["text"], text);
  ASSERT_EQ(j["entities"].size(), 2u) << r.out;
  for (const auto& e : j["entities"]) {
    const size_t start = e["start"].get<size_t>(), end = e["end"].get<size_t>();
    ASSERT_LE(end, text.size());
    EXPECT_EQ(text.substr(start, end - start), e["word"].get<std::string>());  // ASCII: code points = bytes
    EXPECT_GT(e["score"].get<double>(), 0.5);
  }
  EXPECT_EQ(j["entities"][0]["entity_group"], "ORG");
  EXPECT_EQ(j["entities"][0]["word"], "movie");
  EXPECT_EQ(j["entities"][1]["entity_group"], "LOC");
  EXPECT_EQ(j["entities"][1]["word"], "plot boring");
  // raw texts from a JSONL file ({"text": ...}) as text classification reads them: the same entities
  write_text(path("raw.jsonl"), "{\"text\": \"" + text + "\"}\n");
  const auto f = run_cli("predict --model " + path("out") + " --input " + path("raw.jsonl"));
  ASSERT_EQ(f.exit_code, 0) << f.err;
  EXPECT_EQ(core::Json::parse(f.out)["entities"], j["entities"]);
  // a text longer than max_length: windows, their entities merged (sorted, none overlapping, none twice)
  std::string lng = text;
  for (int i = 0; i < 5; ++i) lng += " " + text;
  const auto w = run_cli("predict --model " + path("out") + " --max_length 10 '" + lng + "'");
  ASSERT_EQ(w.exit_code, 0) << w.err;
  const auto entities = core::Json::parse(w.out)["entities"];
  EXPECT_EQ(entities.size(), 12u) << w.out;
  size_t previous_end = 0;
  for (const auto& e : entities) {
    const size_t start = e["start"].get<size_t>(), end = e["end"].get<size_t>();
    EXPECT_GE(start, previous_end) << w.out;
    ASSERT_LE(end, lng.size());
    EXPECT_EQ(lng.substr(start, end - start), e["word"].get<std::string>());
    previous_end = end;
  }
}

TEST_F(NerCli, EveryWordOfALongSentenceGetsATag) {
  ASSERT_EQ(train_result_->exit_code, 0);
  std::string lng;
  for (int i = 0; i < 50; ++i) lng += std::string(i % 5 == 0 ? "movie\tB-ORG\n" : "good\tO\n");
  write_text(path("long.conll"), lng);
  // 50 words in windows of 12 tokens
  const auto r = run_cli("predict --model " + path("out") + " --max_length 12 --input " + path("long.conll"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = core::Json::parse(r.out);
  ASSERT_EQ(j["tags"].size(), 50u);
  for (size_t i = 0; i < 50; ++i) EXPECT_EQ(j["tags"][i], i % 5 == 0 ? "B-ORG" : "O") << i;
  EXPECT_EQ(j["entities"].size(), 10u);
  // --output X.conll: word TAB predicted tag, as `textune score` and conlleval read them
  const auto c = run_cli("predict --model " + path("out") + " --max_length 12 --input " + path("long.conll") +
                         " --output " + path("long.pred.conll"));
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(read_text(path("long.pred.conll")), lng);
  // evaluation windows too: the memorised tags everywhere
  const auto e = run_cli("eval --model " + path("out") + " --max_length 12 --data " + path("long.conll"));
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_DOUBLE_EQ(core::Json::parse(e.out)["overall_f1"].get<double>(), 1.0);
}

TEST_F(NerCli, DataPreviewShowsWordsTagsAndTheScheme) {
  const auto r = run_cli("data --task ner --input " + path("train.conll") + " --limit 1");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = core::Json::parse(r.out);
  EXPECT_TRUE(j.contains("tokens") && j.contains("tags")) << r.out;
  EXPECT_TRUE(contains(r.err, "16 sentences")) << r.err;
  EXPECT_TRUE(contains(r.err, "IOB2")) << r.err;
}

TEST_F(NerCli, BadInputExitCodes) {
  ASSERT_EQ(train_result_->exit_code, 0);
  // an evaluation tag the model never saw: data error naming the file, the line and the tag
  write_text(path("unseen.conll"), "movie\tB-ORG\n\nthe\tO\nfilm\tB-PER\n");
  auto r = run_cli("eval --model " + path("out") + " --data " + path("unseen.conll"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, path("unseen.conll")) && contains(r.err, "line 4") && contains(r.err, "B-PER")) << r.err;
  // a line with another number of columns
  write_text(path("cols.conll"), "movie\tX\tB-ORG\nthe\tO\n");
  r = run_cli("eval --model " + path("out") + " --data " + path("cols.conll"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, path("cols.conll")) && contains(r.err, "line 2")) << r.err;
  // an unknown task, an aggregation strategy that does not exist: usage errors
  r = run_cli("train --task nerd --model " + path("tiny") + " --train_file " + path("train.conll") + " --output " +
              path("x"));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = run_cli("predict --model " + path("out") + " --aggregation_strategy mean 'the movie'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // a stride that leaves no room in a window
  r = run_cli("predict --model " + path("out") + " --max_length 8 --stride 6 'the movie'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--stride 6")) << r.err;
  // pre-split tokens in a JSONL file: tags per word
  write_text(path("words.jsonl"), "{\"tokens\": [\"the\", \"film\"]}\n");
  r = run_cli("predict --model " + path("out") + " --input " + path("words.jsonl"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(core::Json::parse(r.out)["tags"], (std::vector<std::string>{"O", "B-ORG"}));
}

// An interrupted NER run continues from its checkpoint bit for bit (windows and label_all_tokens on,
// so the resumed run re-featurizes the same windows and labels).
TEST_F(NerCli, ResumeContinuesExactly) {
  ASSERT_EQ(train_result_->exit_code, 0);
  const std::string out = path("resume");
  const std::string cmd = "train --task ner --model " + path("tiny") + " --train_file " + path("train.conll") +
                          " --output " + out +
                          " --max_steps 6 --save_strategy steps --save_steps 3 --per_device_train_batch_size 4"
                          " --learning_rate 1e-3 --max_length 6 --stride 1 --label_all_tokens --disable_tqdm";
  auto weights = [&] {
    auto w = core::CheckpointWeights::open(out);
    std::map<std::string, torch::Tensor> m;
    for (const auto& n : w.names()) m[n] = w.get(n).clone();
    return m;
  };
  auto full = run_cli(cmd);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  const auto w6 = weights();
  auto resumed = run_cli(cmd + " --resume " + out + "/checkpoint-3");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(core::Json::parse(resumed.out)["global_step"], 6);
  const auto w = weights();
  ASSERT_EQ(w.size(), w6.size());
  for (const auto& [name, t] : w6) EXPECT_TRUE(torch::equal(t, w.at(name))) << name;
  const auto task = core::read_json_file(out + "/textune_task.json");
  EXPECT_EQ(task["options"]["stride"], 1);
  EXPECT_EQ(task["options"]["label_all_tokens"], true);
}
