// Issue 11, the command line: texts in brackets stay texts (predict and tokenize); eval and predict
// take the training run's data options from textune_data.json; predict --text-pair, and a pair
// model given single texts is warned about; eval's f1 is the positive class's for two labels
// (--pos_label), as GLUE and scikit-learn report it.
#include <filesystem>
#include <sstream>

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

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) v.push_back(nlohmann::json::parse(line));
  return v;
}

// MRPC's layout: label first under a name no default finds, then two text columns.
std::string mrpc_like(int n, int offset = 0) {
  std::string s = "Quality\t#1 String\t#2 String\n";
  const auto& w = textune::testing::tiny_words();
  for (int i = offset; i < offset + n; ++i) {
    const bool same = i % 3 != 0;
    const std::string a = "the " + w[i % w.size()] + " film";
    const std::string b = same ? a : "a " + w[(i + 5) % w.size()] + " plot";
    s += std::string(same ? "1" : "0") + "\t" + a + "\t" + b + "\n";
  }
  return s;
}

class RememberedOptions : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir = new TempDir();
    model = *dir / "model";
    textune::testing::write_tiny_bert(model);
    write_text(*dir / "train.tsv", mrpc_like(12));
    write_text(*dir / "dev.tsv", mrpc_like(9, 40));
    // one training run, shared by the tests (a pair model)
    train = run_cli("train --model " + model + " --train " + *dir / "train.tsv" + " --output " + *dir / "out" +
                    " --text-column '#1 String' --text-pair-column '#2 String' --label-column Quality"
                    " --max_steps 1 --per_device_train_batch_size 4 --disable_tqdm");
  }
  static void TearDownTestSuite() {
    delete dir;
    dir = nullptr;
  }
  static std::string out() { return *dir / "out"; }
  static TempDir* dir;
  static std::string model;
  static textune::testing::CommandResult train;
};
TempDir* RememberedOptions::dir = nullptr;
std::string RememberedOptions::model;
textune::testing::CommandResult RememberedOptions::train;

TEST_F(RememberedOptions, TrainSavesTheDataOptions) {
  ASSERT_EQ(train.exit_code, 0) << train.err;
  const auto j = nlohmann::json::parse(read_text(out() + "/textune_data.json"));
  EXPECT_EQ(j["text_column"], "#1 String");
  EXPECT_EQ(j["text_pair_column"], "#2 String");
  EXPECT_EQ(j["label_column"], "Quality");
  EXPECT_EQ(j["task"], "single_label_classification");
  EXPECT_EQ(j["columns_used"]["text_pair"], "#2 String");
  EXPECT_FALSE(j.contains("format"));  // not given: stays a default
}

TEST_F(RememberedOptions, EvalNeedsNoColumnFlagsAgain) {
  ASSERT_EQ(train.exit_code, 0) << train.err;
  auto r = run_cli("eval --model " + out() + " --data " + *dir / "dev.tsv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "data options from " + out() + "/textune_data.json")) << r.err;
  EXPECT_TRUE(contains(r.err, "--text-column '#1 String'")) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["num_examples"], 9);
  // a flag given wins over the file: the label column "#2 String" holds texts, not 0/1
  auto w = run_cli("eval --model " + out() + " --data " + *dir / "dev.tsv" + " --label-column '#2 String'");
  EXPECT_EQ(w.exit_code, 1) << w.err;
  EXPECT_FALSE(contains(w.err, "--label-column 'Quality'")) << w.err;
  // a broken file is named
  const std::string broken = *dir / "broken";
  fs::create_directories(broken);
  for (const auto& e : fs::directory_iterator(out()))
    if (e.is_regular_file()) fs::copy_file(e.path(), broken + "/" + e.path().filename().string());
  write_text(broken + "/textune_data.json", R"({"text_column": 3})");
  auto b = run_cli("eval --model " + broken + " --data " + *dir / "dev.tsv");
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_TRUE(contains(b.err, "textune_data.json: key \"text_column\": expected a string")) << b.err;
}

TEST_F(RememberedOptions, DelimiterAndEncodingAreRemembered) {
  // a Latin-1 file, ';'-delimited: eval reads it only with --encoding, which comes from the file
  std::string csv = "text;label\n";
  for (int i = 0; i < 8; ++i)
    csv += std::string(i % 2 ? "the good caf\xe9" : "a bad film") + ";" + (i % 2 ? "pos" : "neg") + "\n";
  write_text(*dir / "latin1.csv", csv);
  const std::string o = *dir / "out_latin1";
  auto t = run_cli("train --model " + model + " --train " + *dir / "latin1.csv" + " --output " + o +
                   " --delimiter ';' --encoding latin-1 --max_steps 1 --per_device_train_batch_size 4 --disable_tqdm");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto j = nlohmann::json::parse(read_text(o + "/textune_data.json"));
  EXPECT_EQ(j["delimiter"], ";");
  EXPECT_EQ(j["encoding"], "latin-1");
  auto e = run_cli("eval --model " + o + " --data " + *dir / "latin1.csv");
  ASSERT_EQ(e.exit_code, 0) << e.err;
  EXPECT_TRUE(contains(e.err, "--delimiter ';' --encoding latin-1")) << e.err;
  EXPECT_EQ(nlohmann::json::parse(e.out)["num_examples"], 8);
  // the flag given wins: read as UTF-8, the Latin-1 byte is an error
  auto u = run_cli("eval --model " + o + " --data " + *dir / "latin1.csv" + " --encoding utf-8");
  EXPECT_EQ(u.exit_code, 1) << u.err;
}

TEST_F(RememberedOptions, PredictTakesTextPairsAndWarnsAboutSingleTexts) {
  ASSERT_EQ(train.exit_code, 0) << train.err;
  auto p = run_cli("predict --model " + out() +
                   " 'the good film' --text-pair 'the good film' 'a bad plot' "
                   "--text-pair 'the fine film'");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  auto lines = json_lines(p.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["text"], "the good film");
  EXPECT_EQ(lines[0]["text_pair"], "the good film");
  EXPECT_EQ(lines[1]["text"], "a bad plot");
  EXPECT_EQ(lines[1]["text_pair"], "the fine film");
  EXPECT_FALSE(contains(p.err, "trained on text pairs")) << p.err;
  // one --text-pair per text
  auto m = run_cli("predict --model " + out() + " 'a' 'b' --text-pair 'c'");
  EXPECT_EQ(m.exit_code, 2);
  EXPECT_TRUE(contains(m.err, "2 texts but 1 --text-pair values")) << m.err;
  // a pair model given single texts: it runs, with a warning naming the columns
  auto s = run_cli("predict --model " + out() + " 'the good film'");
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_TRUE(contains(s.err, "was trained on text pairs (columns #1 String and #2 String")) << s.err;
  EXPECT_TRUE(contains(s.err, "--text-pair")) << s.err;
  // --input: the pair column comes from textune_data.json
  auto f = run_cli("predict --model " + out() + " --input " + *dir / "dev.tsv");
  ASSERT_EQ(f.exit_code, 0) << f.err;
  auto fl = json_lines(f.out);
  ASSERT_EQ(fl.size(), 9u);
  EXPECT_TRUE(fl[0].contains("text_pair"));
  EXPECT_FALSE(contains(f.err, "trained on text pairs")) << f.err;
}

TEST_F(RememberedOptions, TextsInBracketsAreTexts) {
  ASSERT_EQ(train.exit_code, 0) << train.err;
  auto p = run_cli("predict --model " + out() +
                   " '[CLS] great film [SEP]' '[a, good, film]' --text-pair '[x]' "
                   "--text-pair '[y, z]'");
  ASSERT_EQ(p.exit_code, 0) << p.err;
  auto lines = json_lines(p.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0]["text"], "[CLS] great film [SEP]");
  EXPECT_EQ(lines[1]["text"], "[a, good, film]");
  EXPECT_EQ(lines[1]["text_pair"], "[y, z]");
  auto t = run_cli("tokenize --tokenizer " + model + " '[a, good, film]' '[CLS] good'");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  auto tl = json_lines(t.out);
  ASSERT_EQ(tl.size(), 2u);
  // [CLS] [ a , good , film ] [SEP]: the brackets and commas are tokens of the one text
  EXPECT_EQ(tl[0]["tokens"].size(), 9u) << tl[0].dump();
  EXPECT_EQ(tl[1]["tokens"][1], "[CLS]");  // the special token in the text, matched as one token
}

TEST_F(RememberedOptions, EvalF1IsThePositiveClass) {
  ASSERT_EQ(train.exit_code, 0) << train.err;
  auto r = run_cli("eval --model " + out() + " --data " + *dir / "dev.tsv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["pos_label"], "1");
  EXPECT_EQ(j["f1_average"], "binary");
  EXPECT_EQ(j["f1"], j["per_class"]["1"]["f1"]);
  EXPECT_EQ(j["precision"], j["per_class"]["1"]["precision"]);
  EXPECT_EQ(j["recall"], j["per_class"]["1"]["recall"]);
  EXPECT_TRUE(j.contains("f1_macro") && j.contains("f1_micro"));
  auto z = run_cli("eval --model " + out() + " --data " + *dir / "dev.tsv" + " --pos_label 0");
  ASSERT_EQ(z.exit_code, 0) << z.err;
  auto jz = nlohmann::json::parse(z.out);
  EXPECT_EQ(jz["f1"], jz["per_class"]["0"]["f1"]);
  auto bad = run_cli("eval --model " + out() + " --data " + *dir / "dev.tsv" + " --pos_label yes");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(contains(bad.err, "--pos_label yes: not a label of the model (labels: 0 (id 0), 1 (id 1))")) << bad.err;
}

}  // namespace
