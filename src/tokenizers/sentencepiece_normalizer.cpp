// SentencePiece normalization, reproducing google/sentencepiece src/normalizer.cc step by step.
#include "tokenizers/sentencepiece_normalizer.h"

namespace textune::tokenizers::spm {
namespace {

constexpr std::string_view kSpaceSymbol = "\xe2\x96\x81";   // U+2581
constexpr std::string_view kReplacement = "\xef\xbf\xbd";   // U+FFFD

inline bool is_trail(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }
inline bool valid_codepoint(uint32_t c) { return c < 0xD800 || (c >= 0xE000 && c <= 0x10FFFF); }

}  // namespace

size_t valid_utf8_char_len(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  const size_t len = s.size();
  if (b0 < 0x80) return 1;
  if (len >= 2 && (b0 & 0xE0) == 0xC0) {
    const uint32_t cp = ((b0 & 0x1Fu) << 6) | (static_cast<unsigned char>(s[1]) & 0x3Fu);
    if (is_trail(s[1]) && cp >= 0x80 && valid_codepoint(cp)) return 2;
  } else if (len >= 3 && (b0 & 0xF0) == 0xE0) {
    const uint32_t cp = ((b0 & 0x0Fu) << 12) | ((static_cast<unsigned char>(s[1]) & 0x3Fu) << 6) |
                        (static_cast<unsigned char>(s[2]) & 0x3Fu);
    if (is_trail(s[1]) && is_trail(s[2]) && cp >= 0x800 && valid_codepoint(cp)) return 3;
  } else if (len >= 4 && (b0 & 0xF8) == 0xF0) {
    const uint32_t cp = ((b0 & 0x07u) << 18) | ((static_cast<unsigned char>(s[1]) & 0x3Fu) << 12) |
                        ((static_cast<unsigned char>(s[2]) & 0x3Fu) << 6) | (static_cast<unsigned char>(s[3]) & 0x3Fu);
    if (is_trail(s[1]) && is_trail(s[2]) && is_trail(s[3]) && cp >= 0x10000 && valid_codepoint(cp)) return 4;
  }
  return 0;
}

Normalizer::Normalizer(const NormalizerSpec& spec, bool treat_whitespace_as_suffix, const PieceTrie* user_defined,
                       const std::string& source)
    : add_dummy_prefix_(spec.add_dummy_prefix),
      remove_extra_whitespaces_(spec.remove_extra_whitespaces),
      escape_whitespaces_(spec.escape_whitespaces),
      treat_whitespace_as_suffix_(treat_whitespace_as_suffix),
      user_defined_(user_defined && !user_defined->empty() ? user_defined : nullptr) {
  if (!spec.precompiled_charsmap.empty()) charsmap_ = PrecompiledCharsmap(spec.precompiled_charsmap, source);
}

std::pair<std::string_view, size_t> Normalizer::normalize_prefix(std::string_view input) const {
  if (user_defined_) {
    int32_t unused = 0;
    const size_t len = user_defined_->longest_prefix(input, &unused);
    if (len > 0) return {input.substr(0, len), len};
  }
  if (!charsmap_.empty()) {
    std::string_view rep;
    const size_t len = charsmap_.longest_prefix(input, &rep);
    if (len > 0) return {rep, len};
  }
  const size_t len = valid_utf8_char_len(input);
  if (len == 0) return {kReplacement, 1};
  return {input.substr(0, len), len};
}

void Normalizer::normalize(std::string_view input, std::string* normalized, std::vector<size_t>* norm_to_orig) const {
  normalized->clear();
  norm_to_orig->clear();
  if (input.empty()) return;

  size_t consumed = 0;
  if (remove_extra_whitespaces_) {
    while (!input.empty()) {
      const auto p = normalize_prefix(input);
      if (p.first != " ") break;
      input.remove_prefix(p.second);
      consumed += p.second;
    }
  }
  if (input.empty()) return;

  normalized->reserve(input.size() * 3);
  norm_to_orig->reserve(input.size() * 3);
  auto add_ws = [&]() {
    if (escape_whitespaces_) {
      normalized->append(kSpaceSymbol);
      norm_to_orig->insert(norm_to_orig->end(), kSpaceSymbol.size(), consumed);
    } else {
      normalized->push_back(' ');
      norm_to_orig->push_back(consumed);
    }
  };
  if (!treat_whitespace_as_suffix_ && add_dummy_prefix_) add_ws();

  bool is_prev_space = remove_extra_whitespaces_;
  while (!input.empty()) {
    const auto p = normalize_prefix(input);
    std::string_view sp = p.first;
    while (is_prev_space && !sp.empty() && sp.front() == ' ') sp.remove_prefix(1);
    if (!sp.empty()) {
      for (char c : sp) {
        if (escape_whitespaces_ && c == ' ') {
          normalized->append(kSpaceSymbol);
          norm_to_orig->insert(norm_to_orig->end(), kSpaceSymbol.size(), consumed);
        } else {
          normalized->push_back(c);
          norm_to_orig->push_back(consumed);
        }
      }
      is_prev_space = sp.back() == ' ';
    }
    consumed += p.second;
    input.remove_prefix(p.second);
    if (!remove_extra_whitespaces_) is_prev_space = false;
  }

  if (remove_extra_whitespaces_) {
    const std::string_view space = escape_whitespaces_ ? kSpaceSymbol : std::string_view(" ");
    while (normalized->size() >= space.size() &&
           std::string_view(*normalized).substr(normalized->size() - space.size()) == space) {
      const size_t length = normalized->size() - space.size();
      consumed = (*norm_to_orig)[length];
      normalized->resize(length);
      norm_to_orig->resize(length);
    }
  }
  if (treat_whitespace_as_suffix_ && add_dummy_prefix_) add_ws();
  norm_to_orig->push_back(consumed);
}

std::string Normalizer::normalize(std::string_view input) const {
  std::string out;
  std::vector<size_t> map;
  normalize(input, &out, &map);
  return out;
}

}  // namespace textune::tokenizers::spm
