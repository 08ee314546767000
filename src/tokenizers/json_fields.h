// Typed reads of tokenizer.json fields with errors that name the component and the field.
#pragma once

#include <cstdint>
#include <string>

#include "textune/core/error.h"
#include "textune/core/json.h"

namespace textune::tokenizers {

template <class J>
inline const J& json_field(const J& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) throw DataError(where + ": missing field \"" + key + "\"");
  return j.at(key);
}

template <class J>
inline std::string json_string(const J& j, const char* key, const std::string& where) {
  const J& v = json_field(j, key, where);
  if (!v.is_string()) throw DataError(where + ": field \"" + key + "\" must be a string, got " + v.dump());
  return v.template get<std::string>();
}

template <class J>
inline std::string json_string_or(const J& j, const char* key, const std::string& fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return json_string(j, key, where);
}

template <class J>
inline bool json_bool_or(const J& j, const char* key, bool fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  const J& v = j.at(key);
  if (!v.is_boolean()) throw DataError(where + ": field \"" + key + "\" must be true or false, got " + v.dump());
  return v.template get<bool>();
}

template <class J>
inline int64_t json_int_or(const J& j, const char* key, int64_t fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  const J& v = j.at(key);
  if (!v.is_number_integer()) throw DataError(where + ": field \"" + key + "\" must be an integer, got " + v.dump());
  return v.template get<int64_t>();
}

/// Reads a single character (a one-code-point string) field.
char32_t json_char(const nlohmann::json& j, const char* key, const std::string& where);

}  // namespace textune::tokenizers
