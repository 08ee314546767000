// SentencePiece's normalizer (google/sentencepiece src/normalizer.cc Normalizer::Normalize): longest
// match of the precompiled rules over the UTF-8 bytes, user-defined symbols kept whole, leading,
// trailing and repeated whitespace removed, the dummy prefix added and spaces escaped as U+2581,
// with a map from every normalized byte back to its original byte.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizers/precompiled_charsmap.h"
#include "tokenizers/sentencepiece_model.h"
#include "tokenizers/unigram_trie.h"

namespace textune::tokenizers::spm {

/// Byte length of the UTF-8 character starting with `lead`, from the lead byte alone
/// (sentencepiece util.h OneCharLen: 1 for ASCII and stray continuation bytes, 2, 3 or 4).
inline size_t one_char_len(char lead) {
  static constexpr unsigned char kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[static_cast<unsigned char>(lead) >> 4];
}

/// sentencepiece's `IsValidDecodeUTF8`: the length of the well-formed UTF-8 character at the start of
/// `s` (which must not be empty), or 0 when the bytes are malformed (overlong, surrogate, truncated).
size_t valid_utf8_char_len(std::string_view s);

/// A configured normalizer; immutable and thread-safe.
class Normalizer {
 public:
  /// @param spec the model's normalizer (or denormalizer) spec.
  /// @param treat_whitespace_as_suffix TrainerSpec.treat_whitespace_as_suffix.
  /// @param user_defined longest-match trie of the USER_DEFINED pieces, never normalized (may be null).
  /// @throws textune::DataError when the precompiled charsmap is broken.
  Normalizer(const NormalizerSpec& spec, bool treat_whitespace_as_suffix, const PieceTrie* user_defined,
             const std::string& source);

  /// Normalizes `input` (bytes; malformed UTF-8 becomes U+FFFD one byte at a time, as sentencepiece
  /// does). `norm_to_orig` receives, for every byte of `normalized` and one past the end, the offset of
  /// the original byte it came from. Both outputs are cleared first and reuse their capacity.
  void normalize(std::string_view input, std::string* normalized, std::vector<size_t>* norm_to_orig) const;

  /// Normalized text only.
  std::string normalize(std::string_view input) const;

 private:
  /// The normalized form of the longest prefix of `input` and the number of input bytes it consumes.
  std::pair<std::string_view, size_t> normalize_prefix(std::string_view input) const;

  bool add_dummy_prefix_;
  bool remove_extra_whitespaces_;
  bool escape_whitespaces_;
  bool treat_whitespace_as_suffix_;
  PrecompiledCharsmap charsmap_;
  const PieceTrie* user_defined_;
};

}  // namespace textune::tokenizers::spm
