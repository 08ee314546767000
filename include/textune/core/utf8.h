// UTF-8 and code points, with Python's string semantics: the one place the layers above the
// tokenizers count characters (question-answering offsets, seqeval's and the NER pipeline's
// character spans, serve's slices). Offsets are Unicode code points, as Python indexes `str`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace textune::core {

/// Whether `s` is valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s);
/// The byte offset of the first byte of `s` that does not start a valid UTF-8 sequence (as
/// is_valid_utf8 defines it), or std::string_view::npos when `s` is valid.
size_t utf8_first_invalid(std::string_view s);
/// The number of code points of valid UTF-8 `s` (Python's len(s)); invalid bytes count one each.
size_t utf8_length(std::string_view s);
/// The byte offset of every code point of `s`, plus s.size() at the end: (utf8_length(s) + 1) entries,
/// so that code points [a, b) are bytes [offsets[a], offsets[b]).
std::vector<size_t> utf8_offsets(std::string_view s);
/// Python's s[start:start+count] on code points, clamped at the end of `s`.
std::string utf8_substr(std::string_view s, size_t start, size_t count = std::string::npos);
/// The code points of `s` (invalid bytes become U+FFFD).
std::u32string utf8_decode(std::string_view s);
/// UTF-8 of code points.
std::string utf8_encode(std::u32string_view s);

}  // namespace textune::core
