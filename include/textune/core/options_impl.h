// The template part of core/options.h (OptionTable::add for each supported field type).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
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

/// Converts `value` to V (integers: in V's range; an integral float such as 3.0 counts as 3).
/// @throws textune::UsageError "SOURCE: "NAME" must be ..., not VALUE".
template <class V>
V convert(const Json& value, const std::string& name, const std::string& source) {
  auto bad = [&](const std::string& expected) {
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
  } else {
    static_assert(std::is_integral_v<V>, "OptionTable::add: unsupported field type");
    const std::string expected = std::is_unsigned_v<V> ? "a non-negative integer" : "an integer";
    if (value.is_number_unsigned()) {
      const uint64_t u = value.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<V>::max()))
        throw bad(std::is_unsigned_v<V> ? expected + " <= " + std::to_string(std::numeric_limits<V>::max())
                                        : "an integer in [" + std::to_string(std::numeric_limits<V>::min()) + ", " +
                                              std::to_string(std::numeric_limits<V>::max()) + "]");
      return static_cast<V>(u);
    }
    if (value.is_number_integer()) {
      const int64_t i = value.get<int64_t>();
      if (i < 0 && std::is_unsigned_v<V>) throw bad(expected);
      if constexpr (std::is_signed_v<V>)
        if (i < static_cast<int64_t>(std::numeric_limits<V>::min()) ||
            i > static_cast<int64_t>(std::numeric_limits<V>::max()))
          throw bad("an integer in [" + std::to_string(std::numeric_limits<V>::min()) + ", " +
                    std::to_string(std::numeric_limits<V>::max()) + "]");
      return static_cast<V>(i);
    }
    if (value.is_number_float()) {
      const double d = value.get<double>();
      const double lo = static_cast<double>(std::numeric_limits<V>::min());
      const double hi = static_cast<double>(std::numeric_limits<V>::max()) + 1.0;  // a power of two, exact
      if (d != std::floor(d) || !(d >= lo) || !(d < hi)) throw bad(expected);
      return static_cast<V>(d);
    }
    throw bad(expected);
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
  spec.group = group_;
  spec.type = options_detail::type_name<V>();
  spec.optional = U::optional;
  if constexpr (std::is_same_v<T, bool>) spec.flag = !*field;
  if constexpr (std::is_integral_v<V> && std::is_unsigned_v<V> && !std::is_same_v<V, bool>) spec.cli_min = 0;
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
