// Encoding, batch order (shuffled, length-grouped, resumable) and collation into padded tensors.
#include "textune/data/batching.h"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>

#include <fmt/format.h>

#include "textune/core/error.h"

namespace textune::data {

std::vector<tokenizers::Encoding> encode_dataset(const tokenizers::Tokenizer& tokenizer, const Dataset& dataset,
                                                 std::optional<size_t> max_length, size_t* num_truncated,
                                                 std::vector<uint8_t>* truncated) {
  tokenizers::EncodeOptions options;
  const bool count = num_truncated != nullptr || truncated != nullptr;
  if (max_length) {
    tokenizers::TruncationOptions t;
    t.max_length = *max_length;
    options.truncation = t;
    // the overflowing windows tell which inputs were cut
    options.return_overflowing_tokens = count;
  }
  const std::vector<std::string> texts = dataset.texts();
  const std::vector<std::string> pairs = dataset.text_pairs();
  std::vector<tokenizers::Encoding> encodings =
      tokenizer.encode_batch(texts, dataset.has_pairs() ? &pairs : nullptr, options);
  if (count) {
    if (num_truncated) *num_truncated = 0;
    if (truncated) truncated->assign(encodings.size(), 0);
    for (size_t i = 0; i < encodings.size(); ++i) {
      auto& e = encodings[i];
      if (!e.overflowing.empty()) {
        if (num_truncated) ++*num_truncated;
        if (truncated) (*truncated)[i] = 1;
      }
      e.overflowing.clear();
      e.overflowing.shrink_to_fit();
    }
  }
  return encodings;
}

// ---------------------------------------------------------------------------------------------
// data order

core::Json DataOrderState::to_json() const {
  core::Json j = core::Json::object();
  j["epoch"] = epoch;
  j["position"] = position;
  j["seed"] = seed;
  return j;
}

DataOrderState DataOrderState::from_json(const core::Json& j) {
  DataOrderState s;
  for (const char* key : {"epoch", "position", "seed"})
    if (!j.is_object() || !j.contains(key) || !j[key].is_number_integer())
      throw DataError(fmt::format("data order state: \"{}\" is missing or not an integer (got {})", key,
                                  j.is_object() && j.contains(key) ? j[key].dump() : "nothing"));
  s.epoch = j["epoch"].get<int64_t>();
  s.position = j["position"].get<int64_t>();
  s.seed = j["seed"].get<uint64_t>();
  if (s.epoch < 0 || s.position < 0) throw DataError("data order state: epoch and position must be >= 0");
  return s;
}

namespace {

/// Uniform integer in [0, bound) from a 64-bit generator, by rejection (no modulo bias); specified
/// here rather than by std::uniform_int_distribution, whose algorithm differs between libraries.
uint64_t uniform_below(std::mt19937_64& gen, uint64_t bound) {
  const uint64_t limit = UINT64_MAX - UINT64_MAX % bound;  // accept r < limit
  uint64_t r;
  do {
    r = gen();
  } while (r >= limit);
  return r % bound;
}

}  // namespace

BatchSampler::BatchSampler(std::vector<size_t> lengths, SamplerOptions options)
    : lengths_(std::move(lengths)), options_(options) {
  if (options_.batch_size == 0) throw UsageError("the batch size must be at least 1");
  if (options_.group_by_length && !options_.shuffle)
    throw UsageError("group_by_length needs shuffling (it groups a random order by length)");
  if (options_.mega_batch_mult && *options_.mega_batch_mult == 0)
    throw UsageError("mega_batch_mult must be at least 1");
  state_.seed = options_.seed;
}

size_t BatchSampler::num_batches() const {
  const size_t n = lengths_.size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<std::vector<size_t>> BatchSampler::epoch_batches(int64_t epoch) const {
  const size_t n = lengths_.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  if (options_.shuffle && n > 1) {
    std::mt19937_64 gen(options_.seed + static_cast<uint64_t>(epoch));
    for (size_t i = n - 1; i > 0; --i) std::swap(order[i], order[uniform_below(gen, i + 1)]);
  }
  if (options_.group_by_length && n > 0) {
    size_t mult = options_.mega_batch_mult.value_or(std::min<size_t>(n / (options_.batch_size * 4), 50));
    if (mult == 0) mult = 1;
    const size_t mega = mult * options_.batch_size;
    size_t longest_mega = 0, longest = 0;
    for (size_t start = 0; start < n; start += mega) {
      const auto first = order.begin() + static_cast<std::ptrdiff_t>(start);
      const auto last = order.begin() + static_cast<std::ptrdiff_t>(std::min(n, start + mega));
      std::stable_sort(first, last, [&](size_t a, size_t b) { return lengths_[a] > lengths_[b]; });
      if (start == 0 || lengths_[*first] > longest) {  // the first megabatch with the maximum (argmax)
        longest = lengths_[*first];
        longest_mega = start;
      }
    }
    // the longest example first, so that an out-of-memory error shows in the first step
    std::swap(order[0], order[longest_mega]);
  }
  std::vector<std::vector<size_t>> batches;
  batches.reserve(num_batches());
  for (size_t start = 0; start < n; start += options_.batch_size) {
    const size_t end = std::min(n, start + options_.batch_size);
    if (options_.drop_last && end - start < options_.batch_size) break;
    batches.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(start),
                         order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  return batches;
}

std::optional<std::vector<size_t>> BatchSampler::next() {
  if (static_cast<size_t>(state_.position) >= num_batches()) {
    ++state_.epoch;
    state_.position = 0;
    return std::nullopt;
  }
  if (cached_epoch_ != state_.epoch) {
    cached_batches_ = epoch_batches(state_.epoch);
    cached_epoch_ = state_.epoch;
  }
  return cached_batches_[static_cast<size_t>(state_.position++)];
}

void BatchSampler::set_state(const DataOrderState& state) {
  if (state.seed != options_.seed)
    throw DataError(
        fmt::format("the checkpoint's data order was drawn with seed {}, this run uses {} (resume with "
                    "the same seed)",
                    state.seed, options_.seed));
  if (state.epoch < 0 || state.position < 0 || static_cast<size_t>(state.position) > num_batches())
    throw DataError(
        fmt::format("the checkpoint's data position {} is past the {} batches of an epoch (was the "
                    "dataset or the batch size changed?)",
                    state.position, num_batches()));
  state_ = state;
}

// ---------------------------------------------------------------------------------------------
// collation

Batch collate(const std::vector<tokenizers::Encoding>& encodings, const std::vector<size_t>& indices,
              const Dataset* dataset, const CollateOptions& options) {
  if (indices.empty()) throw std::invalid_argument("collate: no examples");
  size_t longest = 0;
  for (size_t i : indices) {
    if (i >= encodings.size())
      throw std::invalid_argument(fmt::format("collate: index {} is outside the {} encodings", i, encodings.size()));
    longest = std::max(longest, encodings[i].ids.size());
  }
  if (options.pad_to_multiple_of && *options.pad_to_multiple_of > 1) {
    const size_t m = *options.pad_to_multiple_of;
    longest = (longest + m - 1) / m * m;
  }
  const auto B = static_cast<int64_t>(indices.size()), T = static_cast<int64_t>(longest);
  auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  Batch batch;
  batch.indices = indices;
  batch.input_ids = torch::full({B, T}, options.pad_token_id, i64);            // (B, T)
  batch.attention_mask = torch::zeros({B, T}, i64);                            // (B, T)
  batch.token_type_ids = torch::full({B, T}, options.pad_token_type_id, i64);  // (B, T)
  auto ids = batch.input_ids.accessor<int64_t, 2>();
  auto mask = batch.attention_mask.accessor<int64_t, 2>();
  auto types = batch.token_type_ids.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& e = encodings[indices[static_cast<size_t>(b)]];
    const auto n = static_cast<int64_t>(e.ids.size());
    const int64_t offset = options.padding_side == tokenizers::Side::kLeft ? T - n : 0;
    for (int64_t t = 0; t < n; ++t) {
      const auto k = static_cast<size_t>(t);
      ids[b][offset + t] = e.ids[k];
      mask[b][offset + t] = k < e.attention_mask.size() ? e.attention_mask[k] : 1;
      types[b][offset + t] = k < e.type_ids.size() ? e.type_ids[k] : 0;
    }
  }
  if (dataset && dataset->has_labels()) {
    for (size_t i : indices)
      if (i >= dataset->examples.size())
        throw std::invalid_argument(fmt::format("collate: index {} is outside the {} examples", i, dataset->size()));
    switch (dataset->task) {
      case Task::kClassification: {
        batch.labels = torch::empty({B}, i64);  // (B)
        auto l = batch.labels.accessor<int64_t, 1>();
        for (int64_t b = 0; b < B; ++b) l[b] = dataset->examples[indices[static_cast<size_t>(b)]].label;
        break;
      }
      case Task::kMultiLabel: {
        const auto L = static_cast<int64_t>(dataset->label_map.size());
        batch.labels = torch::zeros({B, L}, torch::kFloat32);  // (B, L) multi-hot
        auto l = batch.labels.accessor<float, 2>();
        for (int64_t b = 0; b < B; ++b)
          for (int64_t id : dataset->examples[indices[static_cast<size_t>(b)]].label_ids) l[b][id] = 1.0f;
        break;
      }
      case Task::kRegression: {
        batch.labels = torch::empty({B}, torch::kFloat32);  // (B)
        auto l = batch.labels.accessor<float, 1>();
        for (int64_t b = 0; b < B; ++b)
          l[b] = static_cast<float>(dataset->examples[indices[static_cast<size_t>(b)]].value);
        break;
      }
    }
  }
  return batch;
}

}  // namespace textune::data
