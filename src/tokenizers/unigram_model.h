// The Unigram model of tokenizer.json ({"type": "Unigram", "unk_id", "vocab": [[piece, score], ...],
// "byte_fallback"}), as Hugging Face `tokenizers` encodes with it (tokenizers/src/models/unigram/
// model.rs: encode_optimized with f64 scores, unknown runs fused, byte fallback in tokenize).
// It differs from sentencepiece's own Unigram (sentencepiece_processor.h) in small ways that matter
// for exactness: every vocabulary entry (control and unknown pieces too) is in the trie and in the
// minimum score, scores add up in double precision, and user-defined pieces get no bonus.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizers/unigram_trie.h"

namespace textune::tokenizers {

/// One token of a Unigram encoding: id and [begin, end) in bytes of the encoded text. `byte_piece`:
/// a <0xXX> token of byte fallback (its text is the vocabulary entry), otherwise the token's text is
/// the encoded text's slice (for a fused unknown run, the unknown text itself).
struct UnigramToken {
  uint32_t id;
  uint32_t begin, end;
  bool byte_piece;
};

class UnigramModel {
 public:
  /// @param vocab pieces and their scores; the index is the id.
  /// @param unk_id the unknown piece, or none (then text with an unknown character cannot be encoded).
  /// @throws textune::DataError naming `where` when unk_id is given with an empty vocabulary or is not
  ///         in it (tokenizers' UnigramError).
  UnigramModel(std::vector<std::pair<std::string, double>> vocab, std::optional<uint32_t> unk_id, bool byte_fallback,
               const std::string& where);

  /// Encodes `text` (one pre-tokenized word, valid UTF-8), appending to `out`.
  /// @throws textune::DataError when a character is unknown and there is no unk_id.
  void tokenize(std::string_view text, std::vector<UnigramToken>& out) const;

  /// The token string of `t` within `text` (the text it was encoded from).
  std::string_view token_text(const UnigramToken& t, std::string_view text) const {
    return t.byte_piece ? std::string_view(vocab_[t.id].first) : text.substr(t.begin, t.end - t.begin);
  }

  std::optional<uint32_t> token_to_id(std::string_view token) const;
  const std::string* id_to_token(uint32_t id) const { return id < vocab_.size() ? &vocab_[id].first : nullptr; }
  size_t vocab_size() const { return vocab_.size(); }
  std::optional<uint32_t> unk_id() const { return unk_id_; }
  bool byte_fallback() const { return byte_fallback_; }
  const std::vector<std::pair<std::string, double>>& vocab() const { return vocab_; }

 private:
  std::vector<std::pair<std::string, double>> vocab_;
  std::unordered_map<std::string_view, uint32_t> token_to_ids_;  ///< the last id of a duplicated piece
  PieceTrie trie_;
  double min_score_;
  std::optional<uint32_t> unk_id_;
  bool byte_fallback_;
  int32_t byte_ids_[256];  ///< id of <0xXX>, -1 when absent
  std::string where_;
};

}  // namespace textune::tokenizers
