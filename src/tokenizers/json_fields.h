// Typed reads of tokenizer.json fields with errors that name the component and the field.
#pragma once

#include <cstdint>
#include <string>

#include "textune/core/error.h"
#include "textune/core/json.h"

namespace textune::tokenizers {

inline const core::Json& json_field(const core::Json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key))
    throw DataError(where + ": missing field \"" + key + "\"");
  return j.at(key);
}

inline std::string json_string(const core::Json& j, const char* key, const std::string& where) {
  const core::Json& v = json_field(j, key, where);
  if (!v.is_string()) throw DataError(where + ": field \"" + key + "\" must be a string, got " + v.dump());
  return v.get<std::string>();
}

inline std::string json_string_or(const core::Json& j, const char* key, const std::string& fallback,
                                  const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return json_string(j, key, where);
}

inline bool json_bool_or(const core::Json& j, const char* key, bool fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  const core::Json& v = j.at(key);
  if (!v.is_boolean()) throw DataError(where + ": field \"" + key + "\" must be true or false, got " + v.dump());
  return v.get<bool>();
}

inline int64_t json_int_or(const core::Json& j, const char* key, int64_t fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  const core::Json& v = j.at(key);
  if (!v.is_number_integer()) throw DataError(where + ": field \"" + key + "\" must be an integer, got " + v.dump());
  return v.get<int64_t>();
}

/// Reads a single character (a one-code-point string) field.
char32_t json_char(const core::Json& j, const char* key, const std::string& where);

}  // namespace textune::tokenizers
