#include "textune/core/fs.h"

#include <filesystem>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"

namespace fs = std::filesystem;
using textune::core::AtomicDirectory;
using textune::testing::read_text;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {
// Sibling entries other than the final directory (staging leftovers).
std::vector<std::string> leftovers(const std::string& parent, const std::string& final_name) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(parent))
    if (e.path().filename() != final_name) out.push_back(e.path().filename().string());
  return out;
}
}  // namespace

TEST(AtomicDirectory, CommitCreatesTheDirectory) {
  TempDir tmp;
  const std::string dir = tmp / "model";
  {
    AtomicDirectory d(dir);
    write_text(d.file("config.json"), "{}");
    EXPECT_FALSE(fs::exists(dir)) << "nothing visible before commit";
    d.commit();
  }
  EXPECT_EQ(read_text(dir + "/config.json"), "{}");
  EXPECT_TRUE(leftovers(tmp.path(), "model").empty());
}

TEST(AtomicDirectory, InterruptedWriteLeavesPreviousDirectoryIntact) {
  TempDir tmp;
  const std::string dir = tmp / "model";
  fs::create_directory(dir);
  write_text(dir + "/config.json", "old config");
  write_text(dir + "/model.safetensors", "old weights");
  try {
    AtomicDirectory d(dir);
    write_text(d.file("config.json"), "new config");
    throw std::runtime_error("simulated failure midway through the save");
    d.commit();  // never reached
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_text(dir + "/config.json"), "old config");
  EXPECT_EQ(read_text(dir + "/model.safetensors"), "old weights");
  EXPECT_TRUE(leftovers(tmp.path(), "model").empty()) << "the staging directory is cleaned up";
}

TEST(AtomicDirectory, CommitReplacesPreviousContentsWhole) {
  TempDir tmp;
  const std::string dir = tmp / "model";
  fs::create_directory(dir);
  write_text(dir + "/stale.bin", "stale");
  write_text(dir + "/config.json", "old");
  {
    AtomicDirectory d(dir);
    write_text(d.file("config.json"), "new");
    d.commit();
  }
  EXPECT_EQ(read_text(dir + "/config.json"), "new");
  EXPECT_FALSE(fs::exists(dir + "/stale.bin"));
  EXPECT_TRUE(leftovers(tmp.path(), "model").empty());
}

TEST(AtomicDirectory, RefusesPathThatIsAFile) {
  TempDir tmp;
  write_text(tmp / "model", "x");
  EXPECT_THROW(AtomicDirectory(tmp / "model"), textune::DataError);
}

TEST(WriteFileAtomic, ReplacesContentAndLeavesNoTemporary) {
  TempDir tmp;
  textune::core::write_file_atomic(tmp / "a.txt", "one");
  textune::core::write_file_atomic(tmp / "a.txt", "two");
  EXPECT_EQ(read_text(tmp / "a.txt"), "two");
  EXPECT_TRUE(leftovers(tmp.path(), "a.txt").empty());
}

TEST(Json, RoundTripPreservesUnknownKeysAndOrder) {
  // A real config.json: reading and writing it back changes nothing but the key we set.
  const std::string path = textune::testing::model_fixture("bert-seqcls") + "/config.json";
  auto cfg = textune::core::read_json_file(path);
  TempDir tmp;
  textune::core::write_json_file(tmp / "config.json", cfg);
  auto original = nlohmann::json::parse(read_text(path));
  auto back = nlohmann::json::parse(read_text(tmp / "config.json"));
  EXPECT_EQ(back, original);
  // Key order is the file's.
  std::vector<std::string> keys_in, keys_out;
  for (auto it = cfg.begin(); it != cfg.end(); ++it) keys_in.push_back(it.key());
  auto cfg2 = textune::core::read_json_file(tmp / "config.json");
  for (auto it = cfg2.begin(); it != cfg2.end(); ++it) keys_out.push_back(it.key());
  EXPECT_EQ(keys_in, keys_out);
  cfg2["problem_type"] = "single_label_classification";
  textune::core::write_json_file(tmp / "config.json", cfg2);
  auto changed = nlohmann::json::parse(read_text(tmp / "config.json"));
  original["problem_type"] = "single_label_classification";
  EXPECT_EQ(changed, original);
}

TEST(Json, SyntaxErrorNamesFileLineAndColumn) {
  TempDir tmp;
  write_text(tmp / "bad.json", "{\n  \"a\": 1,\n  \"b\": ]\n}");
  try {
    textune::core::read_json_file(tmp / "bad.json");
    FAIL();
  } catch (const textune::DataError& e) {
    EXPECT_NE(std::string(e.what()).find(tmp / "bad.json:3:"), std::string::npos) << e.what();
  }
}

// A symbolic link to a directory is written through: the target is replaced, the link stays.
TEST(AtomicDirectory, WritesThroughASymbolicLink) {
  TempDir tmp;
  fs::create_directories(tmp / "real/model");
  write_text(tmp / "real/model/old.txt", "old");
  fs::create_directory_symlink(tmp / "real/model", tmp / "link");
  {
    AtomicDirectory d(tmp / "link");
    EXPECT_EQ(d.path(), tmp / "real/model");
    write_text(d.file("config.json"), "new");
    d.commit();
  }
  EXPECT_TRUE(fs::is_symlink(tmp / "link"));
  EXPECT_EQ(read_text(tmp / "link/config.json"), "new");
  EXPECT_FALSE(fs::exists(tmp / "real/model/old.txt"));
  EXPECT_TRUE(leftovers(tmp / "real", "model").empty());
  // a relative link, and a chain of two
  fs::create_directory_symlink("real/model", tmp / "rel");
  fs::create_directory_symlink("rel", tmp / "chain");
  EXPECT_EQ(textune::core::resolve_output_path(tmp / "chain"), tmp / "real/model");
}

// Leftovers of interrupted writes (staging siblings, an incomplete checkpoint, a temporary file)
// are removed; names that merely look alike are not.
TEST(RemoveInterruptedLeftovers, RemovesOnlyOurStagingNames) {
  TempDir tmp;
  const std::string out = tmp / "out";
  fs::create_directories(out + "/.checkpoint-2.incomplete-0123abcd");
  fs::create_directories(tmp / ".out.incomplete-89abcdef");
  fs::create_directories(tmp / ".other.incomplete-89abcdef");  // another directory's
  fs::create_directories(out + "/checkpoint-1");
  write_text(out + "/.training_log.jsonl.tmp-00ff00ff", "x");
  write_text(out + "/.keep.incomplete-xyz", "not ours");
  auto removed = textune::core::remove_interrupted_leftovers(out);
  std::sort(removed.begin(), removed.end());
  EXPECT_EQ(removed,
            (std::vector<std::string>{tmp / ".out.incomplete-89abcdef", out + "/.checkpoint-2.incomplete-0123abcd",
                                      out + "/.training_log.jsonl.tmp-00ff00ff"}));
  EXPECT_TRUE(fs::exists(tmp / ".other.incomplete-89abcdef"));
  EXPECT_TRUE(fs::exists(out + "/.keep.incomplete-xyz"));
  EXPECT_TRUE(fs::exists(out + "/checkpoint-1"));
}

// link_or_copy_tree recreates a tree with hard links: the source is unchanged and shares the files.
TEST(LinkOrCopyTree, HardLinksEveryFileAndLeavesTheSource) {
  TempDir tmp;
  fs::create_directories(tmp / "a/sub");
  write_text(tmp / "a/x.txt", "x");
  write_text(tmp / "a/sub/y.txt", "y");
  textune::core::link_or_copy_tree(tmp / "a", tmp / "b");
  EXPECT_EQ(read_text(tmp / "b/sub/y.txt"), "y");
  EXPECT_TRUE(fs::equivalent(tmp / "a/x.txt", tmp / "b/x.txt"));
  EXPECT_EQ(fs::hard_link_count(tmp / "a/sub/y.txt"), 2u);
  EXPECT_EQ(read_text(tmp / "a/x.txt"), "x");
}
