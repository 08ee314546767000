// A Hugging Face model directory on disk: config.json and weights in one safetensors file or in
// shards named by `model.safetensors.index.json` (transformers' `modeling_utils` layout).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/core/safetensors.h"

namespace textune::core {

/// The weights of a checkpoint directory, across one or more safetensors files, addressed by tensor
/// name. Tensors alias the memory-mapped files (see SafetensorsFile).
class CheckpointWeights {
 public:
  /// Opens `DIR/model.safetensors`, or `DIR/model.safetensors.index.json` and every shard its
  /// `weight_map` names.
  /// @throws textune::DataError when the directory has neither, a shard is missing, or the index
  ///         names a tensor its shard does not hold.
  static CheckpointWeights open(const std::string& dir);
  /// Opens one safetensors file.
  static CheckpointWeights open_file(const std::string& path);

  /// Tensor names, sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  /// Header entry of `name`. @throws textune::DataError when absent.
  const TensorInfo& info(const std::string& name) const;
  /// Zero-copy tensor. @throws textune::DataError when absent.
  torch::Tensor get(const std::string& name) const;
  /// The files opened (one, or the shards in index order).
  const std::vector<SafetensorsFile>& files() const { return files_; }

 private:
  std::vector<SafetensorsFile> files_;
  std::map<std::string, size_t> where_;  // tensor name -> file index
};

/// Reads `DIR/config.json` and checks its sizes, labels and dtype (`check_model_config`).
/// @throws textune::DataError when it is missing ("DIR is not a model directory: no config.json"),
///         not valid JSON, or a value is out of range (naming the key and the accepted range).
Json read_model_config(const std::string& dir);

/// Whether `dir` holds weights textune can read (model.safetensors or a sharded index).
bool has_safetensors_weights(const std::string& dir);

}  // namespace textune::core
