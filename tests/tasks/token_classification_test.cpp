// The token-classification task on the task interface: the label list (first seen, "O" first), label
// alignment as transformers' run_ner.py tokenize_and_align_labels gives it (worked by hand below from
// the word splits of the live reference tokenizer), windows over long sentences, the word-level
// evaluator against seqeval's definitions, and the inputs it refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "support/test_support.h"
#include "tasks/token_classification/features.h"
#include "textune/core/error.h"
#include "textune/tasks/registry.h"
#include "textune/tasks/token_classification.h"
#include "train/tiny_setup.h"

using namespace textune;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

std::shared_ptr<const tokenizers::Tokenizer> tokenizer(const std::string& name) {
  return tokenizers::Tokenizer::from_dir(textune::testing::tokenizer_fixture(name));
}

std::vector<int64_t> row(const torch::Tensor& t, int64_t r) {
  const torch::Tensor x = t[r].contiguous();
  return std::vector<int64_t>(x.data_ptr<int64_t>(), x.data_ptr<int64_t>() + x.numel());
}

tasks::Batch collate_all(const tasks::Task& task, const tasks::Examples& ex, const tasks::Features& f) {
  std::vector<size_t> rows(f.size());
  std::iota(rows.begin(), rows.end(), 0);
  torch::Generator g;
  return task.collate(ex, f, rows, {}, g);
}

// CoNLL-2003's first sentence, with "Britishness" and "lamb" so that words split into subtokens.
// bert-base-cased (reference tokenizer, each word alone): EU | rejects | German | call | to | boycott |
// British ##ness | la ##mb | .   roberta-base with a prefix space: ĠEU | Ġrejects | ĠGerman | Ġcall | Ġto
// | Ġboycott | ĠBritish ness | Ġlamb | Ġ.
const char* kSentence =
    "EU\tB-ORG\nrejects\tO\nGerman\tB-MISC\ncall\tO\nto\tO\nboycott\tO\nBritishness\tB-MISC\nlamb\tI-MISC\n.\tO\n";

}  // namespace

TEST(TokenClassificationTask, RegisteredWithItsAliases) {
  for (const char* name : {"token-classification", "ner", "token_classification"}) {
    auto t = tasks::create_task(name);
    EXPECT_EQ(t->name(), "token-classification");
    EXPECT_EQ(t->model_kind(), models::TaskKind::kTokenClassification);
    EXPECT_EQ(t->main_metric(), "f1");
  }
}

TEST(TokenClassificationTask, LabelListIsFirstSeenWithOFirst) {
  TempDir tmp;
  write_text(tmp / "train.conll", kSentence);
  tasks::TokenClassificationTask task;
  auto ex = task.read(tmp / "train.conll", true);
  // tags in order: B-ORG O B-MISC O O O B-MISC I-MISC O -> first seen B-ORG, O, B-MISC, I-MISC; "O" first
  EXPECT_EQ(task.labels(), (std::vector<std::string>{"O", "B-ORG", "B-MISC", "I-MISC"}));
  const auto& te = tasks::token_examples(*ex);
  EXPECT_EQ(te.label_ids.at(0), (std::vector<int64_t>{1, 0, 2, 0, 0, 0, 2, 3, 0}));
}

TEST(TokenClassificationTask, LabelsAlignLikeRunNerBertCased) {
  TempDir tmp;
  write_text(tmp / "train.conll", kSentence);
  tasks::TokenClassificationTask task;
  auto ex = task.read(tmp / "train.conll", true);
  auto tok = tokenizer("bert-base-cased");
  tasks::FeatureOptions fo;
  fo.max_length = 64;
  fo.training = true;
  const tasks::Features f = task.featurize(*ex, *tok, fo);
  ASSERT_EQ(f.size(), 1u);
  // [CLS] EU rejects German call to boycott British ##ness la ##mb . [SEP]
  EXPECT_EQ(f.encodings[0].tokens,
            (std::vector<std::string>{"[CLS]", "EU", "rejects", "German", "call", "to", "boycott", "British", "##ness",
                                      "la", "##mb", ".", "[SEP]"}));
  // run_ner.py: the first subtoken of a word gets its label, the others and the specials -100
  const tasks::Batch b = collate_all(task, *ex, f);
  EXPECT_EQ(row(b.inputs.labels, 0), (std::vector<int64_t>{-100, 1, 0, 2, 0, 0, 0, 2, -100, 3, -100, 0, -100}));
  // label_all_tokens: later subtokens get b_to_i_label of the word's label (B-MISC -> I-MISC = 3)
  core::Json opt = {{"label_all_tokens", true}};
  core::OptionTable table("t");
  task.declare_options(table);
  table.update_from_json(opt, "test");
  const tasks::Batch all = collate_all(task, *ex, f);
  EXPECT_EQ(row(all.inputs.labels, 0), (std::vector<int64_t>{-100, 1, 0, 2, 0, 0, 0, 2, 3, 3, 3, 0, -100}));
}

TEST(TokenClassificationTask, LabelsAlignLikeRunNerRobertaWithPrefixSpace) {
  TempDir tmp;
  write_text(tmp / "train.conll", kSentence);
  tasks::TokenClassificationTask task;
  auto ex = task.read(tmp / "train.conll", true);
  auto tok = tokenizer("roberta-base");
  ASSERT_TRUE(tok->needs_prefix_space());
  tasks::FeatureOptions fo;
  fo.max_length = 64;
  fo.training = true;
  const tasks::Features f = task.featurize(*ex, *tok, fo);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f.encodings[0].tokens, (std::vector<std::string>{"<s>", "ĠEU", "Ġrejects", "ĠGerman", "Ġcall", "Ġto",
                                                             "Ġboycott", "ĠBritish", "ness", "Ġlamb", "Ġ.", "</s>"}));
  const tasks::Batch b = collate_all(task, *ex, f);
  EXPECT_EQ(row(b.inputs.labels, 0), (std::vector<int64_t>{-100, 1, 0, 2, 0, 0, 0, 2, -100, 3, 0, -100}));
  // padding is -100 too: a second, shorter sentence in the same batch
  write_text(tmp / "two.conll", std::string(kSentence) + "\nEU\tB-ORG\n");
  tasks::TokenClassificationTask task2;
  auto ex2 = task2.read(tmp / "two.conll", true);
  const tasks::Features f2 = task2.featurize(*ex2, *tok, fo);
  const tasks::Batch b2 = collate_all(task2, *ex2, f2);
  EXPECT_EQ(row(b2.inputs.labels, 1),
            (std::vector<int64_t>{-100, 1, -100, -100, -100, -100, -100, -100, -100, -100, -100, -100}));
}

namespace {

// A sentence of n words "w0 ... " made of words the bert-base-cased vocabulary has whole.
std::string long_sentence(size_t n) {
  const std::vector<std::string> words = {"John", "lives", "in", "New", "York", "and", "Mary", "met", "Bob"};
  const std::vector<std::string> tags = {"B-PER", "O", "O", "B-LOC", "I-LOC", "O", "B-PER", "O", "B-PER"};
  std::string s;
  for (size_t i = 0; i < n; ++i) s += words[i % words.size()] + "\t" + tags[i % tags.size()] + "\n";
  return s;
}

}  // namespace

TEST(TokenClassificationTask, EvaluationWindowsCoverEveryWordTrainingTruncatesOnce) {
  TempDir tmp;
  write_text(tmp / "long.conll", long_sentence(40) + "\n" + long_sentence(3));
  tasks::TokenClassificationTask task;
  auto ex = task.read(tmp / "long.conll", true);
  auto tok = tokenizer("bert-base-cased");
  tasks::FeatureOptions fo;
  fo.max_length = 12;
  // training without --stride: one feature per sentence, the long one cut and counted
  fo.training = true;
  const tasks::Features train = task.featurize(*ex, *tok, fo);
  EXPECT_EQ(train.size(), 2u);
  EXPECT_EQ(train.num_truncated, 1u);
  EXPECT_EQ(train.truncated, (std::vector<uint8_t>{1, 0}));
  // evaluation: windows of at most 12 tokens, and every word's first subtoken in some window
  fo.training = false;
  const tasks::Features eval = task.featurize(*ex, *tok, fo);
  EXPECT_EQ(eval.num_truncated, 0u);
  EXPECT_GT(eval.size(), 4u);
  const auto& fd = tasks::token_classification::feature_data(eval);
  std::vector<std::vector<int>> seen = {std::vector<int>(40, 0), std::vector<int>(3, 0)};
  for (size_t f = 0; f < eval.size(); ++f) {
    EXPECT_LE(eval.encodings[f].size(), 12u);
    for (size_t t = 0; t < eval.encodings[f].size(); ++t)
      if (fd.first_subtoken[f][t]) ++seen[eval.example_index[f]][*eval.encodings[f].word_ids[t]];
  }
  for (const auto& s : seen)
    for (size_t w = 0; w < s.size(); ++w) EXPECT_GE(s[w], 1) << "word " << w;
  // training with --stride: windows too
  core::OptionTable table("t");
  task.declare_options(table);
  table.update_from_json({{"stride", 2}}, "test");
  fo.training = true;
  const tasks::Features strided = task.featurize(*ex, *tok, fo);
  EXPECT_EQ(strided.num_truncated, 0u);
  EXPECT_GT(strided.size(), 4u);
  // a stride that leaves no room is a usage error
  table.update_from_json({{"stride", 10}}, "test");
  EXPECT_THROW(task.featurize(*ex, *tok, fo), UsageError);
}

namespace {

// Logits that predict, for every first subtoken, the label `pick(feature, token, word)` returns.
models::ModelOutputs fake_outputs(const tasks::Batch& b, const tasks::Features& f, size_t num_labels,
                                  const std::function<int64_t(size_t, size_t, size_t)>& pick) {
  const int64_t rows = b.inputs.input_ids.size(0), width = b.inputs.input_ids.size(1);
  torch::Tensor logits = torch::zeros({rows, width, static_cast<int64_t>(num_labels)});
  auto a = logits.accessor<float, 3>();
  for (int64_t r = 0; r < rows; ++r) {
    const size_t feat = b.features[r];
    const auto& e = f.encodings[feat];
    for (size_t t = 0; t < e.size(); ++t)
      if (e.word_ids[t]) a[r][t][pick(feat, t, *e.word_ids[t])] = 10.0f;
  }
  models::ModelOutputs out;
  out.logits = logits;
  return out;
}

}  // namespace

TEST(TokenClassificationTask, EvaluatorIsSeqevalOfWordTags) {
  // gold S1: John/B-PER lives/O in/O New/B-LOC York/I-LOC   S2: Mary/B-PER met/O Bob/B-PER
  // pred S1: B-PER O O B-LOC O (LOC cut short)              S2: as gold
  // entities gold {PER(0,1), LOC(3,5)} {PER(0,1), PER(2,3)}; predicted {PER(0,1), LOC(3,4)} {PER, PER}
  // true positives 3 of 4 predicted and 4 gold: precision = recall = f1 = 3/4; tags equal 7 of 8.
  TempDir tmp;
  write_text(tmp / "e.conll",
             "John\tB-PER\nlives\tO\nin\tO\nNew\tB-LOC\nYork\tI-LOC\n\nMary\tB-PER\nmet\tO\nBob\tB-PER\n");
  tasks::TokenClassificationTask task;
  auto ex = task.read(tmp / "e.conll", true);
  ASSERT_EQ(task.labels(), (std::vector<std::string>{"O", "B-PER", "B-LOC", "I-LOC"}));
  const std::vector<std::vector<int64_t>> pred = {{1, 0, 0, 2, 0}, {1, 0, 1}};
  auto tok = tokenizer("bert-base-cased");
  for (size_t max_length : {64u, 5u}) {  // 5: windows of 3 words, stride 1
    tasks::FeatureOptions fo;
    fo.max_length = max_length;
    const tasks::Features f = task.featurize(*ex, *tok, fo);
    if (max_length == 5) EXPECT_GT(f.size(), 2u);
    // batches in shuffled order, one row each
    std::vector<size_t> order(f.size());
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937(7));
    auto ev = task.evaluator(*ex, f);
    torch::Generator g;
    for (size_t r : order) {
      const tasks::Batch b = task.collate(*ex, f, {r}, {}, g);
      ev->add(b, fake_outputs(b, f, 4, [&](size_t feat, size_t, size_t w) { return pred[f.example_index[feat]][w]; }));
    }
    const tasks::EvalReport rep = ev->finish();
    EXPECT_DOUBLE_EQ(rep.scalars["precision"].get<double>(), 0.75) << max_length;
    EXPECT_DOUBLE_EQ(rep.scalars["recall"].get<double>(), 0.75);
    EXPECT_DOUBLE_EQ(rep.scalars["f1"].get<double>(), 0.75);
    EXPECT_DOUBLE_EQ(rep.scalars["accuracy"].get<double>(), 7.0 / 8.0);
    EXPECT_DOUBLE_EQ(rep.report["PER"]["f1"].get<double>(), 1.0);
    EXPECT_EQ(rep.report["PER"]["number"].get<int64_t>(), 3);
    EXPECT_DOUBLE_EQ(rep.report["LOC"]["f1"].get<double>(), 0.0);
    EXPECT_TRUE(rep.report.contains("report_text"));
  }
}

TEST(TokenClassificationTask, EachWordFromTheWindowWhereItHasMostContext) {
  // Windows disagree: a word's first subtoken predicts the right tag only in the window where it is
  // farthest from the window's content edges (ties: the earlier window), a wrong one elsewhere. The
  // evaluator must then find every tag right (f1 1, accuracy 1).
  TempDir tmp;
  write_text(tmp / "long.conll", long_sentence(30));
  tasks::TokenClassificationTask task;
  auto ex = task.read(tmp / "long.conll", true);
  auto tok = tokenizer("bert-base-cased");
  tasks::FeatureOptions fo;
  fo.max_length = 9;
  const tasks::Features f = task.featurize(*ex, *tok, fo);
  ASSERT_GT(f.size(), 3u);
  const auto& gold = tasks::token_examples(*ex).label_ids[0];
  // the best window of each word, by the definition: min(distance to the first content token,
  // distance to the last), the largest, the earliest window on ties
  std::vector<std::pair<int64_t, size_t>> best(gold.size(), {-1, 0});
  for (size_t feat = 0; feat < f.size(); ++feat) {
    const auto& e = f.encodings[feat];
    size_t lo = e.size(), hi = 0;
    for (size_t t = 0; t < e.size(); ++t)
      if (!e.special_tokens_mask[t]) lo = std::min(lo, t), hi = t;
    for (size_t t = lo; t <= hi; ++t) {
      const int64_t ctx = std::min<int64_t>(t - lo, hi - t);
      auto& b = best[*e.word_ids[t]];
      if (ctx > b.first) b = {ctx, feat};
    }
  }
  auto ev = task.evaluator(*ex, f);
  torch::Generator g;
  std::vector<size_t> rows(f.size());
  std::iota(rows.begin(), rows.end(), 0);
  const tasks::Batch b = task.collate(*ex, f, rows, {}, g);
  ev->add(b, fake_outputs(b, f, task.labels().size(), [&](size_t feat, size_t, size_t w) -> int64_t {
            return best[w].second == feat ? gold[w] : (gold[w] == 1 ? 2 : 1);
          }));
  const tasks::EvalReport rep = ev->finish();
  EXPECT_DOUBLE_EQ(rep.scalars["f1"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(rep.scalars["accuracy"].get<double>(), 1.0);
}

TEST(TokenClassificationTask, InputsTextsOrWordsNeverMixed) {
  tasks::TokenClassificationTask task;
  auto texts = task.from_inputs({core::Json("Mary met Bob"), core::Json{{"text", "in New York"}}});
  EXPECT_EQ(texts->size(), 2u);
  EXPECT_TRUE(tasks::token_examples(*texts).is_raw_text());
  auto words = task.from_inputs({core::Json{{"tokens", {"Mary", "met", "Bob"}}}});
  EXPECT_FALSE(tasks::token_examples(*words).is_raw_text());
  EXPECT_EQ(words->example_json(0)["tokens"].size(), 3u);
  EXPECT_THROW(task.from_inputs({core::Json("a"), core::Json{{"tokens", {"b"}}}}), DataError);
  EXPECT_THROW(task.from_inputs({core::Json{{"tokens", core::Json::array()}}}), DataError);
  EXPECT_THROW(task.from_inputs({core::Json{{"tokens", {"a", ""}}}}), DataError);
  EXPECT_THROW(task.from_inputs({core::Json{{"tokens", {"a", 3}}}}), DataError);
  EXPECT_THROW(task.from_inputs({core::Json(3)}), DataError);
  EXPECT_THROW(task.from_inputs({core::Json{{"text", "a"}, {"text_pair", "b"}}}), DataError);
  try {
    task.from_inputs({core::Json("x"), core::Json{{"tokens", 3}}});
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("input 2 of 2"), std::string::npos) << e.what();
  }
}

TEST(TokenClassificationTask, SavedOptionsRoundTripUnknownOnesRefused) {
  tasks::TokenClassificationTask a;
  core::OptionTable table("t");
  a.declare_options(table);
  table.update_from_json({{"stride", 16}, {"aggregation_strategy", "max"}, {"tag_scheme", "IOBES"}}, "test");
  tasks::TokenClassificationTask b;
  b.restore_options(a.saved_options(), "textune_task.json");
  EXPECT_EQ(b.options().stride, std::optional<int64_t>(16));
  EXPECT_EQ(b.options().aggregation_strategy, "max");
  EXPECT_EQ(b.options().tag_scheme, "IOBES");
  EXPECT_THROW(b.restore_options({{"nope", 1}}, "textune_task.json"), DataError);
  EXPECT_THROW(b.restore_options({{"aggregation_strategy", "mean"}}, "textune_task.json"), DataError);
}

// prepare_model keeps a checkpoint's head when its labels are the training file's set in another
// order: the task takes the checkpoint's order and renumbers the examples' label ids to it (as text
// classification does), and the head's weights are the checkpoint's.
TEST(TokenClassificationTask, CheckpointHeadWithTheSameLabelsIsKeptAndRenumbered) {
  TempDir tmp;
  const std::string base = tmp / "base", tuned = tmp / "tuned";
  textune::testing::write_tiny_bert(base, 0.0);
  // first seen: B-LOC I-LOC O B-PER -> "O" first: O B-LOC I-LOC B-PER
  write_text(tmp / "a.conll", "New\tB-LOC\nYork\tI-LOC\nis\tO\nMary\tB-PER\n");
  tasks::TokenClassificationTask a;
  auto a_ex = a.read(tmp / "a.conll", true);
  tasks::ModelSetup setup;
  setup.model_dir = base;
  models::PreTrainedModel m = a.prepare_model(setup, *a_ex, nullptr);
  ASSERT_EQ(a.labels(), (std::vector<std::string>{"O", "B-LOC", "I-LOC", "B-PER"}));
  models::save_pretrained(m, tuned);
  torch::Tensor head;
  for (auto& p : m->named_parameters(true))
    if (p.key() == "classifier.weight") head = p.value().clone();
  ASSERT_TRUE(head.defined());
  // the same tags first seen in another order: O B-PER B-LOC I-LOC
  write_text(tmp / "b.conll", "is\tO\nMary\tB-PER\nin\tO\nNew\tB-LOC\nYork\tI-LOC\n");
  tasks::TokenClassificationTask b;
  auto b_ex = b.read(tmp / "b.conll", true);
  EXPECT_EQ(b.labels(), (std::vector<std::string>{"O", "B-PER", "B-LOC", "I-LOC"}));
  setup.model_dir = tuned;
  models::PreTrainedModel mb = b.prepare_model(setup, *b_ex, nullptr);
  EXPECT_EQ(b.labels(), (std::vector<std::string>{"O", "B-LOC", "I-LOC", "B-PER"}));
  // is/O=0 Mary/B-PER=3 in/O=0 New/B-LOC=1 York/I-LOC=2 in the checkpoint's numbering
  EXPECT_EQ(tasks::token_examples(*b_ex).label_ids.at(0), (std::vector<int64_t>{0, 3, 0, 1, 2}));
  for (auto& p : mb->named_parameters(true))
    if (p.key() == "classifier.weight") EXPECT_TRUE(torch::equal(p.value(), head));
}
