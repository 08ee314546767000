// The template part of core/options.h (OptionTable::add for each supported field type).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "textune/core/error.h"
#include "textune/core/json.h"

namespace textune::core {
namespace options_detail {

template <class T>
struct Unwrap {
  using type = T;
  static constexpr bool optional = false;
};
template <class T>
struct Unwrap<std::optional<T>> {
  using type = T;
  static constexpr bool optional = true;
};

template <class V>
const char* type_name() {
  if constexpr (std::is_same_v<V, bool>) return "bool";
  else if constexpr (std::is_same_v<V, std::string>) return "string";
  else if constexpr (std::is_floating_point_v<V>) return "float";
  else if constexpr (std::is_unsigned_v<V>) return "uint";
  else return "int";
}

/// Converts `value` to V. @throws textune::UsageError naming `name` and `source`.
template <class V>
V convert(const Json& value, const std::string& name, const std::string& source) {
  auto bad = [&](const char* expected) {
    return UsageError(source + ": \"" + name + "\" must be " + expected + ", not " + value.dump());
  };
  if constexpr (std::is_same_v<V, bool>) {
    if (!value.is_boolean()) throw bad("true or false");
    return value.get<bool>();
  } else if constexpr (std::is_same_v<V, std::string>) {
    if (!value.is_string()) throw bad("a string");
    return value.get<std::string>();
  } else if constexpr (std::is_floating_point_v<V>) {
    if (!value.is_number()) throw bad("a number");
    return value.get<V>();
  } else if constexpr (std::is_unsigned_v<V>) {
    if (!value.is_number_integer() || (value.is_number_integer() && !value.is_number_unsigned() && value.get<int64_t>() < 0))
      throw bad("a non-negative integer");
    return value.get<V>();
  } else {
    if (!value.is_number_integer()) throw bad("an integer");
    return value.get<V>();
  }
}

}  // namespace options_detail

template <class T>
OptionSpec& OptionTable::add(const std::string& name, T* field, const std::string& help) {
  using U = options_detail::Unwrap<T>;
  using V = typename U::type;
  OptionSpec spec;
  spec.name = name;
  spec.help = help;
  spec.type = options_detail::type_name<V>();
  spec.optional = U::optional;
  spec.get = [field]() -> Json {
    if constexpr (U::optional) {
      if (!field->has_value()) return Json(nullptr);
      return Json(**field);
    } else {
      return Json(*field);
    }
  };
  spec.set = [field, name](const Json& value, const std::string& source) {
    if constexpr (U::optional) {
      if (value.is_null()) {
        field->reset();
        return;
      }
    }
    *field = options_detail::convert<V>(value, name, source);
  };
  specs_.push_back(std::move(spec));
  return specs_.back();
}

}  // namespace textune::core
