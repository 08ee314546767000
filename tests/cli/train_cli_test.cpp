// `textune init/train/eval/predict` end to end on a tiny BERT, including the bad inputs of issue 5.
#include <filesystem>

#include "../train/tiny_setup.h"
#include "data/xlsx_helpers.h"
#include "support/test_support.h"
#include "textune/core/checkpoint.h"
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
  std::string train_cmd(const std::string& train, const std::string& extra = "", int max_steps = 2) {
    return "train --model " + model + " --train " + train + " --output " + tmp / "out" + " --max_steps " +
           std::to_string(max_steps) + " --per_device_train_batch_size 4 --disable_tqdm " + extra;
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

// An interrupted run continues from its checkpoint: 6 steps (dropout on, a checkpoint every 3)
// evaluated on dev.tsv, then `--resume checkpoint-3` into the same directory ends with the same
// weights bit for bit. The directory then holds only this run's records: resumed without --eval,
// no evaluation report or confusion matrix of the earlier run is left; resumed with another
// evaluation file, eval_results.json is that file's report on the final model, as `textune eval`
// computes it.
TEST_F(TrainCli, ResumeContinuesExactlyAndLeavesNoStaleRecords) {
  const std::string out = tmp / "out";
  auto weights = [&] {
    auto w = core::CheckpointWeights::open(out);
    std::map<std::string, torch::Tensor> m;
    for (const auto& n : w.names()) m[n] = w.get(n).clone();
    return m;
  };
  const std::string common = " --save_strategy steps --save_steps 3 --learning_rate 1e-3";
  auto full = run_cli(train_cmd(tmp / "train.tsv", "--eval " + tmp / "dev.tsv" + common, 6));
  ASSERT_EQ(full.exit_code, 0) << full.err;
  ASSERT_TRUE(fs::exists(out + "/eval_results.json"));
  ASSERT_TRUE(fs::exists(out + "/confusion_matrix.png"));
  const auto w6 = weights();

  auto resumed = run_cli(train_cmd(tmp / "train.tsv", "--resume " + out + "/checkpoint-3" + common, 6));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(nlohmann::json::parse(resumed.out)["global_step"], 6);
  const auto w = weights();
  ASSERT_EQ(w.size(), w6.size());
  for (const auto& [name, t] : w6) EXPECT_TRUE(torch::equal(t, w.at(name))) << name;
  EXPECT_FALSE(fs::exists(out + "/eval_results.json"));
  EXPECT_FALSE(fs::exists(out + "/confusion_matrix.png"));
  EXPECT_TRUE(fs::exists(out + "/training_curves.png"));
  EXPECT_TRUE(fs::is_directory(out + "/checkpoint-3"));
  std::vector<int64_t> steps;  // the log keeps steps 1-3 of the first run and adds 4-6, once each
  std::istringstream log(textune::testing::read_text(out + "/training_log.jsonl"));
  for (std::string line; std::getline(log, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) steps.push_back(j["step"]);
  }
  EXPECT_EQ(steps, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));

  write_text(tmp / "dev3.tsv", textune::testing::tiny_tsv(5, 80));
  auto again = run_cli(train_cmd(tmp / "train.tsv", "--resume " + out + "/checkpoint-3 --eval " + tmp / "dev3.tsv" + common, 6));
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_TRUE(fs::exists(out + "/confusion_matrix.png"));
  auto report = core::read_json_file(out + "/eval_results.json");
  EXPECT_EQ(report["num_examples"], 5);
  auto e = run_cli("eval --model " + out + " --data " + tmp / "dev3.tsv" + " --output " + tmp / "e.json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto j = core::Json::parse(e.out);
  EXPECT_EQ(report["confusion_matrix"], j["confusion_matrix"]);
  EXPECT_EQ(report["accuracy"], j["accuracy"]);
}

// ---- bad input, end to end through `train` (issue 5) ----

TEST_F(TrainCli, QuotedNewlineAndBomAndStringLabelsTrain) {
  write_text(tmp / "q.csv",
             "\xEF\xBB\xBFtext,label\r\n\"a good\nfilm, really\",pos\r\nbad,neg\r\n\"the \"\"great\"\" plot\",pos\r\nawful,neg\r\n");
  auto r = run_cli(train_cmd(tmp / "q.csv"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // string labels, sorted bytewise
  auto cfg = core::read_json_file(tmp / "out/config.json");
  EXPECT_EQ(cfg["id2label"], core::Json::parse(R"({"0": "neg", "1": "pos"})"));
  // the same reader feeds predict: the BOM is not part of the header "text", the quoted newline and
  // the doubled quotes stay inside their field, and CRLF ends the records (4 rows, not 5)
  auto p = run_cli("predict --model " + tmp / "out" + " --input " + tmp / "q.csv");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  std::vector<std::string> texts;
  std::istringstream lines(p.out);
  for (std::string line; std::getline(lines, line);) texts.push_back(nlohmann::json::parse(line)["text"]);
  EXPECT_EQ(texts, (std::vector<std::string>{"a good\nfilm, really", "bad", "the \"great\" plot", "awful"}));
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

// "café" in Latin-1 ends in the byte 0xE9, which is not UTF-8: the file, the row, the column and the
// byte are named, for training and for evaluation files alike.
TEST_F(TrainCli, Latin1BytesAreADataErrorNamingFileRowAndColumn) {
  write_text(tmp / "l.csv", "text,label\ngood,pos\ncaf\xE9 bad,neg\n");
  auto r = run_cli(train_cmd(tmp / "l.csv"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(tmp / "l.csv"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("row 3, column \"text\""), std::string::npos) << r.err;  // file line 3 (header: row 1)
  EXPECT_NE(r.err.find("not valid UTF-8 (byte 0xE9"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(tmp / "out/model.safetensors"));
  ASSERT_EQ(run_cli(train_cmd(tmp / "train.tsv")).exit_code, 0);
  auto e = run_cli("eval --model " + tmp / "out" + " --data " + tmp / "l.csv" + " --output " + tmp / "e.json");
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_NE(e.err.find(tmp / "l.csv" + ": 1 invalid row of 2: row 3, column \"text\": not valid UTF-8"),
            std::string::npos)
      << e.err;
  EXPECT_FALSE(fs::exists(tmp / "e.json"));
}

// `textune eval` on a file with a label the model was not trained on: the label and its row.
TEST_F(TrainCli, EvalNamesALabelUnseenInTrainingAndItsRow) {
  ASSERT_EQ(run_cli(train_cmd(tmp / "train.tsv")).exit_code, 0);
  write_text(tmp / "dev2.tsv", "sentence\tlabel\ngood\tpos\nbad\tneg\nfine\tmeh\n");
  auto e = run_cli("eval --model " + tmp / "out" + " --data " + tmp / "dev2.tsv");
  EXPECT_EQ(e.exit_code, 1);
  EXPECT_NE(e.err.find(tmp / "dev2.tsv" + ": 1 invalid row of 3: row 4, column \"label\": label \"meh\" was not in "
                                          "the training data"),
            std::string::npos)
      << e.err;
}

// ---- Excel workbooks as Excel writes them (tests/data/xlsx_helpers.h) ----

std::string inline_cell(const std::string& ref, const std::string& text) {
  return "<c r=\"" + ref + "\" t=\"inlineStr\"><is><t>" + text + "</t></is></c>";
}

// Excel leaves an empty cell out of the row's XML: an absent text cell is a missing text, an absent
// label cell a missing label, each reported with its row as Excel numbers it and its column.
TEST_F(TrainCli, EmptyExcelCellsStopWithRowAndColumnOrAreSkipped) {
  std::string rows = "<row r=\"1\">" + inline_cell("A1", "text") + inline_cell("B1", "label") + "</row>";
  const std::vector<std::pair<std::string, std::string>> data = {
      {"good film", "pos"}, {"bad plot", "neg"}, {"", "neg"}, {"fun", ""}, {"awful", "neg"}, {"great", "pos"}};
  for (size_t i = 0; i < data.size(); ++i) {
    const std::string r = std::to_string(i + 2);
    rows += "<row r=\"" + r + "\">";
    if (!data[i].first.empty()) rows += inline_cell("A" + r, data[i].first);
    if (!data[i].second.empty()) rows += inline_cell("B" + r, data[i].second);
    rows += "</row>";
  }
  textune::testing::write_workbook(tmp / "cells.xlsx", {{"Sheet1", rows}});
  auto r = run_cli(train_cmd(tmp / "cells.xlsx"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(tmp / "cells.xlsx" +
                       ": 2 invalid rows of 6: row 4, column \"text\": missing text; row 5, column \"label\": missing label"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(fs::exists(tmp / "out/model.safetensors"));
  auto s = run_cli(train_cmd(tmp / "cells.xlsx", "--skip-invalid"));
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.err.find("2 invalid rows of 6: row 4"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("(skipped)"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find("Training: 4 examples"), std::string::npos) << s.err;  // 6 rows less the 2
}

// Date cells become ISO dates in both of Excel's date systems: 2021-01-01 is serial 44197 in the
// 1900 system and 44197 - 1462 = 42735 in the 1904 system (1462 days from 1900-01-01 to 1904-01-01,
// counting Excel's fictitious 1900-02-29); 2021-01-02 is one more. Used as labels, both workbooks
// give the same label map, and a model trained on one evaluates on the other.
TEST_F(TrainCli, XlsxDatesIn1900And1904SystemsReadAsIsoDates) {
  // cellXfs 1: built-in number format 14 (m/d/yyyy), a date
  const std::string styles = R"(<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs>)";
  auto sheet = [](int64_t first_serial) {
    std::string rows = "<row r=\"1\">" + inline_cell("A1", "text") + inline_cell("B1", "label") + "</row>";
    for (int i = 0; i < 8; ++i) {
      const std::string r = std::to_string(i + 2);
      rows += "<row r=\"" + r + "\">" + inline_cell("A" + r, textune::testing::tiny_words()[i]) + "<c r=\"B" + r +
              "\" s=\"1\"><v>" + std::to_string(first_serial + i % 2) + "</v></c></row>";
    }
    return rows;
  };
  textune::testing::write_workbook(tmp / "d1900.xlsx", {{"S", sheet(44197)}}, {}, styles, false);
  textune::testing::write_workbook(tmp / "d1904.xlsx", {{"S", sheet(42735)}}, {}, styles, true);
  auto r = run_cli(train_cmd(tmp / "d1900.xlsx"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(core::read_json_file(tmp / "out/config.json")["id2label"],
            core::Json::parse(R"({"0": "2021-01-01", "1": "2021-01-02"})"));
  auto e = run_cli("eval --model " + tmp / "out" + " --data " + tmp / "d1904.xlsx" + " --output " + tmp / "e.json");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  auto j = nlohmann::json::parse(e.out);
  EXPECT_EQ(j["num_examples"], 8);
  EXPECT_EQ(j["per_class"]["2021-01-01"]["support"], 4);
  EXPECT_EQ(j["per_class"]["2021-01-02"]["support"], 4);
  auto d = run_cli("data -i " + tmp / "d1904.xlsx" + " --limit 2");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, "{\"text\":\"good\",\"label\":\"2021-01-01\"}\n{\"text\":\"bad\",\"label\":\"2021-01-02\"}\n");
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
