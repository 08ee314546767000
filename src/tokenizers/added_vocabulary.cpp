#include "tokenizers/added_vocabulary.h"

#include <algorithm>

#include "tokenizers/unicode.h"

namespace textune::tokenizers {

uint32_t LiteralSetMatcher::child(uint32_t node, unsigned char b) const {
  const auto& next = nodes_[node].next;
  auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(b, uint32_t{0}),
                             [](const auto& a, const auto& k) { return a.first < k.first; });
  if (it != next.end() && it->first == b) return it->second;
  return 0;
}

void LiteralSetMatcher::add(std::string_view pattern, uint32_t index) {
  if (pattern.empty()) return;
  uint32_t node = 0;
  for (char ch : pattern) {
    unsigned char b = static_cast<unsigned char>(ch);
    uint32_t c = child(node, b);
    if (c == 0) {
      c = static_cast<uint32_t>(nodes_.size());
      nodes_.push_back(Node{});
      auto& next = nodes_[node].next;
      auto it = std::lower_bound(next.begin(), next.end(), std::make_pair(b, uint32_t{0}),
                                 [](const auto& a, const auto& k) { return a.first < k.first; });
      next.insert(it, {b, c});
    }
    node = c;
  }
  if (nodes_[node].pattern < 0) nodes_[node].pattern = static_cast<int32_t>(index);
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
}

bool LiteralSetMatcher::find(std::string_view text, size_t from, size_t& start, size_t& end, uint32_t& index) const {
  if (empty()) return false;
  for (size_t p = from; p < text.size(); ++p) {
    if (!first_byte_[static_cast<unsigned char>(text[p])]) continue;
    uint32_t node = 0;
    int32_t best = -1;
    size_t best_end = 0;
    for (size_t q = p; q < text.size(); ++q) {
      node = child(node, static_cast<unsigned char>(text[q]));
      if (node == 0) break;
      if (nodes_[node].pattern >= 0) {
        best = nodes_[node].pattern;
        best_end = q + 1;
      }
    }
    if (best >= 0) {
      start = p;
      end = best_end;
      index = static_cast<uint32_t>(best);
      return true;
    }
  }
  return false;
}

void AddedVocabulary::add_tokens(const std::vector<AddedToken>& tokens, const Normalizer* normalizer) {
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;
    if (t.special) special_set_.insert(t.content);
    auto it = by_content_.find(t.content);
    if (it != by_content_.end()) {
      tokens_[by_id_[it->second]] = t;
      continue;
    }
    by_content_[t.content] = t.id;
    by_id_[t.id] = tokens_.size();
    tokens_.push_back(t);
  }
  // Rebuild the matchers: special tokens first, then the others, as `tokenizers` orders them.
  raw_matcher_ = LiteralSetMatcher();
  normalized_matcher_ = LiteralSetMatcher();
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < tokens_.size(); ++i) {
      const AddedToken& t = tokens_[i];
      if (t.special != (pass == 0)) continue;
      if (!t.normalized) {
        raw_matcher_.add(t.content, static_cast<uint32_t>(i));
      } else {
        NormalizedString n(t.content);
        if (normalizer) normalizer->normalize(n);
        normalized_matcher_.add(n.get(), static_cast<uint32_t>(i));
      }
    }
  }
}

std::optional<uint32_t> AddedVocabulary::token_to_id(std::string_view token) const {
  auto it = by_content_.find(std::string(token));
  if (it == by_content_.end()) return std::nullopt;
  return it->second;
}

const AddedToken* AddedVocabulary::by_id(uint32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

namespace {

bool starts_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t i = 0;
  return unicode::is_word_char(unicode::next_char(s, i));
}

bool ends_with_word(std::string_view s) {
  if (s.empty()) return false;
  size_t last = s.size() - 1;
  while (last > 0 && (static_cast<unsigned char>(s[last]) & 0xC0) == 0x80) --last;
  size_t i = last;
  return unicode::is_word_char(unicode::next_char(s, i));
}

// Start of the run of whitespace that ends `s` (`\s*$`).
size_t space_leftmost_at_end(std::string_view s) {
  size_t pos = s.size();
  while (pos > 0) {
    size_t b = pos - 1;
    while (b > 0 && (static_cast<unsigned char>(s[b]) & 0xC0) == 0x80) --b;
    size_t i = b;
    if (!unicode::is_whitespace(unicode::next_char(s, i))) break;
    pos = b;
  }
  return pos;
}

// End of the run of whitespace that starts `s` (`^\s*`).
size_t space_rightmost_at_start(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t b = i;
    if (!unicode::is_whitespace(unicode::next_char(s, i))) return b;
  }
  return s.size();
}

}  // namespace

std::vector<Split> AddedVocabulary::split_with_indices(NormalizedString&& s, const LiteralSetMatcher& matcher) const {
  std::vector<Split> out;
  const std::string& text = s.get();
  if (matcher.empty() || text.empty()) {
    out.push_back({std::move(s), std::nullopt});
    return out;
  }
  struct Piece {
    size_t start, end;
    int64_t token;  // index in tokens_, or -1
  };
  std::vector<Piece> pieces;
  size_t start_offset = 0;
  size_t from = 0;
  size_t ms, me;
  uint32_t idx;
  while (matcher.find(text, from, ms, me, idx)) {
    from = me;
    const AddedToken& t = tokens_[idx];
    size_t start = ms, stop = me;
    if (t.single_word) {
      bool start_space = start == 0 || !ends_with_word(std::string_view(text).substr(0, start));
      bool stop_space = stop == text.size() || !starts_with_word(std::string_view(text).substr(stop));
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) {
      size_t new_start = space_leftmost_at_end(std::string_view(text).substr(0, start));
      start = std::max(new_start, start_offset);
    }
    if (t.rstrip) {
      stop += space_rightmost_at_start(std::string_view(text).substr(stop));
    }
    if (start_offset < start) pieces.push_back({start_offset, start, -1});
    pieces.push_back({start, stop, static_cast<int64_t>(idx)});
    start_offset = stop;
  }
  if (pieces.empty()) {
    out.push_back({std::move(s), std::nullopt});
    return out;
  }
  if (start_offset != text.size()) pieces.push_back({start_offset, text.size(), -1});
  out.reserve(pieces.size());
  for (const Piece& p : pieces) {
    NormalizedString slice = s.slice(p.start, p.end);
    if (p.token >= 0) {
      const AddedToken& t = tokens_[p.token];
      std::vector<Token> toks{{t.id, slice.get(), {0, slice.len()}}};
      out.push_back({std::move(slice), std::move(toks)});
    } else {
      out.push_back({std::move(slice), std::nullopt});
    }
  }
  return out;
}

PreTokenizedString AddedVocabulary::extract_and_normalize(const Normalizer* normalizer, std::string_view text) const {
  PreTokenizedString pre(text);
  if (!raw_matcher_.empty())
    pre.split([&](size_t, NormalizedString&& s) { return split_with_indices(std::move(s), raw_matcher_); });
  pre.split([&](size_t, NormalizedString&& s) {
    if (normalizer) normalizer->normalize(s);
    return split_with_indices(std::move(s), normalized_matcher_);
  });
  return pre;
}

}  // namespace textune::tokenizers
