// Our SentencePiece processor: encodes text with a `.spm`/`spiece.model` file exactly as the
// `sentencepiece` library's SentencePieceProcessor::Encode does (normalizer, then the Unigram, BPE, WORD
// or CHAR model, then unknown-piece fusion and byte fallback), and decodes pieces as its Decode does.
// Sources: google/sentencepiece src/sentencepiece_processor.cc, unigram_model.cc (EncodeOptimized),
// bpe_model.cc, word_model.cc, char_model.cc, model_interface.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizers/sentencepiece_model.h"
#include "tokenizers/sentencepiece_normalizer.h"
#include "tokenizers/unigram_trie.h"

namespace textune::tokenizers::spm {

/// One encoded piece. Its text is `normalized.substr(begin, end - begin)` of the scratch buffer that
/// encoded it, except for byte-fallback pieces, whose text is "<0xXX>" (see SentencePieceProcessor::
/// piece_text). `orig_begin`/`orig_end` are byte offsets into the input text.
struct EncodedPiece {
  int32_t id = 0;
  uint32_t begin = 0, end = 0;            ///< bytes of the normalized text
  uint32_t orig_begin = 0, orig_end = 0;  ///< bytes of the original text
  bool byte_piece = false;                ///< a <0xXX> piece from byte fallback
};

/// Reusable buffers of one encoding thread, so that encoding allocates nothing once warm.
struct EncodeScratch {
  std::string normalized;
  std::vector<size_t> norm_to_orig;
  struct BestNode {
    int32_t id;
    float score;
    int32_t starts_at;
  };
  std::vector<BestNode> best;
  std::vector<std::pair<uint32_t, int32_t>> raw;  ///< model output: (normalized end, id) in order
};

class SentencePieceProcessor {
 public:
  /// Builds the processor from a decoded model. `source` names the file in errors.
  /// @throws textune::DataError for the model errors sentencepiece refuses at load time: an empty or
  ///         duplicated piece, no or two UNKNOWN pieces, a BYTE piece without byte_fallback, byte_fallback
  ///         without all 256 byte pieces, a broken precompiled charsmap.
  SentencePieceProcessor(ModelProto model, const std::string& source);

  /// Reads a model file. @throws textune::DataError (see read_model_proto and the constructor).
  static std::shared_ptr<const SentencePieceProcessor> load(const std::string& path);

  /// Encodes `text` into `out` (cleared first). Thread-safe; `scratch` is the caller's, one per thread.
  void encode(std::string_view text, std::vector<EncodedPiece>* out, EncodeScratch* scratch) const;

  /// The piece string of an encoded piece: for an unknown run it is the (normalized) text itself, as
  /// sentencepiece's `encode(out_type=str)` returns it.
  std::string_view piece_text(const EncodedPiece& p, const EncodeScratch& scratch) const {
    if (p.byte_piece) return id_to_piece(p.id);
    return std::string_view(scratch.normalized).substr(p.begin, p.end - p.begin);
  }

  /// Convenience: `encode(text, out_type=str)`.
  std::vector<std::string> encode_as_pieces(std::string_view text) const;
  /// Convenience: `encode(text)` (ids).
  std::vector<int32_t> encode_as_ids(std::string_view text) const;

  /// SentencePieceProcessor::DecodePieces: control pieces vanish, "<unk>" becomes the unk surface,
  /// byte pieces are joined into UTF-8 (malformed bytes become U+FFFD), U+2581 becomes a space and the
  /// leading space of the text is dropped.
  std::string decode_pieces(const std::vector<std::string_view>& pieces) const;
  /// DecodeIds. @throws textune::DataError for an id outside the vocabulary.
  std::string decode_ids(const std::vector<int32_t>& ids) const;

  /// PieceToId: the id of `piece`, or the unknown id.
  int32_t piece_to_id(std::string_view piece) const;
  /// IdToPiece (`id` must be in range).
  const std::string& id_to_piece(int32_t id) const { return model_.pieces[static_cast<size_t>(id)].piece; }
  float score(int32_t id) const { return model_.pieces[static_cast<size_t>(id)].score; }
  size_t piece_size() const { return model_.pieces.size(); }
  PieceType type(int32_t id) const { return model_.pieces[static_cast<size_t>(id)].type; }
  bool is_unknown(int32_t id) const { return type(id) == PieceType::kUnknown; }
  bool is_control(int32_t id) const { return type(id) == PieceType::kControl; }
  bool is_byte(int32_t id) const { return type(id) == PieceType::kByte; }
  int32_t unk_id() const { return unk_id_; }
  const ModelProto& model() const { return model_; }
  const Normalizer& normalizer() const { return *normalizer_; }

 private:
  void encode_unigram(std::string_view normalized, EncodeScratch* s) const;
  void encode_bpe(std::string_view normalized, EncodeScratch* s) const;
  void encode_word(std::string_view normalized, EncodeScratch* s) const;
  void encode_char(std::string_view normalized, EncodeScratch* s) const;
  /// Length of the user-defined symbol at the start of `text` (frozen=true), or of its first character.
  size_t prefix_match(std::string_view text, bool* frozen) const;

  ModelProto model_;
  std::string source_;
  std::unordered_map<std::string_view, int32_t> pieces_;    ///< NORMAL, USER_DEFINED, UNUSED
  std::unordered_map<std::string_view, int32_t> reserved_;  ///< CONTROL, UNKNOWN, BYTE
  int32_t unk_id_ = -1;
  int32_t byte_ids_[256];
  PieceTrie user_defined_;
  PieceTrie trie_;  ///< Unigram: pieces_ by bytes
  float min_score_ = 0.0f, max_score_ = 0.0f;
  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<Normalizer> denormalizer_;
};

}  // namespace textune::tokenizers::spm
