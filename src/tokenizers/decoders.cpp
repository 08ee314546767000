// Decoders (tokenizers/src/decoders): WordPiece, ByteLevel, Metaspace, BPEDecoder, Replace, Fuse,
// Strip, ByteFallback, Sequence.
#include <memory>
#include <string>
#include <vector>

#include "textune/core/error.h"
#include "tokenizers/components.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/unicode.h"

namespace textune::tokenizers {

std::string Decoder::decode(std::vector<std::string> tokens) const {
  std::string out;
  for (const std::string& t : decode_chain(std::move(tokens))) out += t;
  return out;
}

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  size_t pos = 0;
  std::string out;
  bool any = false;
  while (true) {
    size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    any = true;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
  }
  if (!any) return;
  out.append(s, pos, std::string::npos);
  s.swap(out);
}

/// tokenizers/src/decoders/wordpiece.rs (cleanup as `cleanup()` there, applied to each token).
class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (!prefix_.empty() && t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else if (prefix_.empty()) {
          // "".starts_with("") holds: replacen("", "", 1) leaves the token as it is
        } else {
          t.insert(t.begin(), ' ');
        }
      }
      if (cleanup_) {
        replace_all(t, " .", ".");
        replace_all(t, " ?", "?");
        replace_all(t, " !", "!");
        replace_all(t, " ,", ",");
        replace_all(t, " ' ", "'");
        replace_all(t, " n't", "n't");
        replace_all(t, " 'm", "'m");
        replace_all(t, " do not", " don't");
        replace_all(t, " 's", "'s");
        replace_all(t, " 've", "'ve");
        replace_all(t, " 're", "'re");
      }
    }
    return tokens;
  }

 private:
  std::string prefix_;
  bool cleanup_;
};

/// tokenizers/src/decoders/byte_level.rs: characters back to bytes, then lossy UTF-8.
class ByteLevelDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t start = bytes.size();
      bool ok = true;
      size_t i = 0;
      while (i < t.size()) {
        int b = byte_level_byte(unicode::next_char(t, i));
        if (b < 0) {
          ok = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
      }
      if (!ok) {
        bytes.resize(start);
        bytes += t;
      }
    }
    return {unicode::utf8_lossy(bytes)};
  }
};

enum class PrependScheme { kAlways, kFirst, kNever };

class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(char32_t rep, PrependScheme scheme) : rep_(rep), scheme_(scheme) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t k = 0; k < tokens.size(); ++k) {
      const std::string& t = tokens[k];
      std::string out;
      size_t i = 0;
      while (i < t.size()) {
        size_t b = i;
        char32_t c = unicode::next_char(t, i);
        if (c == rep_) {
          if (!(k == 0 && scheme_ != PrependScheme::kNever)) out.push_back(' ');
        } else {
          out.append(t, b, i - b);
        }
      }
      tokens[k] = std::move(out);
    }
    return tokens;
  }

 private:
  char32_t rep_;
  PrependScheme scheme_;
};

class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
    return tokens;
  }

 private:
  std::string suffix_;
};

class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::unique_ptr<Pattern> p, std::string content)
      : pattern_(std::move(p)), content_(std::move(content)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<PatternMatch> m;
    for (std::string& t : tokens) {
      m.clear();
      pattern_->find_matches(t, m);
      std::string out;
      for (const auto& p : m) {
        if (p.is_match) {
          out += content_;
        } else {
          out.append(t, p.start, p.end - p.start);
        }
      }
      t = std::move(out);
    }
    return tokens;
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  std::string content_;
};

class FuseDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::string out;
    for (const auto& t : tokens) out += t;
    return {out};
  }
};

class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) {
      std::vector<std::pair<size_t, char32_t>> cs;  // (byte start, char)
      size_t i = 0;
      while (i < t.size()) {
        size_t b = i;
        cs.emplace_back(b, unicode::next_char(t, i));
      }
      size_t start_cut = 0;
      for (size_t k = 0; k < start_ && k < cs.size(); ++k) {
        if (cs[k].second != content_) break;
        start_cut = k + 1;
      }
      size_t stop_cut = cs.size();
      for (size_t k = 0; k < stop_ && k < cs.size(); ++k) {
        size_t index = cs.size() - k - 1;
        if (cs[index].second != content_) break;
        stop_cut = index;
      }
      if (stop_cut < start_cut) stop_cut = start_cut;
      size_t b0 = start_cut < cs.size() ? cs[start_cut].first : t.size();
      size_t b1 = stop_cut < cs.size() ? cs[stop_cut].first : t.size();
      t = t.substr(b0, b1 - b0);
    }
    return tokens;
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

/// tokenizers/src/decoders/byte_fallback.rs: runs of <0xXX> tokens become their UTF-8 text, or
/// one U+FFFD per byte when the run is not valid UTF-8.
class ByteFallbackDecoder : public Decoder {
 public:
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    std::string bytes;
    size_t n_bytes = 0;
    auto flush = [&] {
      if (n_bytes == 0) return;
      if (unicode::find_invalid_utf8(bytes) == std::string::npos) {
        out.push_back(bytes);
      } else {
        for (size_t k = 0; k < n_bytes; ++k) out.emplace_back("\xEF\xBF\xBD");
      }
      bytes.clear();
      n_bytes = 0;
    };
    for (std::string& t : tokens) {
      int value = -1;
      if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          return -1;
        };
        int hi = hex(t[3]), lo = hex(t[4]);
        if (hi >= 0 && lo >= 0) value = hi * 16 + lo;
      }
      if (value >= 0) {
        bytes.push_back(static_cast<char>(value));
        ++n_bytes;
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> d) : decoders_(std::move(d)) {}
  std::vector<std::string> decode_chain(std::vector<std::string> tokens) const override {
    for (const auto& d : decoders_) tokens = d->decode_chain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> decoders_;
};

PrependScheme decoder_prepend_scheme(const TokenizerJson& j, const std::string& w) {
  if (j.contains("prepend_scheme") && !j.at("prepend_scheme").is_null()) {
    std::string s = json_string(j, "prepend_scheme", w);
    if (s == "always") return PrependScheme::kAlways;
    if (s == "first") return PrependScheme::kFirst;
    if (s == "never") return PrependScheme::kNever;
    throw DataError(w + ": unknown prepend_scheme \"" + s + "\" (expected always, first or never)");
  }
  return json_bool_or(j, "add_prefix_space", true, w) ? PrependScheme::kAlways : PrependScheme::kNever;
}

}  // namespace

std::unique_ptr<Decoder> make_decoder(const TokenizerJson& j, const LoadContext& ctx) {
  const std::string& w = ctx.where;
  const std::string type = json_string(j, "type", w);
  if (type == "WordPiece")
    return std::make_unique<WordPieceDecoder>(json_string_or(j, "prefix", "##", w),
                                              json_bool_or(j, "cleanup", true, w));
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    char32_t rep = j.contains("replacement") ? json_char(j, "replacement", w) : U'\u2581';
    return std::make_unique<MetaspaceDecoder>(rep, decoder_prepend_scheme(j, w));
  }
  if (type == "BPEDecoder") return std::make_unique<BpeDecoder>(json_string_or(j, "suffix", "</w>", w));
  if (type == "Replace")
    return std::make_unique<ReplaceDecoder>(make_pattern(json_field(j, "pattern", w), w + " (Replace)"),
                                            json_string(j, "content", w));
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip")
    return std::make_unique<StripDecoder>(json_char(j, "content", w),
                                          static_cast<size_t>(json_uint_or(j, "start", 0, w, 1ULL << 40)),
                                          static_cast<size_t>(json_uint_or(j, "stop", 0, w, 1ULL << 40)));
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Sequence") {
    const TokenizerJson& list = json_field(j, "decoders", w);
    if (!list.is_array()) throw DataError(w + ": Sequence \"decoders\" must be a list");
    std::vector<std::unique_ptr<Decoder>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_decoder(list[i], LoadContext{w + "[" + std::to_string(i) + "]"}));
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  throw DataError(w + ": unknown decoder type \"" + type + "\"");
}

}  // namespace textune::tokenizers
