// The tasks layer: the registry (names, aliases, the unknown-name message, run-time registration,
// the task of a model directory), the one maximum-length rule, and text classification on the task
// interface. References: the data layer's own functions (encode_dataset, collate), eval's
// evaluation_report, and the definitions of softmax, sigmoid and weighted cross-entropy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "models/losses.h"
#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/data/batching.h"
#include "textune/eval/evaluate.h"
#include "textune/tasks/registry.h"
#include "textune/tasks/text_classification.h"
#include "train/tiny_setup.h"

namespace fs = std::filesystem;
using namespace textune;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

tasks::TextClassificationTask& as_tc(tasks::Task& t) {
  return dynamic_cast<tasks::TextClassificationTask&>(t);
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

// A tiny BERT and tokenizer (max_position_embeddings 64, tokenizer model_max_length 64) and data.
struct Tiny {
  TempDir tmp;
  std::string model_dir, train_file;
  Tiny() {
    model_dir = tmp / "bert";
    textune::testing::write_tiny_bert(model_dir, 0.0);
    train_file = tmp / "train.tsv";
    write_text(train_file, textune::testing::tiny_tsv(12));
  }
};

Tiny& tiny() {
  static Tiny t;
  return t;
}

/// Logits given as the model would give a batch of `rows`.
models::ModelOutputs outputs_of(const torch::Tensor& logits, const std::vector<size_t>& rows) {
  models::ModelOutputs o;
  o.logits = logits.index_select(0, torch::tensor(std::vector<int64_t>(rows.begin(), rows.end()), torch::kInt64));
  return o;
}

/// Feeds `sink` every example in batches of 3, in a shuffled order (as length-sorted batches come).
void feed_shuffled(tasks::OutputSink& sink, const torch::Tensor& logits, size_t n) {
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937(7));
  for (size_t s = 0; s < n; s += 3) {
    tasks::Batch b;
    b.features.assign(order.begin() + s, order.begin() + std::min(n, s + 3));
    sink.add(b, outputs_of(logits, b.features));
  }
}

}  // namespace

TEST(TaskRegistry, AliasesAreTheSpellingsOfParseTask) {
  const std::vector<std::pair<std::string, core::ProblemType>> cases = {
      {"text-classification", core::ProblemType::kSingleLabel},
      {"classification", core::ProblemType::kSingleLabel},
      {"single_label_classification", core::ProblemType::kSingleLabel},
      {"single-label", core::ProblemType::kSingleLabel},
      {"multi-label", core::ProblemType::kMultiLabel},
      {"multi_label", core::ProblemType::kMultiLabel},
      {"multilabel", core::ProblemType::kMultiLabel},
      {"multi_label_classification", core::ProblemType::kMultiLabel},
      {"regression", core::ProblemType::kRegression}};
  for (const auto& [name, type] : cases) {
    auto t = tasks::create_task(name);
    EXPECT_EQ(t->name(), "text-classification") << name;
    EXPECT_EQ(t->model_kind(), models::TaskKind::kSequenceClassification);
    EXPECT_EQ(as_tc(*t).problem_type(), data::parse_task(name == "text-classification" ? "classification" : name))
        << name;
  }
}

TEST(TaskRegistry, UnknownNamesListTheTasksAndDuplicatesAreRefused) {
  const std::string err = error_of([] { tasks::create_task("sentiment"); });
  EXPECT_TRUE(contains(err, "unknown task \"sentiment\"")) << err;
  EXPECT_TRUE(contains(err, "text-classification")) << err;
  // the spellings --task accepts are listed too (data::parse_task's names before the tasks layer)
  EXPECT_TRUE(contains(err, "text-classification is also classification, single_label_classification")) << err;
  EXPECT_TRUE(contains(err, "multi-label")) << err;
  EXPECT_TRUE(contains(err, "regression")) << err;
  EXPECT_THROW(tasks::create_task("sentiment"), UsageError);
  auto factory = [](const std::string&) { return std::make_unique<tasks::TextClassificationTask>(); };
  EXPECT_THROW(tasks::register_task("text-classification", {}, models::TaskKind::kSequenceClassification, factory),
               UsageError);
  EXPECT_THROW(tasks::register_task("x-test-task", {"regression"}, models::TaskKind::kSequenceClassification, factory),
               UsageError);
  // a task registered at run time is created by its name and aliases, and listed
  tasks::register_task("x-runtime-task", {"x-runtime-alias"}, models::TaskKind::kSequenceClassification, factory);
  EXPECT_EQ(tasks::create_task("x-runtime-alias")->name(), "text-classification");
  const auto names = tasks::task_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_NE(std::find(names.begin(), names.end(), "x-runtime-task"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "x-runtime-alias"), names.end());  // aliases are not names
}

TEST(TaskRegistry, TaskOfAModelDirectory) {
  TempDir tmp;
  const std::string dir = tmp / "m";
  fs::create_directories(dir);
  // no textune_task.json: the built-in task of the head (a test task of the same head registered later
  // does not take its place)
  auto t = tasks::task_for_model(dir, models::TaskKind::kSequenceClassification);
  EXPECT_EQ(t->name(), "text-classification");
  EXPECT_EQ(tasks::task_for_model(dir, models::TaskKind::kQuestionAnswering)->name(), "question-answering");
  // a head no task trains yet (masked LM, until the pretraining issue) is a data error naming the directory
  const std::string err = error_of([&] { tasks::task_for_model(dir, models::TaskKind::kMaskedLM); });
  EXPECT_TRUE(contains(err, dir)) << err;
  EXPECT_TRUE(contains(err, "masked-LM")) << err;
  // save_task writes the file that names it; a file naming an unknown task is a data error naming the file
  tasks::save_task(*t, dir);
  EXPECT_EQ(core::read_json_file(dir + "/textune_task.json")["task"], "text-classification");
  write_text(dir + "/textune_task.json", R"({"task": "nope", "options": {}})");
  const std::string bad = error_of([&] { tasks::task_for_model(dir, models::TaskKind::kSequenceClassification); });
  EXPECT_TRUE(contains(bad, dir + "/textune_task.json: unknown task \"nope\"")) << bad;
  EXPECT_THROW(tasks::task_for_model(dir, models::TaskKind::kSequenceClassification), DataError);
}

TEST(ResolveMaxLength, TheModelsPositionsCappedByTheTokenizer) {
  auto model = models::load_pretrained(tiny().model_dir);
  auto tok = tokenizers::Tokenizer::from_dir(tiny().model_dir);
  // BERT: max_position_embeddings (64); the tokenizer's model_max_length is 64 too
  EXPECT_EQ(tasks::resolve_max_length(model, *tok, std::nullopt), 64u);
  EXPECT_EQ(tasks::resolve_max_length(model, *tok, 20), 20u);
  const std::string err = error_of([&] { tasks::resolve_max_length(model, *tok, 65); });
  EXPECT_EQ(err, "--max_length 65 is longer than the model allows (64)");
  // RoBERTa's positions start after padding_idx: max_position_embeddings - pad_token_id - 1 = 40 - 1 - 1
  auto roberta = models::load_pretrained(textune::testing::model_fixture("roberta-seqcls"));
  EXPECT_EQ(tasks::resolve_max_length(roberta, *tok, std::nullopt), 38u);
  EXPECT_THROW(tasks::resolve_max_length(roberta, *tok, 39), UsageError);
  // ModernBERT (rotary positions) has no limit: the tokenizer's 64; a longer request is allowed
  auto modern = models::load_pretrained(textune::testing::model_fixture("modernbert-seqcls"));
  EXPECT_EQ(tasks::resolve_max_length(modern, *tok, std::nullopt), 64u);
  EXPECT_EQ(tasks::resolve_max_length(modern, *tok, 100), 100u);
  // a tokenizer with a smaller model_max_length caps the default, not a request
  TempDir tmp;
  write_text(tmp / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\ngood\n");
  tokenizers::write_bert_tokenizer(tmp / "vocab.txt", tmp.path(), true, 16);
  auto small = tokenizers::Tokenizer::from_dir(tmp.path());
  EXPECT_EQ(tasks::resolve_max_length(model, *small, std::nullopt), 16u);
  EXPECT_EQ(tasks::resolve_max_length(model, *small, 32), 32u);
}

TEST(TextClassificationTask, FeaturesAndBatchesAreTheDataLayers) {
  auto task = tasks::create_task("classification");
  auto examples = task->read(tiny().train_file, true);
  ASSERT_EQ(examples->size(), 12u);
  auto tok = tokenizers::Tokenizer::from_dir(tiny().model_dir);
  tasks::FeatureOptions fo;
  fo.max_length = 6;
  const tasks::Features f = task->featurize(*examples, *tok, fo);
  const data::Dataset& ds = tasks::classification_dataset(*examples);
  size_t truncated = 0;
  const auto enc = data::encode_dataset(*tok, ds, 6, &truncated);
  ASSERT_EQ(f.size(), enc.size());
  EXPECT_EQ(f.num_truncated, truncated);
  EXPECT_GT(truncated, 0u);
  size_t flagged = 0;
  for (size_t i = 0; i < enc.size(); ++i) {
    EXPECT_EQ(f.encodings[i].ids, enc[i].ids);
    EXPECT_EQ(f.example_index[i], i);
    // cut exactly when the untruncated encoding is longer than 6
    const size_t full = data::encode_dataset(*tok, ds, std::nullopt)[i].size();
    EXPECT_EQ(f.truncated[i] != 0, full > 6) << i;
    flagged += f.truncated[i];
  }
  EXPECT_EQ(flagged, truncated);
  data::CollateOptions co;
  co.pad_token_id = 0;
  co.padding_side = tokenizers::Side::kLeft;
  torch::Generator gen = at::detail::createCPUGenerator(1);
  const std::vector<size_t> rows = {5, 0, 11};
  const tasks::Batch b = task->collate(*examples, f, rows, co, gen);
  const data::Batch ref = data::collate(enc, rows, &ds, co);
  EXPECT_TRUE(torch::equal(b.inputs.input_ids, ref.input_ids));
  EXPECT_TRUE(torch::equal(b.inputs.attention_mask, ref.attention_mask));
  EXPECT_TRUE(torch::equal(b.inputs.token_type_ids, ref.token_type_ids));
  EXPECT_TRUE(torch::equal(b.inputs.labels, ref.labels));
  EXPECT_EQ(b.features, rows);
  // unlabelled examples (prediction) give no labels
  auto unlabelled = task->read(tiny().train_file, false);
  EXPECT_FALSE(unlabelled->has_labels());
  EXPECT_FALSE(task->collate(*unlabelled, f, rows, co, gen).inputs.labels.defined());
}

TEST(TextClassificationTask, TheEvaluatorOverShuffledBatchesIsTheReportOfAllLogits) {
  for (const char* name : {"classification", "multi-label", "regression"}) {
    auto task = tasks::create_task(name);
    TempDir tmp;
    std::string file = tmp / "d.tsv";
    const std::string p(name);
    if (p == "classification") write_text(file, "text\tlabel\na\tx\nb\ty\nc\tz\nd\tx\ne\ty\nf\tz\ng\tx\n");
    if (p == "multi-label") write_text(file, "text\tlabel\na\tx|y\nb\ty\nc\tz\nd\tx\ne\ty|z\nf\tz\ng\tx\n");
    if (p == "regression") write_text(file, "text\tlabel\na\t0.5\nb\t1\nc\t2.5\nd\t3\ne\t0\nf\t4\ng\t1.5\n");
    data::DataOptions o;
    if (p == "multi-label") o.label_separator = "|";
    o.task = data::parse_task(name);
    task->configure_data(o);
    auto ex = task->read(file, true);
    tasks::Features features;
    for (size_t i = 0; i < ex->size(); ++i) features.example_index.push_back(i);
    features.truncated.assign(ex->size(), 0);
    const int64_t c = p == "regression" ? 1 : 3;
    const torch::Tensor logits =
        torch::randn({static_cast<int64_t>(ex->size()), c}, torch::TensorOptions().dtype(torch::kFloat32));
    auto ev = task->evaluator(*ex, features);
    feed_shuffled(*ev, logits, ex->size());
    const auto& logits_seen = dynamic_cast<tasks::ClassificationEvaluator&>(*ev).logits();
    EXPECT_TRUE(torch::equal(logits_seen, logits)) << name;
    const tasks::EvalReport r = ev->finish();
    const auto& ds = tasks::classification_dataset(*ex);
    const core::Json ref = eval::evaluation_report(logits, ds);
    EXPECT_EQ(r.report, ref) << name;
    EXPECT_EQ(r.scalars, eval::scalar_metrics(ref)) << name;
    // metric_names() are the report's scalar keys (random logits: every one is finite)
    std::vector<std::string> keys;
    for (auto it = r.scalars.begin(); it != r.scalars.end(); ++it) keys.push_back(it.key());
    auto names = task->metric_names();
    std::sort(keys.begin(), keys.end());
    std::sort(names.begin(), names.end());
    EXPECT_EQ(names, keys) << name;
    EXPECT_TRUE(r.scalars.contains(task->main_metric())) << name;
  }
}

TEST(TextClassificationTask, PredictionsAreSoftmaxOrSigmoidAndTheAnswerIsSortedByScore) {
  for (const char* fixture : {"bert-seqcls", "bert-multilabel"}) {
    auto m = models::load_pretrained(textune::testing::model_fixture(fixture));
    auto task = tasks::create_task("text-classification");
    task->bind_model(m);
    const bool multi = m->problem_type() == core::ProblemType::kMultiLabel;
    auto ex = task->from_inputs({core::Json("one"), core::Json("two"), core::Json("three"), core::Json("four")});
    tasks::Features features;
    features.example_index = {0, 1, 2, 3};
    features.truncated = {0, 1, 0, 0};
    const int64_t c = m->num_labels();
    torch::Tensor logits = torch::randn({4, c});
    auto pred = task->predictor(*ex, features);
    feed_shuffled(*pred, logits, 4);
    const auto records = pred->finish();
    ASSERT_EQ(records.size(), 4u);
    const auto labels = m->id2label();
    for (int64_t i = 0; i < 4; ++i) {
      const auto& r = records[static_cast<size_t>(i)];
      auto z = logits[i].to(torch::kFloat64);
      auto p = multi ? 1 / (1 + torch::exp(-z)) : torch::exp(z) / torch::exp(z).sum();
      const int64_t best = p.argmax().item<int64_t>();
      EXPECT_EQ(r["label"], labels[static_cast<size_t>(best)]);
      EXPECT_NEAR(r["score"].get<double>(), p[best].item<double>(), 1e-6);
      for (int64_t k = 0; k < c; ++k) {
        const double score_k = r.at("scores").at(labels[static_cast<size_t>(k)]).get<double>();
        EXPECT_NEAR(score_k, p[k].item<double>(), 1e-6);
        EXPECT_EQ(r["logits"][static_cast<size_t>(k)].get<float>(), logits[i][k].item<float>());
      }
      EXPECT_EQ(r.contains("truncated"), i == 1);
      if (multi) {
        std::vector<std::string> above;
        for (int64_t k = 0; k < c; ++k)
          if (p[k].item<double>() >= 0.5) above.push_back(labels[static_cast<size_t>(k)]);
        EXPECT_EQ(r["labels"].get<std::vector<std::string>>(), above);
      } else {
        EXPECT_FALSE(r.contains("labels"));
      }
      // TEI's answer: every label, highest score first
      const core::Json a = task->response(r, {});
      ASSERT_EQ(a.size(), static_cast<size_t>(c));
      for (size_t k = 1; k < a.size(); ++k) EXPECT_GE(a[k - 1]["score"].get<double>(), a[k]["score"].get<double>());
      EXPECT_EQ(a[0]["label"], r["label"]);
      const core::Json raw = task->response(r, {true});
      EXPECT_EQ(raw[0]["score"].get<double>(), logits[i].max().item<float>());
      // the prediction line: the input, then the record without its logits
      const core::Json line = task->prediction_json(*ex, static_cast<size_t>(i), r);
      EXPECT_EQ(line.begin().key(), "text");
      EXPECT_FALSE(line.contains("logits"));
      EXPECT_EQ(line["label"], r["label"]);
    }
    core::Json nan = records[0];
    nan["scores"][labels[0]] = std::nan("");
    const std::string err = error_of([&] { task->response(nan, {}); });
    EXPECT_EQ(err, "score is NaN");
    core::Json short_logits = records[0];
    short_logits["logits"] = core::Json::array({1.0});
    EXPECT_THROW(task->response(short_logits, {true}), tasks::ResponseError);
    EXPECT_EQ(task->info()["labels"].get<std::vector<std::string>>(), labels);
  }
}

TEST(TextClassificationTask, InputsAreCheckedAsPredictChecksThem) {
  auto task = tasks::create_task("text-classification");
  // Empty and whitespace-only texts are taken as given, as the Pipeline and serve always took them
  // (transformers' pipeline too); `textune predict` refuses them before the model loads.
  auto blank = task->from_inputs({core::Json("ok"), core::Json("  "), core::Json("")});
  ASSERT_EQ(blank->size(), 3u);
  EXPECT_EQ(blank->example_json(1), core::Json({{"text", "  "}}));
  EXPECT_EQ(blank->example_json(2), core::Json({{"text", ""}}));
  EXPECT_THROW(task->from_inputs({core::Json(3)}), DataError);
  EXPECT_THROW(task->from_inputs({core::Json({{"text", "a"}, {"label", "x"}})}), DataError);
  auto pairs = task->from_inputs({core::Json({{"text", "a"}, {"text_pair", "b"}})});
  EXPECT_EQ(pairs->example_json(0), core::Json({{"text", "a"}, {"text_pair", "b"}}));
  EXPECT_FALSE(pairs->has_labels());
}

TEST(TextClassificationTask, TrainingStateAndLossRoundTrip) {
  TempDir tmp;
  // two text columns: without --text-column (given, or from textune_data.json) the file is ambiguous
  std::string tsv = "a_text\tother\tlabel\n";
  for (int i = 0; i < 8; ++i)
    tsv += std::string(i % 2 ? "good film" : "bad plot") + "\tthe movie\t" + (i % 2 ? "pos" : "neg") + "\n";
  const std::string file = tmp / "two.tsv";
  write_text(file, tsv);
  EXPECT_THROW(tasks::create_task("classification")->read(file, true), DataError);
  auto task = tasks::create_task("classification");
  data::DataOptions o;
  o.text_column = "a_text";
  task->configure_data(o);
  auto train = task->read(file, true);
  tasks::ModelSetup setup;
  setup.model_dir = tiny().model_dir;
  auto model = task->prepare_model(setup, *train, nullptr);
  EXPECT_EQ(model->id2label(), (std::vector<std::string>{"neg", "pos"}));
  // the loss: the model's own without options; with class weights, the weighted cross-entropy
  auto tok = tokenizers::Tokenizer::from_dir(tiny().model_dir);
  const auto f = task->featurize(*train, *tok, {});
  torch::Generator gen = at::detail::createCPUGenerator(1);
  const auto batch = task->collate(*train, f, {0, 1, 2, 3}, {}, gen);
  const auto out = model->forward(batch.inputs);
  EXPECT_TRUE(task->loss(batch, out).is_same(out.loss));
  task->prepare_loss(*train, {"auto", 0.0}, torch::kCPU);
  const auto w = tasks::class_weights_for("auto", tasks::classification_dataset(*train));
  models::LossOptions lo;
  lo.class_weights = w;
  EXPECT_TRUE(torch::equal(
      task->loss(batch, out),
      models::sequence_classification_loss(out.logits, batch.inputs.labels, core::ProblemType::kSingleLabel, lo)));
  // textune_data.json: the options given and the columns used; read back as defaults
  const std::string outdir = tmp / "out";
  fs::create_directories(outdir);
  tasks::save_task(*task, outdir);
  const core::Json saved = core::read_json_file(outdir + "/textune_data.json");
  EXPECT_EQ(saved["text_column"], "a_text");
  EXPECT_EQ(saved["task"], "single_label_classification");
  EXPECT_EQ(saved["columns_used"]["label"], "label");
  EXPECT_FALSE(saved.contains("label_column"));  // not given: stays a default
  models::save_pretrained_into(model, outdir);
  auto again = tasks::task_for_model(outdir, models::TaskKind::kSequenceClassification);
  again->bind_model(model);
  auto ex = again->read(file, true);
  EXPECT_EQ(tasks::classification_dataset(*ex).text_column, "a_text");
  write_text(outdir + "/textune_data.json", R"({"text_column": 3})");
  const std::string err = error_of([&] { tasks::task_for_model(outdir, models::TaskKind::kSequenceClassification); });
  EXPECT_TRUE(contains(err, "textune_data.json: key \"text_column\": expected a string")) << err;
}

TEST(TextClassificationTask, ThresholdIsSavedWithTheModelAndRestoredAsItsDefault) {
  auto trained = tasks::create_task("multi-label");
  core::OptionTable table(trained->name());
  trained->declare_options(table);
  table.update_from_json(core::Json{{"threshold", 0.3}}, "--threshold");
  EXPECT_EQ(trained->saved_options(), core::Json({{"threshold", 0.3}}));

  auto later = tasks::create_task("multi-label");
  later->restore_options(trained->saved_options(), "m/textune_task.json");
  auto* tc = dynamic_cast<tasks::TextClassificationTask*>(later.get());
  ASSERT_NE(tc, nullptr);
  EXPECT_EQ(tc->threshold(), 0.3);

  const std::string unknown = error_of([&] {
    later->restore_options(core::Json{{"treshold", 0.2}}, "m/textune_task.json");
  });
  EXPECT_TRUE(contains(unknown, "m/textune_task.json: unknown option \"treshold\"")) << unknown;
  const std::string range = error_of([&] {
    later->restore_options(core::Json{{"threshold", 1.5}}, "m/textune_task.json");
  });
  EXPECT_TRUE(contains(range, "\"threshold\" must be a number from 0 to 1")) << range;
  EXPECT_THROW(later->restore_options(core::Json{{"threshold", "abc"}}, "m/textune_task.json"), DataError);

  // a probability threshold outside [0, 1] is a usage error when it is used
  core::OptionTable t2(later->name());
  later->declare_options(t2);
  t2.update_from_json(core::Json{{"threshold", 1.5}}, "--threshold");
  auto examples = later->from_inputs({core::Json("a")});
  tasks::Features none;
  EXPECT_THROW(later->evaluator(*examples, none), UsageError);
}
