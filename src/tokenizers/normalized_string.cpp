#include "tokenizers/normalized_string.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>

#include "textune/core/error.h"
#include "tokenizers/unicode.h"

namespace textune::tokenizers {

using unicode::append_utf8;
using unicode::next_char;

SplitDelimiterBehavior parse_split_behavior(const std::string& name, const std::string& where) {
  if (name == "Removed") return SplitDelimiterBehavior::kRemoved;
  if (name == "Isolated") return SplitDelimiterBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitDelimiterBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitDelimiterBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitDelimiterBehavior::kContiguous;
  throw DataError(where + ": unknown split behavior \"" + name +
                  "\" (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

// ---------------------------------------------------------------- patterns

void CharPredicatePattern::find_matches(std::string_view text, std::vector<PatternMatch>& out) const {
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  size_t last = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t b = i;
    char32_t c = next_char(text, i);
    if (pred_(c)) {
      if (last < b) out.push_back({last, b, false});
      out.push_back({b, i, true});
      last = i;
    }
  }
  if (last < text.size()) out.push_back({last, text.size(), false});
}

void LiteralPattern::find_matches(std::string_view text, std::vector<PatternMatch>& out) const {
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  if (literal_.empty()) {
    out.push_back({0, text.size(), false});
    return;
  }
  size_t prev = 0;
  size_t pos = 0;
  while ((pos = text.find(literal_, pos)) != std::string_view::npos) {
    if (prev != pos) out.push_back({prev, pos, false});
    out.push_back({pos, pos + literal_.size(), true});
    pos += literal_.size();
    prev = pos;
  }
  if (prev != text.size()) out.push_back({prev, text.size(), false});
}

struct RegexPattern::Impl {
  pcre2_code* code = nullptr;
};

namespace {

// Oniguruma reads \s as the Unicode White_Space property; PCRE2 reads it otherwise, so spell it out.
std::string rewrite_regex(const std::string& re) {
  std::string out;
  out.reserve(re.size() + 16);
  for (size_t i = 0; i < re.size(); ++i) {
    if (re[i] == '\\' && i + 1 < re.size()) {
      char n = re[i + 1];
      if (n == 's') {
        out += "\\p{White_Space}";
        ++i;
        continue;
      }
      if (n == 'S') {
        out += "\\P{White_Space}";
        ++i;
        continue;
      }
      out += re[i];
      out += n;
      ++i;
      continue;
    }
    out += re[i];
  }
  return out;
}

struct ThreadMatchState {
  pcre2_match_data* data = nullptr;
  pcre2_match_context* context = nullptr;
  pcre2_jit_stack* stack = nullptr;
  ThreadMatchState() {
    data = pcre2_match_data_create(32, nullptr);
    context = pcre2_match_context_create(nullptr);
    stack = pcre2_jit_stack_create(32 * 1024, 4 * 1024 * 1024, nullptr);
    pcre2_jit_stack_assign(context, nullptr, stack);
  }
  ~ThreadMatchState() {
    pcre2_match_data_free(data);
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
  }
};

ThreadMatchState& thread_match_state() {
  thread_local ThreadMatchState state;
  return state;
}

}  // namespace

RegexPattern::RegexPattern(const std::string& regex, const std::string& where) : impl_(std::make_unique<Impl>()) {
  const std::string re = rewrite_regex(regex);
  int err = 0;
  PCRE2_SIZE err_off = 0;
  impl_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re.data()), re.size(), PCRE2_UTF | PCRE2_UCP, &err, &err_off, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR buf[256];
    pcre2_get_error_message(err, buf, sizeof(buf));
    throw DataError(where + ": invalid regex \"" + regex + "\" at offset " + std::to_string(err_off) + ": " +
                    reinterpret_cast<const char*>(buf));
  }
  pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE);
}

RegexPattern::~RegexPattern() {
  if (impl_ && impl_->code) pcre2_code_free(impl_->code);
}

void RegexPattern::find_matches(std::string_view text, std::vector<PatternMatch>& out) const {
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  ThreadMatchState& st = thread_match_state();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t prev = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    int rc = pcre2_match(impl_->code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, st.data, st.context);
    if (rc < 0) break;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
    size_t s = ov[0], e = ov[1];
    if (prev != s) out.push_back({prev, s, false});
    out.push_back({s, e, true});
    prev = e;
    if (e == s) {
      // Empty match: continue one character further (as Oniguruma's find_iter does).
      if (e >= text.size()) break;
      pos = e + unicode::utf8_len(static_cast<unsigned char>(text[e]));
    } else {
      pos = e;
    }
  }
  if (prev != text.size()) out.push_back({prev, text.size(), false});
}

// ---------------------------------------------------------------- NormalizedString

NormalizedString::NormalizedString(std::string_view original) : normalized_(original), original_len_(original.size()) {
  alignments_.resize(original.size());
  size_t i = 0;
  while (i < original.size()) {
    size_t n = unicode::utf8_len(static_cast<unsigned char>(original[i]));
    Alignment a{static_cast<uint32_t>(i), static_cast<uint32_t>(i + n)};
    for (size_t k = 0; k < n && i + k < original.size(); ++k) alignments_[i + k] = a;
    i += n;
  }
}

std::optional<Offsets> NormalizedString::normalized_to_original(size_t start, size_t end) const {
  if (start == end) return Offsets{start, end};
  if (start > end) return std::nullopt;
  if (normalized_.empty() && start == 0 && end == 0) return Offsets{0, original_len_};
  if (end > alignments_.size()) return std::nullopt;
  return Offsets{alignments_[start].start, alignments_[end - 1].end};
}

NormalizedString NormalizedString::slice(size_t start, size_t end) const {
  NormalizedString out;
  auto orig = normalized_to_original(start, end);
  Offsets o = orig ? *orig : Offsets{0, 0};
  if (o.second < o.first || o.second > original_len_) o = {0, 0};
  out.normalized_.assign(normalized_, start, end - start);
  out.alignments_.resize(end - start);
  const uint32_t shift = static_cast<uint32_t>(o.first);
  for (size_t i = start; i < end; ++i) {
    out.alignments_[i - start] = {alignments_[i].start - shift, alignments_[i].end - shift};
  }
  out.original_len_ = o.second - o.first;
  out.original_shift_ = original_shift_ + o.first;
  return out;
}

std::vector<char32_t> NormalizedString::chars() const {
  std::vector<char32_t> out;
  out.reserve(normalized_.size());
  size_t i = 0;
  while (i < normalized_.size()) out.push_back(next_char(normalized_, i));
  return out;
}

void NormalizedString::transform_range(size_t start, size_t end, const std::vector<CharChange>& dest,
                                       size_t initial_offset) {
  // Characters of the range being replaced, consumed as `dest` replaces or removes them.
  size_t rpos = start;  // byte position in normalized_ of the next replaced character
  auto skip_char = [&]() -> size_t {
    if (rpos >= end) return 0;
    size_t n = unicode::utf8_len(static_cast<unsigned char>(normalized_[rpos]));
    rpos += n;
    return n;
  };
  size_t offset = start;
  for (size_t k = 0; k < initial_offset; ++k) offset += skip_char();

  std::string new_text;
  std::vector<Alignment> new_align;
  new_text.reserve(end - start + dest.size());
  new_align.reserve(end - start + dest.size());
  for (const CharChange& cc : dest) {
    const size_t idx = offset;
    Alignment align;
    if (cc.change > 0) {
      align = idx < 1 ? Alignment{0, 0} : alignments_[idx - 1];
    } else {
      align = idx < alignments_.size() ? alignments_[idx] : (alignments_.empty() ? Alignment{} : alignments_.back());
    }
    if (cc.change <= 0) offset += skip_char();
    if (cc.change < 0) {
      for (int r = 0; r < -cc.change; ++r) offset += skip_char();
    }
    size_t before = new_text.size();
    append_utf8(new_text, cc.c);
    new_align.insert(new_align.end(), new_text.size() - before, align);
  }
  if (start == 0 && end == normalized_.size()) {
    normalized_.swap(new_text);
    alignments_.swap(new_align);
  } else {
    normalized_.replace(start, end - start, new_text);
    alignments_.erase(alignments_.begin() + start, alignments_.begin() + end);
    alignments_.insert(alignments_.begin() + start, new_align.begin(), new_align.end());
  }
}

void NormalizedString::normalize_unicode(bool compat, bool compose) {
  // Decomposition, as unicode-normalization-alignments yields it: the first character of each
  // decomposition replaces its source (0), the others are inserted (1); then every run of
  // non-starters is stably sorted by canonical combining class, carrying its changes.
  struct Item {
    int ccc;
    char32_t c;
    int change;
  };
  std::vector<Item> items;
  items.reserve(normalized_.size() + 8);
  bool all_ascii = true;
  for (char ch : normalized_) {
    if (static_cast<unsigned char>(ch) >= 0x80) {
      all_ascii = false;
      break;
    }
  }
  if (all_ascii) return;  // ASCII is invariant under every normalization form
  size_t i = 0;
  size_t run_start = 0;  // first non-starter of the current run
  auto sort_run = [&](size_t from) {
    if (items.size() - from > 1)
      std::stable_sort(items.begin() + from, items.end(), [](const Item& a, const Item& b) { return a.ccc < b.ccc; });
  };
  while (i < normalized_.size()) {
    char32_t c = next_char(normalized_, i);
    char32_t buf[18];
    int n = unicode::decompose(c, compat, buf);
    for (int k = 0; k < n; ++k) {
      int ccc = unicode::combining_class(buf[k]);
      if (ccc == 0) {
        sort_run(run_start);
        items.push_back({0, buf[k], k == 0 ? 0 : 1});
        run_start = items.size();
      } else {
        items.push_back({ccc, buf[k], k == 0 ? 0 : 1});
      }
    }
  }
  sort_run(run_start);

  std::vector<CharChange> dest;
  dest.reserve(items.size());
  if (!compose) {
    for (const Item& it : items) dest.push_back({it.c, it.change});
    transform(dest, 0);
    return;
  }
  // Recomposition (unicode-normalization-alignments' Recompositions): a composed pair takes the
  // change k + change - 1.
  std::optional<CharChange> composee;
  std::optional<int> last_ccc;
  std::vector<CharChange> buffer;
  for (const Item& it : items) {
    CharChange ch{it.c, it.change};
    const int ch_class = it.ccc;
    if (!composee) {
      if (ch_class != 0) {
        dest.push_back(ch);
        continue;
      }
      composee = ch;
      continue;
    }
    CharChange k = *composee;
    if (!last_ccc) {
      char32_t r = unicode::compose(k.c, ch.c);
      if (r) {
        composee = CharChange{r, k.change + ch.change - 1};
        continue;
      }
      if (ch_class == 0) {
        composee = ch;
        dest.push_back(k);
        continue;
      }
      buffer.push_back(ch);
      last_ccc = ch_class;
    } else {
      if (*last_ccc >= ch_class) {
        if (ch_class == 0) {
          composee = ch;
          last_ccc.reset();
          dest.push_back(k);
          dest.insert(dest.end(), buffer.begin(), buffer.end());
          buffer.clear();
          continue;
        }
        buffer.push_back(ch);
        last_ccc = ch_class;
        continue;
      }
      char32_t r = unicode::compose(k.c, ch.c);
      if (r) {
        composee = CharChange{r, k.change + ch.change - 1};
        continue;
      }
      buffer.push_back(ch);
      last_ccc = ch_class;
    }
  }
  if (composee) dest.push_back(*composee);
  dest.insert(dest.end(), buffer.begin(), buffer.end());
  transform(dest, 0);
}

void NormalizedString::nfd() {
  normalize_unicode(false, false);
}
void NormalizedString::nfkd() {
  normalize_unicode(true, false);
}
void NormalizedString::nfc() {
  normalize_unicode(false, true);
}
void NormalizedString::nfkc() {
  normalize_unicode(true, true);
}

void NormalizedString::filter(const std::function<bool(char32_t)>& keep) {
  std::vector<char32_t> cs = chars();
  std::vector<CharChange> rev;
  rev.reserve(cs.size());
  int removed = 0;
  for (size_t k = cs.size(); k-- > 0;) {
    if (keep(cs[k])) {
      rev.push_back({cs[k], removed > 0 ? -removed : 0});
      removed = 0;
    } else {
      ++removed;
    }
  }
  if (rev.size() == cs.size()) return;  // nothing removed: unchanged
  std::reverse(rev.begin(), rev.end());
  transform(rev, static_cast<size_t>(removed));
}

void NormalizedString::map(const std::function<char32_t(char32_t)>& fn) {
  std::vector<char32_t> cs = chars();
  std::vector<CharChange> dest;
  dest.reserve(cs.size());
  bool changed = false;
  for (char32_t c : cs) {
    char32_t m = fn(c);
    changed |= m != c;
    dest.push_back({m, 0});
  }
  if (changed) transform(dest, 0);
}

void NormalizedString::lowercase() {
  std::vector<CharChange> dest;
  dest.reserve(normalized_.size());
  bool changed = false;
  size_t i = 0;
  while (i < normalized_.size()) {
    char32_t c = next_char(normalized_, i);
    char32_t out[3];
    int n = unicode::to_lowercase(c, out);
    changed |= n != 1 || out[0] != c;
    for (int k = 0; k < n; ++k) dest.push_back({out[k], k == 0 ? 0 : 1});
  }
  if (changed) transform(dest, 0);
}

void NormalizedString::prepend(std::string_view s) {
  if (normalized_.empty() || s.empty()) return;
  size_t i = 0;
  char32_t first = next_char(normalized_, i);
  std::vector<CharChange> dest;
  size_t j = 0;
  bool is_first = true;
  while (j < s.size()) {
    dest.push_back({next_char(s, j), is_first ? 0 : 1});
    is_first = false;
  }
  dest.push_back({first, 1});
  transform_range(0, i, dest, 0);
}

void NormalizedString::append(std::string_view s) {
  if (normalized_.empty() || s.empty()) return;
  size_t last = normalized_.size() - 1;
  while (last > 0 && (static_cast<unsigned char>(normalized_[last]) & 0xC0) == 0x80) --last;
  size_t i = last;
  char32_t prev = next_char(normalized_, i);
  std::vector<CharChange> dest{{prev, 0}};
  size_t j = 0;
  while (j < s.size()) dest.push_back({next_char(s, j), 1});
  transform_range(last, normalized_.size(), dest, 0);
}

void NormalizedString::replace(const Pattern& pattern, std::string_view content) {
  std::vector<PatternMatch> matches;
  pattern.find_matches(normalized_, matches);
  std::vector<CharChange> dest;
  {
    size_t j = 0;
    while (j < content.size()) dest.push_back({next_char(content, j), 1});
  }
  long long shift = 0;
  for (const PatternMatch& m : matches) {
    if (!m.is_match) continue;
    long long s = static_cast<long long>(m.start) + shift;
    long long e = static_cast<long long>(m.end) + shift;
    if (s < 0) s = 0;
    if (e < 0) e = 0;
    size_t removed = unicode::count_chars(std::string_view(normalized_).substr(s, e - s));
    transform_range(s, e, dest, removed);
    shift += static_cast<long long>(content.size()) - static_cast<long long>(m.end - m.start);
  }
}

void NormalizedString::strip(bool left, bool right) {
  std::vector<char32_t> cs = chars();
  size_t leading = 0, trailing = 0;
  if (left)
    while (leading < cs.size() && unicode::is_whitespace(cs[leading])) ++leading;
  if (right)
    while (trailing < cs.size() - leading && unicode::is_whitespace(cs[cs.size() - 1 - trailing])) ++trailing;
  if (leading == 0 && trailing == 0) return;
  std::vector<CharChange> dest;
  for (size_t k = leading; k + trailing < cs.size(); ++k) {
    dest.push_back({cs[k], k + trailing + 1 == cs.size() ? -static_cast<int>(trailing) : 0});
  }
  transform(dest, leading);
}

std::vector<NormalizedString> NormalizedString::split(const Pattern& pattern, SplitDelimiterBehavior behavior) const {
  std::vector<PatternMatch> matches;
  pattern.find_matches(normalized_, matches);
  // (start, end, remove)
  std::vector<PatternMatch> splits;
  splits.reserve(matches.size());
  switch (behavior) {
    case SplitDelimiterBehavior::kIsolated:
      for (const auto& m : matches) splits.push_back({m.start, m.end, false});
      break;
    case SplitDelimiterBehavior::kRemoved:
      splits = matches;
      break;
    case SplitDelimiterBehavior::kContiguous: {
      bool prev_match = false;
      for (const auto& m : matches) {
        if (m.is_match == prev_match && !splits.empty()) {
          splits.back().end = m.end;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        prev_match = m.is_match;
      }
      break;
    }
    case SplitDelimiterBehavior::kMergedWithPrevious: {
      bool prev_match = false;
      for (const auto& m : matches) {
        if (m.is_match && !prev_match && !splits.empty()) {
          splits.back().end = m.end;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        prev_match = m.is_match;
      }
      break;
    }
    case SplitDelimiterBehavior::kMergedWithNext: {
      bool prev_match = false;
      for (size_t k = matches.size(); k-- > 0;) {
        const auto& m = matches[k];
        if (m.is_match && !prev_match && !splits.empty()) {
          splits.back().start = m.start;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        prev_match = m.is_match;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  std::vector<NormalizedString> out;
  out.reserve(splits.size());
  for (const auto& s : splits) {
    if (s.is_match) continue;  // removed delimiter
    out.push_back(slice(s.start, s.end));
  }
  return out;
}

}  // namespace textune::tokenizers
