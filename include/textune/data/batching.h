// From examples to model inputs: encoding a dataset, the order of batches (shuffled, optionally
// grouped by length, resumable), and collation into padded tensors.
//
// Sources: `transformers` trainer_pt_utils.py (LengthGroupedSampler / get_length_grouped_indices:
// group_by_length), data/data_collator.py (DataCollatorWithPadding: pad to the longest in the batch).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include <torch/types.h>

#include "textune/core/json.h"
#include "textune/data/dataset.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::data {

/// Encodes every example (text, or text and pair) with `tokenizer` on all cores, without padding.
/// `max_length`: truncation length in tokens, special tokens included (longest_first for pairs);
/// none: no truncation. `num_truncated`, when given, receives how many examples were cut;
/// `truncated`, when given, one flag per example (1: it was cut).
/// @throws textune::DataError as Tokenizer::encode_batch.
std::vector<tokenizers::Encoding> encode_dataset(const tokenizers::Tokenizer& tokenizer, const Dataset& dataset,
                                                 std::optional<size_t> max_length, size_t* num_truncated = nullptr,
                                                 std::vector<uint8_t>* truncated = nullptr);

/// Where a sampler is in its sequence of batches: everything needed to continue exactly after a
/// restart (saved in a checkpoint's trainer state).
struct DataOrderState {
  int64_t epoch = 0;     ///< 0-based epoch being read
  int64_t position = 0;  ///< batches of this epoch already returned
  uint64_t seed = 42;    ///< the sampler's seed (TrainingArguments.data_seed, else seed)

  /// {"epoch": E, "position": P, "seed": S}.
  core::Json to_json() const;
  /// Inverse of to_json. @throws textune::DataError when a key is missing or not an integer.
  static DataOrderState from_json(const core::Json& json);
  bool operator==(const DataOrderState& o) const {
    return epoch == o.epoch && position == o.position && seed == o.seed;
  }
};

/// Options of BatchSampler.
struct SamplerOptions {
  size_t batch_size = 8;         ///< examples per batch (per_device_train_batch_size)
  bool shuffle = true;           ///< a new random order every epoch; false: file order
  bool group_by_length = false;  ///< transformers' group_by_length (needs shuffle)
  bool drop_last = false;        ///< dataloader_drop_last: leave out a last, smaller batch
  uint64_t seed = 42;
  /// group_by_length: megabatch = mega_batch_mult * batch_size examples. Default as `transformers`:
  /// min(n / (4 * batch_size), 50), at least 1.
  std::optional<size_t> mega_batch_mult;
};

/// The order in which a dataset is read, batch by batch, epoch after epoch. Deterministic: the order
/// of epoch e depends only on (seed, e, lengths), never on global random state, so a run resumed from
/// a DataOrderState reads exactly the batches an uninterrupted run would.
///
/// Shuffling: the permutation of epoch e is a Fisher-Yates shuffle driven by a 64-bit Mersenne
/// Twister (std::mt19937_64, a fully specified generator) seeded with seed + e; bounded integers by
/// rejection, so the order is the same on every platform and compiler.
///
/// group_by_length (transformers' get_length_grouped_indices): the epoch's permutation is cut into
/// megabatches of mega_batch_mult * batch_size; each is sorted by length, longest first (stable);
/// the longest example overall is swapped to the very front, so the first batch is the largest (an
/// out-of-memory error shows at once); the concatenation is cut into batches.
class BatchSampler {
 public:
  /// @param lengths length (tokens) of every example; only used with group_by_length.
  /// @throws textune::UsageError for batch_size 0 or group_by_length without shuffle.
  BatchSampler(std::vector<size_t> lengths, SamplerOptions options);

  /// Batches per epoch.
  size_t num_batches() const;
  /// Examples in the dataset.
  size_t num_examples() const { return lengths_.size(); }
  /// Every batch of epoch `epoch` (dataset indices), in order.
  std::vector<std::vector<size_t>> epoch_batches(int64_t epoch) const;

  /// The next batch of the current epoch, advancing the state; none when the epoch is over (the
  /// state then moves to the next epoch, position 0).
  std::optional<std::vector<size_t>> next();
  /// The current state (save it with a checkpoint).
  const DataOrderState& state() const { return state_; }
  /// Continues from a saved state. @throws textune::DataError when its seed differs from the
  /// sampler's or the position is past the epoch's end.
  void set_state(const DataOrderState& state);

 private:
  std::vector<size_t> lengths_;
  SamplerOptions options_;
  DataOrderState state_;
  int64_t cached_epoch_ = -1;
  std::vector<std::vector<size_t>> cached_batches_;
};

/// Options of collate.
struct CollateOptions {
  int64_t pad_token_id = 0;  ///< Tokenizer::pad_token_id()
  int64_t pad_token_type_id = 0;
  std::optional<size_t> pad_to_multiple_of;  ///< e.g. 8 for tensor cores
  tokenizers::Side padding_side = tokenizers::Side::kRight;
};

/// A batch of model inputs. Integer tensors are int64 on the CPU.
struct Batch {
  torch::Tensor input_ids;       ///< (B, T)
  torch::Tensor attention_mask;  ///< (B, T), 1 for tokens, 0 for padding
  torch::Tensor token_type_ids;  ///< (B, T), pad_token_type_id in padding
  /// classification (B) int64 ids; multi-label (B, num_labels) float32 multi-hot; regression (B)
  /// float32. Undefined when the dataset has no labels.
  torch::Tensor labels;
  std::vector<size_t> indices;  ///< dataset index of each row
};

/// Pads `encodings[indices[i]]` to the longest of them (rounded up to pad_to_multiple_of) into one
/// batch, as DataCollatorWithPadding; an encoding's own attention_mask is kept when it has one.
/// `dataset`: where labels come from (`labels` undefined when null or unlabeled).
/// @throws std::invalid_argument for an empty `indices` or an index out of range.
Batch collate(const std::vector<tokenizers::Encoding>& encodings, const std::vector<size_t>& indices,
              const Dataset* dataset, const CollateOptions& options = {});

}  // namespace textune::data
