// The five stages of a tokenizer, one interface each, as `tokenizers` splits them
// (tokenizers/src/{normalizers,pre_tokenizers,models,processors,decoders}), and the factories
// that build them from tokenizer.json, dispatching on each component's "type".
//
// How a component plugs in
// ------------------------
// 1. Implement the interface (Normalizer, PreTokenizer, Model, PostProcessor or Decoder) in your
//    own src/tokenizers/*.cpp file.
// 2. Give it a factory `std::unique_ptr<Interface> make_xxx(const TokenizerJson& j, const LoadContext&
//    ctx)` reading the component's tokenizer.json object `j` (errors: textune::DataError naming
//    ctx.where and the field).
// 3. The dispatcher (make_normalizer, make_model, ... in tokenizer_json.cpp) calls it for its
//    "type". Precompiled and Unigram are dispatched to make_precompiled_normalizer and
//    make_unigram_model, declared below and defined by the SentencePiece part of the layer
//    (src/tokenizers/precompiled*.cpp, unigram*.cpp). Until they exist, spm_pending.cpp defines
//    stand-ins that throw "not implemented yet": delete spm_pending.cpp (or the stand-in you
//    replace) in the commit that defines the real ones.
// 4. A tokenizer built from files other than tokenizer.json (e.g. a SentencePiece .model) is
//    easiest to build as a tokenizer.json-shaped TokenizerJson handed to load_tokenizer_json()
//    (tokenizer_impl.h), or directly from a TokenizerComponents.
//
// Offsets: a Model returns token offsets in bytes of the text it was given (the normalized text of
// one pre-tokenized split); the pipeline maps them back to the original text through the
// NormalizedString alignments and then to Unicode code points.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"
#include "tokenizers/normalized_string.h"

namespace textune::tokenizers {

/// A parsed tokenizer.json (or a component of it). Plain nlohmann::json: its std::map objects
/// parse a 50,000-entry vocabulary in linear-log time, where core::Json's ordered objects are
/// quadratic.
using TokenizerJson = nlohmann::json;

/// One token produced by a model (`tokenizers`' Token): id, string, and [begin, end) in bytes of
/// the text the model was given.
struct Token {
  uint32_t id = 0;
  std::string value;
  Offsets offsets{0, 0};
};

/// One piece of a pre-tokenized text: its NormalizedString and, once known, its tokens.
struct Split {
  NormalizedString normalized;
  std::optional<std::vector<Token>> tokens;
};

/// A text cut into pieces ("words") by added tokens and the pre-tokenizer, each aligned with the
/// original (`tokenizers`' PreTokenizedString, tokenizers/src/tokenizer/pre_tokenizer.rs).
class PreTokenizedString {
 public:
  explicit PreTokenizedString(std::string_view original) : original_(original) {
    splits.push_back({NormalizedString(original), std::nullopt});
  }

  /// Replaces every split that has no tokens yet by the pieces `fn(index, std::move(normalized))`
  /// returns (a std::vector<Split>); empty pieces are dropped.
  template <class F>
  void split(F&& fn) {
    std::vector<Split> out;
    out.reserve(splits.size() * 2);
    for (size_t i = 0; i < splits.size(); ++i) {
      Split& s = splits[i];
      if (s.tokens) {
        out.push_back(std::move(s));
        continue;
      }
      std::vector<Split> pieces = fn(i, std::move(s.normalized));
      for (Split& p : pieces)
        if (!p.normalized.empty()) out.push_back(std::move(p));
    }
    splits.swap(out);
  }

  /// Convenience for pre-tokenizers: splits each untokenized piece into NormalizedStrings.
  template <class F>
  void split_normalized(F&& fn) {
    split([&](size_t i, NormalizedString&& n) {
      std::vector<NormalizedString> parts = fn(i, std::move(n));
      std::vector<Split> out;
      out.reserve(parts.size());
      for (auto& p : parts) out.push_back({std::move(p), std::nullopt});
      return out;
    });
  }

  /// Applies `fn(NormalizedString&)` to every split that has no tokens yet.
  template <class F>
  void normalize(F&& fn) {
    for (Split& s : splits)
      if (!s.tokens) fn(s.normalized);
  }

  /// The whole original text.
  std::string_view original() const { return original_; }

  std::vector<Split> splits;

 private:
  std::string_view original_;
};

/// Where a component is being loaded from, for error messages, and the files around it.
struct LoadContext {
  std::string where;  ///< e.g. "DIR/tokenizer.json: normalizer"
};

/// Normalizes text in place, keeping the alignment (`tokenizers`' Normalizer).
class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s) const = 0;
};

/// Splits a pre-tokenized string further (`tokenizers`' PreTokenizer).
class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  virtual void pre_tokenize(PreTokenizedString& s) const = 0;
};

/// Turns one word into tokens (`tokenizers`' Model). Immutable after loading; `tokenize` is
/// called from many threads at once.
class Model {
 public:
  virtual ~Model() = default;
  /// Appends the tokens of `sequence` to `out` (offsets in bytes of `sequence`).
  /// @throws textune::DataError when the model cannot tokenize it (e.g. no unk token).
  virtual void tokenize(std::string_view sequence, std::vector<Token>& out) const = 0;
  virtual std::optional<uint32_t> token_to_id(std::string_view token) const = 0;
  /// The vocabulary string of `id`, or nullptr.
  virtual const std::string* id_to_token(uint32_t id) const = 0;
  virtual size_t vocab_size() const = 0;
  /// The prefix marking a token that continues a word ("##" for WordPiece; BPE's
  /// continuing_subword_prefix when set), or none.
  virtual std::optional<std::string> continuing_subword_prefix() const { return std::nullopt; }
  /// The id of the model's unknown token when it has one in its vocabulary, or none.
  virtual std::optional<uint32_t> unk_id() const { return std::nullopt; }
};

/// Adds special tokens around one or two encoded sequences (`tokenizers`' PostProcessor).
class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  /// Number of special tokens added to a single sequence or a pair.
  virtual size_t added_tokens(bool is_pair) const = 0;
  /// Processes `encodings` (one or two, each with its overflowing windows) into new encodings
  /// that the pipeline concatenates (`tokenizers`' process_encodings). Sequence ids and type ids
  /// are set on the outputs.
  virtual std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const = 0;
};

/// Turns tokens back into text (`tokenizers`' Decoder).
class Decoder {
 public:
  virtual ~Decoder() = default;
  /// One decoding step over all tokens; a Sequence of decoders chains these.
  virtual std::vector<std::string> decode_chain(std::vector<std::string> tokens) const = 0;
  /// The decoded text: decode_chain's pieces joined.
  std::string decode(std::vector<std::string> tokens) const;
};

/// {"String": "..."} or {"Regex": "..."}, as Replace, Split and the Replace decoder write it.
/// @throws textune::DataError naming `where`.
std::unique_ptr<Pattern> make_pattern(const TokenizerJson& j, const std::string& where);

/// GPT-2's byte-to-character table (bytes_to_unicode): printable bytes stand for themselves,
/// the others for U+0100 onwards.
const char32_t* byte_level_chars();
/// The byte a ByteLevel character stands for, or -1.
int byte_level_byte(char32_t c);

// ---- factories: tokenizer.json objects -> components, dispatching on "type" ----
// Each throws textune::DataError naming ctx.where and the unknown "type" or the bad field.

std::unique_ptr<Normalizer> make_normalizer(const TokenizerJson& j, const LoadContext& ctx);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const TokenizerJson& j, const LoadContext& ctx);
std::unique_ptr<Model> make_model(const TokenizerJson& j, const LoadContext& ctx);
std::unique_ptr<PostProcessor> make_post_processor(const TokenizerJson& j, const LoadContext& ctx);
std::unique_ptr<Decoder> make_decoder(const TokenizerJson& j, const LoadContext& ctx);

// ---- provided by the SentencePiece part of the layer (precompiled*.cpp, unigram*.cpp,
//      sentencepiece*.cpp); stand-ins in spm_pending.cpp until then ----

/// {"type": "Precompiled", "precompiled_charsmap": base64} -> SentencePiece's normalization map.
std::unique_ptr<Normalizer> make_precompiled_normalizer(const TokenizerJson& j, const LoadContext& ctx);
/// {"type": "Unigram", "unk_id": n, "vocab": [[piece, score], ...], "byte_fallback": b}.
std::unique_ptr<Model> make_unigram_model(const TokenizerJson& j, const LoadContext& ctx);
/// A tokenizer from the SentencePiece files of `dir` (spiece.model, source.spm/target.spm,
/// sentencepiece.bpe.model with tokenizer_config.json), or nullptr when `dir` has none.
std::shared_ptr<const Tokenizer> load_sentencepiece_dir(const std::string& dir);

}  // namespace textune::tokenizers
