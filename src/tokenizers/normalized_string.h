// NormalizedString: a piece of text being normalized, with the alignment between every byte of
// the normalized text and the span of the original text it came from, so that token offsets
// survive every normalization and split. Reproduces `tokenizers`' NormalizedString
// (tokenizers/src/tokenizer/normalizer.rs) and its Pattern (tokenizers/src/tokenizer/pattern.rs).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace textune::tokenizers {

/// A [begin, end) span in bytes (of the original or normalized text, as the context says).
using Offsets = std::pair<size_t, size_t>;

/// Span of the original text (bytes, relative to the NormalizedString's own original) that one
/// byte of the normalized text comes from.
struct Alignment {
  uint32_t start = 0;
  uint32_t end = 0;
  bool operator==(const Alignment& o) const { return start == o.start && end == o.end; }
};

/// One character of a transformation (see NormalizedString::transform): `change` is 0 when the
/// character replaces the next character of the current text, 1 when it is inserted, and -N
/// when it replaces the next character and the N characters after it are removed.
struct CharChange {
  char32_t c;
  int change;
};

/// One piece of a pattern search: [start, end) in bytes and whether it is a match. The pieces of
/// a search cover the searched text in order.
struct PatternMatch {
  size_t start;
  size_t end;
  bool is_match;
};

/// What a split does with the matched delimiter (`tokenizers`' SplitDelimiterBehavior). On
/// "the-final--countdown" split on '-': kRemoved gives the, final, countdown; kIsolated the, -,
/// final, -, -, countdown; kMergedWithPrevious the-, final-, -, countdown; kMergedWithNext the,
/// -final, -, -countdown; kContiguous the, -, final, --, countdown.
enum class SplitDelimiterBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

/// Parses "Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous".
/// @throws textune::DataError naming `where` for anything else.
SplitDelimiterBehavior parse_split_behavior(const std::string& name, const std::string& where);

/// What to split on (`tokenizers`' Pattern): finds the matches in a text.
class Pattern {
 public:
  virtual ~Pattern() = default;
  /// Appends to `out` the pieces of `text`, matches and the gaps between them, covering it all;
  /// an empty text gives one piece (0, 0, false).
  virtual void find_matches(std::string_view text, std::vector<PatternMatch>& out) const = 0;
};

/// Each character for which `pred` holds is one match (runs are not merged).
class CharPredicatePattern : public Pattern {
 public:
  explicit CharPredicatePattern(std::function<bool(char32_t)> pred) : pred_(std::move(pred)) {}
  void find_matches(std::string_view text, std::vector<PatternMatch>& out) const override;

 private:
  std::function<bool(char32_t)> pred_;
};

/// Every non-overlapping occurrence of a literal string (an empty literal matches nothing).
class LiteralPattern : public Pattern {
 public:
  explicit LiteralPattern(std::string literal) : literal_(std::move(literal)) {}
  void find_matches(std::string_view text, std::vector<PatternMatch>& out) const override;

 private:
  std::string literal_;
};

/// Every match of a PCRE2 regular expression, compiled in UTF and Unicode-property mode (with
/// JIT). `\s` and `\S` are rewritten to the Unicode White_Space property, as Oniguruma (which
/// `tokenizers` uses) reads them.
class RegexPattern : public Pattern {
 public:
  /// @throws textune::DataError naming `where` when the expression does not compile.
  RegexPattern(const std::string& regex, const std::string& where);
  ~RegexPattern() override;
  RegexPattern(const RegexPattern&) = delete;
  RegexPattern& operator=(const RegexPattern&) = delete;
  void find_matches(std::string_view text, std::vector<PatternMatch>& out) const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Text being normalized, aligned byte by byte with the original text it comes from.
///
/// A NormalizedString may be a slice of a larger text: `offsets_original()` then gives its span
/// in that text. Everything is indexed in bytes of valid UTF-8.
class NormalizedString {
 public:
  NormalizedString() = default;
  /// A string not yet normalized: normalized == original, each byte aligned to its character.
  explicit NormalizedString(std::string_view original);

  /// The normalized text.
  const std::string& get() const { return normalized_; }
  /// Length of the normalized text in bytes.
  size_t len() const { return normalized_.size(); }
  bool empty() const { return normalized_.empty(); }
  /// Length of this piece of the original text in bytes.
  size_t len_original() const { return original_len_; }
  /// [begin, end) of this piece in the whole original text, in bytes.
  Offsets offsets_original() const { return {original_shift_, original_shift_ + original_len_}; }
  /// Per normalized byte, its span in this piece's original text.
  const std::vector<Alignment>& alignments() const { return alignments_; }

  /// The span of the original text (relative to this piece) that normalized bytes
  /// [start, end) come from; an empty range comes back unchanged; none when out of range.
  std::optional<Offsets> normalized_to_original(size_t start, size_t end) const;

  /// The piece of this string covering normalized bytes [start, end) (char boundaries).
  NormalizedString slice(size_t start, size_t end) const;

  /// Replaces normalized bytes [start, end) by the characters of `dest` (see CharChange),
  /// `initial_offset` characters of the range being removed before the first of them.
  void transform_range(size_t start, size_t end, const std::vector<CharChange>& dest, size_t initial_offset);
  /// transform_range over the whole normalized text.
  void transform(const std::vector<CharChange>& dest, size_t initial_offset) {
    transform_range(0, normalized_.size(), dest, initial_offset);
  }

  void nfd();
  void nfkd();
  void nfc();
  void nfkc();
  /// Keeps the characters for which `keep` holds.
  void filter(const std::function<bool(char32_t)>& keep);
  /// Replaces each character by `fn(c)`.
  void map(const std::function<char32_t(char32_t)>& fn);
  /// Rust `char::to_lowercase` on every character.
  void lowercase();
  /// Puts `s` before the text (nothing when the text is empty).
  void prepend(std::string_view s);
  /// Puts `s` after the text (nothing when the text is empty).
  void append(std::string_view s);
  /// Replaces every match of `pattern` by `content`.
  void replace(const Pattern& pattern, std::string_view content);
  /// Removes leading and/or trailing whitespace (Rust `char::is_whitespace`).
  void strip(bool left, bool right);

  /// Splits on `pattern`; pieces empty after the split are kept here and dropped by callers.
  std::vector<NormalizedString> split(const Pattern& pattern, SplitDelimiterBehavior behavior) const;

  /// Replaces the normalized text and its alignments at once, for fused transformations that
  /// compute exactly what a sequence of transform() calls would (`alignments` has one entry per
  /// byte of `normalized`).
  void assign(std::string normalized, std::vector<Alignment> alignments) {
    normalized_ = std::move(normalized);
    alignments_ = std::move(alignments);
  }

  /// Normalized characters (decoded), for transformations.
  std::vector<char32_t> chars() const;

 private:
  void normalize_unicode(bool compat, bool compose);

  std::string normalized_;
  std::vector<Alignment> alignments_;
  size_t original_len_ = 0;
  size_t original_shift_ = 0;
};

}  // namespace textune::tokenizers
