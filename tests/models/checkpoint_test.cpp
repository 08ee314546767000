// Loading and saving checkpoints as transformers does: round trips, exact tensor names, tied
// weights, F16/BF16 files, base checkpoints with a new head (warned, initialised, trainable),
// the checkpoint layouts of other architectures, and the errors for bad checkpoints.
#include <filesystem>

#include "model_fixtures.h"
#include "textune/core/error.h"
#include "textune/models/model.h"
#include "textune/models/verify.h"

namespace {

using namespace textune;
using namespace textune::testing;
namespace fs = std::filesystem;

std::map<std::string, torch::Tensor> params_of(models::PreTrainedModel m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& p : m->named_parameters()) out[p.key()] = p.value().detach().clone();
  return out;
}

class RoundTrip : public ::testing::TestWithParam<std::string> {};

TEST_P(RoundTrip, LoadSaveLoadKeepsTensorsNamesAndConfig) {
  const std::string src = model_fixture(GetParam());
  TempDir tmp;
  auto first = models::load_pretrained(src);
  models::save_pretrained(first, tmp / "saved");
  // exactly the tensor names transformers wrote (tied weights left out the same way)
  EXPECT_EQ(tensor_names(tmp / "saved/model.safetensors"), tensor_names(src + "/model.safetensors"));
  // save_pretrained's layout: the file is byte for byte the fixture's
  EXPECT_TRUE(read_text(tmp / "saved/model.safetensors") == read_text(src + "/model.safetensors"));
  // config.json: same keys and values (transformers writes it sorted, as we do)
  EXPECT_EQ(nlohmann::json::parse(read_text(tmp / "saved/config.json")),
            nlohmann::json::parse(read_text(src + "/config.json")));
  EXPECT_EQ(read_text(tmp / "saved/config.json"), read_text(src + "/config.json"));
  auto second = models::load_pretrained(tmp / "saved");
  const auto a = params_of(first), b = params_of(second);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    ASSERT_TRUE(b.count(name)) << name;
    EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  }
  EXPECT_EQ(second->architecture(), first->architecture());
}

INSTANTIATE_TEST_SUITE_P(Encoders, RoundTrip, ::testing::ValuesIn(encoder_fixtures()), [](const auto& info) {
  std::string n = info.param;
  std::replace(n.begin(), n.end(), '-', '_');
  return n;
});

TEST(Checkpoint, MaskedLMDecoderIsTheWordEmbeddingMatrix) {
  // bert-mlm's file holds no cls.predictions.decoder.* (tied, left out by save_pretrained).
  auto model = models::load_pretrained(model_fixture("bert-mlm"));
  const auto tied = model->tied_weights();
  EXPECT_EQ(tied.at("cls.predictions.decoder.weight"), "bert.embeddings.word_embeddings.weight");
  EXPECT_EQ(tied.at("cls.predictions.decoder.bias"), "cls.predictions.bias");
  auto params = model->named_parameters();
  EXPECT_FALSE(params.contains("cls.predictions.decoder.weight"));
  // Changing the embedding changes the logits of the decoder: they share storage.
  const auto in = models::read_golden_inputs(model_fixture("bert-mlm") + "/golden.safetensors");
  torch::NoGradGuard g;
  auto before = model->forward(in).logits.clone();
  params["bert.embeddings.word_embeddings.weight"][7][0].add_(10.0);
  auto after = model->forward(in).logits;
  EXPECT_GT((after.select(2, 7) - before.select(2, 7)).abs().max().item<double>(), 0.1);
}

TEST(Checkpoint, HalfAndBFloat16FilesLoadAsTheirValues) {
  for (auto dtype : {torch::kFloat16, torch::kBFloat16}) {
    TempDir tmp;
    write_variant("bert-seqcls", tmp / "m", [dtype](Tensors& t) {
      for (auto& [n, v] : t) v = v.to(dtype);
    });
    auto model = models::load_pretrained(tmp / "m");
    const auto ref = read_tensors(model_fixture("bert-seqcls") + "/model.safetensors");
    auto params = model->named_parameters();
    for (const auto& [name, v] : ref) {
      // the float32 parameter holds exactly the half-precision value of the fixture
      EXPECT_TRUE(torch::equal(params[name], v.to(dtype).to(torch::kFloat32))) << name;
    }
    // saved back in the dtype asked for at load time
    models::LoadOptions o;
    o.dtype = dtype;
    auto half = models::load_pretrained(tmp / "m", o);
    models::save_pretrained(half, tmp / "out");
    const auto cfg = core::read_json_file(tmp / "out/config.json");
    EXPECT_EQ(cfg["dtype"], dtype == torch::kFloat16 ? "float16" : "bfloat16");
    EXPECT_EQ(core::SafetensorsFile::open(tmp / "out/model.safetensors").info("classifier.weight").dtype,
              dtype == torch::kFloat16 ? "F16" : "BF16");
  }
}

TEST(Checkpoint, SaveIsAtomicAndReplacesAnOldDirectory) {
  TempDir tmp;
  fs::create_directories(tmp / "out");
  write_text(tmp / "out/stale.txt", "old");
  models::save_pretrained(models::load_pretrained(model_fixture("bert-qa")), tmp / "out");
  EXPECT_FALSE(fs::exists(tmp / "out/stale.txt"));
  EXPECT_TRUE(fs::exists(tmp / "out/model.safetensors"));
  for (const auto& e : fs::directory_iterator(tmp.path())) EXPECT_EQ(e.path().filename(), "out");
}

TEST(Checkpoint, UnknownConfigKeysArePreservedAndLabelsWritten) {
  TempDir tmp;
  write_variant("bert-tokcls", tmp / "m", nullptr, [](core::Json& c) { c["my_project_key"] = {{"a", 1}}; });
  models::LoadOptions o;
  o.labels = std::vector<std::string>{"O", "B-PER", "I-PER", "B-LOC", "I-LOC"};
  models::save_pretrained(models::load_pretrained(tmp / "m", o), tmp / "out");
  const auto cfg = core::read_json_file(tmp / "out/config.json");
  EXPECT_EQ(cfg["my_project_key"]["a"], 1);
  EXPECT_EQ(cfg["id2label"]["1"], "B-PER");
  EXPECT_EQ(cfg["label2id"]["I-LOC"], 4);
  EXPECT_EQ(cfg["architectures"][0], "BertForTokenClassification");
}

// ---- a base checkpoint gets a new head ----

struct HeadCase {
  std::string fixture;
  std::vector<std::string> head_prefixes;  // dropped from the file
  std::vector<std::string> expected_new;   // what transformers reports as newly initialized
};

void PrintTo(const HeadCase& c, std::ostream* os) { *os << c.fixture; }

class NewHead : public ::testing::TestWithParam<HeadCase> {};

TEST_P(NewHead, IsWarnedInitialisedAndTrains) {
  const HeadCase& c = GetParam();
  TempDir tmp;
  write_variant(c.fixture, tmp / "base", drop(c.head_prefixes), [](core::Json& cfg) {
    cfg.erase("id2label");
    cfg.erase("label2id");
    cfg["architectures"] = core::Json::array();
  });
  models::LoadOptions o;
  o.task = models::TaskKind::kSequenceClassification;
  o.labels = std::vector<std::string>{"negative", "neutral", "positive"};
  models::LoadReport report;
  LogCapture log;
  auto model = models::load_pretrained(tmp / "base", o, &report);
  const std::string text = log.text();
  // the warning names every new tensor
  EXPECT_NE(text.find("newly initialized"), std::string::npos) << text;
  for (const auto& name : c.expected_new) EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  auto missing = report.missing_keys;
  std::sort(missing.begin(), missing.end());
  EXPECT_EQ(missing, c.expected_new);

  // initialised as _init_weights does: biases zero, weights normal(0, 0.02)
  auto params = model->named_parameters();
  for (const auto& name : c.expected_new) {
    const auto t = params[name];
    if (name.size() > 5 && name.substr(name.size() - 5) == ".bias") {
      EXPECT_EQ(t.abs().max().item<double>(), 0.0) << name;
    } else {
      EXPECT_GT(t.abs().max().item<double>(), 0.0) << name;
      EXPECT_LT(t.abs().max().item<double>(), 0.02 * 6) << name;  // beyond 6 sigma: not N(0, 0.02)
    }
  }
  // the base weights are the checkpoint's
  const auto fixture = read_tensors(model_fixture(c.fixture) + "/model.safetensors");
  for (const auto& [name, v] : fixture)
    if (params.contains(name) && std::find(c.expected_new.begin(), c.expected_new.end(), name) == c.expected_new.end())
      EXPECT_TRUE(torch::equal(params[name], v)) << name;

  // it trains: SGD on the golden batch lowers the loss, and the encoder moves too
  const auto batch = models::read_golden_inputs(model_fixture(c.fixture) + "/golden.safetensors");
  model->train();
  // The tiny random model predicts nearly uniformly (loss ~ ln 3) with a gradient norm about 1e-2
  // (golden.json's grad_norm_per_step): with lr 2 SGD lowers the loss by ~1e-5 a step; at lr 5
  // and above the step overshoots.
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(2.0));
  const std::string encoder_weight = model->base_model_prefix() + ".embeddings.word_embeddings.weight";
  const auto before = params[encoder_weight].detach().clone();
  std::vector<double> losses;
  for (int step = 0; step < 12; ++step) {
    sgd.zero_grad();
    auto loss = model->forward(batch).loss;
    losses.push_back(loss.item<double>());
    loss.backward();
    sgd.step();
  }
  for (size_t i = 1; i < losses.size(); ++i) EXPECT_LE(losses[i], losses[i - 1] + 1e-7) << i;
  EXPECT_LT(losses.back(), losses.front() - 3e-5) << ::testing::PrintToString(losses);
  EXPECT_FALSE(torch::equal(before, params[encoder_weight]));
}

INSTANTIATE_TEST_SUITE_P(
    Families, NewHead,
    ::testing::Values(HeadCase{"bert-seqcls", {"classifier."}, {"classifier.bias", "classifier.weight"}},
                      HeadCase{"roberta-seqcls",
                               {"classifier."},
                               {"classifier.dense.bias", "classifier.dense.weight", "classifier.out_proj.bias",
                                "classifier.out_proj.weight"}},
                      HeadCase{"distilbert-seqcls",
                               {"classifier.", "pre_classifier."},
                               {"classifier.bias", "classifier.weight", "pre_classifier.bias",
                                "pre_classifier.weight"}},
                      HeadCase{"electra-seqcls",
                               {"classifier."},
                               {"classifier.dense.bias", "classifier.dense.weight", "classifier.out_proj.bias",
                                "classifier.out_proj.weight"}}),
    [](const auto& info) {
      std::string n = info.param.fixture;
      std::replace(n.begin(), n.end(), '-', '_');
      return n;
    });

TEST(Checkpoint, BaseModelFileWithoutPrefixLoadsUnderTheHead) {
  // A checkpoint saved by BertModel names its tensors without "bert." (transformers adds the
  // base_model_prefix when loading it into a model with a head).
  TempDir tmp;
  write_variant(
      "bert-seqcls", tmp / "base",
      [](Tensors& t) {
        drop({"classifier."})(t);
        for (auto& [n, v] : t) n = n.substr(5);  // "bert."
      },
      [](core::Json& c) { c["architectures"] = core::Json::array({"BertModel"}); });
  models::LoadOptions o;
  o.architecture = "BertForSequenceClassification";
  models::LoadReport report;
  auto model = models::load_pretrained(tmp / "base", o, &report);
  EXPECT_EQ(report.missing_keys, (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
  EXPECT_TRUE(report.unexpected_keys.empty());
  EXPECT_TRUE(torch::equal(model->named_parameters()["bert.pooler.dense.weight"],
                           core::SafetensorsFile::open(model_fixture("bert-seqcls") + "/model.safetensors")
                               .get("bert.pooler.dense.weight")));
  // and the reverse: a model with a head loaded as the base model drops the head
  models::LoadReport r2;
  models::LoadOptions as_base;
  as_base.architecture = "BertModel";
  auto base = models::load_pretrained(model_fixture("bert-seqcls"), as_base, &r2);
  EXPECT_EQ(base->architecture(), "BertModel");
  EXPECT_EQ(r2.unexpected_keys, (std::vector<std::string>{"classifier.bias", "classifier.weight"}));
  EXPECT_TRUE(base->named_parameters().contains("embeddings.word_embeddings.weight"));
}

TEST(Checkpoint, LegacyGammaBetaLayerNormNamesLoad) {
  // TF-era checkpoints (the original bert-base-uncased among them) name LayerNorm parameters
  // gamma/beta; transformers renames them to weight/bias.
  TempDir tmp;
  write_variant("bert-seqcls", tmp / "m", [](Tensors& t) {
    for (auto& [n, v] : t) {
      if (n.find("LayerNorm.weight") != std::string::npos) n = n.substr(0, n.size() - 6) + "gamma";
      if (n.find("LayerNorm.bias") != std::string::npos) n = n.substr(0, n.size() - 4) + "beta";
    }
  });
  ASSERT_TRUE(core::SafetensorsFile::open(tmp / "m/model.safetensors").contains("bert.embeddings.LayerNorm.gamma"));
  auto model = models::load_pretrained(tmp / "m");
  const auto r = models::verify_model(model, model_fixture("bert-seqcls") + "/golden.safetensors");
  EXPECT_TRUE(r.pass) << r.to_json().dump(2);
}

TEST(Checkpoint, MismatchedHeadIsReinitialisedOnlyWhenAsked) {
  models::LoadOptions o;
  o.labels = std::vector<std::string>{"a", "b", "c", "d", "e"};
  const std::string err = error_of([&] { models::load_pretrained(model_fixture("bert-seqcls"), o); });
  EXPECT_NE(err.find("\"classifier.weight\" has shape [3, 32]"), std::string::npos) << err;
  EXPECT_NE(err.find("expects [5, 32]"), std::string::npos) << err;
  o.ignore_mismatched_sizes = true;
  models::LoadReport report;
  auto model = models::load_pretrained(model_fixture("bert-seqcls"), o, &report);
  EXPECT_EQ(report.mismatched_keys, (std::vector<std::string>{"classifier.bias", "classifier.weight"}));  // sorted
  EXPECT_EQ(model->num_labels(), 5);
  const auto in = models::read_golden_inputs(model_fixture("bert-seqcls") + "/golden.safetensors");
  torch::NoGradGuard g;
  EXPECT_EQ(model->forward(in).logits.sizes(), (std::vector<int64_t>{3, 5}));
}

// ---- errors name what is wrong ----

TEST(CheckpointErrors, WrongShapeNamesTheTensorAndBothShapes) {
  TempDir tmp;
  write_variant("bert-seqcls", tmp / "m", [](Tensors& t) {
    for (auto& [n, v] : t)
      if (n == "bert.encoder.layer.0.intermediate.dense.weight") v = torch::zeros({65, 32});
  });
  models::LoadOptions o;
  o.ignore_mismatched_sizes = true;  // never applies to the base model
  const std::string err = error_of([&] { models::load_pretrained(tmp / "m", o); });
  EXPECT_NE(err.find("\"bert.encoder.layer.0.intermediate.dense.weight\" has shape [65, 32]"), std::string::npos)
      << err;
  EXPECT_NE(err.find("expects [64, 32]"), std::string::npos) << err;
  EXPECT_THROW(models::load_pretrained(tmp / "m", o), DataError);
}

TEST(CheckpointErrors, UnknownModelTypeIsNamed) {
  TempDir tmp;
  write_variant("bert-seqcls", tmp / "m", nullptr, [](core::Json& c) { c["model_type"] = "gpt_neox"; });
  const std::string err = error_of([&] { models::load_pretrained(tmp / "m"); });
  EXPECT_NE(err.find("unknown model_type \"gpt_neox\""), std::string::npos) << err;
  EXPECT_NE(err.find("bert, deberta-v2, distilbert, electra, modernbert, roberta"), std::string::npos) << err;
  EXPECT_THROW(models::load_pretrained(tmp / "m"), DataError);
}

TEST(CheckpointErrors, MissingRequiredTensorIsNamed) {
  TempDir tmp;
  write_variant("roberta-qa", tmp / "m", drop({"roberta.encoder.layer.1.output.dense.weight"}));
  const std::string err = error_of([&] { models::load_pretrained(tmp / "m"); });
  EXPECT_NE(err.find("lacks tensor \"roberta.encoder.layer.1.output.dense.weight\""), std::string::npos) << err;
  EXPECT_NE(err.find("RobertaForQuestionAnswering"), std::string::npos) << err;
  EXPECT_THROW(models::load_pretrained(tmp / "m"), DataError);
}

TEST(CheckpointErrors, ConfigProblemsAreNamed) {
  TempDir tmp;
  write_variant("bert-seqcls", tmp / "act", nullptr, [](core::Json& c) { c["hidden_act"] = "gelu_accurate"; });
  EXPECT_NE(error_of([&] { models::load_pretrained(tmp / "act"); }).find("unsupported activation \"gelu_accurate\""),
            std::string::npos);
  write_variant("bert-seqcls", tmp / "notype", nullptr, [](core::Json& c) { c.erase("model_type"); });
  EXPECT_NE(error_of([&] { models::load_pretrained(tmp / "notype"); }).find("missing \"model_type\""),
            std::string::npos);
  write_variant("bert-seqcls", tmp / "heads", nullptr, [](core::Json& c) { c["num_attention_heads"] = 5; });
  EXPECT_NE(error_of([&] { models::load_pretrained(tmp / "heads"); })
                .find("hidden_size (32) must be a positive multiple of num_attention_heads (5)"),
            std::string::npos);
  write_variant("bert-seqcls", tmp / "wrongtype", nullptr, [](core::Json& c) { c["hidden_size"] = "32"; });
  EXPECT_NE(error_of([&] { models::load_pretrained(tmp / "wrongtype"); })
                .find("\"hidden_size\" is \"32\", expected an integer in [1, 131072]"),
            std::string::npos);
  models::LoadOptions o;
  o.architecture = "RobertaForSequenceClassification";
  EXPECT_NE(error_of([&] { models::load_pretrained(model_fixture("bert-seqcls"), o); })
                .find("is a \"roberta\" model, but"),
            std::string::npos);
  EXPECT_THROW(models::load_pretrained(tmp / "act"), DataError);
}

}  // namespace
