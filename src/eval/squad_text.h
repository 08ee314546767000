// Python 3 string semantics that the official QA evaluation scripts rely on (internal to the eval
// layer; implemented in squad.cpp): str.lower, str.isspace / str.split / str.strip, and the Unicode
// character classes of `re` (\w, \d, \s, \b) on code points.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace textune::eval::pytext {

/// str.isspace (also what re's \s, str.split() and str.strip() use).
bool is_space(char32_t c);
/// str.isalnum || '_': re's \w for str patterns (letters L*, numbers N*, underscore).
bool is_word(char32_t c);
/// str.isdecimal: re's \d (category Nd).
bool is_decimal(char32_t c);
/// re's \b at position i of t (between t[i-1] and t[i]; outside the string counts as non-word).
bool word_boundary(std::u32string_view t, size_t i);
/// str.lower: the full lower-case mapping (U+0130 gives "i\u0307") with the Final_Sigma rule.
std::u32string lower(std::u32string_view s);
/// str.strip() (whitespace as is_space).
std::u32string strip(std::u32string_view s);
/// str.split() (runs of is_space; no empty pieces).
std::vector<std::u32string> split(std::u32string_view s);

}  // namespace textune::eval::pytext
