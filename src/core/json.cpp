// JSON parsing in linear time: a SAX handler that builds core::Json (nlohmann::ordered_json)
// itself. nlohmann's own DOM parser inserts every key with ordered_map::operator[], a linear search,
// so an object of n keys costs O(n^2) (200,000 keys: over a minute); here a key is appended to the
// object's vector and duplicates are found with a hash set over indices into that vector.
#include "textune/core/json.h"

#include <cmath>
#include <memory>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/fs.h"

namespace textune::core {
namespace {

using Object = Json::object_t;  // nlohmann::ordered_map: a std::vector of (key, value) pairs

// Line and column (1-based) of byte `offset` of `text`.
std::pair<size_t, size_t> line_col(std::string_view text, size_t offset) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

// Byte offset of the bracket that opens nesting level `depth` + 1 (scanning outside strings), or
// the end of the text. Only called to word an error.
size_t offset_of_depth(std::string_view text, size_t depth) {
  size_t level = 0;
  bool in_string = false, escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{') {
      if (++level > depth) return i;
    } else if (c == ']' || c == '}') {
      if (level) --level;
    }
  }
  return text.size();
}

// JSON pointer escaping (RFC 6901).
std::string pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

class LinearBuilder {
 public:
  using number_integer_t = Json::number_integer_t;
  using number_unsigned_t = Json::number_unsigned_t;
  using number_float_t = Json::number_float_t;
  using string_t = Json::string_t;
  using binary_t = Json::binary_t;

  LinearBuilder(std::string_view text, const std::string& source, const JsonLimits& limits)
      : text_(text), source_(source), limits_(limits) {}

  bool null() { return put(Json(nullptr)); }
  bool boolean(bool v) { return put(Json(v)); }
  bool number_integer(number_integer_t v) { return put(Json(v)); }
  bool number_unsigned(number_unsigned_t v) { return put(Json(v)); }
  bool number_float(number_float_t v, const string_t& /*text*/) { return put(Json(v)); }
  bool string(string_t& v) { return put(Json(std::move(v))); }
  bool binary(binary_t& v) { return put(Json::binary(std::move(v))); }

  bool start_object(std::size_t /*size*/) { return open(Json::object()); }
  bool start_array(std::size_t /*size*/) { return open(Json::array()); }
  bool key(string_t& k) {
    stack_.back().key = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }

  bool parse_error(std::size_t position, const std::string& /*last_token*/, const nlohmann::detail::exception& ex) {
    const auto [line, col] = line_col(text_, position > 0 ? position - 1 : 0);
    const std::string where = fmt::format("{}:{}:{}: ", source_, line, col);
    if (ex.id == 406) {  // out_of_range: a number beyond the double range (1e999)
      std::string msg = ex.what();
      std::string number;
      const auto q1 = msg.find('\'');
      const auto q2 = q1 == std::string::npos ? std::string::npos : msg.find('\'', q1 + 1);
      if (q2 != std::string::npos) number = msg.substr(q1 + 1, q2 - q1 - 1);
      std::string key;
      if (!stack_.empty() && stack_.back().value.is_object()) key = "\"" + stack_.back().key + "\": ";
      throw DataError(
          fmt::format("{}{}the number {} is out of range (a JSON number must be a finite double, "
                      "at most 1.8e308 in magnitude)",
                      where, key, number));
    }
    std::string msg = ex.what();
    const auto pos = msg.find("syntax error");
    if (pos != std::string::npos) msg = msg.substr(pos);
    throw DataError(where + "invalid JSON: " + msg);
  }

  Json take() { return std::move(root_); }

 private:
  // Duplicate detection over indices into the object's vector (stable under its growth).
  struct KeyHash {
    const Object* object;
    size_t operator()(size_t i) const {
      return std::hash<std::string>{}((object->begin() + static_cast<std::ptrdiff_t>(i))->first);
    }
  };
  struct KeyEq {
    const Object* object;
    bool operator()(size_t a, size_t b) const {
      return (object->begin() + static_cast<std::ptrdiff_t>(a))->first ==
             (object->begin() + static_cast<std::ptrdiff_t>(b))->first;
    }
  };
  using KeySet = std::unordered_set<size_t, KeyHash, KeyEq>;
  // Objects up to this many keys are searched linearly; larger ones get a hash set.
  static constexpr size_t kLinearKeys = 16;

  struct Frame {
    Json value;
    std::string key;               // the key whose value comes next (objects)
    std::unique_ptr<KeySet> keys;  // built once the object passes kLinearKeys
  };

  bool open(Json value) {
    if (stack_.size() >= limits_.max_depth) {
      const auto [line, col] = line_col(text_, offset_of_depth(text_, limits_.max_depth));
      throw DataError(fmt::format("{}:{}:{}: JSON nested deeper than {} levels (the limit for untrusted JSON)", source_,
                                  line, col, limits_.max_depth));
    }
    stack_.push_back(Frame{std::move(value), std::string(), nullptr});
    return true;
  }

  bool close() {
    Json v = std::move(stack_.back().value);
    stack_.pop_back();
    return put(std::move(v));
  }

  bool put(Json&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& f = stack_.back();
    if (f.value.is_array()) {
      f.value.get_ref<Json::array_t&>().push_back(std::move(v));
      return true;
    }
    Object& obj = f.value.get_ref<Object&>();
    if (!f.keys) {
      for (auto& kv : obj)
        if (kv.first == f.key) {
          kv.second = std::move(v);
          return true;
        }
      obj.emplace_back(std::move(f.key), std::move(v));
      if (obj.size() > kLinearKeys) {
        f.keys = std::make_unique<KeySet>(obj.size() * 2, KeyHash{&obj}, KeyEq{&obj});
        for (size_t i = 0; i < obj.size(); ++i) f.keys->insert(i);
      }
      return true;
    }
    obj.emplace_back(std::move(f.key), std::move(v));
    auto [it, inserted] = f.keys->insert(obj.size() - 1);
    if (!inserted) {  // a duplicate: Python's dict keeps the first position and the last value
      (obj.begin() + static_cast<std::ptrdiff_t>(*it))->second = std::move(obj.back().second);
      obj.pop_back();
      return true;
    }
    if (obj.size() > limits_.max_object_keys) too_many_keys();
    return true;
  }

  [[noreturn]] void too_many_keys() const {
    std::string pointer;
    for (size_t i = 0; i + 1 < stack_.size(); ++i) {
      const Frame& parent = stack_[i];
      pointer += "/" + (parent.value.is_array() ? std::to_string(parent.value.size()) : pointer_token(parent.key));
    }
    throw DataError(fmt::format("{}: the JSON object at \"{}\" has more than {} keys (the limit for untrusted JSON)",
                                source_, pointer, limits_.max_object_keys));
  }

  std::string_view text_;
  const std::string& source_;
  const JsonLimits& limits_;
  std::vector<Frame> stack_;
  Json root_;
};

}  // namespace

Json parse_json(std::string_view text, const std::string& source, const JsonLimits& limits) {
  LinearBuilder builder(text, source, limits);
  try {
    Json::sax_parse(text.begin(), text.end(), &builder, nlohmann::detail::input_format_t::json, /*strict=*/true,
                    /*ignore_comments=*/false);
  } catch (const nlohmann::json::exception& e) {
    // Not expected (errors go through parse_error), but never let one escape as an internal error.
    throw DataError(source + ": invalid JSON: " + e.what());
  }
  return builder.take();
}

Json parse_json(const std::string& text, const std::string& source) {
  return parse_json(std::string_view(text), source, JsonLimits{});
}

Json read_json_file(const std::string& path, const JsonLimits& limits) {
  const std::string text = read_file(path);
  return parse_json(std::string_view(text), path, limits);
}

void json_object_append(Json& object, std::string key, Json value) {
  object.get_ref<Object&>().emplace_back(std::move(key), std::move(value));
}

void write_json_file(const std::string& path, const Json& value, int indent) {
  write_file_atomic(path, value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace textune::core
