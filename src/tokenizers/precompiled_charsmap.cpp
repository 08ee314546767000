// Reader of sentencepiece's precompiled charsmap (src/normalizer.cc DecodePrecompiledCharsMap) and
// the two ways of looking a rule up: sentencepiece's longest prefix, tokenizers' first prefix.
#include "tokenizers/precompiled_charsmap.h"

#include "textune/core/error.h"

namespace textune::tokenizers {

PrecompiledCharsmap::PrecompiledCharsmap(std::string_view blob, const std::string& source) {
  if (blob.size() <= 4) throw DataError(source + ": precompiled_charsmap is broken: shorter than its 4-byte header");
  const uint32_t trie_size = static_cast<uint32_t>(static_cast<uint8_t>(blob[0])) |
                             static_cast<uint32_t>(static_cast<uint8_t>(blob[1])) << 8 |
                             static_cast<uint32_t>(static_cast<uint8_t>(blob[2])) << 16 |
                             static_cast<uint32_t>(static_cast<uint8_t>(blob[3])) << 24;
  if (trie_size >= blob.size() || trie_size > blob.size() - 4)
    throw DataError(source + ": precompiled_charsmap is broken: trie size " + std::to_string(trie_size) +
                    " exceeds the blob size " + std::to_string(blob.size()));
  if (trie_size % 4 != 0 || trie_size == 0)
    throw DataError(source + ": precompiled_charsmap is broken: trie size " + std::to_string(trie_size) +
                    " is not a positive multiple of 4");
  units_.resize(trie_size / 4);
  for (size_t i = 0; i < units_.size(); ++i) {
    const char* p = blob.data() + 4 + 4 * i;
    units_[i] = static_cast<uint32_t>(static_cast<uint8_t>(p[0])) |
                static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 8 |
                static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 16 |
                static_cast<uint32_t>(static_cast<uint8_t>(p[3])) << 24;
  }
  normalized_ = std::string(blob.substr(4 + trie_size));
}

std::string_view PrecompiledCharsmap::replacement_at(uint32_t value) const {
  if (value >= normalized_.size()) return {};
  const char* begin = normalized_.data() + value;
  size_t len = 0;
  const size_t max_len = normalized_.size() - value;
  while (len < max_len && begin[len] != '\0') ++len;
  return {begin, len};
}

size_t PrecompiledCharsmap::longest_prefix(std::string_view input, std::string_view* replacement) const {
  size_t longest = 0;
  common_prefix_search(input, /*stop_at_nul=*/false, [&](size_t length, std::string_view rep) {
    if (longest == 0 || length > longest) {
      longest = length;
      *replacement = rep;
    }
    return true;
  });
  return longest;
}

bool PrecompiledCharsmap::transform(std::string_view chunk, std::string_view* replacement) const {
  bool found = false;
  common_prefix_search(chunk, /*stop_at_nul=*/true, [&](size_t, std::string_view rep) {
    *replacement = rep;
    found = true;
    return false;
  });
  return found;
}

}  // namespace textune::tokenizers
