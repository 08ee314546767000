// tokenizers' Precompiled normalizer (tokenizers/src/normalizers/precompiled.rs, spm_precompiled
// src/lib.rs Precompiled::transform / normalize_string). Grapheme clusters come from utf8proc's
// extended grapheme cluster rules (UAX #29), as the unicode-segmentation crate's graphemes(true).
#include "tokenizers/precompiled_normalizer.h"

#include <utf8proc.h>

#include "textune/core/error.h"

namespace textune::tokenizers {
namespace {

/// Decodes the code point at `s[i]` (valid UTF-8) and returns its byte length.
size_t decode(std::string_view s, size_t i, char32_t* c) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    *c = b0;
    return 1;
  }
  const size_t n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  char32_t v = b0 & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n && i + k < s.size(); ++k) v = (v << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  *c = v;
  return std::min(n, s.size() - i);
}

size_t count_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

/// Calls fn(grapheme) for every extended grapheme cluster of `text`.
template <typename Fn>
void for_each_grapheme(std::string_view text, Fn&& fn) {
  utf8proc_int32_t state = 0;
  size_t start = 0;
  char32_t prev = 0;
  for (size_t i = 0; i < text.size();) {
    char32_t c;
    const size_t len = decode(text, i, &c);
    if (i > 0 && utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev), static_cast<utf8proc_int32_t>(c), &state)) {
      fn(text.substr(start, i - start));
      start = i;
    }
    prev = c;
    i += len;
  }
  if (start < text.size()) fn(text.substr(start));
}

/// Pushes the characters of `norm` replacing `old_chars` characters: the k-th new character replaces the
/// k-th old one, the last of those also removes the old characters left over, and new characters past
/// the old ones are insertions (aligned with the character before them). This is the alignment the
/// reference (tokenizers 0.22) produces: "½" -> "1⁄2" maps all three to "½", "ﬁ◌́" -> "fi" maps f to ﬁ
/// and i to the accent, "e◌́◌́" -> "é" maps é to e.
void push_replacement(std::string_view norm, size_t old_chars, std::vector<std::pair<char32_t, int>>& out) {
  const size_t new_chars = count_chars(norm);
  const size_t paired = std::min(new_chars, old_chars);
  size_t i = 0;
  for (size_t k = 0; k < norm.size(); ++i) {
    char32_t c;
    k += decode(norm, k, &c);
    int change = 1;
    if (i + 1 < paired) change = 0;
    else if (i + 1 == paired) change = -static_cast<int>(old_chars - paired);
    out.emplace_back(c, change);
  }
}

}  // namespace

bool precompiled_changes(const PrecompiledCharsmap& map, std::string_view text,
                         std::vector<std::pair<char32_t, int>>& out) {
  bool modified = false;
  for_each_grapheme(text, [&](std::string_view grapheme) {
    std::string_view norm;
    if (grapheme.size() < 6 && map.transform(grapheme, &norm)) {
      modified = true;
      push_replacement(norm, count_chars(grapheme), out);
      return;
    }
    for (size_t i = 0; i < grapheme.size();) {
      char32_t c;
      const size_t len = decode(grapheme, i, &c);
      if (map.transform(grapheme.substr(i, len), &norm)) {
        modified = true;
        push_replacement(norm, 1, out);
      } else {
        out.emplace_back(c, 0);
      }
      i += len;
    }
  });
  return modified;
}

std::string precompiled_normalize_string(const PrecompiledCharsmap& map, std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for_each_grapheme(text, [&](std::string_view grapheme) {
    std::string_view norm;
    if (grapheme.size() < 6 && map.transform(grapheme, &norm)) {
      out.append(norm);
      return;
    }
    for (size_t i = 0; i < grapheme.size();) {
      char32_t c;
      const size_t len = decode(grapheme, i, &c);
      if (map.transform(grapheme.substr(i, len), &norm))
        out.append(norm);
      else
        out.append(grapheme.substr(i, len));
      i += len;
    }
  });
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t v = 0;
    for (size_t k = 0; k < 3; ++k) v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
    for (size_t k = 0; k < 4; ++k) out.push_back(k <= n ? kAlphabet[(v >> (18 - 6 * k)) & 63] : '=');
  }
  return out;
}

std::string base64_decode(std::string_view text, const std::string& where) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) throw DataError(where + ": invalid base64: bad length");
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const int v = value(text[i]);
    if (v < 0) throw DataError(where + ": invalid base64: unexpected character at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace textune::tokenizers
