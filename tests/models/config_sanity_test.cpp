// config.json sanity before allocation (issue 11): every bad value is one line naming the file, the
// key and the accepted range, exit code 1, found before any tensor is allocated; a model too large
// for the memory available is refused with its size.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

#include "models/config_view.h"
#include "support/test_support.h"
#include "textune/core/checkpoint.h"
#include "textune/core/config_check.h"
#include "textune/core/error.h"
#include "textune/models/model.h"

namespace fs = std::filesystem;
using textune::DataError;
using textune::core::Json;
using textune::testing::model_fixture;
using textune::testing::read_text;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// bert-seqcls with `"key": raw` in place of its own value (raw is JSON text, written as is).
std::string config_with(const std::string& key, const std::string& raw) {
  nlohmann::json j = nlohmann::json::parse(read_text(model_fixture("bert-seqcls") + "/config.json"));
  j.erase(key);
  const std::string rest = j.dump(2);
  return "{\n  \"" + key + "\": " + raw + ",\n" + rest.substr(2);
}

// bert-seqcls with several values replaced.
std::string config_with_all(const std::vector<std::pair<std::string, std::string>>& values) {
  nlohmann::json j = nlohmann::json::parse(read_text(model_fixture("bert-seqcls") + "/config.json"));
  std::string head = "{\n";
  for (const auto& [key, raw] : values) {
    j.erase(key);
    head += "  \"" + key + "\": " + raw + ",\n";
  }
  return head + j.dump(2).substr(2);
}

// A model folder: `config_text` and the fixture's weights.
void make_model(const std::string& dir, const std::string& config_text) {
  fs::create_directories(dir);
  write_text(dir + "/config.json", config_text);
  fs::create_symlink(model_fixture("bert-seqcls") + "/model.safetensors", dir + "/model.safetensors");
}

long max_rss_kb() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

// Loading `config_text` fails quickly with a one-line DataError naming DIR/config.json and `needle`.
void expect_refused(const std::string& config_text, const std::string& needle, bool also_read_model_config = true) {
  TempDir tmp;
  const std::string dir = tmp / "model";
  make_model(dir, config_text);
  const auto t0 = std::chrono::steady_clock::now();
  const long rss0 = max_rss_kb();
  try {
    textune::models::load_pretrained(dir);
    ADD_FAILURE() << "expected a DataError containing " << needle;
  } catch (const DataError& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, dir + "/config.json")) << what;
    EXPECT_TRUE(contains(what, needle)) << what;
    EXPECT_FALSE(contains(what, "\n")) << what;
    EXPECT_EQ(e.exit_code(), 1);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0) << needle;
  EXPECT_LT(max_rss_kb() - rss0, 200 * 1024) << "allocated before failing: " << needle;
  if (also_read_model_config) {
    try {
      textune::core::read_model_config(dir);
      ADD_FAILURE() << "read_model_config accepted " << needle;
    } catch (const DataError& e) {
      EXPECT_TRUE(contains(e.what(), needle)) << e.what();
    }
  }
}

}  // namespace

TEST(ConfigSanity, TheFixtureLoads) {
  TempDir tmp;
  make_model(tmp / "m", read_text(model_fixture("bert-seqcls") + "/config.json"));
  EXPECT_NO_THROW(textune::models::load_pretrained(tmp / "m"));
}

TEST(ConfigSanity, NegativeAndAbsurdSizes) {
  expect_refused(config_with("hidden_size", "-1"), "\"hidden_size\" is -1, expected an integer in [1, 131072]");
  expect_refused(config_with("num_hidden_layers", "-1"),
                 "\"num_hidden_layers\" is -1, expected an integer in [0, 4096]");
  // Before: 7 GB allocated, then a LibTorch error.
  expect_refused(config_with("num_hidden_layers", "1000000"), "\"num_hidden_layers\" is 1000000, expected an integer");
  expect_refused(config_with("num_attention_heads", "0"), "\"num_attention_heads\" is 0, expected an integer in [1,");
  expect_refused(config_with("intermediate_size", "-5"), "\"intermediate_size\" is -5, expected an integer in [1,");
  expect_refused(config_with("vocab_size", "0"), "\"vocab_size\" is 0, expected an integer in [1, 16777216]");
  expect_refused(config_with("vocab_size", "99999999999"), "\"vocab_size\" is 99999999999");
  expect_refused(config_with("max_position_embeddings", "-1"), "\"max_position_embeddings\" is -1, expected");
  expect_refused(config_with("type_vocab_size", "-2"), "\"type_vocab_size\" is -2, expected an integer in [0,");
  expect_refused(config_with("num_labels", "0"), "\"num_labels\" is 0, expected an integer in [1, 1000000]");
}

TEST(ConfigSanity, WrongTypes) {
  expect_refused(config_with("hidden_size", "\"big\""), "\"hidden_size\" is \"big\", expected an integer");
  expect_refused(config_with("hidden_size", "32.5"), "\"hidden_size\" is 32.5, expected an integer");
  expect_refused(config_with("hidden_size", "true"), "\"hidden_size\" is true, expected an integer");
  expect_refused(config_with("layer_norm_eps", "\"1e-12\""), "\"layer_norm_eps\" is \"1e-12\", expected a number");
  expect_refused(config_with("label2id", "[\"a\"]"), "\"label2id\" is a list, expected an object");
  expect_refused(config_with("architectures", "\"BertModel\""), "\"architectures\" is \"BertModel\", expected a list");
  expect_refused(config_with("model_type", "7"), "\"model_type\" is 7, expected a string");
}

TEST(ConfigSanity, EpsilonsAndDropouts) {
  // Was "internal error (please report it): [json.exception.out_of_range.406] ...".
  expect_refused(config_with("layer_norm_eps", "1e999"), "\"layer_norm_eps\": the number 1e999 is out of range");
  expect_refused(config_with("layer_norm_eps", "-1"), "\"layer_norm_eps\" is -1, expected a number in (0, 1]");
  expect_refused(config_with("layer_norm_eps", "0"), "\"layer_norm_eps\" is 0, expected a number in (0, 1]");
  expect_refused(config_with("hidden_dropout_prob", "2"), "\"hidden_dropout_prob\" is 2, expected a number in [0, 1]");
  expect_refused(config_with("initializer_range", "-0.5"), "\"initializer_range\" is -0.5, expected a number in [0,");
}

TEST(ConfigSanity, Dtype) {
  expect_refused(config_with("dtype", "\"float99\""), "\"dtype\" is \"float99\", expected a torch dtype name");
  expect_refused(config_with("torch_dtype", "\"float99\""), "\"torch_dtype\" is \"float99\", expected a torch dtype");
  expect_refused(config_with("dtype", "32"), "\"dtype\" is 32, expected a torch dtype name");
  TempDir tmp;
  int i = 0;
  for (const char* ok : {"\"bfloat16\"", "\"float16\"", "\"auto\"", "\"torch.float32\"", "null"}) {
    const std::string dir = tmp / std::to_string(i++);
    make_model(dir, config_with("torch_dtype", ok));
    EXPECT_NO_THROW(textune::core::read_model_config(dir)) << ok;
  }
}

TEST(ConfigSanity, Id2Label) {
  expect_refused(config_with("id2label", "[\"negative\", \"neutral\", \"positive\"]"),
                 "\"id2label\" is a list, expected an object of label ids to names");
  // Before: one class vanished from `scores`.
  expect_refused(config_with("id2label", R"({"0": "pos", "1": "neg", "2": "pos"})"),
                 "\"id2label\" names label \"pos\" twice (ids 0 and 2)");
  expect_refused(config_with("id2label", R"({"0": "a", "5": "b"})"), "\"id2label\" key \"5\" is not a label id");
  expect_refused(config_with("id2label", R"({"0": "a", "-1": "b"})"), "\"id2label\" key \"-1\" is not a label id");
  expect_refused(config_with("id2label", R"({"0": "a", "00": "b"})"), "\"id2label\" gives label id 0 twice");
  expect_refused(config_with("id2label", R"({"0": "a", "1": ["b"]})"), "\"id2label\" value of \"1\" is [\"b\"]");
}

TEST(ConfigSanity, PadTokenOutsideTheVocabulary) {
  expect_refused(config_with("pad_token_id", "5000"),
                 "\"pad_token_id\" is 5000, expected a token id in [0, 1000) (vocab_size 1000)",
                 /*also_read_model_config=*/false);
}

TEST(ConfigSanity, DeepNestingAndManyKeys) {
  expect_refused(config_with("task_specific_params", std::string(5000, '[') + std::string(5000, ']')),
                 "JSON nested deeper than 1000 levels");
  // 200,000 unknown keys: parsed in linear time, and the model loads.
  std::string text = config_with("hidden_size", "32");
  std::string extra;
  for (int i = 0; i < 200000; ++i) extra += "  \"unused_" + std::to_string(i) + "\": " + std::to_string(i) + ",\n";
  text.insert(2, extra);
  TempDir tmp;
  make_model(tmp / "m", text);
  const auto t0 = std::chrono::steady_clock::now();
  const size_t fixture_keys = nlohmann::json::parse(read_text(model_fixture("bert-seqcls") + "/config.json")).size();
  EXPECT_EQ(textune::core::read_model_config(tmp / "m").size(), 200000u + fixture_keys);
  EXPECT_NO_THROW(textune::models::load_pretrained(tmp / "m"));
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 10.0);
}

// bert-base-uncased: BertModel has 109,482,240 parameters, BertForSequenceClassification with two
// labels 109,483,778 (transformers' num_parameters()).
TEST(ConfigSanity, ParameterEstimateOfBertBase) {
  Json bert_base = {{"model_type", "bert"},           {"vocab_size", 30522},       {"hidden_size", 768},
                    {"num_hidden_layers", 12},        {"num_attention_heads", 12}, {"intermediate_size", 3072},
                    {"max_position_embeddings", 512}, {"type_vocab_size", 2},      {"num_labels", 2}};
  EXPECT_EQ(textune::core::estimate_num_parameters(bert_base), 109483778u);
}

TEST(ConfigSanity, RefusesAModelThatCannotFit) {
  // Every value within its range, 4096 layers of width 65536: about 211 trillion parameters.
  expect_refused(config_with_all({{"num_hidden_layers", "4096"},
                                  {"hidden_size", "65536"},
                                  {"intermediate_size", "262144"},
                                  {"num_attention_heads", "64"}}),
                 "trillion parameters", /*also_read_model_config=*/false);
}

// Under `ulimit -v`: bert-large (335 million parameters, 1.3 GB in float32) is refused when the
// address space has 512 MB left, before anything is allocated.
TEST(ConfigSanity, RefusesAModelAboveTheAddressSpaceLimit) {
  const Json bert_large = {{"model_type", "bert"},           {"vocab_size", 30522},       {"hidden_size", 1024},
                           {"num_hidden_layers", 24},        {"num_attention_heads", 16}, {"intermediate_size", 4096},
                           {"max_position_embeddings", 512}, {"type_vocab_size", 2}};
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string status = read_text("/proc/self/status");
    const auto at = status.find("VmSize:");
    const unsigned long long vm_kb = std::stoull(status.substr(at + 7));
    struct rlimit rl {};
    rl.rlim_cur = rl.rlim_max = (vm_kb + 512 * 1024) * 1024;
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
    try {
      textune::core::check_model_fits_in_memory(bert_large, "big/config.json");
      _exit(1);
    } catch (const DataError& e) {
      const std::string what = e.what();
      _exit(contains(what, "big/config.json: the model it describes has about 335.1 million parameters (1.2 GiB") &&
                    contains(what, "MiB of memory available")
                ? 0
                : 2);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1: not refused, 2: wrong message, 3: setrlimit failed";
}

TEST(ConfigSanity, SetConfigLabelsIsLinear) {
  std::vector<std::string> labels;
  for (int i = 0; i < 200000; ++i) labels.push_back("label_" + std::to_string(i));
  Json config = Json::object();
  const auto t0 = std::chrono::steady_clock::now();
  textune::models::set_config_labels(config, labels);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_EQ(config["id2label"].size(), 200000u);
  EXPECT_EQ(config["label2id"]["label_199999"], 199999);
  labels.push_back("label_7");
  EXPECT_THROW(textune::models::set_config_labels(config, labels), DataError);
}

// Every checkpoint of the fixtures (BERT, RoBERTa, DistilBERT, ELECTRA, DeBERTa-v3, ModernBERT,
// BART, Marian, T5) passes the checks, and fits.
TEST(ConfigSanity, EveryFixtureConfigPasses) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(textune::testing::fixtures_dir() + "/models")) {
    const std::string path = e.path().string() + "/config.json";
    if (!fs::exists(path)) continue;
    const Json config = textune::core::read_json_file(path);
    EXPECT_NO_THROW(textune::core::check_model_config(config, path)) << path;
    EXPECT_NO_THROW(textune::core::check_model_fits_in_memory(config, path)) << path;
    ++n;
  }
  EXPECT_GE(n, 10);
}
