// Typed, checked access to a config.json object (transformers' `PretrainedConfig` attributes).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"

namespace textune::models {

/// Reads typed values out of a config.json object. A key that is absent or `null` takes the
/// default that transformers' config class gives it; a key of the wrong type is a DataError naming
/// the key and the source ("DIR/config.json").
class ConfigView {
 public:
  /// @param config the parsed config.json; @param source its path, for messages.
  ConfigView(const core::Json& config, std::string source);

  /// Whether `key` is present and not null.
  bool has(const char* key) const;
  /// A required integer. @throws textune::DataError when missing or not an integer.
  int64_t get_int(const char* key) const;
  int64_t get_int(const char* key, int64_t fallback) const;
  /// An integer or null (e.g. pad_token_id). @throws textune::DataError when of another type.
  std::optional<int64_t> get_optional_int(const char* key) const;
  double get_double(const char* key, double fallback) const;
  std::optional<double> get_optional_double(const char* key) const;
  bool get_bool(const char* key, bool fallback) const;
  std::string get_string(const char* key, const std::string& fallback) const;
  /// A required string. @throws textune::DataError when missing or not a string.
  std::string get_string(const char* key) const;

  const std::string& source() const { return source_; }
  const core::Json& json() const { return config_; }

 private:
  const core::Json& config_;
  std::string source_;
};

/// Number of labels a config describes: the size of `id2label` when present, else `num_labels`,
/// else 2 (transformers' PretrainedConfig default).
int64_t config_num_labels(const core::Json& config);

/// Labels in id order from `id2label` ("LABEL_i" for ids it lacks); `num_labels` "LABEL_i" names
/// when absent. @throws textune::DataError when id2label has a key that is not an integer.
std::vector<std::string> config_id2label(const core::Json& config);

/// Sets `id2label` ({"0": name, ...}) and `label2id` ({name: 0, ...}) from labels in id order, in
/// time linear in their number. @throws textune::DataError when a name appears twice.
void set_config_labels(core::Json& config, const std::vector<std::string>& labels);

}  // namespace textune::models
