// Tokens added on top of a model's vocabulary (special tokens such as [CLS], and user tokens),
// found in the text before the model sees it. Reproduces `tokenizers`' AddedVocabulary
// (tokenizers/src/tokenizer/added_vocabulary.rs): leftmost-longest matching, first on the raw
// text for tokens with normalized=false, then on the normalized text for the others, with the
// single_word / lstrip / rstrip rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tokenizers/components.h"

namespace textune::tokenizers {

/// One entry of tokenizer.json's "added_tokens".
struct AddedToken {
  uint32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

/// Finds the leftmost, then longest, of a set of byte strings (Aho-Corasick's LeftmostLongest).
class LiteralSetMatcher {
 public:
  /// Adds a pattern with a caller's index; an earlier pattern wins over an equal later one.
  void add(std::string_view pattern, uint32_t index);
  bool empty() const { return nodes_.size() <= 1; }
  /// The leftmost-longest match starting at or after `from`: (start, end, index).
  bool find(std::string_view text, size_t from, size_t& start, size_t& end, uint32_t& index) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, uint32_t>> next;  // sorted by byte
    int32_t pattern = -1;
  };
  uint32_t child(uint32_t node, unsigned char b) const;
  std::vector<Node> nodes_{Node{}};
  bool first_byte_[256] = {};
};

class AddedVocabulary {
 public:
  /// Registers the added tokens; `normalizer` (may be null) normalizes the patterns of tokens
  /// with normalized=true.
  void add_tokens(const std::vector<AddedToken>& tokens, const Normalizer* normalizer);

  std::optional<uint32_t> token_to_id(std::string_view token) const;
  const AddedToken* by_id(uint32_t id) const;
  bool is_special(std::string_view content) const { return special_set_.count(std::string(content)) > 0; }
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  size_t size() const { return by_content_.size(); }

  /// Splits `text` on added tokens and normalizes the rest (`extract_and_normalize`).
  PreTokenizedString extract_and_normalize(const Normalizer* normalizer, std::string_view text) const;

 private:
  std::vector<Split> split_with_indices(NormalizedString&& s, const LiteralSetMatcher& matcher) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<std::string, uint32_t> by_content_;
  std::unordered_map<uint32_t, size_t> by_id_;  // id -> index in tokens_
  std::unordered_set<std::string> special_set_;
  LiteralSetMatcher raw_matcher_;         // normalized=false tokens, on the raw text
  LiteralSetMatcher normalized_matcher_;  // normalized=true tokens, on the normalized text
};

}  // namespace textune::tokenizers
