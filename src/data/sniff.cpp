// The CSV delimiter: --delimiter, or sniffed as Python's csv.Sniffer does (Lib/csv.py, Python 3.11,
// `Sniffer._guess_quote_and_delimiter` then `Sniffer._guess_delimiter`), restricted to , ; \t |.
#include <algorithm>
#include <array>
#include <cctype>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/data/table.h"

namespace textune::data {

char parse_delimiter(const std::string& text) {
  if (text == "tab" || text == "\\t" || text == "\t" || text == "TAB") return '\t';
  if (text.size() == 1 && text[0] != '"' && text[0] != '\r' && text[0] != '\n') return text[0];
  throw UsageError(fmt::format(
      "--delimiter \"{}\" is not one character (expected e.g. \",\", \";\", \"|\", or \"tab\"; not a quote or a line "
      "break)",
      text));
}

namespace {

constexpr std::string_view kCandidates = ",;\t|";
constexpr std::array<char, 5> kPreferred = {',', '\t', ';', ' ', ':'};  // csv.Sniffer().preferred

bool is_candidate(char c) {
  return kCandidates.find(c) != std::string_view::npos;
}

/// Python's \w on text: letters, digits and '_' (bytes of UTF-8 sequences count as letters).
bool is_word(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x80 || std::isalnum(u) || c == '_';
}

/// [^\w\n"']
bool is_delim_class(char c) {
  return !is_word(c) && c != '\n' && c != '"' && c != '\'';
}

bool is_quote(char c) {
  return c == '"' || c == '\'';
}

/// A match of one of the Sniffer's quote regular expressions: the quote and the delimiter (0: none).
struct QuoteMatch {
  char quote;
  char delim;
};

/// The four regular expressions of `_guess_quote_and_delimiter`, matched as `re.findall` does
/// (non-overlapping, left to right, lazy `.*?` over any character), for the first that matches.
std::vector<QuoteMatch> quote_matches(std::string_view s) {
  const size_t n = s.size();
  std::vector<QuoteMatch> out;
  // 1: (?P<delim>[^\w\n"'])(?P<space> ?)(?P<quote>["']).*?(?P=quote)(?P=delim)
  // 3: (?P<delim>[^\w\n"'])(?P<space> ?)(?P<quote>["']).*?(?P=quote)(?:$|\n)
  for (int pattern : {1, 3}) {
    out.clear();
    size_t i = 0;
    while (i < n) {
      const char d = s[i];
      size_t q = i + 1;
      if (!is_delim_class(d) || q >= n) {
        ++i;
        continue;
      }
      if (s[q] == ' ' && q + 1 < n && is_quote(s[q + 1])) ++q;
      if (!is_quote(s[q])) {
        ++i;
        continue;
      }
      const char quote = s[q];
      size_t end = std::string_view::npos;
      for (size_t k = q + 1; k < n; ++k) {
        if (s[k] != quote) continue;
        if (pattern == 1 && k + 1 < n && s[k + 1] == d) {
          end = k + 2;
          break;
        }
        if (pattern == 3 && (k + 1 == n || s[k + 1] == '\n')) {
          end = k + 1;
          break;
        }
      }
      if (end == std::string_view::npos) {
        ++i;
        continue;
      }
      out.push_back({quote, d});
      i = end;
    }
    if (!out.empty()) return out;
    if (pattern == 1) {
      // 2: (?:^|\n)(?P<quote>["']).*?(?P=quote)(?P<delim>[^\w\n"'])(?P<space> ?)
      size_t j = 0;
      while (j < n) {
        size_t q;
        if ((j == 0 || s[j - 1] == '\n') && is_quote(s[j])) {
          q = j;
        } else if (s[j] == '\n' && j + 1 < n && is_quote(s[j + 1])) {
          q = j + 1;
        } else {
          ++j;
          continue;
        }
        const char quote = s[q];
        size_t end = std::string_view::npos;
        char delim = 0;
        for (size_t k = q + 1; k + 1 < n; ++k) {
          if (s[k] == quote && is_delim_class(s[k + 1])) {
            delim = s[k + 1];
            end = k + 2 + (k + 2 < n && s[k + 2] == ' ' ? 1 : 0);
            break;
          }
        }
        if (end == std::string_view::npos) {
          ++j;
          continue;
        }
        out.push_back({quote, delim});
        j = end;
      }
      if (!out.empty()) return out;
    }
  }
  // 4: (?:^|\n)(?P<quote>["']).*?(?P=quote)(?:$|\n) has no delimiter: it only stops the search.
  return out;
}

/// `_guess_delimiter` over the candidates.
std::optional<char> guess_delimiter(std::string_view sample) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= sample.size()) {
    size_t end = sample.find('\n', pos);
    if (end == std::string_view::npos) end = sample.size();
    if (end > pos) lines.push_back(sample.substr(pos, end - pos));
    pos = end + 1;
  }
  if (lines.empty()) return std::nullopt;
  const size_t chunk = std::min<size_t>(10, lines.size());
  // per candidate: (frequency, number of lines) in first-seen order, as Python's dict keeps them
  std::vector<std::vector<std::pair<size_t, size_t>>> meta(kCandidates.size());
  std::vector<std::optional<std::pair<size_t, long>>> modes(kCandidates.size());
  std::vector<std::pair<char, std::pair<size_t, long>>> delims;  // insertion order
  size_t start = 0, end = chunk, iteration = 0;
  while (start < lines.size()) {
    ++iteration;
    for (size_t l = start; l < std::min(end, lines.size()); ++l) {
      for (size_t c = 0; c < kCandidates.size(); ++c) {
        const size_t freq = static_cast<size_t>(std::count(lines[l].begin(), lines[l].end(), kCandidates[c]));
        auto it = std::find_if(meta[c].begin(), meta[c].end(), [&](const auto& p) { return p.first == freq; });
        if (it == meta[c].end())
          meta[c].emplace_back(freq, 1);
        else
          ++it->second;
      }
    }
    for (size_t c = 0; c < kCandidates.size(); ++c) {
      const auto& items = meta[c];
      if (items.size() == 1 && items[0].first == 0) continue;
      if (items.size() > 1) {
        size_t best = 0;
        for (size_t k = 1; k < items.size(); ++k)
          if (items[k].second > items[best].second) best = k;  // max() keeps the first maximum
        long rest = 0;
        for (size_t k = 0; k < items.size(); ++k)
          if (k != best) rest += static_cast<long>(items[k].second);
        modes[c] = std::make_pair(items[best].first, static_cast<long>(items[best].second) - rest);
      } else {
        modes[c] = std::make_pair(items[0].first, static_cast<long>(items[0].second));
      }
    }
    const double total = static_cast<double>(std::min(chunk * iteration, lines.size()));
    double consistency = 1.0;
    const double threshold = 0.9;
    while (delims.empty() && consistency >= threshold) {
      for (size_t c = 0; c < kCandidates.size(); ++c) {
        if (!modes[c]) continue;
        const auto [freq, count] = *modes[c];
        if (freq > 0 && count > 0 && static_cast<double>(count) / total >= consistency)
          delims.emplace_back(kCandidates[c], *modes[c]);
      }
      consistency -= 0.01;
    }
    if (delims.size() == 1) return delims[0].first;
    start = end;
    end += chunk;
  }
  if (delims.empty()) return std::nullopt;
  for (char p : kPreferred)
    for (const auto& d : delims)
      if (d.first == p) return p;
  auto best = std::max_element(delims.begin(), delims.end(), [](const auto& a, const auto& b) {
    return std::make_pair(a.second, a.first) < std::make_pair(b.second, b.first);
  });
  return best->first;
}

}  // namespace

std::optional<char> sniff_delimiter(std::string_view sample) {
  const std::vector<QuoteMatch> matches = quote_matches(sample);
  if (!matches.empty()) {
    // the most frequent candidate around quoted fields; ties: the first seen
    std::vector<std::pair<char, size_t>> counts;
    for (const auto& m : matches) {
      if (!m.delim || !is_candidate(m.delim)) continue;
      auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& p) { return p.first == m.delim; });
      if (it == counts.end())
        counts.emplace_back(m.delim, 1);
      else
        ++it->second;
    }
    if (!counts.empty()) {
      auto best = counts.begin();
      for (auto it = counts.begin(); it != counts.end(); ++it)
        if (it->second > best->second) best = it;
      return best->first;
    }
  }
  return guess_delimiter(sample);
}

}  // namespace textune::data
