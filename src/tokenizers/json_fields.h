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

/// Reads a token id: `tokenizers` stores ids as u32, so a JSON integer in [0, 4294967295]; a negative,
/// fractional or larger value (which a cast would wrap: 4294974889 -> 7593) is an error.
/// `what` names the value (e.g. `vocab entry "hello"`). @throws textune::DataError naming `where` and `what`.
template <class J>
inline uint32_t json_token_id(const J& v, const std::string& where, const std::string& what) {
  bool ok = false;
  uint64_t n = 0;
  if (v.is_number_unsigned()) {
    n = v.template get<uint64_t>();
    ok = n <= 0xFFFFFFFFULL;
  } else if (v.is_number_integer()) {
    const int64_t s = v.template get<int64_t>();
    ok = s >= 0 && s <= 0xFFFFFFFFLL;
    n = static_cast<uint64_t>(s);
  }
  if (!ok)
    throw DataError(where + ": " + what + " must be a token id (an integer from 0 to 4294967295), got " +
                    v.dump().substr(0, 64));
  return static_cast<uint32_t>(n);
}

/// Reads an optional non-negative integer field no larger than `max` (sizes, counts, type ids:
/// `tokenizers` reads them as usize or u32, so -1 is an error there too).
/// @throws textune::DataError naming `where`, the key and the accepted range.
template <class J>
inline uint64_t json_uint_or(const J& j, const char* key, uint64_t fallback, const std::string& where,
                             uint64_t max = 0xFFFFFFFFULL) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  const J& v = j.at(key);
  bool ok = false;
  uint64_t n = 0;
  if (v.is_number_unsigned()) {
    n = v.template get<uint64_t>();
    ok = n <= max;
  } else if (v.is_number_integer()) {
    const int64_t s = v.template get<int64_t>();
    ok = s >= 0 && static_cast<uint64_t>(s) <= max;
    n = static_cast<uint64_t>(s);
  }
  if (!ok)
    throw DataError(where + ": field \"" + key + "\" must be an integer from 0 to " + std::to_string(max) + ", got " +
                    v.dump().substr(0, 64));
  return n;
}

/// Reads a single character (a one-code-point string) field.
char32_t json_char(const nlohmann::json& j, const char* key, const std::string& where);

}  // namespace textune::tokenizers
