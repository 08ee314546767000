// Normalizers (tokenizers/src/normalizers): BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase,
// StripAccents, Replace, Prepend, Strip, Nmt, Sequence. Precompiled lives in precompiled*.cpp.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "textune/core/error.h"
#include "tokenizers/components.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/unicode.h"

namespace textune::tokenizers {

char32_t json_char(const TokenizerJson& j, const char* key, const std::string& where) {
  std::string s = json_string(j, key, where);
  size_t i = 0;
  if (s.empty() || unicode::find_invalid_utf8(s) != std::string::npos)
    throw DataError(where + ": field \"" + key + "\" must be one character");
  char32_t c = unicode::next_char(s, i);
  if (i != s.size()) throw DataError(where + ": field \"" + key + "\" must be one character, got \"" + s + "\"");
  return c;
}

namespace {

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// BERT's whitespace: \t \n \r and Rust's char::is_whitespace.
bool bert_is_whitespace(char32_t c) {
  return c == '\t' || c == '\n' || c == '\r' || unicode::is_whitespace(c);
}
// BERT's control: categories C* except \t \n \r.
bool bert_is_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return unicode::is_other(c);
}

/// tokenizers/src/normalizers/bert.rs
class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase)
      : clean_text_(clean_text),
        handle_chinese_(handle_chinese_chars),
        strip_accents_(strip_accents),
        lowercase_(lowercase) {}

  void normalize(NormalizedString& s) const override {
    if (normalize_ascii(s)) return;
    if (clean_text_) {
      s.filter([](char32_t c) { return !(c == 0 || c == 0xFFFD || bert_is_control(c)); });
      s.map([](char32_t c) { return bert_is_whitespace(c) ? U' ' : c; });
    }
    if (handle_chinese_) {
      bool any = false;
      {
        const std::string& t = s.get();
        size_t i = 0;
        while (i < t.size()) {
          if (static_cast<unsigned char>(t[i]) < 0xE3) {
            i += unicode::utf8_len(static_cast<unsigned char>(t[i]));
            continue;
          }
          if (is_chinese_char(unicode::next_char(t, i))) {
            any = true;
            break;
          }
        }
      }
      if (any) {
        std::vector<CharChange> dest;
        dest.reserve(s.len() + 16);
        for (char32_t c : s.chars()) {
          if (is_chinese_char(c)) {
            dest.push_back({U' ', 0});
            dest.push_back({c, 1});
            dest.push_back({U' ', 1});
          } else {
            dest.push_back({c, 0});
          }
        }
        s.transform(dest, 0);
      }
    }
    if (strip_accents_) {
      s.nfd();
      s.filter([](char32_t c) { return !unicode::is_mark_nonspacing(c); });
    }
    if (lowercase_) s.lowercase();
  }

 private:
  /// ASCII text in one pass: control characters dropped, \t \n \r mapped to ' ', lowercased
  /// (NFD and accent stripping leave ASCII alone; no ASCII character is Chinese). Gives what the
  /// general path gives: kept characters keep their own alignment.
  bool normalize_ascii(NormalizedString& s) const {
    const std::string& t = s.get();
    for (char ch : t)
      if (static_cast<unsigned char>(ch) >= 0x80) return false;
    std::string out;
    std::vector<Alignment> align;
    out.reserve(t.size());
    align.reserve(t.size());
    bool changed = false;
    for (size_t i = 0; i < t.size(); ++i) {
      char c = t[i];
      if (clean_text_) {
        if (c == '\t' || c == '\n' || c == '\r') {
          c = ' ';
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          changed = true;
          continue;
        }
      }
      if (lowercase_ && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      changed |= c != t[i];
      out.push_back(c);
      align.push_back(s.alignments()[i]);
    }
    if (changed) s.assign(std::move(out), std::move(align));
    return true;
  }

  bool clean_text_, handle_chinese_, strip_accents_, lowercase_;
};

class UnicodeNormalizer : public Normalizer {
 public:
  enum Form { kNFC, kNFD, kNFKC, kNFKD };
  explicit UnicodeNormalizer(Form f) : form_(f) {}
  void normalize(NormalizedString& s) const override {
    switch (form_) {
      case kNFC:
        s.nfc();
        break;
      case kNFD:
        s.nfd();
        break;
      case kNFKC:
        s.nfkc();
        break;
      case kNFKD:
        s.nfkd();
        break;
    }
  }

 private:
  Form form_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override { s.lowercase(); }
};

/// tokenizers/src/normalizers/strip.rs StripAccents: removes combining marks, every category M*
/// (unicode-normalization's is_combining_mark; BertNormalizer removes Mn only), without decomposing.
class StripAccentsNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    s.filter([](char32_t c) { return !unicode::is_mark(c); });
  }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedString& s) const override { s.strip(left_, right_); }

 private:
  bool left_, right_;
};

class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string p) : prepend_(std::move(p)) {}
  void normalize(NormalizedString& s) const override {
    if (!s.empty()) s.prepend(prepend_);
  }

 private:
  std::string prepend_;
};

class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::unique_ptr<Pattern> p, std::string content)
      : pattern_(std::move(p)), content_(std::move(content)) {}
  void normalize(NormalizedString& s) const override { s.replace(*pattern_, content_); }

 private:
  std::unique_ptr<Pattern> pattern_;
  std::string content_;
};

/// tokenizers/src/normalizers/unicode.rs Nmt: drops some control characters and maps some
/// spaces and format characters to ' '.
class NmtNormalizer : public Normalizer {
 public:
  void normalize(NormalizedString& s) const override {
    s.filter([](char32_t c) {
      return !((c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || c == 0x8F ||
               c == 0x9F);
    });
    s.map([](char32_t c) -> char32_t {
      switch (c) {
        case 0x09:
        case 0x0A:
        case 0x0C:
        case 0x0D:
        case 0x1680:
        case 0x2028:
        case 0x2029:
        case 0x2581:
        case 0xFEFF:
        case 0xFFFD:
          return U' ';
        default:
          return (c >= 0x200B && c <= 0x200F) ? U' ' : c;
      }
    });
  }
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> n) : normalizers_(std::move(n)) {}
  void normalize(NormalizedString& s) const override {
    for (const auto& n : normalizers_) n->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> normalizers_;
};

}  // namespace

/// {"String": "..."} or {"Regex": "..."}, as Replace and Split write their pattern.
std::unique_ptr<Pattern> make_pattern(const TokenizerJson& j, const std::string& where) {
  if (j.is_object() && j.contains("String")) return std::make_unique<LiteralPattern>(json_string(j, "String", where));
  if (j.is_object() && j.contains("Regex"))
    return std::make_unique<RegexPattern>(json_string(j, "Regex", where), where);
  throw DataError(where + ": pattern must be {\"String\": ...} or {\"Regex\": ...}, got " + j.dump());
}

std::unique_ptr<Normalizer> make_normalizer(const TokenizerJson& j, const LoadContext& ctx) {
  const std::string& w = ctx.where;
  const std::string type = json_string(j, "type", w);
  if (type == "BertNormalizer") {
    bool lowercase = json_bool_or(j, "lowercase", true, w);
    bool strip = json_bool_or(j, "strip_accents", lowercase, w);
    return std::make_unique<BertNormalizer>(json_bool_or(j, "clean_text", true, w),
                                            json_bool_or(j, "handle_chinese_chars", true, w), strip, lowercase);
  }
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::kNFC);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::kNFD);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::kNFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(UnicodeNormalizer::kNFKD);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "Strip")
    return std::make_unique<StripNormalizer>(json_bool_or(j, "strip_left", true, w),
                                             json_bool_or(j, "strip_right", true, w));
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(json_string(j, "prepend", w));
  if (type == "Replace")
    return std::make_unique<ReplaceNormalizer>(make_pattern(json_field(j, "pattern", w), w + " (Replace)"),
                                               json_string(j, "content", w));
  if (type == "Nmt") return std::make_unique<NmtNormalizer>();
  if (type == "Precompiled") return make_precompiled_normalizer(j, ctx);
  if (type == "Sequence") {
    const TokenizerJson& list = json_field(j, "normalizers", w);
    if (!list.is_array()) throw DataError(w + ": Sequence \"normalizers\" must be a list");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_normalizer(list[i], LoadContext{w + "[" + std::to_string(i) + "]"}));
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  throw DataError(w + ": unknown normalizer type \"" + type + "\"");
}

}  // namespace textune::tokenizers
