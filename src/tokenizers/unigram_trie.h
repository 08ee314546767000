// A byte-level double-array trie over vocabulary pieces, the structure sentencepiece (darts-clone) and
// tokenizers (a Trie<u8>) both use to find every piece that starts at a position of the text.
// Our own layout (classic base/check), built once at load time; lookups allocate nothing.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace textune::tokenizers {

class PieceTrie {
 public:
  PieceTrie() = default;

  /// Builds the trie. Keys may come in any order; an empty key is ignored; for a key given twice
  /// the value given last wins.
  explicit PieceTrie(std::vector<std::pair<std::string_view, int32_t>> keys);

  bool empty() const { return base_.empty(); }

  /// Calls `fn(length_in_bytes, value)` for every key that is a prefix of `text`, shortest first.
  template <typename Fn>
  void common_prefix_search(std::string_view text, Fn&& fn) const {
    if (base_.empty()) return;
    const size_t n = check_.size();
    uint32_t s = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      const size_t t = static_cast<size_t>(base_[s]) + static_cast<uint8_t>(text[i]);
      if (t >= n || check_[t] != static_cast<int32_t>(s)) return;
      s = static_cast<uint32_t>(t);
      if (value_[s] >= 0) fn(i + 1, value_[s]);
    }
  }

  /// The value of `key`, or -1.
  int32_t find(std::string_view key) const;

  /// Bytes of the longest key that is a prefix of `text` (0: none); its value in `*value`.
  size_t longest_prefix(std::string_view text, int32_t* value) const {
    size_t best = 0;
    common_prefix_search(text, [&](size_t len, int32_t v) {
      best = len;
      *value = v;
    });
    return best;
  }

 private:
  std::vector<uint32_t> base_;
  std::vector<int32_t> check_;  ///< parent node of each cell; -1 when free
  std::vector<int32_t> value_;  ///< value of the key ending at the node; -1 when none
};

}  // namespace textune::tokenizers
