// SentencePiece model files (`*.spm`, `spiece.model`, `sentencepiece.bpe.model`): our own reader of
// the protobuf message `sentencepiece.ModelProto` (google/sentencepiece, src/sentencepiece_model.proto),
// decoded straight from the protobuf wire format. No protobuf library is linked: Debian's
// libsentencepiece bundles its own protobuf and crashes any process that also loads LibTorch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace textune::tokenizers::spm {

/// `ModelProto.SentencePiece.Type`.
enum class PieceType : int32_t {
  kNormal = 1,       ///< an ordinary piece
  kUnknown = 2,      ///< the unknown piece (<unk>); exactly one per model
  kControl = 3,      ///< <s>, </s>, language tags: never produced from text
  kUserDefined = 4,  ///< always kept whole, never normalized
  kUnused = 5,       ///< in the vocabulary, never produced (BPE resegments it)
  kByte = 6,         ///< <0xXX>, used when `byte_fallback` is on
};

/// `TrainerSpec.ModelType`.
enum class ModelType : int32_t { kUnigram = 1, kBpe = 2, kWord = 3, kChar = 4 };

/// One entry of `ModelProto.pieces`; its index in the list is its id.
struct ModelPiece {
  std::string piece;
  float score = 0.0f;
  PieceType type = PieceType::kNormal;
};

/// The fields of `sentencepiece.TrainerSpec` that change how text is encoded or decoded (the
/// training-only fields are read past). Defaults are the proto's.
struct TrainerSpec {
  ModelType model_type = ModelType::kUnigram;
  int32_t vocab_size = 8000;
  bool split_by_unicode_script = true;
  bool split_by_number = true;
  bool split_by_whitespace = true;
  bool treat_whitespace_as_suffix = false;
  bool allow_whitespace_only_pieces = false;
  bool split_digits = false;
  bool byte_fallback = false;
  int32_t max_sentencepiece_length = 16;
  std::vector<std::string> control_symbols;
  std::vector<std::string> user_defined_symbols;
  int32_t unk_id = 0;
  int32_t bos_id = 1;
  int32_t eos_id = 2;
  int32_t pad_id = -1;
  std::string unk_piece = "<unk>";
  std::string bos_piece = "<s>";
  std::string eos_piece = "</s>";
  std::string pad_piece = "<pad>";
  std::string unk_surface = " \xE2\x81\x87 ";  ///< what Decode prints for <unk> (U+2047)
};

/// `sentencepiece.NormalizerSpec`.
struct NormalizerSpec {
  std::string name;                  ///< e.g. "nmt_nfkc", "nfkc", "identity"
  std::string precompiled_charsmap;  ///< Darts trie + normalized strings (see precompiled_charsmap.h)
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool escape_whitespaces = true;
  std::string normalization_rule_tsv;
};

/// `sentencepiece.ModelProto`.
struct ModelProto {
  std::vector<ModelPiece> pieces;
  TrainerSpec trainer_spec;
  NormalizerSpec normalizer_spec;
  std::optional<NormalizerSpec> denormalizer_spec;
};

/// Decodes a serialized `ModelProto`. Unknown fields are skipped as protobuf does; repeated
/// occurrences of a scalar keep the last, of a message are merged.
/// @param source names the bytes' origin (a file path) in error messages.
/// @throws textune::DataError naming `source` and the byte offset for a truncated varint, a length
///         past the end of its message, a bad wire type, or a field number 0.
ModelProto parse_model_proto(std::string_view bytes, const std::string& source);

/// Reads and decodes a SentencePiece model file.
/// @throws textune::DataError naming the file when it cannot be read or is not a valid model.
ModelProto read_model_proto(const std::string& path);

/// "<0x%02X>" as sentencepiece spells byte pieces (model_interface.cc ByteToPiece).
std::string byte_to_piece(unsigned char byte);

/// The byte a "<0xXX>" piece stands for (upper-case hex, as written by ByteToPiece), or -1.
int piece_to_byte(std::string_view piece);

}  // namespace textune::tokenizers::spm
