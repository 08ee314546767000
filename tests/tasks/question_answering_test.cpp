// The question-answering task on the task interface: the registry line, saved options, batches whose
// start/end positions are the windows' (run_qa.py's prepare_train_features labels, right and left
// padding), the fixtures' ...ForQuestionAnswering heads bound as this task and other heads refused,
// and a tiny model trained by the real Trainer on a handful of XQuAD questions until the evaluator
// (postprocess_qa_predictions + the official SQuAD v1.1 metric) gives exact match 100 on them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <numeric>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/core/options.h"
#include "textune/core/utf8.h"
#include "textune/models/model.h"
#include "textune/tasks/question_answering.h"
#include "textune/tasks/registry.h"
#include "textune/train/evaluate.h"
#include "textune/train/inference.h"
#include "textune/train/trainer.h"

using namespace textune;
using core::Json;
using textune::testing::TempDir;

namespace {

std::string xquad(const std::string& lang) {
  return textune::testing::data_dir() + "/qa/xquad/xquad." + lang + ".json";
}

/// The first `n` questions of paragraph `p` of XQuAD-en's first article, as a SQuAD v1.1 file.
Json xquad_subset(size_t n, size_t p = 0) {
  const Json all = core::read_json_file(xquad("en"));
  Json paragraph = all["data"][0]["paragraphs"][p];
  Json qas = Json::array();
  for (size_t k = 0; k < n; ++k) qas.push_back(paragraph["qas"][k]);
  paragraph["qas"] = qas;
  Json article = {{"title", all["data"][0]["title"]}, {"paragraphs", Json::array({paragraph})}};
  return Json{{"version", "1.1"}, {"data", Json::array({article})}};
}

/// The words of `texts` as BERT's BasicTokenizer splits them (whitespace, then every ASCII punctuation
/// character alone), each once, in first-seen order.
std::vector<std::string> words_of(const std::vector<std::string>& texts) {
  std::vector<std::string> out;
  auto add = [&](const std::string& w) {
    if (!w.empty() && std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
  };
  for (const auto& t : texts) {
    std::string word;
    for (char c : t) {
      if (c == ' ' || c == '\n' || c == '\t') {
        add(word);
        word.clear();
      } else if (std::ispunct(static_cast<unsigned char>(c))) {
        add(word);
        word.clear();
        add(std::string(1, c));
      } else {
        word += c;
      }
    }
    add(word);
  }
  return out;
}

/// A randomly initialised BERT (hidden 32, 2 layers, no dropout, 512 positions) with a cased WordPiece
/// vocabulary of the special tokens and `words`, as `textune init` writes one.
void write_tiny_cased_bert(const std::string& dir, const std::vector<std::string>& words) {
  const std::string vocab = dir + ".vocab.txt";
  std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const auto& w : words) v += w + "\n";
  textune::testing::write_text(vocab, v);
  const size_t lines = 5 + words.size();
  Json cfg = {{"architectures", {"BertModel"}},
              {"attention_probs_dropout_prob", 0.0},
              {"hidden_act", "gelu"},
              {"hidden_dropout_prob", 0.0},
              {"hidden_size", 32},
              {"initializer_range", 0.02},
              {"intermediate_size", 64},
              {"layer_norm_eps", 1e-12},
              {"max_position_embeddings", 512},
              {"model_type", "bert"},
              {"num_attention_heads", 4},
              {"num_hidden_layers", 2},
              {"pad_token_id", 0},
              {"type_vocab_size", 2},
              {"vocab_size", static_cast<int64_t>(lines)}};
  auto model = models::from_config(cfg, {});
  core::AtomicDirectory out(dir);
  models::save_pretrained_into(model, out.staging_path());
  tokenizers::write_bert_tokenizer(vocab, out.staging_path(), false, 512);
  out.commit();
}

std::shared_ptr<const tokenizers::Tokenizer> fixture_tokenizer(const std::string& name) {
  return tokenizers::Tokenizer::from_dir(textune::testing::tokenizer_fixture(name));
}

std::vector<size_t> all_rows(const tasks::Features& f) {
  std::vector<size_t> rows(f.size());
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

}  // namespace

TEST(QuestionAnsweringTask, RegisteredWithItsAliases) {
  for (const char* name : {"question-answering", "qa", "question_answering"}) {
    auto t = tasks::create_task(name);
    EXPECT_EQ(t->name(), "question-answering");
    EXPECT_EQ(t->model_kind(), models::TaskKind::kQuestionAnswering);
    EXPECT_EQ(t->main_metric(), "f1");
    EXPECT_EQ(t->default_max_length(), std::optional<size_t>(384));  // run_qa.py's max_seq_length
    EXPECT_TRUE(t->inputs_list_is_batch());
    EXPECT_TRUE(t->windows_long_inputs());
  }
  EXPECT_EQ(tasks::task_aliases("question-answering"), (std::vector<std::string>{"qa", "question_answering"}));
}

TEST(QuestionAnsweringTask, OptionsAreRunQasAndSavedOptionsRestore) {
  auto t = tasks::create_task("qa");
  core::OptionTable table(t->name());
  t->declare_options(table);
  // run_qa.py's defaults (DataTrainingArguments) and the pipeline's (QuestionAnsweringPipeline)
  const Json defaults = table.to_json();
  EXPECT_EQ(defaults["doc_stride"], 128);
  EXPECT_EQ(defaults["n_best_size"], 20);
  EXPECT_EQ(defaults["max_answer_length"], 30);
  EXPECT_EQ(defaults["null_score_diff_threshold"], 0.0);
  EXPECT_TRUE(defaults["version_2_with_negative"].is_null());
  EXPECT_EQ(defaults["top_k"], 1);
  EXPECT_EQ(defaults["max_answer_len"], 15);
  EXPECT_EQ(defaults["handle_impossible_answer"], false);
  // both spellings on the command line
  const core::OptionSpec* stride = table.find("doc_stride");
  ASSERT_NE(stride, nullptr);
  EXPECT_NE(std::find(stride->aliases.begin(), stride->aliases.end(), "doc-stride"), stride->aliases.end());
  EXPECT_TRUE(table.find("version_2_with_negative")->flag);

  table.update_from_json({{"doc_stride", 64},
                          {"n_best_size", 5},
                          {"max_answer_length", 12},
                          {"version_2_with_negative", true},
                          {"null_score_diff_threshold", 1.5},
                          {"metric", "squad_v2"},
                          {"top_k", 3},
                          {"max_answer_len", 9},
                          {"handle_impossible_answer", true},
                          {"max_windows", 7},
                          {"question_column_name", "q"},
                          {"context_column_name", "c"}},
                         "the test");
  const Json saved = t->saved_options();
  auto u = tasks::create_task("question-answering");
  u->restore_options(saved, "textune_task.json");
  EXPECT_EQ(u->saved_options(), saved);
  const auto& o = dynamic_cast<const tasks::QuestionAnsweringTask&>(*u).options();
  EXPECT_EQ(o.doc_stride, 64);
  EXPECT_EQ(o.version_2_with_negative, std::optional<bool>(true));
  EXPECT_EQ(o.metric, "squad_v2");
  EXPECT_EQ(o.question_column, "q");
  EXPECT_EQ(o.max_windows, 7);
  // the v2.0 metric's keys (metric_names follow the metric)
  const auto names = u->metric_names();
  EXPECT_NE(std::find(names.begin(), names.end(), "HasAns_exact"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "f1"), names.end());
  EXPECT_EQ(t->info()["top_k"], 3);
  // an unknown saved option is refused, naming it
  try {
    u->restore_options({{"stride", 3}}, "M/textune_task.json");
    FAIL() << "an unknown option was accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("\"stride\""), std::string::npos) << e.what();
  }
}

// collate: start_positions/end_positions are the windows' labels (run_qa's prepare_train_features),
// shifted by the padding when the tokenizer pads on the left.
TEST(QuestionAnsweringTask, CollatedPositionsAreTheWindowsLabels) {
  TempDir tmp;
  core::write_json_file(tmp / "train.json", xquad_subset(8));
  auto task = tasks::create_task("qa");
  core::OptionTable table(task->name());
  task->declare_options(table);
  table.update_from_json({{"doc_stride", 32}}, "the test");
  auto examples = task->read(tmp / "train.json", true);
  ASSERT_EQ(examples->size(), 8u);
  ASSERT_TRUE(examples->has_labels());
  auto tok = fixture_tokenizer("bert-base-cased");
  tasks::FeatureOptions fo;
  fo.max_length = 96;
  fo.training = true;
  const tasks::Features f = task->featurize(*examples, *tok, fo);
  // the windows of qa_windows, computed here directly
  tasks::QaWindowOptions wo;
  wo.max_length = 96;
  wo.doc_stride = 32;
  const auto windows =
      tasks::qa_windows(dynamic_cast<const tasks::QuestionAnsweringExamples&>(*examples).dataset().examples, *tok, wo);
  ASSERT_EQ(f.size(), windows.size());
  ASSERT_GT(f.size(), 8u);  // a 1152-code-point context in windows of 96 tokens
  size_t inside = 0;
  for (size_t k = 0; k < f.size(); ++k) {
    EXPECT_EQ(f.encodings[k].ids, windows[k].encoding.ids);
    EXPECT_EQ(f.example_index[k], windows[k].example_index);
    EXPECT_EQ(f.truncated[k], 0);
    inside += windows[k].start_position != static_cast<int64_t>(windows[k].cls_index);
  }
  EXPECT_GE(inside, 8u);  // every answer lies whole in at least one window
  // rows in a shuffled order, right and left padding
  std::vector<size_t> rows = all_rows(f);
  std::reverse(rows.begin(), rows.end());
  torch::Generator g;
  for (auto side : {tokenizers::Side::kRight, tokenizers::Side::kLeft}) {
    data::CollateOptions co;
    co.padding_side = side;
    const tasks::Batch b = task->collate(*examples, f, rows, co, g);
    ASSERT_TRUE(b.inputs.start_positions.defined());
    ASSERT_TRUE(b.inputs.end_positions.defined());
    ASSERT_EQ(b.inputs.start_positions.dtype(), torch::kInt64);
    ASSERT_EQ(b.inputs.start_positions.size(0), static_cast<int64_t>(rows.size()));
    const int64_t width = b.inputs.input_ids.size(1);
    for (size_t r = 0; r < rows.size(); ++r) {
      const tasks::QaWindow& w = windows[rows[r]];
      const int64_t shift = side == tokenizers::Side::kLeft ? width - static_cast<int64_t>(w.encoding.size()) : 0;
      const int64_t s = b.inputs.start_positions[static_cast<int64_t>(r)].item<int64_t>();
      const int64_t e = b.inputs.end_positions[static_cast<int64_t>(r)].item<int64_t>();
      EXPECT_EQ(s, w.start_position + shift) << "row " << r;
      EXPECT_EQ(e, w.end_position + shift) << "row " << r;
      // the token at the position is the window's token there
      EXPECT_EQ(b.inputs.input_ids[static_cast<int64_t>(r)][s].item<int64_t>(),
                w.encoding.ids[static_cast<size_t>(w.start_position)]);
    }
  }
  // unlabelled examples (prediction): no positions
  auto unlabelled = task->read(tmp / "train.json", false);
  const tasks::Features fu = task->featurize(*unlabelled, *tok, fo);
  const tasks::Batch bu = task->collate(*unlabelled, fu, all_rows(fu), {}, g);
  EXPECT_FALSE(bu.inputs.start_positions.defined());
}

// The ...ForQuestionAnswering fixtures of each family bind as this task (task_for_model picks it by the
// head); another head is refused with the message the CLI shows.
TEST(QuestionAnsweringTask, QaFixturesBindOtherHeadsAreRefused) {
  for (const char* name : {"bert-qa", "distilbert-qa", "roberta-qa"}) {
    const std::string dir = textune::testing::model_fixture(name);
    auto task = tasks::task_for_model(dir, models::TaskKind::kQuestionAnswering);
    EXPECT_EQ(task->name(), "question-answering") << name;
    auto model = models::load_pretrained(dir, {});
    EXPECT_NO_THROW(task->bind_model(model)) << name;
  }
  auto task = tasks::create_task("qa");
  auto seqcls = models::load_pretrained(textune::testing::model_fixture("bert-seqcls"), {});
  try {
    task->bind_model(seqcls);
    FAIL() << "a sequence classifier was bound as a question-answering model";
  } catch (const DataError& e) {
    EXPECT_EQ(std::string(e.what()), "the model is a BertForSequenceClassification, not a question-answering model");
  }
}

// A tiny model from a base checkpoint (a new qa_outputs), trained by the real Trainer for a few hundred
// steps on the first 5 questions of XQuAD-en's third paragraph (372 code points; answers of 1 to 11
// words, among them "39" and "38" of the same question shape), answers them exactly: the evaluator's exact_match
// (the SQuAD v1.1 script's definition) is 100 and predictions.json maps every id to its gold answer.
TEST(QuestionAnsweringTask, TinyModelOverfitsAHandfulOfXquadQuestions) {
  TempDir tmp;
  const std::string base = tmp / "base";
  const Json subset = xquad_subset(5, 2);
  std::vector<std::string> texts = {subset["data"][0]["paragraphs"][0]["context"].get<std::string>()};
  for (const Json& q : subset["data"][0]["paragraphs"][0]["qas"]) texts.push_back(q["question"].get<std::string>());
  write_tiny_cased_bert(base, words_of(texts));
  core::write_json_file(tmp / "train.json", subset);
  std::shared_ptr<tasks::Task> task = tasks::create_task("qa");
  auto train_set = task->read(tmp / "train.json", true);
  auto eval_set = task->read(tmp / "train.json", true);
  tasks::ModelSetup setup;
  setup.model_dir = base;
  auto model = task->prepare_model(setup, *train_set, eval_set.get());
  EXPECT_EQ(model->architecture(), "BertForQuestionAnswering");
  train::TrainingArguments args;
  args.output_dir = tmp / "out";
  args.learning_rate = 3e-3;
  args.per_device_train_batch_size = 8;
  args.per_device_eval_batch_size = 8;
  args.max_steps = 400;
  args.warmup_steps = 10;
  args.max_length = 384;
  args.eval_strategy = "no";
  args.save_strategy = "no";
  args.logging_steps = 50;
  args.disable_tqdm = true;
  const auto t0 = std::chrono::steady_clock::now();
  train::Trainer trainer(model, tokenizers::Tokenizer::from_dir(base), base, task, train_set, eval_set, args);
  const auto out = trainer.train();
  const double train_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto t1 = std::chrono::steady_clock::now();
  const train::EvalOutput metrics = trainer.evaluate();
  const double eval_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::cout << "train " << train_s << " s (" << out.global_step << " steps, loss " << out.training_loss << "), eval "
            << eval_s << " s: " << metrics.metrics.dump() << "\n";
  const tasks::EvalReport& report = trainer.last_eval_report();
  EXPECT_DOUBLE_EQ(report.scalars["exact_match"].get<double>(), 100.0) << report.report.dump();
  EXPECT_DOUBLE_EQ(report.scalars["f1"].get<double>(), 100.0);
  EXPECT_DOUBLE_EQ(metrics.metrics["eval_exact_match"].get<double>(), 100.0);
  EXPECT_EQ(report.report["metric"], "squad");
  // predictions.json: every question's id -> its gold text (no other key)
  const Json* predictions = nullptr;
  std::vector<std::string> names;
  for (const auto& [name, content] : report.files) {
    names.push_back(name);
    if (name == "predictions.json") predictions = &content;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"predictions.json", "nbest_predictions.json"}));
  ASSERT_NE(predictions, nullptr);
  const Json& qas = subset["data"][0]["paragraphs"][0]["qas"];
  ASSERT_EQ(predictions->size(), qas.size());
  for (const Json& q : qas) EXPECT_EQ((*predictions)[q["id"].get<std::string>()], q["answers"][0]["text"]) << q.dump();
}

namespace {

/// Runs the task's evaluator over `path`'s first `n` questions with logits that point at each window's
/// own answer span (start and end 10 there, 0 elsewhere; nothing in windows without the answer), fed
/// in reverse order (the evaluator streams batches in any order).
tasks::EvalReport oracle_evaluation(const std::string& path, const std::string& tokenizer, size_t n,
                                    const Json& options = Json::object()) {
  TempDir tmp;
  Json all = core::read_json_file(path);
  // the first n questions, paragraph by paragraph
  Json data = Json::array();
  size_t left = n;
  for (const Json& article : all["data"]) {
    Json paragraphs = Json::array();
    for (Json p : article["paragraphs"]) {
      if (!left) break;
      Json qas = Json::array();
      for (Json q : p["qas"])
        if (left) {
          // (CMRC 2018 dev has further answers with answer_start -1, which read_qa refuses: left out)
          Json answers = Json::array();
          for (const Json& a : q["answers"])
            if (a["answer_start"].get<int64_t>() >= 0) answers.push_back(a);
          q["answers"] = answers;
          qas.push_back(q);
          --left;
        }
      p["qas"] = qas;
      paragraphs.push_back(p);
    }
    if (!paragraphs.empty()) data.push_back(Json{{"title", article.value("title", "")}, {"paragraphs", paragraphs}});
    if (!left) break;
  }
  core::write_json_file(tmp / "dev.json", Json{{"data", data}});
  auto task = tasks::create_task("qa");
  core::OptionTable table(task->name());
  task->declare_options(table);
  table.update_from_json(options, "the test");
  auto examples = task->read(tmp / "dev.json", true);
  auto tok = fixture_tokenizer(tokenizer);
  tasks::FeatureOptions fo;
  fo.max_length = 256;
  const tasks::Features f = task->featurize(*examples, *tok, fo);
  const auto windows =
      tasks::qa_windows(dynamic_cast<const tasks::QuestionAnsweringExamples&>(*examples).dataset().examples, *tok, [] {
        tasks::QaWindowOptions o;
        o.max_length = 256;
        return o;
      }());
  auto evaluator = task->evaluator(*examples, f);
  torch::Generator g;
  std::vector<size_t> rows = all_rows(f);
  std::reverse(rows.begin(), rows.end());
  for (size_t b = 0; b < rows.size(); b += 7) {
    std::vector<size_t> batch_rows(rows.begin() + static_cast<long>(b),
                                   rows.begin() + static_cast<long>(std::min(rows.size(), b + 7)));
    tasks::Batch batch = task->collate(*examples, f, batch_rows, {}, g);
    models::ModelOutputs out;
    const int64_t width = batch.inputs.input_ids.size(1);
    out.start_logits = torch::zeros({static_cast<int64_t>(batch_rows.size()), width});
    out.end_logits = torch::zeros({static_cast<int64_t>(batch_rows.size()), width});
    for (size_t r = 0; r < batch_rows.size(); ++r) {
      const tasks::QaWindow& w = windows[batch_rows[r]];
      if (w.start_position == static_cast<int64_t>(w.cls_index)) continue;
      out.start_logits[static_cast<int64_t>(r)][w.start_position] = 10.0;
      out.end_logits[static_cast<int64_t>(r)][w.end_position] = 10.0;
    }
    evaluator->add(batch, out);
  }
  return evaluator->finish();
}

}  // namespace

// The metric follows the data: squad for XQuAD-en, cmrc2018 for CMRC 2018 (mostly CJK contexts). Logits
// that point at the gold token span give the gold answers back (up to token boundaries: exact match
// 100 on these questions, whose answers are whole tokens), through postprocess_qa_predictions.
TEST(QuestionAnsweringTask, EvaluatorChoosesTheMetricOfTheDataAndScoresOracleLogitsFull) {
  const tasks::EvalReport en = oracle_evaluation(xquad("en"), "bert-base-cased", 30);
  EXPECT_EQ(en.report["metric"], "squad");
  EXPECT_EQ(en.report["num_examples"], 30);
  EXPECT_DOUBLE_EQ(en.scalars["exact_match"].get<double>(), 100.0) << en.report.dump();
  EXPECT_DOUBLE_EQ(en.scalars["f1"].get<double>(), 100.0);
  const tasks::EvalReport zh =
      oracle_evaluation(textune::testing::data_dir() + "/qa/cmrc2018/cmrc2018_dev.json", "bert-base-chinese", 30,
                        {{"max_answer_length", 64}});  // (4 of these answers are over 30 characters = tokens)
  EXPECT_EQ(zh.report["metric"], "cmrc2018");
  EXPECT_DOUBLE_EQ(zh.scalars["exact_match"].get<double>(), 100.0) << zh.report.dump();
  EXPECT_DOUBLE_EQ(zh.report["results"]["EM"].get<double>(), 100.0);
  // v1.1: predictions.json and nbest_predictions.json, no null_odds.json
  ASSERT_EQ(zh.files.size(), 2u);
  EXPECT_EQ(zh.files[0].first, "predictions.json");
  EXPECT_EQ(zh.files[0].second.size(), 30u);
}
