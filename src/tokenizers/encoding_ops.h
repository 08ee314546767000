// Operations on Encodings as `tokenizers`' Encoding implements them
// (tokenizers/src/tokenizer/encoding.rs): building, merging, truncating with stride, padding.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "textune/tokenizers/tokenizer.h"

namespace textune::tokenizers {

/// An encoding of special tokens: offsets (0,0), special_tokens_mask 1, no word, no sequence.
Encoding special_encoding(const std::vector<uint32_t>& ids, const std::vector<std::string>& tokens, uint32_t type_id);

/// Sets every type id of `e` (and of its overflowing windows) to `type_id`.
void set_type_ids(Encoding& e, uint32_t type_id);
/// Marks every token of `e` (and of its overflowing windows) as belonging to sequence `id`.
void set_sequence_id(Encoding& e, uint32_t id);

/// Appends `pair` to `self`, combining their overflowing windows as Encoding::merge_with does.
void merge_with(Encoding& self, Encoding pair);
/// Merges a list of encodings into one (Encoding::merge, offsets not shifted).
Encoding merge_encodings(std::vector<Encoding> encodings);

/// Cuts `e` to `max_len` tokens, keeping the cut tokens as overflowing windows that overlap by
/// `stride` (Encoding::truncate). @throws textune::DataError when stride >= max_len > 0.
void truncate_encoding(Encoding& e, size_t max_len, size_t stride, Side direction);

/// Pads `e` and its overflowing windows to `length` tokens (Encoding::pad).
void pad_encoding(Encoding& e, size_t length, int64_t pad_id, uint32_t pad_type_id, const std::string& pad_token,
                  Side direction);

}  // namespace textune::tokenizers
