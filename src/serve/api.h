// The JSON side of the HTTP service: TEI's request shapes parsed and validated, its response and
// error shapes built (Hugging Face text-embeddings-inference, `router/src/http/types.rs`,
// `router/src/http/server.rs`, `router/src/lib.rs`). Independent of the HTTP library.
#pragma once

#include <functional>
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

/// Thrown by long computations of a request (see `CancelCheck`) when its client has gone: the
/// request is abandoned, nobody reads its answer.
class Cancelled : public std::runtime_error {
 public:
  Cancelled() : std::runtime_error("the client closed the connection") {}
};

/// Asked now and then by long computations; returns true when the work is no longer wanted (the
/// client hung up). An empty function never cancels.
using CancelCheck = std::function<bool()>;

/// Parses a request body as JSON with core::parse_json: time linear in its size, no recursion,
/// at most `max_depth` nested arrays/objects and `max_keys` keys per object (TEI's bodies have five;
/// nlohmann's ordered_json alone took 146 s for 170k keys).
/// @throws HttpError 400 (Validation) for a syntax error, invalid UTF-8, a number out of range, too
///         deep nesting or too many keys; the message says which (and the limit), with core's
///         "request body:LINE:COL" position.
core::Json parse_request_json(std::string_view body, size_t max_depth = 64, size_t max_keys = 1024);

/// One input of /predict: a text, or a text pair (TEI's `Sequence`), or (Pipeline::list_is_batch)
/// an object of the task's input fields, e.g. {"tokens": [...]} for pre-split words.
struct Sequence {
  std::string text;
  std::optional<std::string> pair;
  core::Json fields;  ///< the object given, passed to the task as is; null for a text or a pair
};

/// The task input of a sequence (tasks::Task::from_inputs): the text as a JSON string, a pair as
/// {"text": text, "text_pair": pair}, an object as given.
core::Json input_json(const Sequence& sequence);

/// A parsed /predict body (TEI's `PredictRequest`).
struct PredictRequest {
  std::vector<Sequence> inputs;  ///< one or more sequences
  bool batch = false;            ///< `inputs` was a batch: the answer is a list of lists
  std::optional<bool> truncate;  ///< absent or null: the server's auto_truncate
  bool raw_scores = false;       ///< answer logits instead of probabilities
};

/// Validates a /predict body the way TEI deserializes `PredictInput`: `"text"`, `["text"]`,
/// `["a", "b"]` (a pair), or a batch `[["text"], ["a", "b"], ...]`.
/// When `list_is_batch` (Pipeline::list_is_batch: token classification), as the Hugging Face
/// Inference API reads its `inputs`: `"text"` or an object of the task's input fields
/// (`{"tokens": [...]}`) is one input, and an array of them `["t1", {"tokens": [...]}, ...]` is a batch
/// (TEI's `[["text"], ...]` is still taken); objects are left for the task to check
/// (Pipeline::check_input).
/// @throws HttpError 422 (Validation) for a body that is not an object, a missing `inputs`, wrong
///         types or array depths, an empty batch, a sequence of more than two texts;
///         413 (Validation) for a batch above `max_client_batch_size`;
///         400 (Empty) for an empty text (both texts of a pair empty).
PredictRequest parse_predict_request(const core::Json& body, size_t max_client_batch_size, bool list_is_batch = false);

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

/// The answer for one record of Pipeline::predict_records: Pipeline::response (the task's shape; TEI's
/// `[{"label", "score"}, ...]` for text classification).
/// @throws HttpError 424 (Backend) when the task cannot answer the record (tasks::ResponseError, with
///         its message, e.g. "score is NaN"; any other error as "Backend error: " and its message).
core::Json response_json(const Pipeline& pipeline, const core::Json& record, bool raw_scores);

/// TEI's /tokenize answer for one text: `[{"id", "text", "special", "start", "stop"}, ...]`; for a
/// special token `text` is the token and `start`/`stop` are null, otherwise `text` is the slice of
/// `input` between the offsets (Unicode code points, end exclusive). Time linear in the size of
/// `input` plus the number of tokens when offsets increase (they do, text by text).
/// @throws Cancelled when `cancelled` says so (asked every 1024 tokens).
core::Json tokens_json(const tokenizers::Encoding& encoding, const std::string& input,
                       const CancelCheck& cancelled = {});

/// Code point to byte positions in one UTF-8 text, for many look-ups: each costs the distance (in
/// bytes) from the previous one, so increasing positions cost one pass over the text in all.
class Utf8Cursor {
 public:
  /// `text` must outlive the cursor.
  explicit Utf8Cursor(const std::string& text) : text_(text) {}
  /// The byte position of code point `cp`; text.size() for `cp` at or past the end.
  size_t byte_of(size_t cp);
  /// The code points [begin, end) (clamped to the text's length).
  std::string slice(size_t begin, size_t end);

 private:
  const std::string& text_;
  size_t cp_ = 0;    // code point at byte_
  size_t byte_ = 0;  // a code point boundary, or text_.size()
};

/// The code points [begin, end) of UTF-8 `text` (clamped to its length); time linear in `end`.
std::string utf8_slice(const std::string& text, size_t begin, size_t end);

}  // namespace textune::serve
