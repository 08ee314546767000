// Tag schemes of chunk tags (IOB1, IOB2, IOE1, IOE2, IOBES, BILOU): names, checks, detection, and
// run_ner.py's B- to I- label map. See data/ner.h.
#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/data/ner.h"

namespace textune::data {

std::string tag_scheme_name(TagScheme scheme) {
  switch (scheme) {
    case TagScheme::kIOB1:
      return "IOB1";
    case TagScheme::kIOB2:
      return "IOB2";
    case TagScheme::kIOE1:
      return "IOE1";
    case TagScheme::kIOE2:
      return "IOE2";
    case TagScheme::kIOBES:
      return "IOBES";
    case TagScheme::kBILOU:
      return "BILOU";
  }
  return "IOB2";
}

TagScheme parse_tag_scheme(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (n == "IOB1") return TagScheme::kIOB1;
  if (n == "IOB2" || n == "BIO") return TagScheme::kIOB2;
  if (n == "IOE1") return TagScheme::kIOE1;
  if (n == "IOE2") return TagScheme::kIOE2;
  if (n == "IOBES" || n == "BIOES") return TagScheme::kIOBES;
  if (n == "BILOU") return TagScheme::kBILOU;
  throw UsageError(
      fmt::format("unknown tag scheme \"{}\" (expected IOB1, IOB2 (BIO), IOE1, IOE2, IOBES (BIOES) or BILOU)", name));
}

std::pair<std::string, std::string> split_tag(const std::string& tag) {
  if (tag == "O") return {"O", ""};
  const size_t dash = tag.find('-');
  if (dash == std::string::npos || dash == 0) return {"", tag};
  return {tag.substr(0, dash), tag.substr(dash + 1)};
}

namespace {

/// The prefixes a scheme allows besides "O".
const char* scheme_prefixes(TagScheme scheme) {
  switch (scheme) {
    case TagScheme::kIOB1:
    case TagScheme::kIOB2:
      return "BI";
    case TagScheme::kIOE1:
    case TagScheme::kIOE2:
      return "IE";
    case TagScheme::kIOBES:
      return "BIES";
    case TagScheme::kBILOU:
      return "BILU";
  }
  return "";
}

/// The one-letter prefix of a well-formed chunk tag (one of B I E S L U, a dash, a non-empty
/// type), or 0 ("O" and malformed tags).
char chunk_prefix(const std::string& tag) {
  if (tag.size() < 3 || tag[1] != '-') return 0;
  const char p = tag[0];
  return std::string_view("BIESLU").find(p) == std::string_view::npos ? 0 : p;
}

/// The type of a well-formed chunk tag (after "X-").
std::string_view chunk_type(const std::string& tag) {
  return std::string_view(tag).substr(2);
}

}  // namespace

bool tag_in_scheme(const std::string& tag, TagScheme scheme) {
  if (tag == "O") return true;
  const char p = chunk_prefix(tag);
  return p != 0 && std::string_view(scheme_prefixes(scheme)).find(p) != std::string_view::npos;
}

std::optional<TagScheme> detect_tag_scheme(const std::vector<std::vector<std::string>>& tag_sequences) {
  bool has[128] = {};
  for (const auto& seq : tag_sequences)
    for (const auto& tag : seq)
      if (const char p = chunk_prefix(tag)) has[static_cast<unsigned char>(p)] = true;
  const bool B = has['B'], I = has['I'], E = has['E'], S = has['S'], L = has['L'], U = has['U'];
  (void)I;
  if (L || U) {
    if (E || S) return std::nullopt;
    return TagScheme::kBILOU;
  }
  if (S || (E && B)) return TagScheme::kIOBES;
  if (E) {
    // IOE2 ends every entity with E-; IOE1 only one followed by an entity of the same type, so an
    // I-X that is not followed by I-X or E-X ends an entity without E-.
    for (const auto& seq : tag_sequences)
      for (size_t i = 0; i < seq.size(); ++i) {
        if (chunk_prefix(seq[i]) != 'I') continue;
        const bool continued = i + 1 < seq.size() &&
                               (chunk_prefix(seq[i + 1]) == 'I' || chunk_prefix(seq[i + 1]) == 'E') &&
                               chunk_type(seq[i + 1]) == chunk_type(seq[i]);
        if (!continued) return TagScheme::kIOE1;
      }
    return TagScheme::kIOE2;
  }
  // B-/I- (or only O): IOB1 when some entity starts with I- (after O, the sentence start, another
  // type or a malformed tag), else IOB2.
  for (const auto& seq : tag_sequences)
    for (size_t i = 0; i < seq.size(); ++i) {
      if (chunk_prefix(seq[i]) != 'I') continue;
      const bool continues = i > 0 && (chunk_prefix(seq[i - 1]) == 'B' || chunk_prefix(seq[i - 1]) == 'I') &&
                             chunk_type(seq[i - 1]) == chunk_type(seq[i]);
      if (!continues) return TagScheme::kIOB1;
    }
  return TagScheme::kIOB2;
}

std::vector<int64_t> b_to_i_label(const std::vector<std::string>& labels) {
  // run_ner.py:
  //   if label.startswith("B-") and label.replace("B-", "I-") in label_list:
  //       b_to_i_label.append(label_list.index(label.replace("B-", "I-")))
  //   else: b_to_i_label.append(idx)
  // (str.replace replaces every "B-", which is reproduced.)
  std::vector<int64_t> out;
  out.reserve(labels.size());
  for (size_t idx = 0; idx < labels.size(); ++idx) {
    const std::string& label = labels[idx];
    int64_t id = static_cast<int64_t>(idx);
    if (label.rfind("B-", 0) == 0) {
      std::string replaced;
      for (size_t i = 0; i < label.size();) {
        if (label.compare(i, 2, "B-") == 0) {
          replaced += "I-";
          i += 2;
        } else {
          replaced += label[i++];
        }
      }
      const auto it = std::find(labels.begin(), labels.end(), replaced);
      if (it != labels.end()) id = static_cast<int64_t>(it - labels.begin());
    }
    out.push_back(id);
  }
  return out;
}

}  // namespace textune::data
