// JSON files (config.json, tokenizer.json, ...) read and written with key order preserved.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace textune::core {

/// JSON value that keeps object keys in file order, so that a read/modify/write round trip of a
/// Hugging Face `config.json` changes nothing but the keys textune sets.
///
/// Its objects are vectors searched linearly (nlohmann::ordered_map): never build a large one with
/// `Json::parse` or `j[key] = ...` in a loop (quadratic: a 200,000-key object takes minutes). Parse
/// with `parse_json` / `read_json_file` and append with `json_object_append`, which are linear.
using Json = nlohmann::ordered_json;

/// Bounds on what `parse_json` accepts, so that untrusted input cannot exhaust the stack, the time
/// or the memory of a process.
struct JsonLimits {
  /// Deepest nesting of arrays and objects (the top-level value is depth 1). Python's `json`
  /// gives up near 1,000 (its recursion limit), so no file transformers writes is deeper.
  size_t max_depth = 1000;
  /// Most keys in one object. Large enough for any tokenizer.json vocabulary (the largest Hub
  /// vocabularies have about 260,000 entries) and any safetensors header.
  size_t max_object_keys = size_t{1} << 22;  // 4,194,304
};

/// Parses JSON text in time linear in its size, for any input (this is the function for untrusted
/// input: request bodies, data rows, files from the Hub). `source` names where the text came from
/// in error messages (a path, "request body", "FILE row 12"). Duplicate keys keep the position of
/// the first and the value of the last occurrence, as Python's `json` does.
/// @throws textune::DataError (exit code 1), one line starting with `source`:
///   - a syntax error: "SOURCE:LINE:COL: invalid JSON: syntax error ...";
///   - a number out of the double range (`1e999`): "SOURCE:LINE:COL: "KEY": the number 1e999 is
///     out of range ...";
///   - nesting deeper than `limits.max_depth`: "SOURCE:LINE:COL: JSON nested deeper than N levels";
///   - an object with more than `limits.max_object_keys` keys, naming its JSON pointer.
Json parse_json(std::string_view text, const std::string& source, const JsonLimits& limits);

/// `parse_json(text, source, JsonLimits{})`.
Json parse_json(const std::string& text, const std::string& source);

/// Reads and parses a JSON file (`parse_json`, so linear and bounded by `limits`).
/// @throws textune::DataError naming the file (and line/column of a syntax error) when the file
///         cannot be read or is not valid JSON.
Json read_json_file(const std::string& path, const JsonLimits& limits = {});

/// Appends `key: value` to `object` in constant time (amortized), where `object[key] = value` is
/// linear in the object's size. Preconditions: `object` is an object (else nlohmann::json::type_error)
/// and does not hold `key` yet (a second one would be written twice).
void json_object_append(Json& object, std::string key, Json value);

/// Writes `value` as JSON (indent 2 by default, like `save_pretrained`, with a final newline)
/// atomically: a temporary sibling file renamed over `path`.
/// @throws textune::DataError when the file cannot be written.
void write_json_file(const std::string& path, const Json& value, int indent = 2);

}  // namespace textune::core
