#include "tokenizers/encoding_ops.h"

#include <algorithm>

#include "textune/core/error.h"

namespace textune::tokenizers {

Encoding special_encoding(const std::vector<uint32_t>& ids, const std::vector<std::string>& tokens, uint32_t type_id) {
  Encoding e;
  const size_t n = ids.size();
  e.ids.assign(ids.begin(), ids.end());
  e.type_ids.assign(n, type_id);
  e.tokens = tokens;
  e.offsets.assign(n, {0, 0});
  e.special_tokens_mask.assign(n, 1);
  e.attention_mask.assign(n, 1);
  e.word_ids.assign(n, std::nullopt);
  e.sequence_ids.assign(n, std::nullopt);
  return e;
}

void set_type_ids(Encoding& e, uint32_t type_id) {
  std::fill(e.type_ids.begin(), e.type_ids.end(), static_cast<int64_t>(type_id));
  for (Encoding& o : e.overflowing) set_type_ids(o, type_id);
}

void set_sequence_id(Encoding& e, uint32_t id) {
  std::fill(e.sequence_ids.begin(), e.sequence_ids.end(), std::optional<uint32_t>(id));
  for (Encoding& o : e.overflowing) set_sequence_id(o, id);
}

namespace {

void append_tokens(Encoding& self, const Encoding& pair) {
  self.ids.insert(self.ids.end(), pair.ids.begin(), pair.ids.end());
  self.type_ids.insert(self.type_ids.end(), pair.type_ids.begin(), pair.type_ids.end());
  self.tokens.insert(self.tokens.end(), pair.tokens.begin(), pair.tokens.end());
  self.offsets.insert(self.offsets.end(), pair.offsets.begin(), pair.offsets.end());
  self.special_tokens_mask.insert(self.special_tokens_mask.end(), pair.special_tokens_mask.begin(),
                                  pair.special_tokens_mask.end());
  self.attention_mask.insert(self.attention_mask.end(), pair.attention_mask.begin(), pair.attention_mask.end());
  self.word_ids.insert(self.word_ids.end(), pair.word_ids.begin(), pair.word_ids.end());
  self.sequence_ids.insert(self.sequence_ids.end(), pair.sequence_ids.begin(), pair.sequence_ids.end());
}

}  // namespace

void merge_with(Encoding& self, Encoding pair) {
  std::vector<Encoding> overflowings;
  if (!self.overflowing.empty() || !pair.overflowing.empty()) {
    // 1. each of our windows with the pair, then with each of the pair's windows
    for (const Encoding& self_o : self.overflowing) {
      Encoding n = self_o;
      Encoding p = pair;
      merge_with(n, std::move(p));
      overflowings.push_back(std::move(n));
      for (const Encoding& other_o : pair.overflowing) {
        Encoding n2 = self_o;
        merge_with(n2, other_o);
        overflowings.push_back(std::move(n2));
      }
    }
    // 2. ourselves with each of the pair's windows
    for (const Encoding& other_o : pair.overflowing) {
      Encoding n = self;
      n.overflowing.clear();
      merge_with(n, other_o);
      overflowings.push_back(std::move(n));
    }
  }
  append_tokens(self, pair);
  self.overflowing = std::move(overflowings);
}

Encoding merge_encodings(std::vector<Encoding> encodings) {
  Encoding out;
  for (Encoding& e : encodings) merge_with(out, std::move(e));
  return out;
}

namespace {

Encoding range_of(const Encoding& e, size_t start, size_t stop) {
  Encoding r;
  auto cut = [&](const auto& v, auto& dst) { dst.assign(v.begin() + start, v.begin() + stop); };
  cut(e.ids, r.ids);
  cut(e.type_ids, r.type_ids);
  cut(e.tokens, r.tokens);
  cut(e.offsets, r.offsets);
  cut(e.special_tokens_mask, r.special_tokens_mask);
  cut(e.attention_mask, r.attention_mask);
  cut(e.word_ids, r.word_ids);
  cut(e.sequence_ids, r.sequence_ids);
  return r;
}

}  // namespace

void truncate_encoding(Encoding& e, size_t max_len, size_t stride, Side direction) {
  const size_t len = e.ids.size();
  if (max_len >= len) return;
  if (max_len == 0) {
    Encoding all = std::move(e);
    e = Encoding();
    e.overflowing.push_back(std::move(all));
    return;
  }
  if (stride >= max_len)
    throw DataError("truncation: stride " + std::to_string(stride) + " leaves no room in a window of " +
                    std::to_string(max_len) + " tokens (the window is max_length minus the special tokens and the " +
                    "other sequence; stride must be smaller)");
  const size_t step = max_len - stride;
  std::vector<std::pair<size_t, size_t>> parts;
  if (direction == Side::kRight) {
    for (size_t start = 0; start < len; start += step) {
      size_t stop = std::min(start + max_len, len);
      parts.emplace_back(start, stop);
      if (stop == len) break;
    }
  } else {
    // (0..len).rev().step_by(step): stop points len-1, len-1-step, ...
    for (size_t k = 0;; ++k) {
      if (k * step > len - 1) break;
      size_t stop = len - 1 - k * step + 1;
      size_t start = stop < max_len ? 0 : stop - max_len;
      if (start < stop) parts.emplace_back(start, stop);
      if (start == 0) break;
    }
  }
  Encoding first = range_of(e, parts[0].first, parts[0].second);
  for (size_t i = 1; i < parts.size(); ++i) first.overflowing.push_back(range_of(e, parts[i].first, parts[i].second));
  e = std::move(first);
}

void pad_encoding(Encoding& e, size_t length, int64_t pad_id, uint32_t pad_type_id, const std::string& pad_token,
                  Side direction) {
  for (Encoding& o : e.overflowing) pad_encoding(o, length, pad_id, pad_type_id, pad_token, direction);
  if (e.ids.size() >= length) return;
  const size_t n = length - e.ids.size();
  auto pad = [&](auto& v, const auto& value) {
    if (direction == Side::kRight) {
      v.insert(v.end(), n, value);
    } else {
      v.insert(v.begin(), n, value);
    }
  };
  pad(e.ids, pad_id);
  pad(e.type_ids, static_cast<int64_t>(pad_type_id));
  pad(e.tokens, pad_token);
  pad(e.offsets, std::pair<size_t, size_t>{0, 0});
  pad(e.special_tokens_mask, int8_t{1});
  pad(e.attention_mask, int8_t{0});
  pad(e.word_ids, std::optional<uint32_t>());
  pad(e.sequence_ids, std::optional<uint32_t>());
}

}  // namespace textune::tokenizers
