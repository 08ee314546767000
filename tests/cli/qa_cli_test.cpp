// `textune train/eval/data --task qa` end to end on a tiny BERT and 5 questions of XQuAD-en: the files
// run_qa.py writes (eval_predictions.json, eval_nbest_predictions.json; OUTPUT_predictions.json beside
// `eval --output`), textune_task.json naming the task, the preview, and the exit codes of bad input
// (a model with another head, a classification table given to --task qa: 1, naming what is wrong).
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "support/test_support.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

using namespace textune;
using core::Json;
using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// The first 5 questions of XQuAD-en's third paragraph, as a SQuAD v1.1 file.
Json xquad_subset() {
  const Json all = core::read_json_file(textune::testing::data_dir() + "/qa/xquad/xquad.en.json");
  Json paragraph = all["data"][0]["paragraphs"][2];
  Json qas = Json::array();
  for (size_t k = 0; k < 5; ++k) qas.push_back(paragraph["qas"][k]);
  paragraph["qas"] = qas;
  return Json{{"version", "1.1"},
              {"data", Json::array({Json{{"title", all["data"][0]["title"]}, {"paragraphs", {paragraph}}}})}};
}

/// A randomly initialised BERT (hidden 32, 2 layers, 512 positions, no dropout) whose cased WordPiece
/// vocabulary holds the words of `text` (split on whitespace and ASCII punctuation).
void write_tiny_bert(const std::string& dir, const std::string& text) {
  std::vector<std::string> words;
  std::string word;
  auto add = [&](const std::string& w) {
    if (!w.empty() && std::find(words.begin(), words.end(), w) == words.end()) words.push_back(w);
  };
  for (char c : text + " ") {
    if (std::isspace(static_cast<unsigned char>(c)) || std::ispunct(static_cast<unsigned char>(c))) {
      add(word);
      word.clear();
      if (std::ispunct(static_cast<unsigned char>(c))) add(std::string(1, c));
    } else {
      word += c;
    }
  }
  std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const auto& w : words) v += w + "\n";
  write_text(dir + ".vocab.txt", v);
  Json cfg = {{"architectures", {"BertModel"}},
              {"attention_probs_dropout_prob", 0.0},
              {"hidden_act", "gelu"},
              {"hidden_dropout_prob", 0.0},
              {"hidden_size", 32},
              {"initializer_range", 0.02},
              {"intermediate_size", 64},
              {"layer_norm_eps", 1e-12},
              {"max_position_embeddings", 512},
              {"model_type", "bert"},
              {"num_attention_heads", 4},
              {"num_hidden_layers", 2},
              {"pad_token_id", 0},
              {"type_vocab_size", 2},
              {"vocab_size", static_cast<int64_t>(5 + words.size())}};
  auto model = models::from_config(cfg, {});
  core::AtomicDirectory out(dir);
  models::save_pretrained_into(model, out.staging_path());
  tokenizers::write_bert_tokenizer(dir + ".vocab.txt", out.staging_path(), false, 512);
  out.commit();
}

class QaCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    subset_ = new Json(xquad_subset());
    core::write_json_file(path("dev.json"), *subset_);
    write_tiny_bert(path("tiny"), read_text(path("dev.json")));
    train_ = new textune::testing::CommandResult(run_cli(
        "train --task qa --model " + path("tiny") + " --train_file " + path("dev.json") + " --validation_file " +
        path("dev.json") + " --output " + path("out") +
        " --max_steps 30 --learning_rate 3e-3 --per_device_train_batch_size 8 --logging_steps 10 --disable_tqdm"));
  }
  static void TearDownTestSuite() {
    delete train_;
    delete subset_;
    delete dir_;
  }
  static std::string path(const std::string& name) { return *dir_ / name; }
  static std::vector<std::string> ids() {
    std::vector<std::string> out;
    for (const Json& q : (*subset_)["data"][0]["paragraphs"][0]["qas"]) out.push_back(q["id"].get<std::string>());
    return out;
  }

  static TempDir* dir_;
  static Json* subset_;
  static textune::testing::CommandResult* train_;
};

TempDir* QaCli::dir_ = nullptr;
Json* QaCli::subset_ = nullptr;
textune::testing::CommandResult* QaCli::train_ = nullptr;

/// A predictions.json of run_qa.py: every id of the file, a string each, 4-space indentation.
void expect_predictions_file(const std::string& file, const std::vector<std::string>& ids) {
  ASSERT_TRUE(fs::exists(file)) << file;
  const std::string text = read_text(file);
  EXPECT_TRUE(contains(text, "{\n    \"")) << text;  // json.dump(indent=4)
  const Json j = Json::parse(text);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j.size(), ids.size());
  for (const auto& id : ids) EXPECT_TRUE(j.contains(id) && j[id].is_string()) << id << " " << text;
}

}  // namespace

TEST_F(QaCli, TrainWritesRunQasEvalFilesAndTheTask) {
  ASSERT_EQ(train_->exit_code, 0) << train_->err;
  const Json summary = Json::parse(train_->out);
  EXPECT_TRUE(summary["eval"].contains("eval_exact_match")) << train_->out;
  EXPECT_TRUE(summary["eval"].contains("eval_f1"));
  expect_predictions_file(path("out/eval_predictions.json"), ids());
  const Json nbest = core::read_json_file(path("out/eval_nbest_predictions.json"));
  ASSERT_EQ(nbest.size(), 5u);
  EXPECT_FALSE(fs::exists(path("out/eval_null_odds.json")));  // v1.1 data: no null answers
  const Json task = core::read_json_file(path("out/textune_task.json"));
  EXPECT_EQ(task["task"], "question-answering");
  EXPECT_EQ(task["options"]["version_2_with_negative"], false);  // from the training data
  EXPECT_EQ(task["options"]["doc_stride"], 128);
  EXPECT_EQ(core::read_json_file(path("out/config.json"))["architectures"], Json::array({"BertForQuestionAnswering"}));
}

TEST_F(QaCli, EvalWritesPredictionsBesideOutputAndIntoOutputDir) {
  ASSERT_EQ(train_->exit_code, 0) << train_->err;
  fs::create_directories(path("ev"));
  const auto r = run_cli("eval --model " + path("out") + " --data " + path("dev.json") + " --output " +
                         path("ev/report.json") + " --output_dir " + path("ev"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json report = Json::parse(r.out);
  EXPECT_EQ(report["metric"], "squad");
  EXPECT_EQ(report["num_examples"], 5);
  EXPECT_TRUE(report["results"].contains("exact_match"));
  expect_predictions_file(path("ev/report_predictions.json"), ids());
  EXPECT_TRUE(fs::exists(path("ev/report_nbest_predictions.json")));
  expect_predictions_file(path("ev/predictions.json"), ids());
  EXPECT_EQ(read_text(path("ev/predictions.json")), read_text(path("ev/report_predictions.json")));
  // --output_dir must exist (usage error, before the model loads)
  const auto missing =
      run_cli("eval --model " + path("out") + " --data " + path("dev.json") + " --output_dir " + path("no/such/dir"));
  EXPECT_EQ(missing.exit_code, 2) << missing.err;
}

TEST_F(QaCli, DataPreviewsQuestions) {
  const auto r = run_cli("data --task qa --input " + path("dev.json"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out + r.err, "5 questions from")) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "\"question\"")) << r.out;
  EXPECT_TRUE(contains(r.out, "\"answer_start\"")) << r.out;
}

TEST_F(QaCli, AModelWithAnotherHeadIsRefused) {
  // a sequence classifier whose textune_task.json names question answering
  const std::string m = path("seqcls");
  fs::create_directories(m);
  const std::string fixture = textune::testing::model_fixture("bert-seqcls");
  fs::copy_file(fixture + "/config.json", m + "/config.json", fs::copy_options::overwrite_existing);
  fs::copy_file(fixture + "/model.safetensors", m + "/model.safetensors", fs::copy_options::overwrite_existing);
  tokenizers::copy_tokenizer_files(path("tiny"), m);
  core::write_json_file(m + "/textune_task.json", Json{{"task", "question-answering"}, {"options", Json::object()}});
  const auto r = run_cli("eval --model " + m + " --data " + path("dev.json"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // (tasks::task_for_model refuses it before bind_model: "needs a question-answering head")
  EXPECT_TRUE(contains(r.err, "question-answering")) << r.err;
  EXPECT_TRUE(contains(r.err, "sequence-classification")) << r.err;
}

TEST_F(QaCli, AClassificationTableGivenToQaNamesTheMissingField) {
  write_text(path("cls.tsv"), "sentence\tlabel\nthe movie was good\tpos\nthe plot was bad\tneg\n");
  const auto r = run_cli("train --task qa --model " + path("tiny") + " --train_file " + path("cls.tsv") + " --output " +
                         path("cls_out"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "question")) << r.err;
  EXPECT_TRUE(contains(r.err, "cls.tsv")) << r.err;
  EXPECT_FALSE(fs::exists(path("cls_out/config.json")));
}
