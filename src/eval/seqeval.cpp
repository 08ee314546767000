// Entity-level metrics exactly as seqeval computes them; see seqeval.h for the definitions.
//
// Written from reading chakki-works/seqeval (seqeval/metrics/sequence_labeling.py: get_entities,
// start_of_chunk, end_of_chunk, classification_report; seqeval/metrics/v1.py:
// _precision_recall_fscore_support, _prf_divide; seqeval/scheme.py: Token, Tokens and the six
// schemes' patterns; seqeval/reporters.py) and numpy 1.24's float64 reductions (np.average, np.mean:
// pairwise summation), so that every number equals seqeval's to the last bit on the goldens in
// tests/eval/data/seqeval_*.
#include "textune/eval/seqeval.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/utf8.h"

namespace textune::eval {

namespace {

/// Byte length of the UTF-8 character at the start of `s` (1 for an invalid or empty lead, so that
/// a malformed tag is still split somewhere; read_conlleval_file rejects invalid UTF-8 itself).
size_t first_char_len(const std::string& s) {
  if (s.empty()) return 0;
  const auto c = static_cast<unsigned char>(s[0]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  return std::min(n, s.size());
}

/// Number of Unicode code points of valid UTF-8 `s` (Python's len()).
size_t code_points(const std::string& s) { return core::utf8_length(s); }

/// Offset of the first invalid UTF-8 byte of `s`, or npos.
size_t find_invalid_utf8(const std::string& s) { return core::utf8_first_invalid(s); }

// ---------------------------------------------------------------------------------------------
// Default mode: sequence_labeling.get_entities over all sentences joined by "O" (seqeval flattens
// a list of sentences with an "O" after each, then appends one more "O"), positions global.

/// seqeval's split of a prefix-style tag: tag = chunk[0], type = chunk[1:].split('-', 1)[-1] or '_'.
struct ChunkTag {
  std::string tag, type;
};

ChunkTag chunk_tag(const std::string& chunk) {
  const size_t n = first_char_len(chunk);
  ChunkTag t;
  t.tag = chunk.substr(0, n);
  std::string rest = chunk.substr(n);
  const size_t dash = rest.find('-');
  t.type = dash == std::string::npos ? rest : rest.substr(dash + 1);
  if (t.type.empty()) t.type = "_";
  return t;
}

bool end_of_chunk(const std::string& prev_tag, const std::string& tag, const std::string& prev_type,
                  const std::string& type) {
  bool end = false;
  if (prev_tag == "E" || prev_tag == "S") end = true;
  if ((prev_tag == "B" || prev_tag == "I") && (tag == "B" || tag == "S" || tag == "O")) end = true;
  if (prev_tag != "O" && prev_tag != "." && prev_type != type) end = true;
  return end;
}

bool start_of_chunk(const std::string& prev_tag, const std::string& tag, const std::string& prev_type,
                    const std::string& type) {
  bool start = false;
  if (tag == "B" || tag == "S") start = true;
  if ((prev_tag == "E" || prev_tag == "S" || prev_tag == "O") && (tag == "E" || tag == "I")) start = true;
  if (tag != "O" && tag != "." && prev_type != type) start = true;
  return start;
}

/// get_entities over `seq` followed by one "O": (type, first, last) with `last` inclusive, in the
/// order seqeval appends them. `what` names the sequence for the error of an empty tag.
std::vector<std::tuple<std::string, size_t, size_t>> chunks_of(const std::vector<const std::string*>& seq,
                                                               const std::function<std::string(size_t)>& where) {
  static const std::string kO = "O";
  std::vector<std::tuple<std::string, size_t, size_t>> chunks;
  std::string prev_tag = "O", prev_type;
  size_t begin = 0;
  for (size_t i = 0; i <= seq.size(); ++i) {
    const std::string& chunk = i < seq.size() ? *seq[i] : kO;
    if (chunk.empty())
      throw DataError(fmt::format("seqeval: an empty tag {} (expected a tag such as O or B-PER)", where(i)));
    ChunkTag t = chunk_tag(chunk);
    if (end_of_chunk(prev_tag, t.tag, prev_type, t.type)) chunks.emplace_back(prev_type, begin, i - 1);
    if (start_of_chunk(prev_tag, t.tag, prev_type, t.type)) begin = i;
    prev_tag = std::move(t.tag);
    prev_type = std::move(t.type);
  }
  return chunks;
}

// ---------------------------------------------------------------------------------------------
// Strict mode: seqeval.scheme's Token/Tokens with the six schemes' prefix patterns.

enum Prefix : unsigned { kI = 1, kO = 2, kB = 4, kE = 8, kS = 16, kU = 32, kL = 64, kAny = 127 };
enum TagCond { kSame, kDiff, kAnyTag };
struct Pattern {
  unsigned prev, cur;
  TagCond cond;
};
struct SchemeDef {
  unsigned allowed;
  std::vector<Pattern> start, inside, end;
};

const SchemeDef& scheme_def(data::TagScheme s) {
  // The patterns of seqeval/scheme.py, class by class.
  static const SchemeDef iob1{
      kI | kO | kB,
      {{kO, kI, kAnyTag}, {kI, kI, kDiff}, {kB, kI, kAnyTag}, {kI, kB, kSame}, {kB, kB, kSame}},
      {{kB, kI, kSame}, {kI, kI, kSame}},
      {{kI, kI, kDiff}, {kI, kO, kAnyTag}, {kI, kB, kAnyTag}, {kB, kO, kAnyTag}, {kB, kI, kDiff}, {kB, kB, kSame}}};
  static const SchemeDef ioe1{kI | kO | kE,
                              {{kO, kI, kAnyTag}, {kI, kI, kDiff}, {kE, kI, kAnyTag}, {kE, kE, kSame}},
                              {{kI, kI, kSame}, {kI, kE, kSame}},
                              {{kI, kI, kDiff}, {kI, kO, kAnyTag}, {kI, kE, kDiff}, {kE, kI, kSame}, {kE, kE, kSame}}};
  static const SchemeDef iob2{
      kI | kO | kB,
      {{kAny, kB, kAnyTag}},
      {{kB, kI, kSame}, {kI, kI, kSame}},
      {{kI, kO, kAnyTag}, {kI, kI, kDiff}, {kI, kB, kAnyTag}, {kB, kO, kAnyTag}, {kB, kI, kDiff}, {kB, kB, kAnyTag}}};
  static const SchemeDef ioe2{
      kI | kO | kE,
      {{kO, kI, kAnyTag}, {kO, kE, kAnyTag}, {kE, kI, kAnyTag}, {kE, kE, kAnyTag}, {kI, kI, kDiff}, {kI, kE, kDiff}},
      {{kI, kE, kSame}, {kI, kI, kSame}},
      {{kE, kAny, kAnyTag}}};
  static const SchemeDef iobes{kI | kO | kB | kE | kS,
                               {{kAny, kB, kAnyTag}, {kAny, kS, kAnyTag}},
                               {{kB, kI, kSame}, {kB, kE, kSame}, {kI, kI, kSame}, {kI, kE, kSame}},
                               {{kS, kAny, kAnyTag}, {kE, kAny, kAnyTag}}};
  static const SchemeDef bilou{kB | kI | kL | kO | kU,
                               {{kAny, kB, kAnyTag}, {kAny, kU, kAnyTag}},
                               {{kB, kI, kSame}, {kB, kL, kSame}, {kI, kI, kSame}, {kI, kL, kSame}},
                               {{kU, kAny, kAnyTag}, {kL, kAny, kAnyTag}}};
  switch (s) {
    case data::TagScheme::kIOB1:
      return iob1;
    case data::TagScheme::kIOB2:
      return iob2;
    case data::TagScheme::kIOE1:
      return ioe1;
    case data::TagScheme::kIOE2:
      return ioe2;
    case data::TagScheme::kIOBES:
      return iobes;
    case data::TagScheme::kBILOU:
      return bilou;
  }
  return iob2;
}

const char* scheme_label(data::TagScheme s) {
  switch (s) {
    case data::TagScheme::kIOB1:
      return "IOB1";
    case data::TagScheme::kIOB2:
      return "IOB2";
    case data::TagScheme::kIOE1:
      return "IOE1";
    case data::TagScheme::kIOE2:
      return "IOE2";
    case data::TagScheme::kIOBES:
      return "IOBES";
    case data::TagScheme::kBILOU:
      return "BILOU";
  }
  return "?";
}

std::string allowed_text(unsigned allowed) {
  std::string s;
  for (auto [bit, name] : std::vector<std::pair<unsigned, const char*>>{
           {kB, "B-"}, {kI, "I-"}, {kE, "E-"}, {kS, "S-"}, {kL, "L-"}, {kU, "U-"}, {kO, "O"}})
    if (allowed & bit) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

/// seqeval.scheme.Token: prefix = token[0], tag = token[1:].strip('-') or '_'.
struct StrictToken {
  unsigned prefix = kO;
  std::string tag = "_";
};

StrictToken strict_token(const std::string& token, const SchemeDef& def, data::TagScheme scheme,
                         const std::function<std::string()>& where) {
  const size_t n = first_char_len(token);
  const std::string p = token.substr(0, n);
  StrictToken t;
  static const std::vector<std::pair<std::string, unsigned>> kPrefixes = {{"I", kI}, {"O", kO}, {"B", kB}, {"E", kE},
                                                                          {"S", kS}, {"U", kU}, {"L", kL}};
  t.prefix = 0;
  for (const auto& [name, bit] : kPrefixes)
    if (p == name) t.prefix = bit;
  if (t.prefix == 0 || !(t.prefix & def.allowed))
    throw DataError(
        fmt::format("seqeval: the tag \"{}\" {} is not a tag of the {} scheme (expected {} followed by a type)", token,
                    where(), scheme_label(scheme), allowed_text(def.allowed)));
  std::string rest = token.substr(n);
  const size_t a = rest.find_first_not_of('-');
  if (a == std::string::npos) {
    rest.clear();
  } else {
    rest = rest.substr(a, rest.find_last_not_of('-') - a + 1);
  }
  if (!rest.empty()) t.tag = rest;
  return t;
}

bool matches(const std::vector<Pattern>& patterns, const StrictToken& prev, const StrictToken& cur) {
  for (const auto& p : patterns) {
    if (!(prev.prefix & p.prev) || !(cur.prefix & p.cur)) continue;
    if (p.cond == kAnyTag || (p.cond == kSame && prev.tag == cur.tag) || (p.cond == kDiff && prev.tag != cur.tag))
      return true;
  }
  return false;
}

/// Tokens(...).entities for one sentence: (type, start, end exclusive).
std::vector<Entity> strict_entities(const std::vector<std::string>& tags, data::TagScheme scheme,
                                    const std::function<std::string(size_t)>& where) {
  const SchemeDef& def = scheme_def(scheme);
  std::vector<StrictToken> ext;
  ext.reserve(tags.size() + 1);
  for (size_t i = 0; i < tags.size(); ++i) ext.push_back(strict_token(tags[i], def, scheme, [&] { return where(i); }));
  const StrictToken outside;  // "O"
  ext.push_back(outside);
  std::vector<Entity> out;
  size_t i = 0;
  const StrictToken* prev = &outside;
  while (i < ext.size()) {
    const StrictToken& token = ext[i];
    if (matches(def.start, *prev, token)) {
      // _forward: the first token after i that does not continue the chunk
      size_t end = ext.size() - 1;  // never kept: the final "O" continues no chunk
      const StrictToken* p = &token;
      for (size_t j = i + 1; j < ext.size(); ++j) {
        if (matches(def.inside, *p, ext[j])) {
          p = &ext[j];
        } else {
          end = j;
          break;
        }
      }
      if (matches(def.end, ext[end - 1], ext[end])) out.push_back({token.tag, i, end});
      i = end;
    } else {
      ++i;
    }
    prev = &ext[i - 1];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// numpy's float64 sums (np.add.reduce on a contiguous array: the identity 0 plus a pairwise sum
// with 8 accumulators in blocks of up to 128), so that macro and weighted averages are bit-equal.

double pairwise_sum(const double* a, size_t n) {
  if (n < 8) {
    double res = 0.;
    for (size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int k = 0; k < 8; ++k) r[k] = a[k];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int k = 0; k < 8; ++k) r[k] += a[i + k];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

double np_sum(const std::vector<double>& a) {
  return 0.0 + pairwise_sum(a.data(), a.size());
}

/// np.mean (NaN for no element, as numpy gives with a warning).
double np_mean(const std::vector<double>& a) {
  return a.empty() ? std::numeric_limits<double>::quiet_NaN() : np_sum(a) / static_cast<double>(a.size());
}

/// np.average(a, weights=w) with w summing to more than 0.
double np_weighted(const std::vector<double>& a, const std::vector<int64_t>& w) {
  std::vector<double> prod(a.size()), wd(w.size());
  for (size_t i = 0; i < a.size(); ++i) {
    prod[i] = a[i] * static_cast<double>(w[i]);
    wd[i] = static_cast<double>(w[i]);
  }
  return np_sum(prod) / np_sum(wd);
}

/// _prf_divide + the F-score of v1._precision_recall_fscore_support for count arrays.
void prf(const std::vector<int64_t>& tp, const std::vector<int64_t>& pred, const std::vector<int64_t>& truth,
         double zero_division, std::vector<double>& p, std::vector<double>& r, std::vector<double>& f) {
  // _prf_divide: 0.0 when zero_division is "warn" or 0, else 1.0
  const double zdv = zero_division == 0.0 ? 0.0 : 1.0;
  const size_t n = tp.size();
  p.assign(n, 0), r.assign(n, 0), f.assign(n, 0);
  for (size_t k = 0; k < n; ++k) {
    p[k] = pred[k] == 0 ? zdv : static_cast<double>(tp[k]) / static_cast<double>(pred[k]);
    r[k] = truth[k] == 0 ? zdv : static_cast<double>(tp[k]) / static_cast<double>(truth[k]);
    double denom = p[k] + r[k];  // beta2 * precision + recall, beta = 1
    if (denom == 0.) denom = 1;
    f[k] = 2 * p[k] * r[k] / denom;  // (1 + beta2) * precision * recall / denom
  }
}

using SpanKey = std::tuple<size_t, size_t, size_t>;  // (sentence in strict mode else 0, start, end)

std::string side_where(const char* side, size_t sentence, size_t tag) {
  return fmt::format("at tag {} of {} sentence {}", tag + 1, side, sentence + 1);
}

/// The entities of all sentences of one side, as (type, key) with seqeval's positions.
std::vector<std::pair<std::string, SpanKey>> side_entities(const std::vector<std::vector<std::string>>& seqs,
                                                           const SeqevalOptions& o, const char* side) {
  std::vector<std::pair<std::string, SpanKey>> out;
  if (o.strict) {
    for (size_t s = 0; s < seqs.size(); ++s)
      for (auto& e : strict_entities(seqs[s], o.scheme, [&](size_t i) { return side_where(side, s, i); }))
        out.emplace_back(std::move(e.type), SpanKey{s, e.start, e.end});
    return out;
  }
  std::vector<const std::string*> flat;
  std::vector<std::pair<size_t, size_t>> origin;  // (sentence, tag) of each flat position; separators too
  static const std::string kO = "O";
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (size_t i = 0; i < seqs[s].size(); ++i) {
      flat.push_back(&seqs[s][i]);
      origin.emplace_back(s, i);
    }
    flat.push_back(&kO);
    origin.emplace_back(s, seqs[s].size());
  }
  auto where = [&](size_t i) { return side_where(side, origin[i].first, origin[i].second); };
  for (auto& [type, first, last] : chunks_of(flat, where)) out.emplace_back(std::move(type), SpanKey{0, first, last});
  return out;
}

}  // namespace

std::vector<Entity> get_entities(const std::vector<std::string>& tags) {
  std::vector<const std::string*> seq;
  for (const auto& t : tags) seq.push_back(&t);
  std::vector<Entity> out;
  for (auto& [type, first, last] : chunks_of(seq, [](size_t i) { return fmt::format("at position {}", i + 1); }))
    out.push_back({std::move(type), first, last + 1});
  std::stable_sort(out.begin(), out.end(), [](const Entity& a, const Entity& b) { return a.start < b.start; });
  return out;
}

std::vector<Entity> get_entities_strict(const std::vector<std::string>& tags, data::TagScheme scheme) {
  return strict_entities(tags, scheme, [](size_t i) { return fmt::format("at position {}", i + 1); });
}

SeqevalResult seqeval(const std::vector<std::vector<std::string>>& y_true,
                      const std::vector<std::vector<std::string>>& y_pred, const SeqevalOptions& options) {
  // check_consistent_length
  if (y_true.size() != y_pred.size())
    throw DataError(fmt::format("seqeval: {} gold sentences but {} predicted sentences", y_true.size(), y_pred.size()));
  size_t total = 0, correct = 0;
  for (size_t s = 0; s < y_true.size(); ++s) {
    if (y_true[s].size() != y_pred[s].size())
      throw DataError(fmt::format("seqeval: sentence {} has {} gold tags but {} predicted tags", s + 1,
                                  y_true[s].size(), y_pred[s].size()));
    total += y_true[s].size();
    for (size_t i = 0; i < y_true[s].size(); ++i) correct += y_true[s][i] == y_pred[s][i];
  }
  if (total == 0) throw DataError("seqeval: no tags to score (every sentence is empty)");

  const auto gold = side_entities(y_true, options, "gold");
  const auto pred = side_entities(y_pred, options, "predicted");

  // per type: the sets of spans, as seqeval's dicts of sets
  std::map<std::string, std::set<SpanKey>> gold_by_type, pred_by_type;
  for (const auto& [type, key] : gold) gold_by_type[type].insert(key);
  for (const auto& [type, key] : pred) pred_by_type[type].insert(key);

  SeqevalResult r;
  std::set<std::string> names;
  for (const auto& [t, _] : gold_by_type) names.insert(t);
  for (const auto& [t, _] : pred_by_type) names.insert(t);
  r.types.assign(names.begin(), names.end());  // std::string's < is bytewise: Python's order on code points

  const size_t n = r.types.size();
  std::vector<int64_t> tp(n), pred_sum(n), true_sum(n);
  static const std::set<SpanKey> kNone;
  for (size_t k = 0; k < n; ++k) {
    auto g = gold_by_type.find(r.types[k]);
    auto p = pred_by_type.find(r.types[k]);
    const auto& gs = g == gold_by_type.end() ? kNone : g->second;
    const auto& ps = p == pred_by_type.end() ? kNone : p->second;
    int64_t both = 0;
    for (const auto& key : gs) both += ps.count(key);
    tp[k] = both;
    pred_sum[k] = static_cast<int64_t>(ps.size());
    true_sum[k] = static_cast<int64_t>(gs.size());
  }

  std::vector<double> p, rc, f;
  prf(tp, pred_sum, true_sum, options.zero_division, p, rc, f);
  r.per_type.resize(n);
  int64_t support = 0, predicted = 0, hits = 0;
  for (size_t k = 0; k < n; ++k) {
    r.per_type[k] = {p[k], rc[k], f[k], true_sum[k]};
    support += true_sum[k];
    predicted += pred_sum[k];
    hits += tp[k];
  }
  r.num_predicted = predicted;

  // micro: the summed counts
  {
    std::vector<double> mp, mr, mf;
    prf({hits}, {predicted}, {support}, options.zero_division, mp, mr, mf);
    r.micro = {mp[0], mr[0], mf[0], support};
  }
  // macro: the unweighted mean (NaN without any type, as np.average of an empty array)
  r.macro = {np_mean(p), np_mean(rc), np_mean(f), support};
  // weighted: by support; when no gold entity at all, seqeval's early return
  if (support == 0) {
    const double zdv = options.zero_division == 0.0 ? 0.0 : 1.0;
    r.weighted = {predicted == 0 ? zdv : 0.0, zdv, predicted == 0 ? zdv : 0.0, 0};
  } else {
    r.weighted = {np_weighted(p, true_sum), np_weighted(rc, true_sum), np_weighted(f, true_sum), support};
  }
  r.accuracy = static_cast<double>(correct) / static_cast<double>(total);

  // the entity confusion matrix ("O" last)
  std::map<std::string, size_t> index;
  for (size_t k = 0; k < n; ++k) index[r.types[k]] = k;
  r.entity_confusion.assign(n + 1, std::vector<int64_t>(n + 1, 0));
  // over the sets of spans, so that a row sums to the type's support and the diagonal is its tp
  std::map<SpanKey, std::vector<size_t>> pred_at;
  std::set<SpanKey> gold_spans;
  for (const auto& [type, keys] : pred_by_type)
    for (const auto& key : keys) pred_at[key].push_back(index.at(type));
  for (const auto& [type, keys] : gold_by_type) gold_spans.insert(keys.begin(), keys.end());
  for (const auto& [type, keys] : gold_by_type) {
    const size_t g = index.at(type);
    for (const auto& key : keys) {
      auto it = pred_at.find(key);
      size_t col = n;
      if (it != pred_at.end()) {
        col = it->second.front();
        if (std::find(it->second.begin(), it->second.end(), g) != it->second.end()) col = g;
      }
      ++r.entity_confusion[g][col];
    }
  }
  for (const auto& [type, keys] : pred_by_type)
    for (const auto& key : keys)
      if (!gold_spans.count(key)) ++r.entity_confusion[n][index.at(type)];
  return r;
}

namespace {
core::Json number_or_null(double v) {
  return std::isfinite(v) ? core::Json(v) : core::Json();
}

core::Json scores_json(const TypeScores& s) {
  core::Json j = core::Json::object();
  j["precision"] = number_or_null(s.precision);
  j["recall"] = number_or_null(s.recall);
  j["f1"] = number_or_null(s.f1);
  j["number"] = s.support;
  return j;
}
}  // namespace

core::Json seqeval_json(const SeqevalResult& result) {
  core::Json j = core::Json::object();
  for (size_t k = 0; k < result.types.size(); ++k) j[result.types[k]] = scores_json(result.per_type[k]);
  j["overall_precision"] = number_or_null(result.micro.precision);
  j["overall_recall"] = number_or_null(result.micro.recall);
  j["overall_f1"] = number_or_null(result.micro.f1);
  j["overall_accuracy"] = number_or_null(result.accuracy);
  j["macro_avg"] = scores_json(result.macro);
  j["weighted_avg"] = scores_json(result.weighted);
  return j;
}

std::string seqeval_report_text(const SeqevalResult& result, int digits) {
  // seqeval's StringReporter: '{:>{width}s} ' + ' {:>9.{digits}f}' * 3 + ' {:>9}', Python padding
  // counting code points.
  size_t name_width = 0;
  for (const auto& t : result.types) name_width = std::max(name_width, code_points(t));
  const size_t width =
      std::max({name_width, std::string("weighted avg").size(), static_cast<size_t>(std::max(digits, 0))});
  auto pad = [&](const std::string& s) { return std::string(width - std::min(width, code_points(s)), ' ') + s; };
  auto row = [&](const std::string& name, const TypeScores& s) {
    return fmt::format("{}  {:>9.{}f} {:>9.{}f} {:>9.{}f} {:>9}", pad(name), s.precision, digits, s.recall, digits,
                       s.f1, digits, s.support);
  };
  std::string out = std::string(width, ' ') + " " +
                    fmt::format(" {:>9} {:>9} {:>9} {:>9}", "precision", "recall", "f1-score", "support");
  out += "\n\n";
  for (size_t k = 0; k < result.types.size(); ++k) out += row(result.types[k], result.per_type[k]) + "\n";
  out += "\n";
  out += row("micro avg", result.micro) + "\n";
  out += row("macro avg", result.macro) + "\n";
  out += row("weighted avg", result.weighted) + "\n";
  return out;
}

std::pair<std::vector<std::vector<std::string>>, std::vector<std::vector<std::string>>> read_conlleval_file(
    const std::string& path, std::vector<std::vector<size_t>>* lines) {
  const std::string text = core::read_file(path);
  std::vector<std::vector<std::string>> gold, pred;
  std::vector<std::string> g, p;
  std::vector<size_t> l;
  if (lines) lines->clear();
  size_t columns = 0, columns_line = 0, line_no = 0, tagged = 0;
  // a two-column file is `gold predicted`; a word in the gold column while every predicted value
  // looks like a tag means a `token tag` file (no predictions): refused, naming that line
  size_t word_line = 0;
  std::string word;
  bool predicted_tags = true;
  auto taglike = [](const std::string& t) { return t == "O" || t.find('-') != std::string::npos; };
  auto flush = [&] {
    if (!g.empty()) {
      gold.push_back(std::move(g));
      pred.push_back(std::move(p));
      if (lines) lines->push_back(std::move(l));
      g.clear(), p.clear(), l.clear();
    }
  };
  size_t pos = 0;
  while (pos < text.size()) {
    // Lines end at LF, CRLF or a lone CR (Python's universal newlines), as data::read_ner reads CoNLL.
    size_t nl = text.find_first_of("\r\n", pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + (nl + 1 < text.size() && text[nl] == '\r' && text[nl + 1] == '\n' ? 2 : 1);
    ++line_no;
    const size_t bad = find_invalid_utf8(line);
    if (bad != std::string::npos)
      throw DataError(fmt::format("{}:{}: invalid UTF-8 at byte {} of the line", path, line_no, bad + 1));
    std::vector<std::string> fields;
    size_t i = 0;
    while (i < line.size()) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i >= line.size()) break;
      size_t j = i;
      while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
      fields.push_back(line.substr(i, j - i));
      i = j;
    }
    if (fields.empty()) {
      flush();
      continue;
    }
    if (fields[0] == "-DOCSTART-") {
      flush();
      continue;
    }
    if (columns == 0) {
      if (fields.size() < 2)
        throw DataError(
            fmt::format("{}:{}: 1 column; expected `token gold predicted` (the gold and the predicted "
                        "tag the last two columns, as conlleval reads them)",
                        path, line_no));
      columns = fields.size();
      columns_line = line_no;
    } else if (fields.size() != columns) {
      throw DataError(
          fmt::format("{}:{}: {} columns, expected {} as on line {} (`token gold predicted`, the gold "
                      "and the predicted tag the last two columns)",
                      path, line_no, fields.size(), columns, columns_line));
    }
    g.push_back(fields[fields.size() - 2]);
    p.push_back(fields[fields.size() - 1]);
    l.push_back(line_no);
    ++tagged;
    if (columns == 2) {
      predicted_tags = predicted_tags && taglike(p.back());
      if (!word_line && !taglike(g.back())) word_line = line_no, word = g.back();
    }
  }
  flush();
  if (columns == 2 && word_line && predicted_tags)
    throw DataError(
        fmt::format("{}:{}: 2 columns, and \"{}\" in the gold column is no tag: expected `token gold predicted` "
                    "(the gold and the predicted tag the last two columns); is this a `token tag` file without "
                    "predictions?",
                    path, word_line, word));
  if (tagged == 0)
    throw DataError(
        fmt::format("{}: no tagged line (expected `token gold predicted` per line, a blank line between "
                    "sentences)",
                    path));
  return {std::move(gold), std::move(pred)};
}

}  // namespace textune::eval
