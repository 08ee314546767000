// SQuAD v1.1 and v2.0 metrics as the official scripts compute them (huggingface/evaluate
// metrics/squad/compute_score.py and metrics/squad_v2/compute_score.py), the Python string semantics
// they rely on (squad_text.h), and the prediction / no-answer probability files.
//
// Floating point: the sums are plain double additions in the scripts' order (CPython 3.11's sum() and
// `+=`; CPython 3.12's sum() adds a Neumaier compensation, which moves the last bits only), and every
// ratio is written in the scripts' operation order, so the results equal the goldens made with Python
// 3.11 to the last bit in practice (the tests allow 1e-12).
#include "textune/eval/squad.h"

#include <algorithm>
#include <unordered_map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <utf8proc.h>

#include "eval/squad_text.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/utf8.h"

namespace textune::eval {

// ---- Python string semantics ----------------------------------------------------------------------

namespace pytext {

bool is_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

namespace {
int category(char32_t c) {
  return c > 0x10FFFF ? UTF8PROC_CATEGORY_CN : utf8proc_category(static_cast<utf8proc_int32_t>(c));
}
}  // namespace

bool is_word(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  const int k = category(c);
  return (k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO) ||
         (k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO);
}

bool is_decimal(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return category(c) == UTF8PROC_CATEGORY_ND;
}

bool word_boundary(std::u32string_view t, size_t i) {
  const bool before = i > 0 && i <= t.size() && is_word(t[i - 1]);
  const bool after = i < t.size() && is_word(t[i]);
  return before != after;
}

namespace {
// Unicode "Cased": Lu, Ll, Lt, or a letter with a case mapping (Other_Lowercase/Other_Uppercase are
// close to the latter).
bool is_cased(char32_t c) {
  const int k = category(c);
  if (k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT) return true;
  const auto i = static_cast<utf8proc_int32_t>(c);
  return utf8proc_tolower(i) != i || utf8proc_toupper(i) != i;
}
// Unicode "Case_Ignorable": Mn, Me, Cf, Lm, Sk and the Word_Break MidLetter/MidNumLet/Single_Quote marks.
bool is_case_ignorable(char32_t c) {
  switch (c) {
    case '\'':
    case '.':
    case ':':
    case 0xB7:
    case 0x387:
    case 0x55F:
    case 0x5F4:
    case 0x2018:
    case 0x2019:
    case 0x2024:
    case 0x2027:
    case 0xFE13:
    case 0xFE52:
    case 0xFE55:
    case 0xFF07:
    case 0xFF0E:
    case 0xFF1A:
      return true;
    default:
      break;
  }
  const int k = category(c);
  return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
         k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK;
}
// CPython's handle_capital_sigma: U+03A3 lowers to final sigma after a cased letter (case-ignorable
// characters skipped) when no cased letter follows.
char32_t lower_sigma(std::u32string_view s, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) --j;
  bool final_sigma = j > 0 && is_cased(s[j - 1]);
  if (final_sigma) {
    size_t k = i + 1;
    while (k < s.size() && is_case_ignorable(s[k])) ++k;
    final_sigma = k == s.size() || !is_cased(s[k]);
  }
  return final_sigma ? 0x3C2 : 0x3C3;
}
}  // namespace

std::u32string lower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c < 0x80) {
      out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    } else if (c == 0x130) {  // SpecialCasing.txt: LATIN CAPITAL LETTER I WITH DOT ABOVE -> i + U+0307
      out.push_back('i');
      out.push_back(0x307);
    } else if (c == 0x3A3) {
      out.push_back(lower_sigma(s, i));
    } else if (c <= 0x10FFFF) {
      out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::u32string strip(std::u32string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && is_space(s[a])) ++a;
  while (b > a && is_space(s[b - 1])) --b;
  return std::u32string(s.substr(a, b - a));
}

std::vector<std::u32string> split(std::u32string_view s) {
  std::vector<std::u32string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !is_space(s[i])) ++i;
    if (i > start) out.emplace_back(s.substr(start, i - start));
  }
  return out;
}

}  // namespace pytext

// ---- SQuAD ----------------------------------------------------------------------------------------

namespace {

bool is_ascii_punctuation(char32_t c) {  // Python's string.punctuation
  return c < 0x80 &&
         ((c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E));
}

/// normalize_answer on code points.
std::u32string normalize(const std::string& s) {
  // lower, then remove_punc
  std::u32string t;
  for (char32_t c : pytext::lower(core::utf8_decode(s)))
    if (!is_ascii_punctuation(c)) t.push_back(c);
  // remove_articles: re.sub(r"\b(a|an|the)\b", " ", text)
  std::u32string r;
  r.reserve(t.size());
  size_t i = 0;
  while (i < t.size()) {
    size_t len = 0;
    if ((t[i] == 'a' || t[i] == 't') && pytext::word_boundary(t, i)) {
      if (t[i] == 'a') {
        if (pytext::word_boundary(t, i + 1))
          len = 1;
        else if (i + 1 < t.size() && t[i + 1] == 'n' && pytext::word_boundary(t, i + 2))
          len = 2;
      } else if (i + 2 < t.size() && t[i + 1] == 'h' && t[i + 2] == 'e' && pytext::word_boundary(t, i + 3)) {
        len = 3;
      }
    }
    if (len) {
      r.push_back(' ');
      i += len;
    } else {
      r.push_back(t[i++]);
    }
  }
  // white_space_fix
  std::u32string out;
  for (const auto& w : pytext::split(r)) {
    if (!out.empty()) out.push_back(' ');
    out += w;
  }
  return out;
}

std::vector<std::u32string> tokens(const std::string& s) {
  return pytext::split(normalize(s));
}

/// f1 of two token lists as the scripts compute it (v2: the empty-side rule).
double token_f1(const std::vector<std::u32string>& pred, const std::vector<std::u32string>& gold, bool v2) {
  if (v2 && (pred.empty() || gold.empty())) return pred == gold ? 1.0 : 0.0;
  std::unordered_map<std::u32string, long> counts;
  for (const auto& t : gold) ++counts[t];
  long num_same = 0;
  for (const auto& t : pred) {
    auto it = counts.find(t);
    if (it != counts.end() && it->second > 0) {
      --it->second;
      ++num_same;
    }
  }
  if (num_same == 0) return 0.0;
  const double precision = 1.0 * static_cast<double>(num_same) / static_cast<double>(pred.size());
  const double recall = 1.0 * static_cast<double>(num_same) / static_cast<double>(gold.size());
  return (2 * precision * recall) / (precision + recall);
}

}  // namespace

std::string squad_normalize_answer(const std::string& s) {
  return core::utf8_encode(normalize(s));
}

double squad_exact(const std::string& prediction, const std::string& ground_truth) {
  return normalize(prediction) == normalize(ground_truth) ? 1.0 : 0.0;
}

double squad_f1(const std::string& prediction, const std::string& ground_truth, bool v2) {
  return token_f1(tokens(prediction), tokens(ground_truth), v2);
}

core::Json squad_v1(const std::vector<QaGold>& gold, const std::map<std::string, std::string>& predictions) {
  if (gold.empty()) throw DataError("squad: no questions to score (the references are empty)");
  long exact_match = 0;
  double f1 = 0;
  size_t missing = 0;
  std::string first_missing;
  for (const auto& q : gold) {
    auto it = predictions.find(q.id);
    if (it == predictions.end()) {
      if (missing++ == 0) first_missing = q.id;
      continue;
    }
    const auto pred_norm = normalize(it->second);
    const auto pred_tokens = pytext::split(pred_norm);
    // metric_max_over_ground_truths: max([]) raises in the script; no gold answer scores 0 here
    bool em = false;
    double best = 0;
    bool first = true;
    for (const auto& g : q.answers) {
      const auto g_norm = normalize(g);
      em = em || g_norm == pred_norm;
      const double s = token_f1(pred_tokens, pytext::split(g_norm), false);
      if (first || s > best) best = s;
      first = false;
    }
    exact_match += em ? 1 : 0;
    f1 += best;
  }
  if (missing)
    spdlog::warn(
        "squad: {} of {} questions have no prediction and score 0 (\"Unanswered question {} will receive "
        "score 0.\")",
        missing, gold.size(), first_missing);
  const double total = static_cast<double>(gold.size());
  core::Json out = core::Json::object();
  out["exact_match"] = 100.0 * static_cast<double>(exact_match) / total;
  out["f1"] = 100.0 * f1 / total;
  return out;
}

core::Json squad_v2(const std::vector<QaGold>& gold, const std::map<std::string, std::string>& predictions,
                    const std::map<std::string, double>* na_probs, double na_prob_thresh) {
  if (!na_probs) return squad_v2(gold, predictions, NaProbs{}, na_prob_thresh, false);
  // the map has no file order: questions of `gold` first, in its order, then the other ids
  NaProbs ordered;
  ordered.reserve(na_probs->size());
  std::unordered_map<std::string, bool> placed;
  for (const auto& q : gold) {
    auto it = na_probs->find(q.id);
    if (it != na_probs->end() && placed.emplace(q.id, true).second) ordered.emplace_back(*it);
  }
  for (const auto& kv : *na_probs)
    if (!placed.count(kv.first)) ordered.emplace_back(kv);
  return squad_v2(gold, predictions, ordered, na_prob_thresh, true);
}

core::Json squad_v2(const std::vector<QaGold>& gold, const std::map<std::string, std::string>& predictions,
                    const NaProbs& na_probs, double na_prob_thresh, bool has_na_probs) {
  if (gold.empty()) throw DataError("squad_v2: no questions to score (the references are empty)");
  // qid_to_has_ans and the raw scores, keyed by id in first-occurrence order (Python dicts)
  std::unordered_map<std::string, size_t> index;
  std::vector<std::string> ids;
  std::vector<bool> has_ans;
  std::vector<double> exact_raw, f1_raw;
  std::vector<std::string> preds;
  size_t missing = 0;
  std::string first_missing;
  for (const auto& q : gold) {
    auto [it, inserted] = index.emplace(q.id, ids.size());
    if (inserted) {
      ids.push_back(q.id);
      has_ans.push_back(false);
      exact_raw.push_back(0);
      f1_raw.push_back(0);
      preds.emplace_back();
    }
    const size_t k = it->second;
    has_ans[k] = !q.answers.empty();
    std::vector<std::vector<std::u32string>> gold_tokens;
    std::vector<std::u32string> gold_norm;
    for (const auto& a : q.answers) {
      auto n = normalize(a);
      if (!n.empty()) {
        gold_tokens.push_back(pytext::split(n));
        gold_norm.push_back(std::move(n));
      }
    }
    if (gold_norm.empty()) {  // for unanswerable questions, only correct answer is empty string
      gold_norm.emplace_back();
      gold_tokens.emplace_back();
    }
    auto p = predictions.find(q.id);
    if (p == predictions.end()) {  // the script prints "Missing prediction for ..."; scored as ""
      if (missing++ == 0) first_missing = q.id;
    }
    const std::string& pred = p == predictions.end() ? preds[k] : p->second;  // preds[k] is ""
    preds[k] = pred;
    const auto pred_norm = normalize(pred);
    // get_tokens: "" gives no tokens
    const auto pred_tokens = pred.empty() ? std::vector<std::u32string>{} : pytext::split(pred_norm);
    double em = 0, f1 = 0;
    for (size_t g = 0; g < gold_norm.size(); ++g) {
      em = std::max(em, gold_norm[g] == pred_norm ? 1.0 : 0.0);
      const double s = token_f1(pred_tokens, gold_tokens[g], true);
      if (g == 0 || s > f1) f1 = s;
    }
    exact_raw[k] = em;
    f1_raw[k] = f1;
  }
  if (missing)
    spdlog::warn(
        "squad_v2: {} of {} questions have no prediction and are scored as the empty answer (\"Missing "
        "prediction for {}\")",
        missing, gold.size(), first_missing);
  // no-answer probabilities of the scored questions (a missing prediction without one: 0.0)
  std::vector<double> na(ids.size(), 0.0);
  if (has_na_probs) {
    std::vector<bool> seen(ids.size(), false);
    for (const auto& [id, prob] : na_probs) {
      auto it = index.find(id);
      if (it == index.end()) continue;
      na[it->second] = prob;
      seen[it->second] = true;
    }
    for (size_t k = 0; k < ids.size(); ++k)
      if (!seen[k] && predictions.count(ids[k]))
        throw DataError(fmt::format("squad_v2: the no-answer probabilities have no entry for question \"{}\"", ids[k]));
  }
  // apply_no_ans_threshold
  std::vector<double> exact_t(ids.size()), f1_t(ids.size());
  for (size_t k = 0; k < ids.size(); ++k) {
    const bool pred_na = na[k] > na_prob_thresh;
    exact_t[k] = pred_na ? (has_ans[k] ? 0.0 : 1.0) : exact_raw[k];
    f1_t[k] = pred_na ? (has_ans[k] ? 0.0 : 1.0) : f1_raw[k];
  }
  core::Json out = core::Json::object();
  auto eval_dict = [&](const std::string& prefix, bool group, bool want) {
    double e = 0, f = 0;
    long total = 0;
    for (size_t k = 0; k < ids.size(); ++k)
      if (!group || has_ans[k] == want) {
        e += exact_t[k];
        f += f1_t[k];
        ++total;
      }
    if (total == 0) return;
    out[prefix + "exact"] = 100.0 * e / static_cast<double>(total);
    out[prefix + "f1"] = 100.0 * f / static_cast<double>(total);
    out[prefix + "total"] = total;
  };
  eval_dict("", false, false);
  eval_dict("HasAns_", true, true);
  eval_dict("NoAns_", true, false);
  if (has_na_probs) {
    // find_best_thresh over na_probs sorted by probability (a stable sort: ties keep the file order)
    std::vector<std::pair<double, size_t>> order;  // (probability, question) of the scored ids
    order.reserve(na_probs.size());
    for (const auto& [id, prob] : na_probs) {
      auto it = index.find(id);
      order.emplace_back(prob, it == index.end() ? ids.size() : it->second);
    }
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    long num_no_ans = 0;
    for (bool h : has_ans) num_no_ans += h ? 0 : 1;
    auto best = [&](const std::vector<double>& scores) {
      double cur = static_cast<double>(num_no_ans), best_score = cur, best_thresh = 0.0;
      for (const auto& [prob, k] : order) {
        if (k == ids.size()) continue;  // not a scored question
        const double diff = has_ans[k] ? scores[k] : (preds[k].empty() ? 0.0 : -1.0);
        cur += diff;
        if (cur > best_score) {
          best_score = cur;
          best_thresh = prob;
        }
      }
      return std::make_pair(100.0 * best_score / static_cast<double>(ids.size()), best_thresh);
    };
    const auto be = best(exact_raw), bf = best(f1_raw);
    out["best_exact"] = be.first;
    out["best_exact_thresh"] = be.second;
    out["best_f1"] = bf.first;
    out["best_f1_thresh"] = bf.second;
  }
  return out;
}

// ---- files ----------------------------------------------------------------------------------------

namespace {

std::string describe(const core::Json& v) {
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

/// The records of a predictions / na_probs file: the whole file as JSON, or JSON lines when the file
/// is not one JSON value and its first line is an object.
core::Json read_json_or_lines(const std::string& path) {
  const std::string text = core::read_file(path);
  try {
    return core::parse_json(text, path);
  } catch (const DataError&) {
    // JSON lines?
    std::vector<std::string> lines;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      lines.push_back(text.substr(start, end - start));
      start = end + 1;
    }
    size_t first = 0;
    while (first < lines.size() && lines[first].find_first_not_of(" \t\r") == std::string::npos) ++first;
    bool first_is_object = false;
    if (first < lines.size() && lines.size() - first > 1) {
      try {
        first_is_object = core::parse_json(lines[first], path).is_object();
      } catch (const DataError&) {
      }
    }
    if (!first_is_object) throw;
    core::Json rows = core::Json::array();
    for (size_t i = first; i < lines.size(); ++i) {
      if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
      rows.push_back(core::parse_json(lines[i], fmt::format("{}:{}", path, i + 1)));
    }
    return rows;
  }
}

/// A list of records (or one record) each with "id" and `field`, as (id, value, where) triples.
template <typename F>
void for_each_record(const std::string& path, const core::Json& rows, const char* field, F&& f) {
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const std::string where = fmt::format("{}: record {}", path, i + 1);
    if (!r.is_object())
      throw DataError(fmt::format("{}: expected an object {{\"id\", \"{}\"}}, got {}", where, field, describe(r)));
    auto id = r.find("id");
    if (id == r.end() || !id->is_string())
      throw DataError(fmt::format("{}: \"id\": expected a string question id, got {}", where,
                                  id == r.end() ? "nothing" : describe(*id)));
    auto v = r.find(field);
    if (v == r.end())
      throw DataError(fmt::format("{} (question \"{}\"): no \"{}\"", where, id->get<std::string>(), field));
    f(id->get<std::string>(), *v, where);
  }
}

bool is_record(const core::Json& j, const char* field) {
  return j.is_object() && j.contains("id") && j["id"].is_string() && j.contains(field);
}

}  // namespace

std::map<std::string, std::string> read_qa_predictions(const std::string& path) {
  const core::Json j = read_json_or_lines(path);
  std::map<std::string, std::string> out;
  auto put = [&](const std::string& id, const core::Json& v, const std::string& where) {
    if (!v.is_string())
      throw DataError(fmt::format("{}: question \"{}\": expected a string answer, got {}", where, id, describe(v)));
    const std::string s = v.get<std::string>();
    if (!core::is_valid_utf8(s))
      throw DataError(fmt::format("{}: question \"{}\": the answer is not valid UTF-8", where, id));
    out[id] = s;
  };
  if (j.is_object() && !is_record(j, "prediction_text")) {
    for (auto it = j.begin(); it != j.end(); ++it) put(it.key(), it.value(), path);
  } else if (j.is_object() || j.is_array()) {
    const core::Json rows = j.is_array() ? j : core::Json::array({j});
    for_each_record(path, rows, "prediction_text", put);
  } else {
    throw DataError(
        fmt::format("{}: expected a JSON object {{id: answer text}} or a list of {{\"id\", "
                    "\"prediction_text\"}}, got {}",
                    path, describe(j)));
  }
  return out;
}

NaProbs read_na_probs_list(const std::string& path) {
  const core::Json j = read_json_or_lines(path);
  NaProbs out;
  std::unordered_map<std::string, size_t> seen;
  auto put = [&](const std::string& id, const core::Json& v, const std::string& where) {
    if (!v.is_number())
      throw DataError(fmt::format("{}: question \"{}\": expected a number (no-answer probability), got {}", where, id,
                                  describe(v)));
    auto [it, inserted] = seen.emplace(id, out.size());
    if (inserted)
      out.emplace_back(id, v.get<double>());
    else
      out[it->second].second = v.get<double>();  // Python's json: the last value, the first position
  };
  if (j.is_object() && !is_record(j, "no_answer_probability")) {
    for (auto it = j.begin(); it != j.end(); ++it) put(it.key(), it.value(), path);
  } else if (j.is_object() || j.is_array()) {
    const core::Json rows = j.is_array() ? j : core::Json::array({j});
    for_each_record(path, rows, "no_answer_probability", put);
  } else {
    throw DataError(fmt::format("{}: expected a JSON object {{id: no-answer probability}}, got {}", path, describe(j)));
  }
  return out;
}

std::map<std::string, double> read_na_probs(const std::string& path) {
  std::map<std::string, double> out;
  for (auto& [id, p] : read_na_probs_list(path)) out[id] = p;
  return out;
}

}  // namespace textune::eval
