// Pre-tokenizers (tokenizers/src/pre_tokenizers): BertPreTokenizer, ByteLevel, Whitespace,
// WhitespaceSplit, Metaspace, Split, Punctuation, Digits, CharDelimiterSplit, Sequence.
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "textune/core/error.h"
#include "tokenizers/components.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/unicode.h"

namespace textune::tokenizers {

namespace {

std::array<char32_t, 256> build_byte_chars() {
  std::array<char32_t, 256> t{};
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    t[b] = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
  }
  return t;
}

const std::array<char32_t, 256>& byte_chars_table() {
  static const std::array<char32_t, 256> t = build_byte_chars();
  return t;
}

bool is_bert_punctuation(char32_t c) {
  if (c < 0x80) return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
  return unicode::is_punctuation(c);
}

/// tokenizers/src/pre_tokenizers/bert.rs: split on whitespace (removed), then on punctuation
/// (isolated). Done in one pass: the pieces are the runs of other characters and each
/// punctuation character alone, which is what the two splits give.
class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split_normalized([](size_t, NormalizedString&& s) {
      std::vector<NormalizedString> out;
      const std::string& t = s.get();
      size_t run = std::string::npos;  // start of the current run of word characters
      size_t i = 0;
      while (i < t.size()) {
        const size_t b = i;
        const unsigned char lead = static_cast<unsigned char>(t[i]);
        char32_t c;
        if (lead < 0x80) {
          c = lead;
          ++i;
        } else {
          c = unicode::next_char(t, i);
        }
        const bool ws = lead < 0x80 ? (c == ' ' || (c >= 0x09 && c <= 0x0D)) : unicode::is_whitespace(c);
        const bool punct = !ws && is_bert_punctuation(c);
        if (ws || punct) {
          if (run != std::string::npos) {
            out.push_back(s.slice(run, b));
            run = std::string::npos;
          }
          if (punct) out.push_back(s.slice(b, i));
        } else if (run == std::string::npos) {
          run = b;
        }
      }
      if (run != std::string::npos) out.push_back(s.slice(run, t.size()));
      return out;
    });
  }
};

class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pre) const override {
    static const CharPredicatePattern ws([](char32_t c) { return unicode::is_whitespace(c); });
    pre.split_normalized([](size_t, NormalizedString&& s) { return s.split(ws, SplitDelimiterBehavior::kRemoved); });
  }
};

/// Runs of `\w+` and of `[^\w\s]+` (tokenizers' Whitespace pre-tokenizer regex); whitespace is
/// dropped.
class WordRunsPattern : public Pattern {
 public:
  void find_matches(std::string_view text, std::vector<PatternMatch>& out) const override {
    if (text.empty()) {
      out.push_back({0, 0, false});
      return;
    }
    // The regex's matches become the kept pieces (the pattern is inverted): is_match=false marks
    // the runs, true the whitespace between them (removed).
    size_t i = 0;
    size_t prev = 0;
    while (i < text.size()) {
      size_t b = i;
      char32_t c = unicode::next_char(text, i);
      int kind = unicode::is_word_char(c) ? 1 : unicode::is_whitespace(c) ? 0 : 2;
      if (kind == 0) continue;
      size_t e = i;
      while (e < text.size()) {
        size_t j = e;
        char32_t d = unicode::next_char(text, j);
        int k2 = unicode::is_word_char(d) ? 1 : unicode::is_whitespace(d) ? 0 : 2;
        if (k2 != kind) break;
        e = j;
      }
      if (prev != b) out.push_back({prev, b, true});
      out.push_back({b, e, false});
      prev = e;
      i = e;
    }
    if (prev != text.size()) out.push_back({prev, text.size(), true});
  }
};

class WhitespacePreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(PreTokenizedString& pre) const override {
    static const WordRunsPattern runs;
    pre.split_normalized([](size_t, NormalizedString&& s) { return s.split(runs, SplitDelimiterBehavior::kRemoved); });
  }
};

/// Inverts a pattern's matches (tokenizers' Invert).
class InvertPattern : public Pattern {
 public:
  explicit InvertPattern(std::unique_ptr<Pattern> p) : inner_(std::move(p)) {}
  void find_matches(std::string_view text, std::vector<PatternMatch>& out) const override {
    size_t first = out.size();
    inner_->find_matches(text, out);
    for (size_t i = first; i < out.size(); ++i) out[i].is_match = !out[i].is_match;
  }

 private:
  std::unique_ptr<Pattern> inner_;
};

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(std::unique_ptr<Pattern> p, SplitDelimiterBehavior b) : pattern_(std::move(p)), behavior_(b) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split_normalized([this](size_t, NormalizedString&& s) { return s.split(*pattern_, behavior_); });
  }

 private:
  std::unique_ptr<Pattern> pattern_;
  SplitDelimiterBehavior behavior_;
};

class PunctuationPreTokenizer : public PreTokenizer {
 public:
  explicit PunctuationPreTokenizer(SplitDelimiterBehavior b) : behavior_(b) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    static const CharPredicatePattern punct(is_bert_punctuation);
    pre.split_normalized([this](size_t, NormalizedString&& s) { return s.split(punct, behavior_); });
  }

 private:
  SplitDelimiterBehavior behavior_;
};

class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual) : individual_(individual) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    static const CharPredicatePattern digits([](char32_t c) { return unicode::is_number(c); });
    pre.split_normalized([this](size_t, NormalizedString&& s) {
      return s.split(digits, individual_ ? SplitDelimiterBehavior::kIsolated : SplitDelimiterBehavior::kContiguous);
    });
  }

 private:
  bool individual_;
};

class CharDelimiterPreTokenizer : public PreTokenizer {
 public:
  explicit CharDelimiterPreTokenizer(char32_t d) : pattern_([d](char32_t c) { return c == d; }) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split_normalized(
        [this](size_t, NormalizedString&& s) { return s.split(pattern_, SplitDelimiterBehavior::kRemoved); });
  }

 private:
  CharPredicatePattern pattern_;
};

enum class PrependScheme { kAlways, kFirst, kNever };

/// tokenizers/src/pre_tokenizers/metaspace.rs
class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(char32_t replacement, PrependScheme scheme, bool split)
      : replacement_(replacement),
        scheme_(scheme),
        split_(split),
        space_(" "),
        split_pattern_([replacement](char32_t c) { return c == replacement; }) {
    unicode::append_utf8(rep_, replacement);
  }
  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split_normalized([this](size_t, NormalizedString&& s) {
      s.replace(space_, rep_);
      bool starts = s.get().compare(0, rep_.size(), rep_) == 0;
      if (scheme_ == PrependScheme::kAlways && !starts) s.prepend(rep_);
      if (scheme_ == PrependScheme::kFirst && !starts && s.offsets_original().first == 0) s.prepend(rep_);
      if (split_) return s.split(split_pattern_, SplitDelimiterBehavior::kMergedWithNext);
      std::vector<NormalizedString> one;
      one.push_back(std::move(s));
      return one;
    });
  }

 private:
  char32_t replacement_;
  std::string rep_;
  PrependScheme scheme_;
  bool split_;
  LiteralPattern space_;
  CharPredicatePattern split_pattern_;
};

/// GPT-2's pre-tokenization regex.
const char* kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

/// tokenizers/src/pre_tokenizers/byte_level.rs
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex), regex_(kGpt2Regex, "ByteLevel") {}

  void pre_tokenize(PreTokenizedString& pre) const override {
    pre.split_normalized([this](size_t, NormalizedString&& s) {
      if (add_prefix_space_ && (s.get().empty() || s.get()[0] != ' ')) s.prepend(" ");
      if (use_regex_) return s.split(regex_, SplitDelimiterBehavior::kIsolated);
      std::vector<NormalizedString> one;
      one.push_back(std::move(s));
      return one;
    });
    const auto& table = byte_chars_table();
    pre.normalize([&table](NormalizedString& s) {
      const std::string& t = s.get();
      std::vector<CharChange> dest;
      dest.reserve(t.size());
      size_t i = 0;
      while (i < t.size()) {
        size_t n = unicode::utf8_len(static_cast<unsigned char>(t[i]));
        for (size_t k = 0; k < n; ++k) dest.push_back({table[static_cast<unsigned char>(t[i + k])], k > 0 ? 1 : 0});
        i += n;
      }
      s.transform(dest, 0);
    });
  }

 private:
  bool add_prefix_space_;
  bool use_regex_;
  RegexPattern regex_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> p) : parts_(std::move(p)) {}
  void pre_tokenize(PreTokenizedString& pre) const override {
    for (const auto& p : parts_) p->pre_tokenize(pre);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

PrependScheme read_prepend_scheme(const TokenizerJson& j, const std::string& w) {
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

const char32_t* byte_level_chars() {
  return byte_chars_table().data();
}

int byte_level_byte(char32_t c) {
  static const std::array<int, 324> rev = [] {
    std::array<int, 324> r{};
    r.fill(-1);
    const auto& t = byte_chars_table();
    for (int b = 0; b < 256; ++b) r[t[b]] = b;
    return r;
  }();
  return c < rev.size() ? rev[c] : -1;
}

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const TokenizerJson& j, const LoadContext& ctx) {
  const std::string& w = ctx.where;
  const std::string type = json_string(j, "type", w);
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPreTokenizer>();
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(json_bool_or(j, "add_prefix_space", true, w),
                                                   json_bool_or(j, "use_regex", true, w));
  if (type == "Metaspace") {
    char32_t rep = j.contains("replacement") ? json_char(j, "replacement", w) : U'\u2581';
    return std::make_unique<MetaspacePreTokenizer>(rep, read_prepend_scheme(j, w), json_bool_or(j, "split", true, w));
  }
  if (type == "Split") {
    std::unique_ptr<Pattern> p = make_pattern(json_field(j, "pattern", w), w + " (Split)");
    if (json_bool_or(j, "invert", false, w)) p = std::make_unique<InvertPattern>(std::move(p));
    return std::make_unique<SplitPreTokenizer>(std::move(p), parse_split_behavior(json_string(j, "behavior", w), w));
  }
  if (type == "Punctuation")
    return std::make_unique<PunctuationPreTokenizer>(
        parse_split_behavior(json_string_or(j, "behavior", "Isolated", w), w));
  if (type == "Digits") return std::make_unique<DigitsPreTokenizer>(json_bool_or(j, "individual_digits", false, w));
  if (type == "CharDelimiterSplit") return std::make_unique<CharDelimiterPreTokenizer>(json_char(j, "delimiter", w));
  if (type == "Sequence") {
    const TokenizerJson& list = json_field(j, "pretokenizers", w);
    if (!list.is_array()) throw DataError(w + ": Sequence \"pretokenizers\" must be a list");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_pre_tokenizer(list[i], LoadContext{w + "[" + std::to_string(i) + "]"}));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  throw DataError(w + ": unknown pre_tokenizer type \"" + type + "\"");
}

}  // namespace textune::tokenizers
