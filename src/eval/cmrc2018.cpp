// CMRC 2018 metrics as its official script computes them (ymcui/cmrc2018,
// squad-style-data/cmrc2018_evaluate.py, "v5 - special"): mixed_segmentation, remove_punctuation, the
// longest-common-substring F1 and EM.
//
// The non-Chinese runs are split as NLTK's word_tokenize splits them, by the rules of
// nltk/tokenize/destructive.py (NLTKWordTokenizer.tokenize, convert_parentheses false), each
// regular-expression substitution written out below as one left-to-right pass with Python's `re`
// semantics (Unicode \w \d \s \b; `$` also before a final newline; IGNORECASE letting "s" match U+017F
// and "i" match U+0131). word_tokenize first splits the run into sentences with punkt; that is
// skipped (no model data), so a sentence-final period inside a run ("u.s. army. next") can tokenize
// differently. tests/eval/squad_test.cpp checks the segmentation against NLTKWordTokenizer itself.
#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "eval/squad_text.h"
#include "textune/core/error.h"
#include "textune/core/utf8.h"
#include "textune/eval/squad.h"

namespace textune::eval {
namespace {

using U = std::u32string;
using pytext::is_space;
using pytext::is_word;

// ---- NLTKWordTokenizer ----------------------------------------------------------------------------

/// One re.sub: at each position `match(t, i, end, out)` either matches (appending the replacement to
/// `out` and setting `end`) or not (the character is copied). No pattern here matches the empty string.
U sub(const U& t, const std::function<bool(const U&, size_t, size_t&, U&)>& match) {
  U out;
  out.reserve(t.size() + 8);
  size_t i = 0;
  while (i < t.size()) {
    size_t end = i;
    if (match(t, i, end, out) && end > i) {
      i = end;
    } else {
      out.push_back(t[i++]);
    }
  }
  return out;
}

char32_t at(const U& t, size_t i) {
  return i < t.size() ? t[i] : 0;
}

bool in(char32_t c, std::u32string_view set) {
  return c != 0 && set.find(c) != std::u32string_view::npos;
}

/// A pattern letter under (?i): the text's character equals it once lower-cased, or is one of sre's
/// extra case-insensitive equivalents of an ASCII letter (U+017F for s, U+0131 for i).
bool ci_eq(char32_t c, char32_t letter) {
  if (c == letter || (c >= 'A' && c <= 'Z' && c + 32 == letter)) return true;
  if (letter == 's' && c == 0x17F) return true;
  if (letter == 'i' && (c == 0x131 || c == 0x130)) return true;
  if (letter == 'k' && c == 0x212A) return true;
  return false;
}

bool ci_match(const U& t, size_t i, std::u32string_view word) {
  if (i + word.size() > t.size()) return false;
  for (size_t k = 0; k < word.size(); ++k)
    if (!ci_eq(t[i + k], word[k])) return false;
  return true;
}

void append(U& out, std::u32string_view s) {
  out.append(s.data(), s.size());
}

/// `([^\.])(\.)([CLASS]*)\s*$` -> `\1 \2SEP\3 `: the period before the end (and the closing marks
/// after it), in linear time.
U final_period(const U& t, std::u32string_view cls, bool space_after_period) {
  const size_t n = t.size();
  size_t t0 = n;  // start of the trailing whitespace run
  while (t0 > 0 && is_space(t[t0 - 1])) --t0;
  std::vector<size_t> class_end(n + 1, n);  // first index >= q not in the class
  for (size_t q = n; q-- > 0;) class_end[q] = in(t[q], cls) ? class_end[q + 1] : q;
  for (size_t p = 0; p + 1 < n; ++p) {
    if (t[p] == '.' || t[p + 1] != '.') continue;
    const size_t k = class_end[p + 2];
    if (k < t0) continue;
    U out = t.substr(0, p + 1);
    append(out, space_after_period ? U(U" . ") : U(U" ."));
    append(out, std::u32string_view(t).substr(p + 2, k - (p + 2)));
    out.push_back(' ');
    return out;
  }
  return t;
}

std::vector<U> nltk_word_tokenize(U text) {
  // STARTING_QUOTES
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // ([«“‘„]|[`]+) -> " \1 "
    if (in(t[i], U"\u00ab\u201c\u2018\u201e")) {
      end = i + 1;
    } else if (t[i] == '`') {
      end = i;
      while (end < t.size() && t[end] == '`') ++end;
    } else {
      return false;
    }
    out.push_back(' ');
    out.append(t, i, end - i);
    out.push_back(' ');
    return true;
  });
  if (!text.empty() && text[0] == '"') text = U(U"``") + text.substr(1);  // ^\" -> ``
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {        // (``) -> " \1 "
    if (t[i] != '`' || at(t, i + 1) != '`') return false;
    append(out, U" `` ");
    end = i + 2;
    return true;
  });
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // ([ \(\[{<])(\"|\'{2}) -> \1 ``
    if (!in(t[i], U" ([{<")) return false;
    if (at(t, i + 1) == '"')
      end = i + 2;
    else if (at(t, i + 1) == '\'' && at(t, i + 2) == '\'')
      end = i + 3;
    else
      return false;
    out.push_back(t[i]);
    append(out, U" `` ");
    return true;
  });
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // (?i)(\')(?!re|ve|ll|m|t|s|d|n)(\w)\b
    if (t[i] != '\'' || i + 1 >= t.size() || !is_word(t[i + 1])) return false;
    for (std::u32string_view w : {U"re", U"ve", U"ll", U"m", U"t", U"s", U"d", U"n"})
      if (ci_match(t, i + 1, w)) return false;
    if (i + 2 < t.size() && is_word(t[i + 2])) return false;  // \b after the word character
    out.push_back('\'');
    out.push_back(' ');
    out.push_back(t[i + 1]);
    end = i + 2;
    return true;
  });
  // PUNCTUATION
  text = final_period(text, U"])}>\"'\u00bb\u201d\u2019 ", true);
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // ([:,])([^\d]) -> " \1 \2"
    if ((t[i] != ':' && t[i] != ',') || i + 1 >= t.size() || pytext::is_decimal(t[i + 1])) return false;
    out.push_back(' ');
    out.push_back(t[i]);
    out.push_back(' ');
    out.push_back(t[i + 1]);
    end = i + 2;
    return true;
  });
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // ([:,])$ -> " \1 "
    if (t[i] != ':' && t[i] != ',') return false;
    if (!(i + 1 == t.size() || (i + 2 == t.size() && t[i + 1] == '\n'))) return false;
    out.push_back(' ');
    out.push_back(t[i]);
    out.push_back(' ');
    end = i + 1;
    return true;
  });
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // \.{2,} -> " \g<0> "
    if (t[i] != '.' || at(t, i + 1) != '.') return false;
    end = i;
    while (end < t.size() && t[end] == '.') ++end;
    out.push_back(' ');
    out.append(t, i, end - i);
    out.push_back(' ');
    return true;
  });
  auto pad = [](std::u32string_view set) {  // [SET] -> " \g<0> "
    return [set](const U& t, size_t i, size_t& end, U& out) {
      if (!in(t[i], set)) return false;
      out.push_back(' ');
      out.push_back(t[i]);
      out.push_back(' ');
      end = i + 1;
      return true;
    };
  };
  text = sub(text, pad(U";@#$%&"));
  text = final_period(text, U"])}>\"'", false);
  text = sub(text, pad(U"?!"));
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // ([^'])' -> "\1 ' "
    if (t[i] == '\'' || at(t, i + 1) != '\'' || at(t, i + 2) != ' ') return false;
    out.push_back(t[i]);
    append(out, U" ' ");
    end = i + 3;
    return true;
  });
  text = sub(text, pad(U"*"));
  // PARENS_BRACKETS, DOUBLE_DASHES
  text = sub(text, pad(U"][(){}<>"));
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {
    if (t[i] != '-' || at(t, i + 1) != '-') return false;
    append(out, U" -- ");
    end = i + 2;
    return true;
  });
  text = U(U" ") + text + U(U" ");
  // ENDING_QUOTES
  text = sub(text, pad(U"\u00bb\u201d\u2019"));
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // '' -> " '' "
    if (t[i] != '\'' || at(t, i + 1) != '\'') return false;
    append(out, U" '' ");
    end = i + 2;
    return true;
  });
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // " -> " '' "
    if (t[i] != '"') return false;
    append(out, U" '' ");
    end = i + 1;
    return true;
  });
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // ([^' ])('[sS]|'[mM]|'[dD]|') -> "\1 \2 "
    if (t[i] == '\'' || t[i] == ' ' || at(t, i + 1) != '\'') return false;
    size_t g = 0;  // length of group 2
    if (in(at(t, i + 2), U"sSmMdD") && at(t, i + 3) == ' ')
      g = 2;
    else if (at(t, i + 2) == ' ')
      g = 1;
    else
      return false;
    out.push_back(t[i]);
    out.push_back(' ');
    out.append(t, i + 1, g);
    out.push_back(' ');
    end = i + 1 + g + 1;
    return true;
  });
  text = sub(text, [](const U& t, size_t i, size_t& end, U& out) {  // ([^' ])('ll|...|N'T) -> "\1 \2 "
    if (t[i] == '\'' || t[i] == ' ' || i + 4 >= t.size() || t[i + 4] != ' ') return false;
    const std::u32string_view g(t.data() + i + 1, 3);
    bool ok = false;
    for (std::u32string_view w : {U"'ll", U"'LL", U"'re", U"'RE", U"'ve", U"'VE", U"n't", U"N'T"}) ok = ok || g == w;
    if (!ok) return false;
    out.push_back(t[i]);
    out.push_back(' ');
    append(out, g);
    out.push_back(' ');
    end = i + 5;
    return true;
  });
  // CONTRACTIONS2: (?i)\b(A)(B)\b -> " \1 \2 " (wanna: (?=\s) instead of the final \b)
  struct Contraction {
    std::u32string_view a, b;
    bool then_space;
  };
  static const Contraction kContractions2[] = {
      {U"can", U"not", false}, {U"d", U"'ye", false},  {U"gim", U"me", false},  {U"gon", U"na", false},
      {U"got", U"ta", false},  {U"lem", U"me", false}, {U"more", U"'n", false}, {U"wan", U"na", true},
  };
  for (const auto& c : kContractions2)
    text = sub(text, [&c](const U& t, size_t i, size_t& end, U& out) {
      if (!pytext::word_boundary(t, i) || !ci_match(t, i, c.a) || !ci_match(t, i + c.a.size(), c.b)) return false;
      const size_t e = i + c.a.size() + c.b.size();
      if (c.then_space ? !(e < t.size() && is_space(t[e])) : !pytext::word_boundary(t, e)) return false;
      out.push_back(' ');
      out.append(t, i, c.a.size());
      out.push_back(' ');
      out.append(t, i + c.a.size(), c.b.size());
      out.push_back(' ');
      end = e;
      return true;
    });
  // CONTRACTIONS3: (?i) ('t)(is)\b and (?i) ('t)(was)\b -> " \1 \2 "
  for (std::u32string_view b : {std::u32string_view(U"is"), std::u32string_view(U"was")})
    text = sub(text, [b](const U& t, size_t i, size_t& end, U& out) {
      if (t[i] != ' ' || !ci_match(t, i + 1, U"'t") || !ci_match(t, i + 3, b)) return false;
      const size_t e = i + 3 + b.size();
      if (!pytext::word_boundary(t, e)) return false;
      out.push_back(' ');
      out.append(t, i + 1, 2);
      out.push_back(' ');
      out.append(t, i + 3, b.size());
      out.push_back(' ');
      end = e;
      return true;
    });
  return pytext::split(text);
}

// ---- the script -----------------------------------------------------------------------------------

/// sp_char, one character each ("……" is two characters and never equals one).
bool is_sp_char(char32_t c) {
  static const std::u32string_view kSp =
      U"-:_*^/\\~`+=\uff0c\u3002\uff1a\uff1f\uff01\u201c\u201d\uff1b\u2019\u300a\u300b\u00b7\u3001\u300c\u300d"
      U"\uff08\uff09\uff0d\uff5e\u300e\u300f";
  return kSp.find(c) != std::u32string_view::npos;
}

bool is_cjk(char32_t c) {
  return c >= 0x4E00 && c <= 0x9FA5;
}

std::vector<U> segment(const std::string& s, bool rm_punc) {
  const U in_str = pytext::strip(pytext::lower(core::utf8_decode(s)));
  std::vector<U> out;
  U temp;
  auto flush = [&] {
    if (temp.empty()) return;
    for (auto& w : nltk_word_tokenize(temp)) out.push_back(std::move(w));
    temp.clear();
  };
  for (char32_t c : in_str) {
    if (rm_punc && is_sp_char(c)) continue;
    if (is_cjk(c) || is_sp_char(c)) {
      flush();
      out.push_back(U(1, c));
    } else {
      temp.push_back(c);
    }
  }
  flush();
  return out;
}

U remove_punct(const std::string& s) {
  U out;
  for (char32_t c : pytext::strip(pytext::lower(core::utf8_decode(s))))
    if (!is_sp_char(c)) out.push_back(c);
  return out;
}

/// The longest common substring's length in linear time (a suffix automaton of `a`, `b` run through
/// it), for long inputs where find_lcs's table (|a| x |b|) would take hours: two 1 MiB answers.
size_t lcs_length_linear(const std::vector<U>& a, const std::vector<U>& b) {
  if (a.size() > b.size()) return lcs_length_linear(b, a);  // the automaton of the shorter one
  std::unordered_map<U, int> ids;
  std::vector<int> x, y;
  x.reserve(a.size());
  y.reserve(b.size());
  for (const auto& s : a) x.push_back(ids.emplace(s, static_cast<int>(ids.size())).first->second);
  for (const auto& s : b) {
    auto it = ids.find(s);
    y.push_back(it == ids.end() ? -1 : it->second);
  }
  struct State {
    size_t len = 0;
    int link = -1;
    std::map<int, int> next;
  };
  std::vector<State> st(1);
  st.reserve(2 * x.size() + 1);
  int last = 0;
  for (int c : x) {
    const int cur = static_cast<int>(st.size());
    st.push_back(State{st[last].len + 1, -1, {}});
    int p = last;
    while (p != -1 && !st[p].next.count(c)) {
      st[p].next[c] = cur;
      p = st[p].link;
    }
    if (p == -1) {
      st[cur].link = 0;
    } else {
      const int q = st[p].next[c];
      if (st[p].len + 1 == st[q].len) {
        st[cur].link = q;
      } else {
        const int clone = static_cast<int>(st.size());
        st.push_back(State{st[p].len + 1, st[q].link, st[q].next});
        while (p != -1 && st[p].next[c] == q) {
          st[p].next[c] = clone;
          p = st[p].link;
        }
        st[q].link = clone;
        st[cur].link = clone;
      }
    }
    last = cur;
  }
  size_t best = 0, l = 0;
  int v = 0;
  for (int c : y) {
    if (c < 0) {
      v = 0;
      l = 0;
      continue;
    }
    while (v != 0 && !st[v].next.count(c)) {
      v = st[v].link;
      l = st[v].len;
    }
    auto it = st[v].next.find(c);
    if (it != st[v].next.end()) {
      v = it->second;
      ++l;
    } else {
      v = 0;
      l = 0;
    }
    best = std::max(best, l);
  }
  return best;
}

/// find_lcs's length: the longest common substring of two segment lists (its table when small).
size_t lcs_length(const std::vector<U>& a, const std::vector<U>& b) {
  if (a.size() * b.size() > (size_t{1} << 22)) return lcs_length_linear(a, b);
  std::vector<size_t> prev(b.size() + 1, 0), cur(b.size() + 1, 0);
  size_t best = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    for (size_t j = 0; j < b.size(); ++j) {
      cur[j + 1] = a[i] == b[j] ? prev[j] + 1 : 0;
      best = std::max(best, cur[j + 1]);
    }
    std::swap(prev, cur);
  }
  return best;
}

double f1_of(const std::vector<U>& pred, const std::vector<std::string>& answers) {
  double best = 0;
  for (size_t k = 0; k < answers.size(); ++k) {
    const auto ans = segment(answers[k], true);
    const size_t lcs = lcs_length(ans, pred);
    double f1 = 0;
    if (lcs != 0) {
      const double precision = 1.0 * static_cast<double>(lcs) / static_cast<double>(pred.size());
      const double recall = 1.0 * static_cast<double>(lcs) / static_cast<double>(ans.size());
      f1 = (2 * precision * recall) / (precision + recall);
    }
    if (k == 0 || f1 > best) best = f1;
  }
  return best;
}

}  // namespace

std::vector<std::string> cmrc_mixed_segmentation(const std::string& s, bool remove_punctuation) {
  std::vector<std::string> out;
  for (const auto& w : segment(s, remove_punctuation)) out.push_back(core::utf8_encode(w));
  return out;
}

std::string cmrc_remove_punctuation(const std::string& s) {
  return core::utf8_encode(remove_punct(s));
}

double cmrc_f1(const std::string& prediction, const std::vector<std::string>& answers) {
  return f1_of(segment(prediction, true), answers);
}

double cmrc_em(const std::string& prediction, const std::vector<std::string>& answers) {
  const U p = remove_punct(prediction);
  for (const auto& a : answers)
    if (remove_punct(a) == p) return 1.0;
  return 0.0;
}

core::Json cmrc2018(const std::vector<QaGold>& gold, const std::map<std::string, std::string>& predictions) {
  if (gold.empty()) throw DataError("cmrc2018: no questions to score (the references are empty)");
  double f1 = 0, em = 0;
  long skip = 0;
  std::string first_skipped;
  for (const auto& q : gold) {
    // the script looks the prediction up by the stripped id
    const std::string id = core::utf8_encode(pytext::strip(core::utf8_decode(q.id)));
    auto it = predictions.find(id);
    if (it == predictions.end()) {
      if (skip++ == 0) first_skipped = id;
      continue;
    }
    // (no gold answer: the script's max([]) raises; it scores 0 here)
    f1 += f1_of(segment(it->second, true), q.answers);
    em += cmrc_em(it->second, q.answers);
  }
  if (skip)
    spdlog::warn("cmrc2018: {} of {} questions have no prediction and score 0 (\"Unanswered question: {}\")", skip,
                 gold.size(), first_skipped);
  const double total = static_cast<double>(gold.size());
  const double f1_score = 100.0 * f1 / total, em_score = 100.0 * em / total;
  core::Json out = core::Json::object();
  out["AVERAGE"] = (em_score + f1_score) * 0.5;
  out["F1"] = f1_score;
  out["EM"] = em_score;
  out["TOTAL"] = static_cast<long>(gold.size());
  out["SKIP"] = skip;
  return out;
}

}  // namespace textune::eval
