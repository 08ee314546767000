// tokenizer.json's "Precompiled" normalizer as Hugging Face `tokenizers` applies a SentencePiece
// charsmap (tokenizers/src/normalizers/precompiled.rs over the spm_precompiled crate): text cut into
// extended grapheme clusters; a cluster shorter than 6 bytes is replaced whole by the rule of its
// shortest matching prefix, any other cluster character by character. This differs on purpose from
// sentencepiece's own longest-match normalizer (sentencepiece_normalizer.h).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizers/precompiled_charsmap.h"

namespace textune::tokenizers {

/// Appends to `out` the transformation of `text` for NormalizedString::transform: (character, change)
/// with 0 for a character that replaces one, -N when it also removes the N after it, 1 for an inserted
/// one (aligned with the character before it); untouched characters have 0. The k-th character of a
/// replacement replaces the k-th replaced character, as the reference's alignments show.
/// Returns whether any rule applied (when none did, tokenizers leaves the string alone).
bool precompiled_changes(const PrecompiledCharsmap& map, std::string_view text,
                         std::vector<std::pair<char32_t, int>>& out);

/// The normalized text alone (spm_precompiled's Precompiled::normalize_string).
std::string precompiled_normalize_string(const PrecompiledCharsmap& map, std::string_view text);

/// Standard base64 with padding, as tokenizers writes "precompiled_charsmap".
std::string base64_encode(std::string_view bytes);

/// Standard base64 (padding optional), as tokenizer.json stores "precompiled_charsmap".
/// @throws textune::DataError naming `where` for a character outside the alphabet or a bad length.
std::string base64_decode(std::string_view text, const std::string& where);

}  // namespace textune::tokenizers
