// TEI request parsing and response building (see api.h).
#include "serve/api.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/tasks/task.h"

namespace textune::serve {
namespace {

constexpr const char* kPredictExpected =
    "a string, a pair of strings [string, string] or a batch of mixed strings and pairs "
    "[[string], [string, string], ...]";

/// "a number", "an object" ... for error messages.
std::string json_kind(const core::Json& v) {
  switch (v.type()) {
    case core::Json::value_t::null:
      return "null";
    case core::Json::value_t::boolean:
      return "a boolean";
    case core::Json::value_t::string:
      return "a string";
    case core::Json::value_t::array:
      return "an array";
    case core::Json::value_t::object:
      return "an object";
    case core::Json::value_t::binary:
      return "binary data";
    default:
      return "a number";
  }
}

HttpError unprocessable(const std::string& message) {
  // axum answers 422 when the body is valid JSON of the wrong shape (JsonDataError).
  return HttpError(422, ErrorType::kValidation, "Failed to deserialize the JSON body into the target type: " + message);
}

HttpError bad_inputs(const std::string& detail) {
  return unprocessable(fmt::format("inputs: {}, expected {}", detail, kPredictExpected));
}

const core::Json& require_object_with_inputs(const core::Json& body) {
  if (!body.is_object()) throw unprocessable("expected an object with the field `inputs`, got " + json_kind(body));
  auto it = body.find("inputs");
  if (it == body.end()) throw unprocessable("missing field `inputs`");
  return *it;
}

bool optional_bool(const core::Json& body, const char* key, bool fallback) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw unprocessable(fmt::format("{}: expected a boolean, got {}", key, json_kind(*it)));
  return it->get<bool>();
}

void check_batch_size(size_t size, size_t max_client_batch_size) {
  if (size > max_client_batch_size)
    throw HttpError(413, ErrorType::kValidation,
                    fmt::format("batch size {} > maximum allowed batch size {}", size, max_client_batch_size));
}

/// One element of a batch: [text] or [text, pair].
Sequence sequence_from_array(const core::Json& a, size_t index) {
  if (!a.is_array()) throw bad_inputs(fmt::format("element {} is {}, not an array", index, json_kind(a)));
  if (a.empty() || a.size() > 2) throw bad_inputs(fmt::format("element {} has invalid length {}", index, a.size()));
  for (const auto& s : a)
    if (!s.is_string()) throw bad_inputs(fmt::format("element {} holds {}, not a string", index, json_kind(s)));
  Sequence seq{a[0].get<std::string>(), std::nullopt, core::Json()};
  if (a.size() == 2) seq.pair = a[1].get<std::string>();
  return seq;
}

}  // namespace

const char* error_type_name(ErrorType type) {
  switch (type) {
    case ErrorType::kUnhealthy:
      return "Unhealthy";
    case ErrorType::kBackend:
      return "Backend";
    case ErrorType::kOverloaded:
      return "Overloaded";
    case ErrorType::kValidation:
      return "Validation";
    case ErrorType::kTokenizer:
      return "Tokenizer";
    case ErrorType::kEmpty:
      return "Empty";
  }
  return "Backend";
}

std::string dump_json(const core::Json& value) {
  return value.dump(-1, ' ', false, core::Json::error_handler_t::replace);
}

std::string error_body(const std::string& message, ErrorType type) {
  core::Json j = core::Json::object();
  j["error"] = message;
  j["error_type"] = error_type_name(type);
  return dump_json(j);
}

std::string HttpError::body() const {
  return error_body(what(), type_);
}

core::Json parse_request_json(std::string_view body, size_t max_depth, size_t max_keys) {
  auto refuse = [](const std::string& what) {
    return HttpError(400, ErrorType::kValidation, "Failed to parse the request body as JSON: " + what);
  };
  // core::parse_json: linear time, no recursion, depth and keys per object bounded.
  core::JsonLimits limits;
  limits.max_depth = max_depth;
  limits.max_object_keys = max_keys;
  try {
    return core::parse_json(body, "request body", limits);
  } catch (const DataError& e) {
    // "request body:1:5: invalid JSON: syntax error ..." -> "request body:1:5: syntax error ..."
    std::string what = e.what();
    if (auto pos = what.find("invalid JSON: "); pos != std::string::npos) what.erase(pos, 14);
    throw refuse(what);
  } catch (const core::Json::exception& e) {
    std::string what = e.what();
    // "[json.exception.out_of_range.406] number overflow ..." -> "number overflow ..."
    if (auto pos = what.find("] "); what.rfind("[json.exception.", 0) == 0 && pos != std::string::npos)
      what = what.substr(pos + 2);
    throw refuse(what);
  }
}

PredictRequest parse_predict_request(const core::Json& body, size_t max_client_batch_size, bool list_is_batch) {
  const core::Json& inputs = require_object_with_inputs(body);
  PredictRequest r;
  {
    auto it = body.find("truncate");
    if (it != body.end() && !it->is_null()) {
      if (!it->is_boolean()) throw unprocessable("truncate: expected a boolean, got " + json_kind(*it));
      r.truncate = it->get<bool>();
    }
  }
  r.raw_scores = optional_bool(body, "raw_scores", false);
  // Newer TEI versions take `truncation_direction` ("Right" by default); textune truncates on the right.
  if (auto it = body.find("truncation_direction"); it != body.end() && !it->is_null()) {
    if (!it->is_string() || (*it != "Right" && *it != "right"))
      throw unprocessable("truncation_direction: only \"Right\" is supported, got " + it->dump());
  }

  if (inputs.is_string()) {
    r.inputs.push_back({inputs.get<std::string>(), std::nullopt, core::Json()});
  } else if (list_is_batch && inputs.is_object()) {
    r.inputs.push_back({std::string(), std::nullopt, inputs});
  } else if (list_is_batch && inputs.is_array() && !inputs.empty()) {
    // The Inference API's list: every element one input (a text, an object, or TEI's [text]).
    r.batch = true;
    check_batch_size(inputs.size(), max_client_batch_size);
    r.inputs.reserve(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
      const core::Json& e = inputs[i];
      if (e.is_string())
        r.inputs.push_back({e.get<std::string>(), std::nullopt, core::Json()});
      else if (e.is_object())
        r.inputs.push_back({std::string(), std::nullopt, e});
      else if (e.is_array())
        r.inputs.push_back(sequence_from_array(e, i));
      else
        throw unprocessable(
            fmt::format("inputs: element {} is {}, expected a string or an object of the task's "
                        "input fields",
                        i, json_kind(e)));
    }
  } else if (inputs.is_array()) {
    if (inputs.empty() && list_is_batch)
      throw unprocessable(
          "inputs: invalid length 0, expected a string, an object of the task's input fields or a "
          "non-empty list of them");
    if (inputs.empty()) throw bad_inputs("invalid length 0");
    const core::Json& first = inputs[0];
    if (first.is_string()) {
      // Not a batch: [text] or [text, pair].
      if (inputs.size() > 2) throw bad_inputs(fmt::format("invalid length {}", inputs.size()));
      r.inputs.push_back(sequence_from_array(inputs, 0));
    } else if (first.is_array()) {
      r.batch = true;
      // Validate the size before the elements, so an oversized batch costs nothing more.
      check_batch_size(inputs.size(), max_client_batch_size);
      r.inputs.reserve(inputs.size());
      for (size_t i = 0; i < inputs.size(); ++i) r.inputs.push_back(sequence_from_array(inputs[i], i));
    } else {
      throw bad_inputs("invalid type: " + json_kind(first) + " as first element");
    }
  } else if (list_is_batch) {  // a task with input objects (token classification's {"tokens": [...]}): no pairs
    throw unprocessable(
        fmt::format("inputs: invalid type: {}, expected a string, an object of the task's input "
                    "fields or a list of them",
                    json_kind(inputs)));
  } else {
    throw bad_inputs("invalid type: " + json_kind(inputs));
  }

  for (const auto& s : r.inputs)
    if (s.fields.is_null() && s.text.empty() && (!s.pair || s.pair->empty()))
      throw HttpError(400, ErrorType::kEmpty, "Input validation error: `inputs` cannot be empty");
  return r;
}

TokenizeRequest parse_tokenize_request(const core::Json& body, size_t max_client_batch_size) {
  const core::Json& inputs = require_object_with_inputs(body);
  TokenizeRequest r;
  r.add_special_tokens = optional_bool(body, "add_special_tokens", true);
  if (inputs.is_string()) {
    r.inputs.push_back(inputs.get<std::string>());
  } else if (inputs.is_array()) {
    r.batch = true;
    if (inputs.empty()) throw HttpError(400, ErrorType::kEmpty, "Input validation error: `inputs` cannot be empty");
    check_batch_size(inputs.size(), max_client_batch_size);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!inputs[i].is_string())
        throw unprocessable(
            fmt::format("inputs: element {} is {}, expected a string or a list of strings", i, json_kind(inputs[i])));
      r.inputs.push_back(inputs[i].get<std::string>());
    }
  } else {
    throw unprocessable("inputs: invalid type: " + json_kind(inputs) + ", expected a string or a list of strings");
  }
  return r;
}

core::Json input_json(const Sequence& sequence) {
  if (!sequence.fields.is_null()) return sequence.fields;
  if (!sequence.pair) return core::Json(sequence.text);
  core::Json input = core::Json::object();
  input["text"] = sequence.text;
  input["text_pair"] = *sequence.pair;
  return input;
}

core::Json response_json(const Pipeline& pipeline, const core::Json& record, bool raw_scores) {
  try {
    return pipeline.response(record, raw_scores);
  } catch (const tasks::ResponseError& e) {
    throw HttpError(424, ErrorType::kBackend, e.what());
  } catch (const HttpError&) {
    throw;
  } catch (const std::exception& e) {
    throw HttpError(424, ErrorType::kBackend, std::string("Backend error: ") + e.what());
  }
}

namespace {
bool continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;  // 10xxxxxx
}
}  // namespace

size_t Utf8Cursor::byte_of(size_t cp) {
  const size_t n = text_.size();
  while (cp_ < cp && byte_ < n) {
    ++byte_;
    while (byte_ < n && continuation(text_[byte_])) ++byte_;
    ++cp_;
  }
  while (cp_ > cp && byte_ > 0) {
    --byte_;
    while (byte_ > 0 && continuation(text_[byte_])) --byte_;
    --cp_;
  }
  return cp_ < cp ? n : byte_;
}

std::string Utf8Cursor::slice(size_t begin, size_t end) {
  if (begin >= end) return "";
  const size_t b = byte_of(begin);
  const size_t e = byte_of(end);
  return b < e ? text_.substr(b, e - b) : std::string();
}

std::string utf8_slice(const std::string& text, size_t begin, size_t end) {
  return Utf8Cursor(text).slice(begin, end);
}

core::Json tokens_json(const tokenizers::Encoding& encoding, const std::string& input, const CancelCheck& cancelled) {
  core::Json out = core::Json::array();
  Utf8Cursor cursor(input);
  for (size_t i = 0; i < encoding.ids.size(); ++i) {
    if (cancelled && i % 1024 == 1023 && cancelled()) throw Cancelled();
    const bool special = i < encoding.special_tokens_mask.size() && encoding.special_tokens_mask[i] == 1;
    core::Json t = core::Json::object();
    t["id"] = encoding.ids[i];
    if (special) {
      t["text"] = i < encoding.tokens.size() ? encoding.tokens[i] : std::string();
      t["special"] = true;
      t["start"] = nullptr;
      t["stop"] = nullptr;
    } else {
      const auto [start, stop] = i < encoding.offsets.size() ? encoding.offsets[i] : std::pair<size_t, size_t>{0, 0};
      t["text"] = cursor.slice(start, stop);
      t["special"] = false;
      t["start"] = start;
      t["stop"] = stop;
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace textune::serve
