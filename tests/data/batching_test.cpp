// Batch order (shuffle, group_by_length, resume) and collation into padded tensors, on hand-made
// encodings.
#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "textune/data/batching.h"

namespace textune::data {
namespace {

std::vector<size_t> flatten(const std::vector<std::vector<size_t>>& batches) {
  std::vector<size_t> out;
  for (const auto& b : batches) out.insert(out.end(), b.begin(), b.end());
  return out;
}

TEST(BatchSamplerTest, SequentialOrderAndDropLast) {
  SamplerOptions o;
  o.batch_size = 3;
  o.shuffle = false;
  BatchSampler s(std::vector<size_t>(7, 1), o);
  EXPECT_EQ(s.num_batches(), 3u);
  EXPECT_EQ(s.epoch_batches(0), (std::vector<std::vector<size_t>>{{0, 1, 2}, {3, 4, 5}, {6}}));
  o.drop_last = true;
  BatchSampler d(std::vector<size_t>(7, 1), o);
  EXPECT_EQ(d.num_batches(), 2u);
  EXPECT_EQ(d.epoch_batches(0), (std::vector<std::vector<size_t>>{{0, 1, 2}, {3, 4, 5}}));
}

TEST(BatchSamplerTest, ShuffleIsTheDocumentedFisherYates) {
  SamplerOptions o;
  o.batch_size = 4;
  o.seed = 1234;
  const size_t n = 10;
  BatchSampler s(std::vector<size_t>(n, 1), o);
  for (int64_t epoch : {0, 1, 5}) {
    // The documented algorithm: std::mt19937_64 seeded with seed + epoch; for i = n-1..1 swap i with
    // a uniform j in [0, i] drawn by rejection below the largest multiple of i+1.
    std::mt19937_64 gen(o.seed + static_cast<uint64_t>(epoch));
    std::vector<size_t> expected(n);
    std::iota(expected.begin(), expected.end(), size_t{0});
    for (size_t i = n - 1; i > 0; --i) {
      const uint64_t bound = i + 1, limit = UINT64_MAX - UINT64_MAX % bound;
      uint64_t r;
      do r = gen();
      while (r >= limit);
      std::swap(expected[i], expected[r % bound]);
    }
    EXPECT_EQ(flatten(s.epoch_batches(epoch)), expected) << "epoch " << epoch;
  }
  EXPECT_NE(flatten(s.epoch_batches(0)), flatten(s.epoch_batches(1)));
}

TEST(BatchSamplerTest, GroupByLengthFollowsTransformers) {
  // get_length_grouped_indices: the shuffled order is cut into megabatches of mega_batch_mult *
  // batch_size, each sorted by length descending (stably), then the first element of the megabatch
  // holding the maximum is swapped with the very first element.
  std::vector<size_t> lengths;
  std::mt19937 g(7);
  for (int i = 0; i < 37; ++i) lengths.push_back(1 + g() % 50);
  SamplerOptions plain;
  plain.batch_size = 3;
  plain.seed = 99;
  SamplerOptions grouped = plain;
  grouped.group_by_length = true;
  grouped.mega_batch_mult = 4;
  BatchSampler p(lengths, plain), s(lengths, grouped);
  for (int64_t epoch : {0, 3}) {
    std::vector<size_t> order = flatten(p.epoch_batches(epoch));
    const size_t mega = 12;
    size_t best = 0;
    for (size_t start = 0; start < order.size(); start += mega) {
      auto first = order.begin() + static_cast<std::ptrdiff_t>(start);
      auto last = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), start + mega));
      std::stable_sort(first, last, [&](size_t a, size_t b) { return lengths[a] > lengths[b]; });
      if (lengths[*first] > lengths[order[best]]) best = start;
    }
    std::swap(order[0], order[best]);
    const auto batches = s.epoch_batches(epoch);
    EXPECT_EQ(flatten(batches), order);
    EXPECT_EQ(lengths[batches[0][0]], *std::max_element(lengths.begin(), lengths.end()));
    EXPECT_EQ(batches.size(), 13u);  // ceil(37 / 3)
  }
}

TEST(BatchSamplerTest, DefaultMegaBatchIsAQuarterOfTheDataUpToFifty) {
  // transformers: mega_batch_mult = min(n // (batch_size * 4), 50) -> 100 // 32 = 3: megabatches of 24.
  std::vector<size_t> lengths(100);
  std::iota(lengths.begin(), lengths.end(), size_t{1});
  SamplerOptions o;
  o.batch_size = 8;
  o.group_by_length = true;
  BatchSampler s(lengths, o);
  const auto order = flatten(s.epoch_batches(0));
  // every megabatch is sorted by length, descending, after its first element (which the swap of the
  // longest example to the front may have replaced); the 5th (last) has 4 elements
  for (size_t start = 0; start < 100; start += 24)
    for (size_t i = start + 2; i < std::min<size_t>(100, start + 24); ++i)
      EXPECT_GE(lengths[order[i - 1]], lengths[order[i]]) << i;
  EXPECT_EQ(lengths[order[0]], 100u);
  EXPECT_EQ(std::set<size_t>(order.begin(), order.end()).size(), 100u);  // a permutation
}

TEST(BatchSamplerTest, ResumesExactlyFromASavedState) {
  std::vector<size_t> lengths;
  for (size_t i = 0; i < 23; ++i) lengths.push_back(i % 7 + 1);
  SamplerOptions o;
  o.batch_size = 4;
  o.group_by_length = true;
  o.mega_batch_mult = 2;
  o.seed = 5;
  // uninterrupted: 2 epochs of 6 batches
  BatchSampler full(lengths, o);
  std::vector<std::vector<size_t>> expected;
  for (int e = 0; e < 2; ++e) {
    while (auto b = full.next()) expected.push_back(*b);
  }
  ASSERT_EQ(expected.size(), 12u);
  EXPECT_EQ(full.state(), (DataOrderState{2, 0, 5}));
  // interrupted after 4 batches, state saved as JSON, resumed in a new sampler
  BatchSampler first(lengths, o);
  std::vector<std::vector<size_t>> got;
  for (int i = 0; i < 4; ++i) got.push_back(*first.next());
  const std::string saved = first.state().to_json().dump();
  EXPECT_EQ(saved, R"({"epoch":0,"position":4,"seed":5})");
  BatchSampler second(lengths, o);
  second.set_state(DataOrderState::from_json(core::Json::parse(saved)));
  for (int e = 0; e < 2; ++e) {
    while (auto b = second.next()) got.push_back(*b);
  }
  EXPECT_EQ(got, expected);

  DataOrderState other = first.state();
  other.seed = 6;
  EXPECT_THROW(second.set_state(other), DataError);
  EXPECT_THROW(DataOrderState::from_json(core::Json::parse(R"({"epoch": 1})")), DataError);
}

TEST(BatchSamplerTest, BadOptions) {
  SamplerOptions o;
  o.batch_size = 0;
  EXPECT_THROW(BatchSampler({1}, o), UsageError);
  o.batch_size = 2;
  o.shuffle = false;
  o.group_by_length = true;
  EXPECT_THROW(BatchSampler({1}, o), UsageError);
}

tokenizers::Encoding encoding(std::vector<int64_t> ids, std::vector<int64_t> type_ids = {}) {
  tokenizers::Encoding e;
  e.ids = std::move(ids);
  e.type_ids = type_ids.empty() ? std::vector<int64_t>(e.ids.size(), 0) : std::move(type_ids);
  e.attention_mask.assign(e.ids.size(), 1);
  return e;
}

TEST(CollateTest, PadsToTheLongestInTheBatch) {
  // [CLS]=101, [SEP]=102, pad id 0 as bert-base-uncased; a pair has type ids 1 after the first [SEP].
  std::vector<tokenizers::Encoding> enc = {encoding({101, 7592, 102}),
                                           encoding({101, 2023, 102, 2008, 102}, {0, 0, 0, 1, 1}), encoding({101, 102}),
                                           encoding(std::vector<int64_t>(40, 5))};
  Batch b = collate(enc, {2, 0, 1}, nullptr);
  EXPECT_EQ(b.input_ids.sizes(), (std::vector<int64_t>{3, 5}));  // the longest of these three is 5, not 40
  EXPECT_EQ(b.input_ids.dtype(), torch::kInt64);
  EXPECT_TRUE(torch::equal(
      b.input_ids,
      torch::tensor({{101, 102, 0, 0, 0}, {101, 7592, 102, 0, 0}, {101, 2023, 102, 2008, 102}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(b.attention_mask,
                           torch::tensor({{1, 1, 0, 0, 0}, {1, 1, 1, 0, 0}, {1, 1, 1, 1, 1}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(b.token_type_ids,
                           torch::tensor({{0, 0, 0, 0, 0}, {0, 0, 0, 0, 0}, {0, 0, 0, 1, 1}}, torch::kInt64)));
  EXPECT_FALSE(b.labels.defined());
  EXPECT_EQ(b.indices, (std::vector<size_t>{2, 0, 1}));

  CollateOptions o;
  o.pad_token_id = 1;  // RoBERTa's <pad>
  o.pad_to_multiple_of = 4;
  o.padding_side = tokenizers::Side::kLeft;
  Batch l = collate(enc, {0, 2}, nullptr, o);
  EXPECT_TRUE(torch::equal(l.input_ids, torch::tensor({{1, 101, 7592, 102}, {1, 1, 101, 102}}, torch::kInt64)));
  EXPECT_TRUE(torch::equal(l.attention_mask, torch::tensor({{0, 1, 1, 1}, {0, 0, 1, 1}}, torch::kInt64)));
  EXPECT_THROW(collate(enc, {}, nullptr), std::invalid_argument);
  EXPECT_THROW(collate(enc, {9}, nullptr), std::invalid_argument);
}

TEST(CollateTest, LabelsForEachTask) {
  std::vector<tokenizers::Encoding> enc = {encoding({1, 2}), encoding({3})};
  Dataset ds;
  ds.label_column = "label";
  ds.examples.resize(2);
  ds.examples[0].label = 1;
  ds.examples[1].label = 0;
  ds.examples[0].label_ids = {0, 2};
  ds.examples[1].label_ids = {};
  ds.examples[0].value = 4.75;
  ds.examples[1].value = 0.5;
  ds.label_map = LabelMap({"a", "b", "c"});

  ds.task = Task::kClassification;
  Batch c = collate(enc, {1, 0}, &ds);
  EXPECT_TRUE(torch::equal(c.labels, torch::tensor({0, 1}, torch::kInt64)));

  ds.task = Task::kMultiLabel;
  Batch m = collate(enc, {0, 1}, &ds);
  EXPECT_EQ(m.labels.dtype(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(m.labels, torch::tensor({{1.f, 0.f, 1.f}, {0.f, 0.f, 0.f}})));

  ds.task = Task::kRegression;
  Batch r = collate(enc, {0, 1}, &ds);
  EXPECT_TRUE(torch::equal(r.labels, torch::tensor({4.75f, 0.5f})));
}

}  // namespace
}  // namespace textune::data

namespace textune::data {
namespace {

/// A stand-in tokenizer: one id per space-separated word (its length), [CLS]=1 ... [SEP]=2, type id
/// 1 for the pair; truncation cuts words from the end and keeps them as one overflowing window.
class WordTokenizer : public tokenizers::Tokenizer {
 public:
  tokenizers::Encoding encode(const std::string& text, const std::optional<std::string>& pair,
                              const tokenizers::EncodeOptions& options) const override {
    tokenizers::Encoding e;
    auto add = [&](const std::string& s, int64_t type) {
      size_t pos = 0;
      while (pos < s.size()) {
        size_t end = s.find(' ', pos);
        if (end == std::string::npos) end = s.size();
        if (end > pos) {
          e.ids.push_back(static_cast<int64_t>(end - pos));
          e.type_ids.push_back(type);
        }
        pos = end + 1;
      }
      e.ids.push_back(2);
      e.type_ids.push_back(type);
    };
    e.ids.push_back(1);
    e.type_ids.push_back(0);
    add(text, 0);
    if (pair) add(*pair, 1);
    if (options.truncation && e.ids.size() > options.truncation->max_length) {
      tokenizers::Encoding rest;
      rest.ids.assign(e.ids.begin() + static_cast<std::ptrdiff_t>(options.truncation->max_length), e.ids.end());
      e.ids.resize(options.truncation->max_length);
      e.type_ids.resize(options.truncation->max_length);
      if (options.return_overflowing_tokens) e.overflowing.push_back(rest);
    }
    e.attention_mask.assign(e.ids.size(), 1);
    return e;
  }
  std::vector<tokenizers::Encoding> encode_batch(const std::vector<std::string>& texts,
                                                 const std::vector<std::string>* pairs,
                                                 const tokenizers::EncodeOptions& options) const override {
    std::vector<tokenizers::Encoding> out;
    for (size_t i = 0; i < texts.size(); ++i)
      out.push_back(encode(texts[i], pairs ? std::optional<std::string>((*pairs)[i]) : std::nullopt, options));
    return out;
  }
  void pad(std::vector<tokenizers::Encoding>&, const tokenizers::PaddingOptions&) const override {}
  std::string decode(const std::vector<int64_t>&, bool) const override { return ""; }
  std::optional<int64_t> token_to_id(const std::string&) const override { return std::nullopt; }
  std::optional<std::string> id_to_token(int64_t) const override { return std::nullopt; }
  size_t vocab_size() const override { return 100; }
  std::optional<int64_t> pad_token_id() const override { return 0; }
  std::optional<size_t> model_max_length() const override { return 512; }
  size_t num_special_tokens_to_add(bool pair) const override { return pair ? 3 : 2; }
};

TEST(EncodeDataset, EncodesPairsAndCountsTruncatedExamples) {
  Dataset ds;
  ds.text_pair_column = "b";
  ds.examples.resize(2);
  ds.examples[0].text = "a bb";
  ds.examples[0].text_pair = "ccc";
  ds.examples[1].text = "dddd eeeee ffffff ggggggg";
  ds.examples[1].text_pair = "h";
  WordTokenizer tok;
  size_t truncated = 99;
  auto enc = encode_dataset(tok, ds, 6, &truncated);
  ASSERT_EQ(enc.size(), 2u);
  EXPECT_EQ(enc[0].ids, (std::vector<int64_t>{1, 1, 2, 2, 3, 2}));  // [CLS] a bb [SEP] ccc [SEP]
  EXPECT_EQ(enc[0].type_ids, (std::vector<int64_t>{0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(enc[1].ids.size(), 6u);
  EXPECT_EQ(truncated, 1u);                 // only the second example was cut
  EXPECT_TRUE(enc[1].overflowing.empty());  // the windows were only used for counting
  auto full = encode_dataset(tok, ds, std::nullopt);
  EXPECT_EQ(full[1].ids.size(), 8u);
}

}  // namespace
}  // namespace textune::data
