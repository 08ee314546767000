// The proof that a task plugs in (issue 17): a toy task defined and registered in this test file
// only, trained by the real train::Trainer, evaluated by the library call behind `textune eval`,
// predicted by Pipeline::load and served by serve::Server, with no edit anywhere else.
//
// The task predicts the length bucket of a text: "short" when it has fewer than `short_words`
// words (a task option, default 4), else "long". It uses a sequence-classification head but
// everything else is its own: examples read from a plain text file (one text per line, the label
// computed from the text), featurize (tokenizer + truncation), collate (data::collate + its own
// labels), a streaming evaluator (accuracy), prediction records {"bucket", "score", "logits",
// "truncated"}, the HTTP answer {"bucket", "score"} and its /info fields.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "serve_support.h"
#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/core/options.h"
#include "textune/data/batching.h"
#include "textune/pipeline.h"
#include "textune/serve/server.h"
#include "textune/tasks/registry.h"
#include "textune/tasks/task.h"
#include "textune/train/evaluate.h"
#include "textune/train/trainer.h"
#include "train/tiny_setup.h"

using namespace textune;
using textune::core::Json;
using textune::testing::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr const char* kToyName = "toy-length-bucket";
const std::vector<std::string> kBuckets = {"short", "long"};

/// Words of `s` separated by ASCII whitespace.
size_t count_words(const std::string& s) {
  std::istringstream in(s);
  std::string w;
  size_t n = 0;
  while (in >> w) ++n;
  return n;
}

/// The toy's examples: texts and, when labelled, their bucket ids.
class ToyExamples : public tasks::Examples {
 public:
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  bool labelled = false;
  std::string file;
  data::ValidationReport validation;

  size_t size() const override { return texts.size(); }
  bool has_labels() const override { return labelled; }
  const std::string& source() const override { return file; }
  const data::ValidationReport& report() const override { return validation; }
  Json example_json(size_t i) const override {
    Json j = {{"text", texts.at(i)}};
    if (labelled) j["label"] = kBuckets[static_cast<size_t>(labels.at(i))];
    return j;
  }
};

const ToyExamples& toy(const tasks::Examples& examples) {
  return dynamic_cast<const ToyExamples&>(examples);
}

/// Index of the largest of `l` (the first on ties, as torch.argmax).
size_t argmax(const std::vector<float>& l) {
  size_t best = 0;
  for (size_t c = 1; c < l.size(); ++c)
    if (l[c] > l[best]) best = c;
  return best;
}

/// Rows of `outputs.logits` (B, C) as vectors.
std::vector<std::vector<float>> logit_rows(const models::ModelOutputs& outputs) {
  torch::Tensor l = outputs.logits.to(torch::kCPU, torch::kFloat32).contiguous();
  std::vector<std::vector<float>> rows(static_cast<size_t>(l.size(0)));
  for (int64_t r = 0; r < l.size(0); ++r) {
    const float* p = l[r].data_ptr<float>();
    rows[static_cast<size_t>(r)].assign(p, p + l.size(1));
  }
  return rows;
}

/// Accuracy of the argmax per example.
class ToyEvaluator : public tasks::Evaluator {
 public:
  ToyEvaluator(const ToyExamples& examples, const tasks::Features& features)
      : labels_(examples.labels), example_index_(features.example_index), predicted_(examples.size(), -1) {}
  void add(const tasks::Batch& batch, const models::ModelOutputs& outputs) override {
    auto rows = logit_rows(outputs);
    for (size_t k = 0; k < rows.size(); ++k)
      predicted_[example_index_.at(batch.features.at(k))] = static_cast<int64_t>(argmax(rows[k]));
  }
  tasks::EvalReport finish() override {
    size_t correct = 0;
    for (size_t i = 0; i < predicted_.size(); ++i) {
      if (predicted_[i] < 0) throw DataError("toy evaluator: example " + std::to_string(i) + " got no output");
      correct += predicted_[i] == labels_[i];
    }
    const double accuracy =
        predicted_.empty() ? 0.0 : static_cast<double>(correct) / static_cast<double>(predicted_.size());
    tasks::EvalReport r;
    r.scalars = {{"accuracy", accuracy}};
    r.report = {{"accuracy", accuracy}, {"correct", correct}, {"num_examples", predicted_.size()}};
    return r;
  }

 private:
  std::vector<int64_t> labels_;
  std::vector<size_t> example_index_;
  std::vector<int64_t> predicted_;
};

/// {"bucket", "score" (softmax probability), "logits", "truncated"} per example.
class ToyPredictor : public tasks::Predictor {
 public:
  ToyPredictor(const ToyExamples& examples, const tasks::Features& features)
      : features_(features), records_(examples.size()) {}
  void add(const tasks::Batch& batch, const models::ModelOutputs& outputs) override {
    auto rows = logit_rows(outputs);
    for (size_t k = 0; k < rows.size(); ++k) {
      const size_t f = batch.features.at(k);
      const auto& l = rows[k];
      const size_t best = argmax(l);
      double z = 0;
      for (float v : l) z += std::exp(static_cast<double>(v) - l[best]);
      records_[features_.example_index.at(f)] = {{"bucket", kBuckets.at(best)},
                                                 {"score", 1.0 / z},
                                                 {"logits", l},
                                                 {"truncated", features_.truncated.at(f) != 0}};
    }
  }
  std::vector<Json> finish() override { return records_; }

 private:
  tasks::Features features_;
  std::vector<Json> records_;
};

class ToyTask : public tasks::Task {
 public:
  std::string name() const override { return kToyName; }
  models::TaskKind model_kind() const override { return models::TaskKind::kSequenceClassification; }

  void declare_options(core::OptionTable& table) override {
    table.add("short_words", &short_words_, "texts with fewer words are \"short\"").group = kToyName;
  }
  Json saved_options() const override { return {{"short_words", short_words_}}; }
  void restore_options(const Json& saved, const std::string& source) override {
    core::OptionTable table;
    declare_options(table);
    table.update_from_json(saved, source);
  }

  int64_t bucket(const std::string& text) const { return count_words(text) < short_words_ ? 0 : 1; }

  std::shared_ptr<tasks::Examples> read(const std::string& path, bool labelled) const override {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(path + ": cannot open the file");
    auto ex = std::make_shared<ToyExamples>();
    ex->file = ex->validation.file = path;
    ex->labelled = labelled;
    std::string line;
    for (size_t row = 1; std::getline(in, line); ++row) {
      ++ex->validation.num_rows;
      if (count_words(line) == 0) {
        ++ex->validation.num_invalid_rows;
        ++ex->validation.num_problems;
        ex->validation.problems.push_back({path, row, "text", "empty text (one text per line expected)"});
        continue;
      }
      ex->texts.push_back(line);
      if (labelled) ex->labels.push_back(bucket(line));
    }
    ex->validation.num_examples = ex->texts.size();
    if (!ex->validation.ok()) throw DataError(ex->validation.summary());
    return ex;
  }
  std::shared_ptr<tasks::Examples> from_inputs(const std::vector<Json>& inputs) const override {
    auto ex = std::make_shared<ToyExamples>();
    ex->file = ex->validation.file = "<inputs>";
    for (size_t i = 0; i < inputs.size(); ++i) {
      const Json& in = inputs[i];
      const Json* text = in.is_string() ? &in : (in.is_object() && in.contains("text") ? &in["text"] : nullptr);
      if (!text || !text->is_string() || count_words(text->get<std::string>()) == 0 ||
          (in.is_object() && in.size() != 1))
        throw DataError("input " + std::to_string(i) + ": expected one non-empty text or {\"text\": TEXT}");
      ex->texts.push_back(text->get<std::string>());
    }
    ex->validation.num_rows = ex->validation.num_examples = ex->texts.size();
    return ex;
  }
  tasks::Features featurize(const tasks::Examples& examples, const tokenizers::Tokenizer& tokenizer,
                            const tasks::FeatureOptions& options) const override {
    tokenizers::EncodeOptions eo;
    eo.truncation = tokenizers::TruncationOptions{};
    eo.truncation->max_length = options.max_length;
    eo.return_overflowing_tokens = true;
    tasks::Features f;
    f.encodings = tokenizer.encode_batch(toy(examples).texts, nullptr, eo);
    for (size_t i = 0; i < f.encodings.size(); ++i) {
      const bool cut = !f.encodings[i].overflowing.empty();
      f.encodings[i].overflowing.clear();
      f.example_index.push_back(i);
      f.truncated.push_back(cut);
      f.num_truncated += cut;
    }
    return f;
  }
  tasks::Batch collate(const tasks::Examples& examples, const tasks::Features& features,
                       const std::vector<size_t>& rows, const data::CollateOptions& options,
                       torch::Generator&) const override {
    data::Batch b = data::collate(features.encodings, rows, nullptr, options);
    tasks::Batch out;
    out.inputs.input_ids = b.input_ids;
    out.inputs.attention_mask = b.attention_mask;
    out.inputs.token_type_ids = b.token_type_ids;
    if (examples.has_labels()) {
      std::vector<int64_t> labels;
      for (size_t r : rows) labels.push_back(toy(examples).labels.at(features.example_index.at(r)));
      out.inputs.labels = torch::tensor(labels, torch::kInt64);
    }
    out.features = rows;
    return out;
  }

  models::PreTrainedModel prepare_model(const tasks::ModelSetup& setup, tasks::Examples&, tasks::Examples*) override {
    models::LoadOptions lo;
    lo.task = models::TaskKind::kSequenceClassification;
    lo.labels = kBuckets;
    lo.problem_type = models::ProblemType::kSingleLabel;
    lo.seed = setup.seed;
    lo.device = setup.device;
    lo.ignore_mismatched_sizes = true;
    auto model = models::load_pretrained(setup.model_dir, lo);
    bind_model(model);
    return model;
  }
  void bind_model(const models::PreTrainedModel& model) override {
    if (model->task() != models::TaskKind::kSequenceClassification || model->id2label() != kBuckets)
      throw DataError(std::string(kToyName) + ": the model is not a short/long classifier");
  }

  std::unique_ptr<tasks::Evaluator> evaluator(const tasks::Examples& examples,
                                              const tasks::Features& features) const override {
    return std::make_unique<ToyEvaluator>(toy(examples), features);
  }
  std::unique_ptr<tasks::Predictor> predictor(const tasks::Examples& examples,
                                              const tasks::Features& features) const override {
    return std::make_unique<ToyPredictor>(toy(examples), features);
  }
  std::vector<std::string> metric_names() const override { return {"accuracy"}; }
  std::string main_metric() const override { return "accuracy"; }

  Json response(const Json& record, const tasks::ResponseOptions& options) const override {
    if (std::isnan(record.at("score").get<double>())) throw tasks::ResponseError("score is NaN");
    Json r = {{"bucket", record.at("bucket")}, {"score", record.at("score")}};
    if (options.raw_scores) r["logits"] = record.at("logits");
    return r;
  }
  Json info() const override { return {{"buckets", kBuckets}, {"short_words", short_words_}}; }

 private:
  size_t short_words_ = 4;
};

/// Registers the toy once per process.
void register_toy() {
  static std::once_flag once;
  std::call_once(once, [] {
    tasks::register_task(kToyName, {"length-bucket"}, models::TaskKind::kSequenceClassification,
                         [](const std::string&) { return std::make_unique<ToyTask>(); });
  });
}

/// `n` texts of 1..8 words over tiny_words(), one per line, deterministic.
std::string toy_texts(int n, int offset) {
  const auto& w = textune::testing::tiny_words();
  std::string s;
  for (int i = offset; i < offset + n; ++i) {
    const int words = 1 + (i * 5 + 2) % 8;
    for (int k = 0; k < words; ++k) s += (k ? " " : "") + w[static_cast<size_t>(i * 3 + k * 7) % w.size()];
    s += "\n";
  }
  return s;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

}  // namespace

// Train, evaluate, predict and serve the toy through the real library, as the CLI and the server do.
TEST(ToyTask, PlugsIntoTrainerEvalPipelineAndServer) {
  register_toy();
  TempDir tmp;
  const std::string base = tmp / "base", out = tmp / "out";
  textune::testing::write_tiny_bert(base, 0.0);
  const std::string dev_text = toy_texts(16, 100);
  textune::testing::write_text(tmp / "train.txt", toy_texts(48, 0));
  textune::testing::write_text(tmp / "dev.txt", dev_text);

  // ---- train: the task from the registry, by its alias, as `textune train --task length-bucket` ----
  std::shared_ptr<tasks::Task> task = tasks::create_task("length-bucket");
  ASSERT_EQ(task->name(), kToyName);
  // The task's option, as `--short_words 5` or --config sets it (train::apply_task_options);
  // eval, predict and serve get it back from textune_task.json.
  train::apply_task_options(*task, {{"short_words", 5}}, "the test");
  auto train_set = task->read(tmp / "train.txt", true);
  auto eval_set = task->read(tmp / "dev.txt", true);
  ASSERT_EQ(train_set->size(), 48u);
  tasks::ModelSetup setup;
  setup.model_dir = base;
  auto model = task->prepare_model(setup, *train_set, eval_set.get());
  train::TrainingArguments args;
  args.output_dir = out;
  args.learning_rate = 1e-3;
  args.per_device_train_batch_size = 8;
  args.per_device_eval_batch_size = 8;
  args.max_steps = 8;
  args.eval_strategy = "steps";
  args.eval_steps = 4;
  args.logging_steps = 4;
  args.save_steps = 4;
  args.disable_tqdm = true;
  train::Trainer trainer(model, tokenizers::Tokenizer::from_dir(base), base, task, train_set, eval_set, args);
  auto result = trainer.train();
  EXPECT_EQ(result.global_step, 8);

  // trainer_state.json and the JSON-lines log carry the toy's metric; the model names its task.
  const Json state = Json::parse(textune::testing::read_text(out + "/trainer_state.json"));
  std::optional<double> last_eval_accuracy;
  for (const auto& entry : state.at("log_history"))
    if (entry.contains("eval_accuracy")) last_eval_accuracy = entry.at("eval_accuracy").get<double>();
  ASSERT_TRUE(last_eval_accuracy) << state.dump();
  EXPECT_NE(textune::testing::read_text(out + "/training_log.jsonl").find("\"eval_accuracy\""), std::string::npos);
  const Json task_file = Json::parse(textune::testing::read_text(out + "/" + tasks::kTaskFile));
  EXPECT_EQ(task_file.at("task"), kToyName);
  EXPECT_EQ(task_file.at("options").at("short_words"), 5);
  EXPECT_TRUE(fs::exists(out + "/checkpoint-4/" + tasks::kTaskFile));

  // ---- predict: the Pipeline finds the toy from textune_task.json ----
  PipelineOptions po;
  po.batch_size = 8;
  auto pipeline = Pipeline::load(out, po);
  EXPECT_EQ(pipeline->task(), kToyName);
  const auto dev = lines_of(dev_text);
  std::vector<Json> inputs(dev.begin(), dev.end());
  auto records = pipeline->predict_records(inputs);
  ASSERT_EQ(records.size(), dev.size());
  size_t correct = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const Json& r = records[i];
    ASSERT_TRUE(r.is_object()) << r.dump();
    EXPECT_EQ(r.size(), 4u) << r.dump();
    const std::string b = r.at("bucket").get<std::string>();
    ASSERT_TRUE(b == "short" || b == "long") << r.dump();
    const auto logits = r.at("logits").get<std::vector<float>>();
    ASSERT_EQ(logits.size(), 2u);
    EXPECT_EQ(b, kBuckets[argmax(logits)]);
    const double expected_score = 1.0 / (1.0 + std::exp(-std::fabs(static_cast<double>(logits[0]) - logits[1])));
    EXPECT_NEAR(r.at("score").get<double>(), expected_score, 1e-12);
    EXPECT_FALSE(r.at("truncated").get<bool>());
    correct += b == (count_words(dev[i]) < 5 ? "short" : "long");
  }
  // An input longer than the model's 64 positions is cut and says so.
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "good ";
  auto long_records = pipeline->predict_records({Json(long_text), Json{{"text", "a film"}}});
  ASSERT_EQ(long_records.size(), 2u);
  EXPECT_TRUE(long_records[0].at("truncated").get<bool>());
  EXPECT_FALSE(long_records[1].at("truncated").get<bool>());

  // ---- eval: the library call behind `textune eval`; accuracy = the one recomputed from predictions,
  // and the Trainer's last evaluation of the same (final) model ----
  train::EvaluateOptions eo;
  eo.batch_size = 8;
  const train::EvaluateResult evaluated = train::evaluate_model(out, tmp / "dev.txt", eo);
  EXPECT_EQ(evaluated.task->name(), kToyName);
  EXPECT_EQ(evaluated.num_examples, dev.size());
  const tasks::EvalReport& report = evaluated.report;
  const double recomputed = static_cast<double>(correct) / static_cast<double>(dev.size());
  EXPECT_EQ(report.scalars.at("accuracy").get<double>(), recomputed) << report.report.dump();
  EXPECT_EQ(report.report.at("num_examples"), dev.size());
  EXPECT_EQ(*last_eval_accuracy, recomputed);

  // ---- predict --input: the library call behind `textune predict`, with the default JSON lines ----
  const train::PredictResult predicted = train::predict_file(out, tmp / "dev.txt", eo);
  ASSERT_EQ(predicted.records.size(), records.size());
  for (size_t i = 0; i < records.size(); ++i) EXPECT_EQ(predicted.records[i], records[i]) << i;
  const auto jsonl = lines_of(train::predictions_jsonl(predicted));
  ASSERT_EQ(jsonl.size(), dev.size());
  Json first_line = {{"text", dev[0]}};  // the example's fields, then the record's
  for (const auto& item : records[0].items()) first_line[item.key()] = item.value();
  EXPECT_EQ(Json::parse(jsonl[0]), first_line) << jsonl[0];

  // ---- serve: the real server over the pipeline answers with the toy's shapes ----
  serve::ServerOptions so;
  so.model_id = out;
  textune::testing::RunningServer server(pipeline, so, tokenizers::Tokenizer::from_dir(out));
  auto cli = server.client();
  auto info = cli.Get("/info");
  ASSERT_TRUE(info);
  ASSERT_EQ(info->status, 200) << info->body;
  const Json info_json = Json::parse(info->body);
  EXPECT_EQ(info_json.at("task"), kToyName) << info->body;
  EXPECT_EQ(info_json.at("buckets"), Json(kBuckets)) << info->body;
  EXPECT_EQ(info_json.at("short_words"), 5) << info->body;

  auto one = cli.Post("/predict", Json{{"inputs", dev[0]}}.dump(), "application/json");
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 200) << one->body;
  // Task::response's shape: {"bucket", "score"}, without the record's logits and truncation flag
  // (padding differs from the batch of 8 above, so the score may differ in the last bits).
  const Json answer = Json::parse(one->body);
  ASSERT_TRUE(answer.is_object() && answer.size() == 2u) << one->body;
  EXPECT_EQ(answer.at("bucket"), records[0].at("bucket")) << one->body;
  EXPECT_NEAR(answer.at("score").get<double>(), records[0].at("score").get<double>(), 1e-6) << one->body;

  // A batch (TEI: [[text], [text], ...]), raw_scores: the task adds the logits.
  Json batch_inputs = Json::array();
  for (size_t k = 1; k <= 3; ++k) batch_inputs.push_back(Json::array({dev[k]}));
  auto batch = cli.Post("/predict", Json{{"inputs", batch_inputs}, {"raw_scores", true}}.dump(), "application/json");
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->status, 200) << batch->body;
  const Json answers = Json::parse(batch->body);
  ASSERT_TRUE(answers.is_array() && answers.size() == 3u) << batch->body;
  for (size_t k = 0; k < 3; ++k) {
    ASSERT_EQ(answers[k].size(), 3u) << batch->body;
    EXPECT_EQ(answers[k].at("bucket"), records[k + 1].at("bucket")) << batch->body;
    EXPECT_EQ(answers[k].at("logits").size(), 2u) << batch->body;
  }

  // A pair (TEI: a list of two texts) is refused by the toy's from_inputs, and the server says why.
  auto pair = cli.Post("/predict", Json{{"inputs", {dev[1], dev[2]}}}.dump(), "application/json");
  ASSERT_TRUE(pair);
  EXPECT_GE(pair->status, 400) << pair->body;
  EXPECT_LT(pair->status, 500) << pair->body;
  EXPECT_NE(pair->body.find("expected one non-empty text"), std::string::npos) << pair->body;

  auto bad = cli.Post("/predict", R"({"inputs": [{"nope": 1}]})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_GE(bad->status, 400) << bad->body;
  EXPECT_LT(bad->status, 500) << bad->body;
}

// The toy's bad input is a one-line DataError naming the file, row and column.
TEST(ToyTask, EmptyLineIsReportedWithFileRowAndColumn) {
  register_toy();
  TempDir tmp;
  textune::testing::write_text(tmp / "bad.txt", "a good film\n\nthe plot\n");
  auto task = tasks::create_task(kToyName);
  try {
    task->read(tmp / "bad.txt", true);
    FAIL() << "no error";
  } catch (const DataError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(tmp / "bad.txt"), std::string::npos) << m;
    EXPECT_NE(m.find("row 2"), std::string::npos) << m;
    EXPECT_NE(m.find("text"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

// Registering the toy for the sequence-classification head does not take over models that name no
// task: a plain classifier still loads as text classification.
TEST(ToyTask, DoesNotCaptureUnnamedClassifiers) {
  register_toy();
  TempDir tmp;
  const std::string base = tmp / "base", cls = tmp / "cls";
  textune::testing::write_tiny_bert(base, 0.0);
  models::LoadOptions lo;
  lo.task = models::TaskKind::kSequenceClassification;
  lo.labels = std::vector<std::string>{"neg", "pos"};
  auto model = models::load_pretrained(base, lo);
  {
    core::AtomicDirectory d(cls);
    models::save_pretrained_into(model, d.staging_path());
    tokenizers::copy_tokenizer_files(base, d.staging_path());
    d.commit();
  }
  EXPECT_EQ(tasks::task_for_model(cls, models::TaskKind::kSequenceClassification)->name(), "text-classification");
  EXPECT_EQ(Pipeline::load(cls)->task(), "text-classification");
}
