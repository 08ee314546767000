// JSON files (config.json, tokenizer.json, ...) read and written with key order preserved.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace textune::core {

/// JSON value that keeps object keys in file order, so that a read/modify/write round trip of a
/// Hugging Face `config.json` changes nothing but the keys textune sets.
using Json = nlohmann::ordered_json;

/// Reads and parses a JSON file.
/// @throws textune::DataError naming the file (and line/column of a syntax error) when the file
///         cannot be read or is not valid JSON.
Json read_json_file(const std::string& path);

/// Parses JSON text; `source` names where it came from in error messages.
/// @throws textune::DataError on a syntax error.
Json parse_json(const std::string& text, const std::string& source);

/// Writes `value` as JSON (indent 2 by default, like `save_pretrained`, with a final newline)
/// atomically: a temporary sibling file renamed over `path`.
/// @throws textune::DataError when the file cannot be written.
void write_json_file(const std::string& path, const Json& value, int indent = 2);

}  // namespace textune::core
