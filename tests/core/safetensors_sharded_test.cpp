// The sharded safetensors writer against transformers' save_pretrained(max_shard_size=...) layout
// (huggingface_hub serialization/_base.py split rule; modeling_utils index file).
#include <filesystem>

#include "support/test_support.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/core/safetensors.h"

namespace fs = std::filesystem;
using textune::core::CheckpointWeights;
using textune::core::SafetensorsFile;
using textune::core::save_safetensors_sharded;
using textune::testing::model_fixture;
using textune::testing::read_text;
using textune::testing::run_cli;
using textune::testing::TempDir;

namespace {

// A float32 tensor of `n` elements (4n bytes), filled with `value`.
torch::Tensor floats(int64_t n, float value) {
  return torch::full({n}, value);
}

std::map<std::string, std::string> weight_map(const std::string& dir) {
  auto idx = nlohmann::json::parse(read_text(dir + "/model.safetensors.index.json"));
  return idx["weight_map"].get<std::map<std::string, std::string>>();
}

}  // namespace

TEST(SafetensorsSharded, SplitsInOrderAsHuggingfaceHubDocuments) {
  // split_state_dict_into_shards_factory's docstring: with a 10GB limit, tensors of
  // [6, 6, 2, 6, 2, 2] GB are sharded as [6], [6+2], [6+2+2]. Here 1 "GB" = 4 bytes.
  TempDir tmp;
  std::vector<std::pair<std::string, torch::Tensor>> t = {{"a", floats(6, 1)}, {"b", floats(6, 2)},
                                                          {"c", floats(2, 3)}, {"d", floats(6, 4)},
                                                          {"e", floats(2, 5)}, {"f", floats(2, 6)}};
  auto r = save_safetensors_sharded(tmp.path(), t, 40);
  EXPECT_EQ(r.files, (std::vector<std::string>{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                                               "model-00003-of-00003.safetensors", "model.safetensors.index.json"}));
  EXPECT_EQ(r.total_size, 24u * 4);
  const std::string s1 = "model-00001-of-00003.safetensors", s2 = "model-00002-of-00003.safetensors",
                    s3 = "model-00003-of-00003.safetensors";
  EXPECT_EQ(weight_map(tmp.path()),
            (std::map<std::string, std::string>{{"a", s1}, {"b", s2}, {"c", s2}, {"d", s3}, {"e", s3}, {"f", s3}}));
  // The index as modeling_utils writes it: json.dumps(index, indent=2, sort_keys=True) + "\n".
  EXPECT_EQ(read_text(tmp / "model.safetensors.index.json"),
            "{\n  \"metadata\": {\n    \"total_parameters\": 24,\n    \"total_size\": 96\n  },\n"
            "  \"weight_map\": {\n    \"a\": \"" +
                s1 + "\",\n    \"b\": \"" + s2 + "\",\n    \"c\": \"" + s2 + "\",\n    \"d\": \"" + s3 +
                "\",\n    \"e\": \"" + s3 + "\",\n    \"f\": \"" + s3 + "\"\n  }\n}\n");
  // Each shard is an ordinary safetensors file with {"format": "pt"}.
  auto f2 = SafetensorsFile::open(tmp / s2);
  EXPECT_EQ(f2.metadata(), (std::vector<std::pair<std::string, std::string>>{{"format", "pt"}}));
  EXPECT_EQ(f2.tensors().size(), 2u);
}

TEST(SafetensorsSharded, TensorAboveTheLimitGetsItsOwnShard) {
  // The rule: a tensor larger than max_shard_size is appended as a shard of its own at once, while
  // the current shard keeps filling; so [2, 12, 2] with limit 10 gives [12], [2+2].
  TempDir tmp;
  std::vector<std::pair<std::string, torch::Tensor>> t = {
      {"small1", floats(2, 1)}, {"big", floats(12, 2)}, {"small2", floats(2, 3)}};
  auto r = save_safetensors_sharded(tmp.path(), t, 40);
  ASSERT_EQ(r.files.size(), 3u);
  auto m = weight_map(tmp.path());
  EXPECT_EQ(m["big"], "model-00001-of-00002.safetensors");
  EXPECT_EQ(m["small1"], "model-00002-of-00002.safetensors");
  EXPECT_EQ(m["small2"], "model-00002-of-00002.safetensors");
}

TEST(SafetensorsSharded, EverythingInOneShardIsAPlainModelFile) {
  TempDir tmp;
  std::vector<std::pair<std::string, torch::Tensor>> t = {{"a", floats(3, 1)}, {"b", floats(3, 2)}};
  auto r = save_safetensors_sharded(tmp.path(), t);
  EXPECT_EQ(r.files, std::vector<std::string>{"model.safetensors"});
  EXPECT_FALSE(fs::exists(tmp / "model.safetensors.index.json"));
  EXPECT_TRUE(torch::equal(SafetensorsFile::open(tmp / "model.safetensors").get("b"), floats(3, 2)));
  EXPECT_THROW(save_safetensors_sharded(tmp.path(), t, 0), textune::DataError);
}

TEST(SafetensorsSharded, ShardedFixtureLoadsTheSameTensorsAsTheOriginal) {
  const std::string fixture = model_fixture("bert-seqcls");
  auto original = SafetensorsFile::open(fixture + "/model.safetensors");
  TempDir tmp;
  const std::string dir = tmp / "bert-seqcls-sharded";
  fs::create_directories(dir);
  fs::copy_file(fixture + "/config.json", dir + "/config.json");
  // Half the file size: the word embeddings (1000 x 32 floats, 128000 bytes) are above it and get
  // a shard of their own; every other tensor fits in the second.
  const uint64_t limit = fs::file_size(fixture + "/model.safetensors") / 2;
  auto r = save_safetensors_sharded(dir, original.all(), limit);
  ASSERT_EQ(r.files.size(), 3u);
  auto idx = nlohmann::json::parse(read_text(dir + "/model.safetensors.index.json"));
  // 209676 bytes of F32 data in the fixture (tests/cli/info_test.cpp), so 52419 parameters.
  EXPECT_EQ(idx["metadata"]["total_size"], 209676);
  EXPECT_EQ(idx["metadata"]["total_parameters"], 209676 / 4);

  auto sharded = CheckpointWeights::open(dir);
  EXPECT_EQ(sharded.files().size(), 2u);
  ASSERT_EQ(sharded.names().size(), original.tensors().size());
  for (const auto& info : original.tensors()) {
    EXPECT_EQ(sharded.info(info.name).dtype, info.dtype) << info.name;
    EXPECT_TRUE(torch::equal(sharded.get(info.name), original.get(info.name))) << info.name;
  }

  // `textune info` reads it like the original.
  auto a = run_cli("info --json --model " + dir), b = run_cli("info --json --model " + fixture);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
  EXPECT_EQ(ja["weight_files"], 2);
  EXPECT_EQ(ja["num_parameters"], jb["num_parameters"]);
  EXPECT_EQ(ja["parameters_by_dtype"], jb["parameters_by_dtype"]);
}
