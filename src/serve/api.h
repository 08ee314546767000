// The JSON side of the HTTP service: TEI's request shapes parsed and validated, its response and
// error shapes built (Hugging Face text-embeddings-inference, `router/src/http/types.rs`,
// `router/src/http/server.rs`, `router/src/lib.rs`). Independent of the HTTP library.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "textune/core/json.h"
#include "textune/pipeline.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::serve {

/// TEI's `ErrorType`, written into error bodies under its Rust variant name ("Validation", ...).
enum class ErrorType { kUnhealthy, kBackend, kOverloaded, kValidation, kTokenizer, kEmpty };

/// The variant name TEI serializes: "Unhealthy", "Backend", "Overloaded", "Validation", "Tokenizer",
/// "Empty".
const char* error_type_name(ErrorType type);

/// An error answered to the client with `status` and the body
/// `{"error": message, "error_type": error_type_name(type)}`.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, ErrorType type, const std::string& message)
      : std::runtime_error(message), status_(status), type_(type) {}
  int status() const { return status_; }
  ErrorType type() const { return type_; }
  /// The JSON body (invalid UTF-8 in the message replaced by U+FFFD).
  std::string body() const;

 private:
  int status_;
  ErrorType type_;
};

/// The JSON error body `{"error": message, "error_type": type}`.
std::string error_body(const std::string& message, ErrorType type);

/// Serializes `value` compactly; invalid UTF-8 in strings is replaced by U+FFFD instead of throwing.
std::string dump_json(const core::Json& value);

/// Parses a request body as JSON.
/// @throws HttpError 400 (Validation) for a syntax error, invalid UTF-8, or nesting deeper than
///         `max_depth` arrays/objects (checked before parsing, so deep input costs no recursion).
core::Json parse_request_json(std::string_view body, size_t max_depth = 64);

/// One input of /predict: a text, or a text pair (TEI's `Sequence`).
struct Sequence {
  std::string text;
  std::optional<std::string> pair;
};

/// A parsed /predict body (TEI's `PredictRequest`).
struct PredictRequest {
  std::vector<Sequence> inputs;  ///< one or more sequences
  bool batch = false;            ///< `inputs` was a batch: the answer is a list of lists
  std::optional<bool> truncate;  ///< absent or null: the server's auto_truncate
  bool raw_scores = false;       ///< answer logits instead of probabilities
};

/// Validates a /predict body the way TEI deserializes `PredictInput`: `"text"`, `["text"]`,
/// `["a", "b"]` (a pair), or a batch `[["text"], ["a", "b"], ...]`.
/// @throws HttpError 422 (Validation) for a body that is not an object, a missing `inputs`, wrong
///         types or array depths, an empty batch, a sequence of more than two texts;
///         413 (Validation) for a batch above `max_client_batch_size`;
///         400 (Empty) for an empty text (both texts of a pair empty).
PredictRequest parse_predict_request(const core::Json& body, size_t max_client_batch_size);

/// A parsed /tokenize body (TEI's `TokenizeRequest`).
struct TokenizeRequest {
  std::vector<std::string> inputs;
  bool batch = false;
  bool add_special_tokens = true;
};

/// Validates a /tokenize body: `inputs` a string or a list of strings.
/// @throws HttpError 422 for wrong types, 400 (Empty) for an empty list, 413 above
///         `max_client_batch_size`.
TokenizeRequest parse_tokenize_request(const core::Json& body, size_t max_client_batch_size);

/// TEI's answer for one prediction: `[{"label": L, "score": S}, ...]` over every label, sorted by
/// score, highest first (ties keep label id order). Scores are `prediction.scores` (probabilities)
/// or, with `raw_scores`, `prediction.logits` (labels from `labels`, in id order).
/// @throws HttpError 424 (Backend) for a NaN score or a prediction with the wrong number of scores.
core::Json prediction_json(const Prediction& prediction, const std::vector<std::string>& labels, bool raw_scores);

/// TEI's /tokenize answer for one text: `[{"id", "text", "special", "start", "stop"}, ...]`; for a
/// special token `text` is the token and `start`/`stop` are null, otherwise `text` is the slice of
/// `input` between the offsets (Unicode code points, end exclusive).
core::Json tokens_json(const tokenizers::Encoding& encoding, const std::string& input);

/// The code points [begin, end) of UTF-8 `text` (clamped to its length).
std::string utf8_slice(const std::string& text, size_t begin, size_t end);

}  // namespace textune::serve
