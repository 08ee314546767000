// safetensors files: read by memory-mapping (zero copy), written with Hugging Face's exact layout.
//
// Format (https://huggingface.co/docs/safetensors, Rust crate `safetensors`): 8 bytes little-endian
// header length N, then N bytes of JSON `{"__metadata__": {str: str}, NAME: {"dtype", "shape",
// "data_offsets": [begin, end]}, ...}` padded with spaces to a multiple of 8, then the byte buffer;
// offsets are relative to the buffer start.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace textune::core {

/// One tensor entry of a safetensors header.
struct TensorInfo {
  std::string name;
  std::string dtype;            ///< as written in the file: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;   ///< empty for a scalar
  uint64_t begin = 0;           ///< byte offset into the data buffer
  uint64_t end = 0;             ///< exclusive end offset
};

/// A safetensors file opened read-only through a memory mapping.
///
/// Tensors returned by `get()` are CPU tensors that alias the mapped bytes without a copy; each
/// keeps the mapping alive, so they stay valid after this object is gone. They must not be
/// written to (the mapping is read-only): call `.clone()` before modifying.
class SafetensorsFile {
 public:
  /// Maps `path` and validates the whole header: header length within the file, valid JSON, every
  /// dtype known, `shape` consistent with the byte count, offsets inside the buffer and not
  /// overlapping.
  /// @throws textune::DataError naming the file and the problem (never reads out of bounds).
  static SafetensorsFile open(const std::string& path);

  /// Entries in header order.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  /// `__metadata__` (empty when absent), in file order.
  const std::vector<std::pair<std::string, std::string>>& metadata() const { return metadata_; }
  /// Whether the file holds a tensor called `name`.
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  /// Header entry of `name`. @throws textune::DataError when absent.
  const TensorInfo& info(const std::string& name) const;
  /// Zero-copy CPU tensor over the mapped bytes (copied once only if its start is misaligned for
  /// the dtype). @throws textune::DataError when `name` is absent.
  torch::Tensor get(const std::string& name) const;
  /// All tensors, in header order.
  std::vector<std::pair<std::string, torch::Tensor>> all() const;
  /// The file path.
  const std::string& path() const { return path_; }

 private:
  struct Mapping;
  std::string path_;
  std::shared_ptr<Mapping> mapping_;
  const uint8_t* data_ = nullptr;  // start of the byte buffer
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::vector<std::pair<std::string, std::string>> metadata_;
};

/// The safetensors dtype string of a torch scalar type ("F32", "BF16", ...).
/// @throws textune::DataError for a type safetensors cannot store.
std::string safetensors_dtype(torch::ScalarType type);

/// The torch scalar type of a safetensors dtype string.
/// @throws textune::DataError for an unknown dtype.
torch::ScalarType torch_dtype_from_safetensors(const std::string& dtype);

/// Serializes tensors in the given order (offsets sequential, as Hugging Face's writer lays them
/// out) with optional `__metadata__`, header padded with spaces to a multiple of 8. Supported:
/// F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL. Non-contiguous or non-CPU tensors are
/// copied to contiguous CPU memory first.
/// @throws textune::DataError for an unsupported dtype or a duplicate name.
std::string serialize_safetensors(
    const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
    const std::vector<std::pair<std::string, std::string>>& metadata = {});

/// `serialize_safetensors` written atomically to `path`.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::vector<std::pair<std::string, std::string>>& metadata = {});

/// Tensors in Hugging Face's `save_pretrained` order: sorted by name, metadata {"format": "pt"}.
void save_safetensors_pretrained(const std::string& path,
                                 std::vector<std::pair<std::string, torch::Tensor>> tensors);

/// transformers' default `max_shard_size` ("5GB", decimal): 5,000,000,000 bytes.
inline constexpr uint64_t kDefaultMaxShardSize = 5'000'000'000ULL;

/// What `save_safetensors_sharded` wrote.
struct ShardedSaveResult {
  /// File names written into the directory, in order: the shards, then the index (or just
  /// "model.safetensors" when everything fits in one file).
  std::vector<std::string> files;
  /// Sum of the tensors' byte sizes (the index's metadata.total_size).
  uint64_t total_size = 0;
};

/// Saves tensors as `save_pretrained(max_shard_size=...)` does: split in the given order (the
/// state dict's) into shards of at most `max_shard_size` bytes of tensor data, a tensor larger
/// than the limit alone in its own shard (huggingface_hub's `split_state_dict_into_shards_factory`);
/// one shard is written as `DIR/model.safetensors`, several as
/// `model-00001-of-0000N.safetensors` ... (each like `save_safetensors_pretrained`) plus
/// `model.safetensors.index.json` = {"metadata": {"total_parameters": elements, "total_size":
/// bytes}, "weight_map": {name: shard}} with sorted keys and indent 2 (transformers'
/// `modeling_utils.save_pretrained`). Files are written atomically into an existing directory
/// (typically an AtomicDirectory's staging path); stale shards of an earlier save are not removed.
/// @throws textune::DataError for max_shard_size 0, a duplicate name, an unsupported dtype or a
///         write failure.
ShardedSaveResult save_safetensors_sharded(const std::string& dir,
                                           const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                                           uint64_t max_shard_size = kDefaultMaxShardSize);

}  // namespace textune::core
