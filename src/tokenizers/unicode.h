// UTF-8 and Unicode character classes as the Rust `tokenizers` crate sees them.
//
// Rust's `char::is_whitespace` is the Unicode White_Space property; `tokenizers` takes general
// categories from the `unicode_categories` crate and case mappings from Rust's `char`. We read the
// categories and mappings from utf8proc (Unicode 15) and spell out the White_Space list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace textune::tokenizers::unicode {

/// Length in bytes of the UTF-8 sequence that starts with byte `b` (1 for a stray byte).
inline size_t utf8_len(unsigned char b) {
  if (b < 0x80) return 1;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  return 4;
}

/// Decodes the code point at `s[i]` of valid UTF-8 and advances `i` past it.
inline char32_t next_char(std::string_view s, size_t& i) {
  unsigned char b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  if (b < 0xE0) {
    char32_t c = ((b & 0x1F) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3F);
    i += 2;
    return c;
  }
  if (b < 0xF0) {
    char32_t c = ((b & 0x0F) << 12) | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
                 (static_cast<unsigned char>(s[i + 2]) & 0x3F);
    i += 3;
    return c;
  }
  char32_t c = ((b & 0x07) << 18) | ((static_cast<unsigned char>(s[i + 1]) & 0x3F) << 12) |
               ((static_cast<unsigned char>(s[i + 2]) & 0x3F) << 6) | (static_cast<unsigned char>(s[i + 3]) & 0x3F);
  i += 4;
  return c;
}

/// Number of UTF-8 bytes of code point `c`.
inline size_t char_len(char32_t c) {
  return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
}

/// Appends code point `c` to `out` as UTF-8.
inline void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

/// Byte offset of the first invalid UTF-8 sequence in `s`, or `npos` when `s` is valid UTF-8
/// (no overlong forms, no surrogates, nothing above U+10FFFF).
size_t find_invalid_utf8(std::string_view s);

/// Number of code points of valid UTF-8 `s`.
size_t count_chars(std::string_view s);

/// Rust's `String::from_utf8_lossy`: invalid sequences become U+FFFD, one per maximal subpart.
std::string utf8_lossy(std::string_view bytes);

/// Rust's `char::is_whitespace` (the Unicode White_Space property).
bool is_whitespace(char32_t c);
/// Unicode general category as utf8proc numbers it (UTF8PROC_CATEGORY_*).
int category(char32_t c);
/// Categories P* (Pc, Pd, Ps, Pe, Pi, Pf, Po).
bool is_punctuation(char32_t c);
/// Category Mn.
bool is_mark_nonspacing(char32_t c);
/// Category M* (Mn, Mc, Me).
bool is_mark(char32_t c);
/// `unicode_categories`' `is_other`: Cc, Cf, Co, Cs (it has no table of unassigned code points).
bool is_other(char32_t c);
/// Categories L*.
bool is_letter(char32_t c);
/// Categories N* (Nd, Nl, No).
bool is_number(char32_t c);
/// Rust regex's `\w`: letters, marks, decimal digits, connector punctuation, join controls.
bool is_word_char(char32_t c);
/// Canonical combining class.
int combining_class(char32_t c);

/// Rust's `char::to_lowercase` (full mapping: U+0130 gives two code points). Returns the count
/// written to `out` (1..3).
int to_lowercase(char32_t c, char32_t out[3]);

/// Canonical (or, with `compat`, compatibility) full decomposition of `c` into `out` (at most
/// 18 code points); returns the count.
int decompose(char32_t c, bool compat, char32_t out[18]);
/// Primary composite of the pair (a, b), or 0 when they do not compose.
char32_t compose(char32_t a, char32_t b);

}  // namespace textune::tokenizers::unicode
