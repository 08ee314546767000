// Issue 7: a sharded copy of a fixture model (two shards and model.safetensors.index.json, as
// transformers' save_pretrained(max_shard_size=...) writes them) verifies exactly like the
// single-file original: same groups, same worst tensors, bit-identical errors.
#include <filesystem>

#include "model_fixtures.h"
#include "support/test_support.h"
#include "textune/core/json.h"
#include "textune/core/safetensors.h"
#include "textune/models/verify.h"
#include "textune/train/trajectory.h"

namespace {

using namespace textune;
using namespace textune::testing;

/// The smallest shard limit (bytes) at which the greedy in-order split of `tensors` (each shard
/// filled until the next tensor would overflow it) gives exactly two shards; 0 when none does.
uint64_t two_shard_limit(const Tensors& tensors) {
  uint64_t total = 0;
  for (const auto& [name, t] : tensors) total += t.nbytes();
  for (uint64_t limit = total / 2; limit < total; limit += 64) {
    int shards = 1;
    uint64_t used = 0;
    for (const auto& [name, t] : tensors) {
      if (used > 0 && used + t.nbytes() > limit) {
        ++shards;
        used = 0;
      }
      used += t.nbytes();
    }
    if (shards == 2) return limit;
  }
  return 0;
}

models::VerifyOptions options_for(const std::string& model_dir, const std::string& fixture) {
  models::VerifyOptions o;
  o.model_dir = model_dir;
  o.golden = model_fixture(fixture) + "/golden.safetensors";
  o.trajectory = model_fixture(fixture);  // trajectory.safetensors and golden.json
  o.run_trajectory = [](models::PreTrainedModel model, const models::ModelInputs& batch, const core::Json& t) {
    return train::run_trajectory(model, batch, t);
  };
  return o;
}

class ShardedVerify : public ::testing::TestWithParam<std::string> {};

TEST_P(ShardedVerify, TwoShardsWithAnIndexVerifyExactlyLikeTheSingleFile) {
  const std::string name = GetParam();
  const std::string original = model_fixture(name);
  TempDir tmp;
  const std::string sharded = tmp / "sharded";
  std::filesystem::create_directories(sharded);
  std::filesystem::copy_file(original + "/config.json", sharded + "/config.json");
  const Tensors tensors = read_tensors(original + "/model.safetensors");
  const uint64_t limit = two_shard_limit(tensors);
  ASSERT_GT(limit, 0u) << name << ": no shard size splits the checkpoint in two";
  const auto saved = core::save_safetensors_sharded(sharded, tensors, limit);
  const std::vector<std::string> expected_files = {"model-00001-of-00002.safetensors",
                                                   "model-00002-of-00002.safetensors", "model.safetensors.index.json"};
  ASSERT_EQ(saved.files, expected_files) << name;
  ASSERT_FALSE(std::filesystem::exists(sharded + "/model.safetensors"));
  // the index maps every tensor of the original to one of the two shards
  const core::Json index = core::read_json_file(sharded + "/model.safetensors.index.json");
  ASSERT_EQ(index["weight_map"].size(), tensors.size()) << name;

  const models::VerifyReport single = models::verify(options_for(original, name));
  const models::VerifyReport split = models::verify(options_for(sharded, name));
  EXPECT_TRUE(single.pass) << single.to_json().dump(2);
  EXPECT_TRUE(split.pass) << split.to_json().dump(2);
  EXPECT_TRUE(split.problems.empty()) << split.to_json().dump(2);
  EXPECT_EQ(split.architecture, single.architecture);
  ASSERT_EQ(split.groups.size(), single.groups.size()) << split.to_json().dump(2);
  // outputs, hidden states, losses, gradients and the 6-step trajectory were all compared
  std::vector<std::string> names;
  for (const auto& g : split.groups) names.push_back(g.name);
  for (const char* g : {"grads", "trajectory_loss", "trajectory_grad_norm", "trajectory_params"})
    EXPECT_NE(std::find(names.begin(), names.end(), g), names.end()) << name << ": no group " << g;
  for (size_t i = 0; i < single.groups.size(); ++i) {
    const auto& a = single.groups[i];
    const auto& b = split.groups[i];
    EXPECT_EQ(b.name, a.name);
    EXPECT_EQ(b.tensors, a.tensors) << a.name;
    EXPECT_EQ(b.worst, a.worst) << a.name;
    // the same weights give the same arithmetic: identical, not merely close
    EXPECT_EQ(b.max_error, a.max_error) << name << " group " << a.name;
    EXPECT_EQ(b.errors, a.errors) << name << " group " << a.name;
  }
}

// bert-seqcls (issue 7's example) and bert-mlm, whose tied decoder is left out of the files.
INSTANTIATE_TEST_SUITE_P(Fixtures, ShardedVerify, ::testing::Values("bert-seqcls", "bert-mlm"), [](const auto& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

}  // namespace
