#include "models/config_view.h"

#include <unordered_set>

#include <fmt/format.h>

#include "textune/core/error.h"

namespace textune::models {

ConfigView::ConfigView(const core::Json& config, std::string source) : config_(config), source_(std::move(source)) {}

bool ConfigView::has(const char* key) const { return config_.contains(key) && !config_[key].is_null(); }

int64_t ConfigView::get_int(const char* key) const {
  if (!has(key)) throw DataError(fmt::format("{}: missing \"{}\" (an integer)", source_, key));
  return get_int(key, 0);
}

int64_t ConfigView::get_int(const char* key, int64_t fallback) const {
  if (!has(key)) return fallback;
  const auto& v = config_[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())))
    return static_cast<int64_t>(v.get<double>());
  throw DataError(fmt::format("{}: \"{}\" must be an integer, got {}", source_, key, v.dump()));
}

std::optional<int64_t> ConfigView::get_optional_int(const char* key) const {
  if (!has(key)) return std::nullopt;
  return get_int(key, 0);
}

double ConfigView::get_double(const char* key, double fallback) const {
  if (!has(key)) return fallback;
  const auto& v = config_[key];
  if (!v.is_number()) throw DataError(fmt::format("{}: \"{}\" must be a number, got {}", source_, key, v.dump()));
  return v.get<double>();
}

std::optional<double> ConfigView::get_optional_double(const char* key) const {
  if (!has(key)) return std::nullopt;
  return get_double(key, 0.0);
}

bool ConfigView::get_bool(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& v = config_[key];
  if (!v.is_boolean()) throw DataError(fmt::format("{}: \"{}\" must be true or false, got {}", source_, key, v.dump()));
  return v.get<bool>();
}

std::string ConfigView::get_string(const char* key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = config_[key];
  if (!v.is_string()) throw DataError(fmt::format("{}: \"{}\" must be a string, got {}", source_, key, v.dump()));
  return v.get<std::string>();
}

std::string ConfigView::get_string(const char* key) const {
  if (!has(key)) throw DataError(fmt::format("{}: missing \"{}\" (a string)", source_, key));
  return get_string(key, "");
}

int64_t config_num_labels(const core::Json& config) {
  if (config.contains("id2label") && config["id2label"].is_object() && !config["id2label"].empty())
    return static_cast<int64_t>(config["id2label"].size());
  if (config.contains("num_labels") && config["num_labels"].is_number_integer())
    return config["num_labels"].get<int64_t>();
  return 2;
}

std::vector<std::string> config_id2label(const core::Json& config) {
  const int64_t n = config_num_labels(config);
  std::vector<std::string> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[i] = "LABEL_" + std::to_string(i);
  if (config.contains("id2label") && !config["id2label"].is_null() && !config["id2label"].is_object())
    throw DataError("config.json: \"id2label\" must be an object of label ids to names, got " +
                    std::string(config["id2label"].is_array() ? "a list" : config["id2label"].dump()));
  if (config.contains("id2label") && config["id2label"].is_object()) {
    for (auto it = config["id2label"].begin(); it != config["id2label"].end(); ++it) {
      int64_t id = -1;
      try {
        size_t used = 0;
        id = std::stoll(it.key(), &used);
        if (used != it.key().size()) id = -1;
      } catch (const std::exception&) {
        id = -1;
      }
      if (id < 0 || id >= n)
        throw DataError(fmt::format("config.json: id2label key \"{}\" is not a label id in 0..{}", it.key(), n - 1));
      labels[id] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    }
  }
  return labels;
}

void set_config_labels(core::Json& config, const std::vector<std::string>& labels) {
  // Appended, not assigned: `object[key] = ...` searches the ordered object, quadratic in labels.
  std::unordered_set<std::string> seen;
  core::Json id2label = core::Json::object(), label2id = core::Json::object();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (!seen.insert(labels[i]).second)
      throw DataError(fmt::format("label \"{}\" is given twice: each label needs its own name", labels[i]));
    core::json_object_append(id2label, std::to_string(i), labels[i]);
    core::json_object_append(label2id, labels[i], static_cast<int64_t>(i));
  }
  config["id2label"] = id2label;
  config["label2id"] = label2id;
  config.erase("num_labels");
}

}  // namespace textune::models
