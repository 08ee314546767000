#include "textune/core/checkpoint.h"

#include <filesystem>

#include "textune/core/config_check.h"
#include "textune/core/error.h"

namespace fs = std::filesystem;

namespace textune::core {

CheckpointWeights CheckpointWeights::open_file(const std::string& path) {
  CheckpointWeights w;
  w.files_.push_back(SafetensorsFile::open(path));
  for (const auto& t : w.files_[0].tensors()) w.where_[t.name] = 0;
  return w;
}

CheckpointWeights CheckpointWeights::open(const std::string& dir) {
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  std::error_code ec;
  if (fs::exists(single, ec)) return open_file(single);
  if (!fs::exists(index, ec)) {
    std::string hint;
    if (fs::exists(dir + "/pytorch_model.bin", ec))
      hint = " (it has pytorch_model.bin: convert it to safetensors, e.g. with transformers' "
             "`save_pretrained(..., safe_serialization=True)`)";
    throw DataError("no weights in " + dir + ": expected model.safetensors or model.safetensors.index.json" + hint);
  }
  Json idx = read_json_file(index);
  if (!idx.contains("weight_map") || !idx["weight_map"].is_object())
    throw DataError(index + ": no \"weight_map\" object");
  CheckpointWeights w;
  std::map<std::string, size_t> shard_index;
  for (auto it = idx["weight_map"].begin(); it != idx["weight_map"].end(); ++it) {
    if (!it.value().is_string()) throw DataError(index + ": weight_map entry \"" + it.key() + "\" is not a file name");
    const std::string shard = it.value().get<std::string>();
    if (shard.find('/') != std::string::npos || shard == "..")
      throw DataError(index + ": shard name \"" + shard + "\" must be a file name in the same directory");
    auto found = shard_index.find(shard);
    if (found == shard_index.end()) {
      const std::string path = dir + "/" + shard;
      if (!fs::exists(path, ec)) throw DataError(index + " names shard " + shard + ", which is missing from " + dir);
      found = shard_index.emplace(shard, w.files_.size()).first;
      w.files_.push_back(SafetensorsFile::open(path));
    }
    if (!w.files_[found->second].contains(it.key()))
      throw DataError(index + " maps tensor \"" + it.key() + "\" to " + shard + ", which does not hold it");
    w.where_[it.key()] = found->second;
  }
  return w;
}

std::vector<std::string> CheckpointWeights::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [k, v] : where_) out.push_back(k);
  return out;
}

const TensorInfo& CheckpointWeights::info(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw DataError("tensor \"" + name + "\" not found in the checkpoint");
  return files_[it->second].info(name);
}

torch::Tensor CheckpointWeights::get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw DataError("tensor \"" + name + "\" not found in the checkpoint");
  return files_[it->second].get(name);
}

Json read_model_config(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DataError(dir + " is not a directory (expected a model directory)");
  const std::string path = dir + "/config.json";
  if (!fs::exists(path, ec)) throw DataError(dir + " is not a model directory: no config.json");
  Json cfg = read_json_file(path);
  if (!cfg.is_object()) throw DataError(path + ": expected a JSON object");
  check_model_config(cfg, path);
  return cfg;
}

bool has_safetensors_weights(const std::string& dir) {
  std::error_code ec;
  return fs::exists(dir + "/model.safetensors", ec) || fs::exists(dir + "/model.safetensors.index.json", ec);
}

}  // namespace textune::core
