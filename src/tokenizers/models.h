// WordPiece and BPE models, constructible from tokenizer.json or from the legacy vocabulary files.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizers/components.h"

namespace textune::tokenizers {

/// `tokenizers`' WordPiece options.
struct WordPieceOptions {
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;
};

/// Greedy longest-match-first WordPiece (tokenizers/src/models/wordpiece/mod.rs).
/// @throws textune::DataError when the vocabulary is empty.
std::unique_ptr<Model> make_wordpiece(std::vector<std::pair<std::string, uint32_t>> vocab, WordPieceOptions options,
                                      const std::string& where);

/// `tokenizers`' BPE options (dropout is not supported: always off).
struct BpeOptions {
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

/// Byte-pair encoding with merges by rank (tokenizers/src/models/bpe/{model,word}.rs).
/// @throws textune::DataError naming `where` when a merge uses a token outside the vocabulary.
std::unique_ptr<Model> make_bpe(std::vector<std::pair<std::string, uint32_t>> vocab,
                                std::vector<std::pair<std::string, std::string>> merges, BpeOptions options,
                                const std::string& where);

}  // namespace textune::tokenizers
