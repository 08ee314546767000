// SentencePiece's compiled normalization rules (`NormalizerSpec.precompiled_charsmap`, and the
// `Precompiled` normalizer of tokenizer.json): a darts-clone double-array trie over UTF-8 bytes whose
// values point into a blob of NUL-terminated replacement strings.
// Layout (sentencepiece src/normalizer.cc EncodePrecompiledCharsMap):
//   uint32 little-endian trie size in bytes | trie units (uint32 LE each) | normalized strings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace textune::tokenizers {

/// A parsed precompiled charsmap. Immutable; lookups are thread-safe and allocate nothing.
class PrecompiledCharsmap {
 public:
  PrecompiledCharsmap() = default;

  /// Parses the blob. `source` names it in errors.
  /// @throws textune::DataError when the blob is shorter than its header, the trie size runs past the
  ///         blob, or the trie size is not a multiple of 4.
  PrecompiledCharsmap(std::string_view blob, const std::string& source);

  bool empty() const { return units_.empty(); }

  /// darts-clone's commonPrefixSearch over `key`: calls `fn(match_length_in_bytes, replacement)` for
  /// every rule whose source is a prefix of `key`, shortest first; `fn` returns false to stop.
  /// `stop_at_nul`: end the search at a NUL byte, as `tokenizers`' spm_precompiled crate does
  /// (sentencepiece itself walks NUL like any other byte). Indices are bounds-checked, so a corrupt
  /// trie yields no match instead of a crash.
  template <typename Fn>
  void common_prefix_search(std::string_view key, bool stop_at_nul, Fn&& fn) const;

  /// Longest rule that is a prefix of `input` (sentencepiece Normalizer::NormalizePrefix): returns its
  /// length in bytes (0: none) and sets `replacement`.
  size_t longest_prefix(std::string_view input, std::string_view* replacement) const;

  /// `tokenizers`' Precompiled::transform: the replacement of the *first* (shortest) rule that is a
  /// prefix of `chunk`, whether or not it covers all of `chunk`. Returns false when no rule matches.
  bool transform(std::string_view chunk, std::string_view* replacement) const;

 private:
  std::string_view replacement_at(uint32_t value) const;

  std::vector<uint32_t> units_;
  std::string normalized_;
};

template <typename Fn>
void PrecompiledCharsmap::common_prefix_search(std::string_view key, bool stop_at_nul, Fn&& fn) const {
  // darts-clone unit layout: has_leaf = bit 8, value = low 31 bits, label = bit 31 | low 8 bits,
  // offset = (unit >> 10) << ((unit & (1 << 9)) >> 6).
  if (units_.empty()) return;
  const size_t n = units_.size();
  auto offset = [](uint32_t u) -> size_t { return static_cast<size_t>(u >> 10) << ((u & (1u << 9)) >> 6); };
  size_t node = 0;
  uint32_t unit = units_[0];
  node ^= offset(unit);
  for (size_t i = 0; i < key.size(); ++i) {
    const auto c = static_cast<uint8_t>(key[i]);
    if (c == 0 && stop_at_nul) return;
    node ^= c;
    if (node >= n) return;
    unit = units_[node];
    if ((unit & ((1u << 31) | 0xffu)) != c) return;
    node ^= offset(unit);
    if ((unit >> 8) & 1u) {
      if (node >= n) return;
      if (!fn(i + 1, replacement_at(units_[node] & ((1u << 31) - 1)))) return;
    }
  }
}

}  // namespace textune::tokenizers
