// Issue 5: "the same run fed from .xlsx and from .csv versions of the data gives identical metrics",
// end to end through the command line on a slice of the SST-2 sentences bundled in examples/.
#include <filesystem>
#include <fstream>

#include "support/test_support.h"
#include "textune/core/checkpoint.h"
#include "textune/core/json.h"

using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::source_dir;
using textune::testing::TempDir;
using textune::testing::write_text;
namespace fs = std::filesystem;

namespace {

/// The header and the first `n` records of a TSV file (SST-2's lines hold no quoted newlines).
std::string head_lines(const std::string& path, int n) {
  std::ifstream in(path);
  std::string out, line;
  for (int i = 0; i <= n && std::getline(in, line); ++i) out += line + "\n";
  return out;
}

// 200 training and 100 dev sentences of SST-2, converted by `textune data -o` to .csv and to .xlsx;
// one epoch of a 1-layer BERT (bert-base-uncased vocabulary, `textune init`) on each copy, with the
// same seed. The two runs must be the same run: identical weights bit for bit, and identical
// reports from `textune eval`, every metric, per-class entry and the confusion matrix.
TEST(XlsxCsvParity, SameRunFromXlsxAndCsvGivesIdenticalMetrics) {
  TempDir tmp;
  const std::string sst2 = source_dir() + "/examples/data/sst2";
  write_text(tmp / "train.tsv", head_lines(sst2 + "/train.tsv", 200));
  write_text(tmp / "dev.tsv", head_lines(sst2 + "/dev.tsv", 100));
  for (const char* split : {"train", "dev"})
    for (const char* ext : {"csv", "xlsx"}) {
      auto c = run_cli("data -i " + tmp / (std::string(split) + ".tsv") + " -o " + tmp / (std::string(split) + "." + ext));
      ASSERT_EQ(c.exit_code, 0) << c.err;
    }
  ASSERT_EQ(read_text(tmp / "train.xlsx").substr(0, 2), "PK");  // a zip archive, not a CSV renamed
  ASSERT_EQ(read_text(tmp / "train.csv").substr(0, 15), "sentence,label\n");

  auto init = run_cli("init --arch bert --vocab " + source_dir() + "/examples/vocab/bert-base-uncased/vocab.txt --output " +
                      tmp / "init" + " --layers 1 --hidden 32 --heads 2 --intermediate 64 --max-position 64");
  ASSERT_EQ(init.exit_code, 0) << init.err;

  std::vector<textune::core::Json> reports;
  std::vector<std::map<std::string, torch::Tensor>> weights;
  for (const std::string ext : {"csv", "xlsx"}) {
    const std::string out = tmp / ("model_" + ext);
    auto t = run_cli("train --model " + tmp / "init" + " --train " + tmp / ("train." + ext) + " --eval " +
                     tmp / ("dev." + ext) + " --output " + out +
                     " --num_train_epochs 1 --per_device_train_batch_size 16 --learning_rate 1e-3 --warmup_ratio 0.1"
                     " --group_by_length --disable_tqdm");
    ASSERT_EQ(t.exit_code, 0) << t.err;
    EXPECT_EQ(textune::core::Json::parse(t.out)["global_step"], 13);  // ceil(200 / 16)
    auto e = run_cli("eval --model " + out + " --data " + tmp / ("dev." + ext) + " --output " + tmp / ("e_" + ext + ".json"));
    ASSERT_EQ(e.exit_code, 0) << e.err;
    reports.push_back(textune::core::Json::parse(e.out));
    auto w = textune::core::CheckpointWeights::open(out);
    std::map<std::string, torch::Tensor> m;
    for (const auto& n : w.names()) m[n] = w.get(n).clone();
    weights.push_back(std::move(m));
    // the evaluation at the end of training is the same report as `textune eval`'s
    EXPECT_EQ(textune::core::read_json_file(out + "/eval_results.json"), reports.back()) << ext;
  }
  EXPECT_EQ(reports[0]["num_examples"], 100);
  EXPECT_TRUE(reports[0].contains("accuracy"));
  EXPECT_EQ(reports[0], reports[1]);
  ASSERT_EQ(weights[0].size(), weights[1].size());
  for (const auto& [name, t] : weights[0]) EXPECT_TRUE(torch::equal(t, weights[1].at(name))) << name;
}

}  // namespace
