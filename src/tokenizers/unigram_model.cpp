// Unigram encoding as tokenizers/src/models/unigram/model.rs does it (Unigram::from, encode_optimized,
// Model::tokenize), itself a port of sentencepiece's EncodeOptimized.
#include "tokenizers/unigram_model.h"

#include <algorithm>
#include <limits>

#include "textune/core/error.h"
#include "tokenizers/sentencepiece_model.h"

namespace textune::tokenizers {
namespace {

constexpr double kUnkPenalty = 10.0;

size_t utf8_len(char lead) {
  const auto b = static_cast<unsigned char>(lead);
  return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

struct BestPathNode {
  uint32_t id;
  double score;
  int64_t starts_at;  // -1: none yet
};

}  // namespace

UnigramModel::UnigramModel(std::vector<std::pair<std::string, double>> vocab, std::optional<uint32_t> unk_id,
                           bool byte_fallback, const std::string& where)
    : vocab_(std::move(vocab)), unk_id_(unk_id), byte_fallback_(byte_fallback), where_(where) {
  if (unk_id_) {
    if (vocab_.empty()) throw DataError(where_ + ": the Unigram vocabulary is empty but at least <unk> is needed");
    if (*unk_id_ >= vocab_.size())
      throw DataError(where_ + ": the Unigram unk_id " + std::to_string(*unk_id_) + " is not in the vocabulary of " +
                      std::to_string(vocab_.size()) + " pieces");
  }
  min_score_ = std::numeric_limits<double>::infinity();
  std::vector<std::pair<std::string_view, int32_t>> keys;
  keys.reserve(vocab_.size());
  token_to_ids_.reserve(vocab_.size());
  for (size_t i = 0; i < vocab_.size(); ++i) {
    token_to_ids_[vocab_[i].first] = static_cast<uint32_t>(i);
    keys.emplace_back(vocab_[i].first, static_cast<int32_t>(i));
    if (vocab_[i].second < min_score_) min_score_ = vocab_[i].second;
  }
  trie_ = PieceTrie(std::move(keys));  // a duplicated piece keeps its last id, as token_to_ids does
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  for (int b = 0; b < 256; ++b)
    if (auto it = token_to_ids_.find(spm::byte_to_piece(static_cast<unsigned char>(b))); it != token_to_ids_.end())
      byte_ids_[b] = static_cast<int32_t>(it->second);
}

std::optional<uint32_t> UnigramModel::token_to_id(std::string_view token) const {
  if (auto it = token_to_ids_.find(token); it != token_to_ids_.end()) return it->second;
  return std::nullopt;
}

void UnigramModel::tokenize(std::string_view text, std::vector<UnigramToken>& out) const {
  if (text.empty()) return;
  thread_local std::vector<BestPathNode> best;
  thread_local std::vector<std::pair<uint32_t, uint32_t>> spans;  // (begin, end) of the tokens, reversed
  const size_t size = text.size();
  const double unk_score = min_score_ - kUnkPenalty;
  best.assign(size + 1, BestPathNode{0, 0.0, -1});
  auto missing_unk = [&]() {
    return DataError(where_ + ": cannot encode \"" + std::string(text) +
                     "\": it has a character outside the Unigram vocabulary and the model has no unk_id");
  };
  for (size_t starts_at = 0; starts_at < size;) {
    const double till_here = best[starts_at].score;
    bool has_single_node = false;
    const size_t mblen = std::min(utf8_len(text[starts_at]), size - starts_at);
    trie_.common_prefix_search(text.substr(starts_at), [&](size_t length, int32_t id) {
      BestPathNode& target = best[starts_at + length];
      const double candidate = vocab_[static_cast<size_t>(id)].second + till_here;
      if (target.starts_at == -1 || candidate > target.score) {
        target.score = candidate;
        target.starts_at = static_cast<int64_t>(starts_at);
        target.id = static_cast<uint32_t>(id);
      }
      if (!has_single_node && length == mblen) has_single_node = true;
    });
    if (!has_single_node) {
      BestPathNode& target = best[starts_at + mblen];
      const double candidate = unk_score + till_here;
      if (target.starts_at == -1 || candidate > target.score) {
        if (!unk_id_) throw missing_unk();
        target.score = candidate;
        target.starts_at = static_cast<int64_t>(starts_at);
        target.id = *unk_id_;
      }
    }
    starts_at += mblen;
  }
  // Backtrack; consecutive unknown nodes make one token.
  spans.clear();
  size_t fused_begin = 0, fused_end = 0;
  bool fusing = false;
  for (size_t ends_at = size; ends_at > 0;) {
    const BestPathNode& node = best[ends_at];
    const auto starts_at = static_cast<size_t>(node.starts_at);
    if (unk_id_ && node.id == *unk_id_) {
      if (!fusing) fused_end = ends_at;
      fusing = true;
      fused_begin = starts_at;
    } else {
      if (fusing) spans.emplace_back(static_cast<uint32_t>(fused_begin), static_cast<uint32_t>(fused_end));
      fusing = false;
      spans.emplace_back(static_cast<uint32_t>(starts_at), static_cast<uint32_t>(ends_at));
    }
    ends_at = starts_at;
  }
  if (fusing) spans.emplace_back(static_cast<uint32_t>(fused_begin), static_cast<uint32_t>(fused_end));

  // Model::tokenize: strings to ids; an unknown string falls back to its bytes when all of them have a
  // <0xXX> piece, else to unk_id.
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    const auto [b, e] = *it;
    const std::string_view piece = text.substr(b, e - b);
    if (auto id = token_to_ids_.find(piece); id != token_to_ids_.end()) {
      out.push_back(UnigramToken{id->second, b, e, false});
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (char c : piece) all = all && byte_ids_[static_cast<unsigned char>(c)] >= 0;
      if (all) {
        for (char c : piece) out.push_back(UnigramToken{static_cast<uint32_t>(byte_ids_[static_cast<unsigned char>(c)]), b, e, true});
        continue;
      }
    }
    if (!unk_id_) throw missing_unk();
    out.push_back(UnigramToken{*unk_id_, b, e, false});
  }
}

}  // namespace textune::tokenizers
