// qa_baselines: the two classic peers of the question-answering benchmarks, and the seeded split by
// article that the benchmarks train and evaluate on. No model; plain C++ over data::read_qa.
//
//   qa_baselines split --data FILE.json --train-output A.json --eval-output B.json
//                      [--held-out 0.2] [--seed 42]
//   qa_baselines predict --data FILE [--train FILE] [--max-words N] [--metric squad|cmrc2018]
//                      [--sliding-window OUT.json] [--first-sentence OUT.json]
//   qa_baselines subset --data FILE.json --ids PREDICTIONS.json --output OUT.json
//
// split: a SQuAD-shaped file (XQuAD, CMRC 2018) cut by ARTICLE (the entries of "data"): the
//   articles are shuffled by Fisher-Yates with std::mt19937_64(seed) (j = rng() % (i + 1), i from
//   n-1 down to 1), the first round(n * held_out) (at least 1, at most n-1) of that order are held
//   out; both files keep the articles in file order and the file's "version". Counts to stderr.
//
// subset: the questions of a SQuAD file whose ids are keys of a predictions file {id: text} (the
//   questions a model was evaluated on: `textune eval --skip-invalid` leaves out CMRC 2018's questions
//   whose answer_start does not match), articles and paragraphs left without questions dropped, so
//   that the peers are scored on the same questions as the model.
//
// predict: every question of --data (a SQuAD file, or any layout data::read_qa reads; answers are
//   not read, so CMRC 2018's answers with answer_start -1 drop no question) answered by two peers, each written as a
//   predictions JSON {id: text} that `textune score --metric squad|cmrc2018` scores. The --train
//   file's gold answers are read as the official scripts read them (data::read_qa_references).
//
// Words. No tokenizer, no parser: a word is a maximal run of letters, digits and combining marks
//   (Unicode categories L*, N*, M*), and of "." or "," between two digits ("3.5", "587,000"), except
//   that a CJK ideograph (the ranges BERT's BasicTokenizer calls Chinese characters) is a word on its
//   own, so Chinese text is read character by character. Everything else (spaces, punctuation,
//   symbols) separates words. Words are compared lower-cased (utf8proc_tolower per code point). An
//   answer's text is the context from the start of its first word to the end of its last, so inner
//   punctuation stays ("Wi-Fi", "光荣和ω-force").
//
// Sentences. A sentence ends after ".", "!" or "?" followed by whitespace or the end of the context,
//   after "。", "！", "？" (anywhere), and at a line break; closing quotes and brackets right after
//   the mark stay in the sentence. No abbreviation list: "U.S. Army" is cut after "U.S.".
//
// Peer 1, first sentence: the context's first sentence, whitespace stripped at both ends.
//
// Peer 2, the sliding-window baseline of the SQuAD paper (Rajpurkar et al. 2016, "SQuAD: 100,000+
//   Questions for Machine Comprehension of Text", section 5.1), built on the sliding window of
//   MCTest (Richardson et al. 2013, "MCTest: A Challenge Dataset for the Open-Domain Machine
//   Comprehension of Text", Algorithm 1). The paper: "For each candidate answer, we compute the
//   unigram/bigram overlap between the sentence containing it (excluding the candidate itself) and
//   the question. We keep all the candidates that have the maximal overlap. Among these, we select
//   the best one using the sliding-window approach proposed in Richardson et al. (2013)."
//   What is implemented, step by step:
//   1. Candidates. The paper's candidates are the constituents of Stanford CoreNLP's parse (77.3% of
//      SQuAD dev answers are constituents). We have no parser: the candidates are every span of 1..N
//      consecutive words inside one sentence. N is --max-words, or, with --train FILE, the N in
//      1..--max-words (default 30, run_qa.py's max_answer_length) whose predictions score the best F1 on that file's
//      questions (squad: SQuAD v1.1 f1; cmrc2018: CMRC F1; ties: the smaller N), printed to stderr. Without either, N
//      = 5.
//   2. Overlap. Q = the question's word types, QB = its bigram types (adjacent words; punctuation
//      is not a word, so "Panthers, defense" is a bigram). For a candidate in sentence s, the rest of
//      s is its words left and right of the candidate; overlap = |word types of the rest ∩ Q| +
//      |bigram types of the rest ∩ QB|, a bigram being two adjacent words of s both outside the
//      candidate. Only the candidates with the largest overlap in the whole context are kept.
//   3. Sliding window (MCTest Algorithm 1, the passage being the whole context). IC(w) = log(1 +
//      1/C(w)), C(w) the count of w in the context. For a candidate, S = Q ∪ its word types; its
//      score is the largest, over every start j of the context's words, of the sum of IC(w_k) over
//      the words w_k, k = j .. j+|S|-1, that are in S (windows past the end are cut short).
//   4. The kept candidate with the highest score wins; ties (scores within 1e-9): the earlier start,
//      then the shorter.
//   Not implemented: the paper's distance-based extension (13.3 EM against 13.2 for the plain
//   window on SQuAD dev, Table 5). A context without words gets "" from both peers.
//
// Errors: a usage error (unknown option, missing value) exits 2 with a one-line message; a file the
// data layer or the metrics refuse exits 1 with their message (file and question named).
#include <utf8proc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/data/qa.h"
#include "textune/eval/squad.h"

namespace {

using textune::DataError;
using textune::UsageError;
using textune::core::Json;

// ---- words and sentences ------------------------------------------------------------------------

/// One word of a text: [begin, end) in bytes, its lower-cased form interned as `id`.
struct Word {
  size_t begin = 0, end = 0;
  int id = 0;
};

/// A text cut into words and sentences. sentence_end[i]: one past the last word of the sentence
/// holding word i's sentence, given as sentence ranges [first, last) over words.
struct Text {
  std::vector<Word> words;
  std::vector<std::pair<size_t, size_t>> sentences;  // word ranges [first, last), none empty
  size_t first_sentence_end = 0;                     // byte offset: end of the first sentence's text
};

/// BERT's BasicTokenizer._is_chinese_char ranges.
bool is_cjk(int32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_word_char(int32_t c) {
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

bool is_space(int32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
         utf8proc_category(c) == UTF8PROC_CATEGORY_ZS;
}

bool is_closing(int32_t c) {
  // closing quotes and brackets that stay with the sentence mark before them
  switch (c) {
    case '"':
    case '\'':
    case ')':
    case ']':
    case '}':
    case 0x2019:
    case 0x201D:
    case 0x300D:
    case 0x300F:
    case 0xFF09:
    case 0x3011:
    case 0x300B:
    case 0xFF02:
      return true;
    default:
      return false;
  }
}

/// Interns lower-cased words as small integers.
class Vocab {
 public:
  int id(const std::string& w) {
    auto it = ids_.find(w);
    if (it != ids_.end()) return it->second;
    int n = static_cast<int>(ids_.size());
    ids_.emplace(w, n);
    return n;
  }
  size_t size() const { return ids_.size(); }

 private:
  std::unordered_map<std::string, int> ids_;
};

/// Decodes one code point at s[i] (invalid bytes read as U+FFFD, one byte each).
int32_t decode(const std::string& s, size_t i, size_t* len) {
  utf8proc_int32_t c = 0;
  auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + i),
                            static_cast<utf8proc_ssize_t>(s.size() - i), &c);
  if (n <= 0) {
    *len = 1;
    return 0xFFFD;
  }
  *len = static_cast<size_t>(n);
  return c;
}

void append_utf8(std::string& out, int32_t c) {
  utf8proc_uint8_t buf[4];
  auto n = utf8proc_encode_char(c, buf);
  out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

/// Cuts `s` into words (interned in `vocab`) and sentences, as the header describes.
Text cut(const std::string& s, Vocab& vocab) {
  Text t;
  std::string lower;
  size_t word_begin = std::string::npos;
  size_t sentence_first = 0;
  bool first_done = false;
  bool prev_digit = false;  // the last code point was a digit inside the current word
  auto end_word = [&](size_t at) {
    if (word_begin == std::string::npos) return;
    t.words.push_back({word_begin, at, vocab.id(lower)});
    word_begin = std::string::npos;
    lower.clear();
  };
  auto end_sentence = [&](size_t byte_end) {
    if (t.words.size() > sentence_first) t.sentences.emplace_back(sentence_first, t.words.size());
    sentence_first = t.words.size();
    if (!first_done && !t.words.empty()) {
      first_done = true;
      t.first_sentence_end = byte_end;
    }
  };
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    int32_t c = decode(s, i, &len);
    if (is_cjk(c)) {
      prev_digit = false;
      end_word(i);
      word_begin = i;
      append_utf8(lower, utf8proc_tolower(c));
      end_word(i + len);
      i += len;
      continue;
    }
    if (is_word_char(c)) {
      if (word_begin == std::string::npos) word_begin = i;
      append_utf8(lower, utf8proc_tolower(c));
      prev_digit = utf8proc_category(c) == UTF8PROC_CATEGORY_ND;
      i += len;
      continue;
    }
    if ((c == '.' || c == ',') && prev_digit && word_begin != std::string::npos && i + len < s.size()) {
      size_t l2 = 0;
      if (utf8proc_category(decode(s, i + len, &l2)) == UTF8PROC_CATEGORY_ND) {  // 3.5, 587,000
        lower.push_back(static_cast<char>(c));
        prev_digit = false;
        i += len;
        continue;
      }
    }
    prev_digit = false;
    end_word(i);
    size_t next = i + len;
    bool ends = false;
    if (c == 0x3002 || c == 0xFF01 || c == 0xFF1F) {  // 。！？
      ends = true;
    } else if (c == '.' || c == '!' || c == '?') {
      size_t j = next, l2 = 0;
      while (j < s.size() && is_closing(decode(s, j, &l2))) j += l2;
      ends = j >= s.size() || is_space(decode(s, j, &l2));
    } else if (c == '\n' || c == '\r') {
      ends = true;
    }
    if (ends) {
      size_t l2 = 0;
      while (next < s.size() && is_closing(decode(s, next, &l2))) next += l2;
      end_sentence(next);
    }
    i = next;
  }
  end_word(s.size());
  end_sentence(s.size());
  return t;
}

std::string strip(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

// ---- the sliding-window baseline ----------------------------------------------------------------

/// One candidate span of words [first, last] and its two scores.
struct Candidate {
  size_t first = 0, last = 0;
  int overlap = 0;
  double window = 0;
};

/// For one question: the sliding window's answer for every N in 1..max_words (index N-1), as word
/// spans (first, last) into the context's words, or (npos, npos) when the context has no words.
std::vector<std::pair<size_t, size_t>> sliding_window_answers(const Text& ctx, const Text& question, size_t vocab_size,
                                                              size_t max_words) {
  const size_t npos = std::string::npos;
  std::vector<std::pair<size_t, size_t>> best(max_words, {npos, npos});
  const auto& w = ctx.words;
  if (w.empty()) return best;
  // question word and bigram types
  std::vector<char> in_q(vocab_size, 0);
  size_t q_types = 0;
  for (const Word& x : question.words) {
    if (!in_q[x.id]) ++q_types;
    in_q[x.id] = 1;
  }
  std::vector<std::pair<int, int>> qb;
  for (size_t k = 0; k + 1 < question.words.size(); ++k)
    qb.emplace_back(question.words[k].id, question.words[k + 1].id);
  std::sort(qb.begin(), qb.end());
  qb.erase(std::unique(qb.begin(), qb.end()), qb.end());
  auto is_qb = [&](int a, int b) { return std::binary_search(qb.begin(), qb.end(), std::make_pair(a, b)); };
  // IC over the context
  std::vector<int> count(vocab_size, 0);
  for (const Word& x : w) ++count[x.id];
  std::vector<double> ic(w.size());
  for (size_t k = 0; k < w.size(); ++k) ic[k] = std::log(1.0 + 1.0 / count[w[k].id]);

  // 1-2: candidates and their overlaps
  std::vector<Candidate> cands;
  std::vector<int> seen(vocab_size, -1);  // stamp: word type counted for candidate number `stamp`
  std::vector<std::pair<int, int>> bis;
  int stamp = 0;
  for (const auto& [sf, sl] : ctx.sentences) {
    for (size_t a = sf; a < sl; ++a) {
      for (size_t b = a; b < sl && b - a < max_words; ++b) {
        ++stamp;
        int ov = 0;
        for (size_t k = sf; k < sl; ++k) {
          if (k >= a && k <= b) continue;
          int id = w[k].id;
          if (in_q[id] && seen[id] != stamp) {
            seen[id] = stamp;
            ++ov;
          }
        }
        bis.clear();
        for (size_t k = sf; k + 1 < sl; ++k) {
          if ((k >= a && k <= b) || (k + 1 >= a && k + 1 <= b)) continue;
          if (is_qb(w[k].id, w[k + 1].id)) bis.emplace_back(w[k].id, w[k + 1].id);
        }
        std::sort(bis.begin(), bis.end());
        ov += static_cast<int>(std::unique(bis.begin(), bis.end()) - bis.begin());
        cands.push_back({a, b, ov, 0.0});
      }
    }
  }
  // the largest overlap among the candidates of at most N words, for each N
  std::vector<int> max_ov(max_words, -1);
  for (const Candidate& c : cands) {
    size_t len = c.last - c.first + 1;
    max_ov[len - 1] = std::max(max_ov[len - 1], c.overlap);
  }
  for (size_t n = 1; n < max_words; ++n) max_ov[n] = std::max(max_ov[n], max_ov[n - 1]);

  // 3: window scores, only for candidates kept for some N
  std::vector<double> v(w.size());
  std::vector<int> in_a(vocab_size, -1);
  int astamp = 0;
  for (Candidate& c : cands) {
    size_t len = c.last - c.first + 1;
    bool kept = false;
    for (size_t n = len; n <= max_words && !kept; ++n) kept = c.overlap == max_ov[n - 1];
    if (!kept) {
      c.window = -1;
      continue;
    }
    ++astamp;
    size_t s_size = q_types;
    for (size_t k = c.first; k <= c.last; ++k) {
      int id = w[k].id;
      if (in_a[id] != astamp) {
        in_a[id] = astamp;
        if (!in_q[id]) ++s_size;
      }
    }
    for (size_t k = 0; k < w.size(); ++k) v[k] = (in_q[w[k].id] || in_a[w[k].id] == astamp) ? ic[k] : 0.0;
    // windows of s_size words starting at every j (cut short at the end): running sums
    double sum = 0, best_sum = 0;
    size_t m = std::min(s_size, w.size());
    for (size_t k = 0; k < m; ++k) sum += v[k];
    best_sum = sum;
    for (size_t j = 1; j < w.size(); ++j) {
      sum -= v[j - 1];
      if (j + m - 1 < w.size()) sum += v[j + m - 1];
      best_sum = std::max(best_sum, sum);
    }
    c.window = best_sum;
  }
  // 4: the winner for each N
  for (size_t n = 1; n <= max_words; ++n) {
    const Candidate* win = nullptr;
    for (const Candidate& c : cands) {
      size_t len = c.last - c.first + 1;
      if (len > n || c.overlap != max_ov[n - 1]) continue;
      // scores within 1e-9 are a tie (sums of the same terms in another order differ in the last bit)
      if (!win || c.window > win->window + 1e-9 ||
          (c.window >= win->window - 1e-9 && (c.first < win->first || (c.first == win->first && c.last < win->last)))) {
        win = &c;
      }
    }
    if (win) best[n - 1] = {win->first, win->last};
  }
  return best;
}

// ---- commands -----------------------------------------------------------------------------------

[[noreturn]] void usage(const std::string& why) {
  throw UsageError(
      "qa_baselines: " + why +
      " (usage: qa_baselines split --data FILE.json --train-output A.json --eval-output B.json "
      "[--held-out 0.2] [--seed 42] | qa_baselines predict --data FILE [--train FILE] [--max-words N] "
      "[--metric squad|cmrc2018] [--sliding-window OUT.json] [--first-sentence OUT.json] | qa_baselines subset "
      "--data FILE.json --ids PREDICTIONS.json --output OUT.json)");
}

std::map<std::string, std::string> parse_options(int argc, char** argv, const std::vector<std::string>& names) {
  std::map<std::string, std::string> opts;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (std::find(names.begin(), names.end(), a) == names.end()) usage("unknown option '" + a + "'");
    if (i + 1 >= argc) usage(a + " needs a value");
    opts[a.substr(2)] = argv[++i];
  }
  return opts;
}

double parse_number(const std::string& name, const std::string& value) {
  try {
    size_t used = 0;
    double x = std::stod(value, &used);
    if (used != value.size() || !std::isfinite(x)) throw std::invalid_argument("");
    return x;
  } catch (const std::exception&) {
    usage("--" + name + ": expected a number, got '" + value + "'");
  }
}

struct Counts {
  size_t articles = 0, paragraphs = 0, questions = 0;
};

Counts count_of(const Json& data) {
  Counts c;
  for (const Json& a : data) {
    ++c.articles;
    if (!a.is_object() || !a.contains("paragraphs") || !a["paragraphs"].is_array()) continue;
    for (const Json& p : a["paragraphs"]) {
      ++c.paragraphs;
      if (p.is_object() && p.contains("qas") && p["qas"].is_array()) c.questions += p["qas"].size();
    }
  }
  return c;
}

int split(int argc, char** argv) {
  auto o = parse_options(argc, argv, {"--data", "--train-output", "--eval-output", "--held-out", "--seed"});
  for (const char* k : {"data", "train-output", "eval-output"})
    if (!o.count(k)) usage(std::string("split needs --") + k);
  double held_out = o.count("held-out") ? parse_number("held-out", o["held-out"]) : 0.2;
  if (!(held_out > 0 && held_out < 1)) usage("--held-out: expected a fraction in (0, 1), got " + o["held-out"]);
  double seed_d = o.count("seed") ? parse_number("seed", o["seed"]) : 42;
  if (seed_d < 0 || seed_d != std::floor(seed_d)) usage("--seed: expected a non-negative integer");
  Json file = textune::core::read_json_file(o["data"]);
  if (!file.is_object() || !file.contains("data") || !file["data"].is_array())
    throw DataError(o["data"] + ": expected a SQuAD file (an object with a \"data\" list of articles)");
  const Json& data = file["data"];
  size_t n = data.size();
  if (n < 2) throw DataError(o["data"] + ": " + std::to_string(n) + " article(s): a split needs at least 2");
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  std::mt19937_64 rng(static_cast<uint64_t>(seed_d));
  for (size_t i = n - 1; i >= 1; --i) std::swap(order[i], order[rng() % (i + 1)]);
  size_t k = static_cast<size_t>(std::llround(static_cast<double>(n) * held_out));
  k = std::min(std::max<size_t>(k, 1), n - 1);
  std::vector<char> held(n, 0);
  for (size_t i = 0; i < k; ++i) held[order[i]] = 1;
  Json train = Json::array(), eval = Json::array();
  for (size_t i = 0; i < n; ++i) (held[i] ? eval : train).push_back(data[i]);
  auto write = [&](const std::string& path, Json&& part) {
    Json out = Json::object();
    if (file.contains("version")) out["version"] = file["version"];
    out["data"] = std::move(part);
    Counts c = count_of(out["data"]);
    textune::core::write_json_file(path, out, -1);
    std::fprintf(stderr, "%s: %zu articles, %zu paragraphs, %zu questions\n", path.c_str(), c.articles, c.paragraphs,
                 c.questions);
  };
  write(o["train-output"], std::move(train));
  write(o["eval-output"], std::move(eval));
  return 0;
}

int subset(int argc, char** argv) {
  auto o = parse_options(argc, argv, {"--data", "--ids", "--output"});
  for (const char* k : {"data", "ids", "output"})
    if (!o.count(k)) usage(std::string("subset needs --") + k);
  Json ids = textune::core::read_json_file(o["ids"]);
  if (!ids.is_object()) throw DataError(o["ids"] + ": expected a predictions object {id: text}");
  std::unordered_map<std::string, bool> keep;
  for (const auto& [k, v] : ids.items()) keep[k] = true;
  Json file = textune::core::read_json_file(o["data"]);
  if (!file.is_object() || !file.contains("data") || !file["data"].is_array())
    throw DataError(o["data"] + ": expected a SQuAD file (an object with a \"data\" list of articles)");
  Json data = Json::array();
  for (Json& a : file["data"]) {
    if (!a.is_object() || !a.contains("paragraphs") || !a["paragraphs"].is_array()) continue;
    Json paragraphs = Json::array();
    for (Json& p : a["paragraphs"]) {
      if (!p.is_object() || !p.contains("qas") || !p["qas"].is_array()) continue;
      Json qas = Json::array();
      for (Json& q : p["qas"])
        if (q.is_object() && q.contains("id") && q["id"].is_string() && keep.count(q["id"].get<std::string>()))
          qas.push_back(std::move(q));
      if (qas.empty()) continue;
      p["qas"] = std::move(qas);
      paragraphs.push_back(std::move(p));
    }
    if (paragraphs.empty()) continue;
    a["paragraphs"] = std::move(paragraphs);
    data.push_back(std::move(a));
  }
  file["data"] = std::move(data);
  Counts c = count_of(file["data"]);
  textune::core::write_json_file(o["output"], file, -1);
  std::fprintf(stderr, "%s: %zu articles, %zu paragraphs, %zu questions\n", o["output"].c_str(), c.articles,
               c.paragraphs, c.questions);
  return 0;
}

/// The predictions of both peers for every question of `ds`; sliding[n-1] for N = n.
struct Predictions {
  std::vector<std::map<std::string, std::string>> sliding;  // one map per N
  std::map<std::string, std::string> first;
};

Predictions predict_all(const textune::data::QaDataset& ds, size_t max_words) {
  Predictions p;
  p.sliding.resize(max_words);
  Vocab vocab;
  // cut every distinct context once (questions share paragraphs)
  std::unordered_map<std::string, Text> contexts;
  std::vector<Text> questions;
  for (const auto& ex : ds.examples) {
    if (!contexts.count(ex.context)) contexts.emplace(ex.context, cut(ex.context, vocab));
    questions.push_back(cut(ex.question, vocab));
  }
  for (size_t q = 0; q < ds.examples.size(); ++q) {
    const auto& ex = ds.examples[q];
    const Text& ctx = contexts.at(ex.context);
    p.first[ex.id] = strip(ex.context.substr(0, ctx.first_sentence_end));
    auto spans = sliding_window_answers(ctx, questions[q], vocab.size(), max_words);
    for (size_t n = 0; n < max_words; ++n) {
      std::string text;
      if (spans[n].first != std::string::npos)
        text = ex.context.substr(ctx.words[spans[n].first].begin,
                                 ctx.words[spans[n].second].end - ctx.words[spans[n].first].begin);
      p.sliding[n][ex.id] = text;
    }
  }
  return p;
}

/// The gold answers as the official scripts read them (data::read_qa_references: every question and
/// every answer text, no alignment check: CMRC 2018 dev has answers with answer_start -1).
std::vector<textune::eval::QaGold> gold_of(const std::string& path) {
  std::vector<textune::eval::QaGold> g;
  for (auto& r : textune::data::read_qa_references(path)) g.push_back({std::move(r.id), std::move(r.answers)});
  return g;
}

double f1_of(const std::string& metric, const std::vector<textune::eval::QaGold>& gold,
             const std::map<std::string, std::string>& preds) {
  if (metric == "squad") return textune::eval::squad_v1(gold, preds)["f1"].get<double>();
  return textune::eval::cmrc2018(gold, preds)["F1"].get<double>();
}

void write_predictions(const std::string& path, const textune::data::QaDataset& ds,
                       const std::map<std::string, std::string>& preds) {
  Json out = Json::object();
  for (const auto& ex : ds.examples) textune::core::json_object_append(out, ex.id, preds.at(ex.id));
  textune::core::write_json_file(path, out, 2);
}

/// The questions and contexts of a question-answering file, without its answers: a SQuAD file's
/// data[].paragraphs[].qas[] become {"id", "question", "context"} inputs checked by
/// data::qa_from_inputs (so an answer_start that does not match, as CMRC 2018 dev has, drops no
/// question); any other layout is read by data::read_qa without requiring answers.
textune::data::QaDataset read_questions(const std::string& path) {
  textune::data::QaReadOptions ro;
  ro.data.require_labels = false;
  if (path.size() < 5 || path.substr(path.size() - 5) != ".json") return textune::data::read_qa(path, ro);
  Json file = textune::core::read_json_file(path);
  if (!file.is_object() || !file.contains("data")) return textune::data::read_qa(path, ro);
  std::vector<Json> inputs;
  const Json& data = file["data"];
  if (!data.is_array()) throw DataError(path + ": \"data\" is not a list of articles");
  for (size_t a = 0; a < data.size(); ++a) {
    const Json* paragraphs = data[a].is_object() && data[a].contains("paragraphs") ? &data[a]["paragraphs"] : nullptr;
    if (!paragraphs || !paragraphs->is_array())
      throw DataError(path + ": data[" + std::to_string(a) + "] has no \"paragraphs\" list");
    for (size_t p = 0; p < paragraphs->size(); ++p) {
      const Json& par = (*paragraphs)[p];
      std::string where = path + ": data[" + std::to_string(a) + "].paragraphs[" + std::to_string(p) + "]";
      if (!par.is_object() || !par.contains("qas") || !par["qas"].is_array())
        throw DataError(where + " has no \"qas\" list");
      for (const Json& q : par["qas"]) {
        Json in = Json::object();
        if (q.is_object() && q.contains("id")) in["id"] = q["id"];
        in["question"] = q.is_object() && q.contains("question") ? q["question"] : Json();
        in["context"] = par.contains("context") ? par["context"] : Json();
        inputs.push_back(std::move(in));
      }
    }
  }
  auto ds = textune::data::qa_from_inputs(inputs, path);
  ds.source = path;
  return ds;
}

int predict(int argc, char** argv) {
  auto o = parse_options(argc, argv,
                         {"--data", "--train", "--max-words", "--metric", "--sliding-window", "--first-sentence"});
  if (!o.count("data")) usage("predict needs --data");
  if (!o.count("sliding-window") && !o.count("first-sentence"))
    usage("predict needs --sliding-window OUT.json or --first-sentence OUT.json");
  std::string metric = o.count("metric") ? o["metric"] : "squad";
  if (metric != "squad" && metric != "cmrc2018") usage("--metric: expected squad or cmrc2018, got '" + metric + "'");
  double mw = o.count("max-words") ? parse_number("max-words", o["max-words"]) : (o.count("train") ? 30 : 5);
  if (mw < 1 || mw > 100 || mw != std::floor(mw)) usage("--max-words: expected an integer in 1..100");
  size_t max_words = static_cast<size_t>(mw);
  size_t n_words = max_words;
  if (o.count("train")) {
    auto t0 = std::chrono::steady_clock::now();
    auto train = read_questions(o["train"]);
    auto gold = gold_of(o["train"]);
    Predictions tp = predict_all(train, max_words);
    double best = -1;
    std::fprintf(stderr, "sliding window, %s F1 on %s by N:", metric.c_str(), o["train"].c_str());
    for (size_t n = 1; n <= max_words; ++n) {
      double f1 = f1_of(metric, gold, tp.sliding[n - 1]);
      std::fprintf(stderr, " %zu:%.2f", n, f1);
      if (f1 > best) {
        best = f1;
        n_words = n;
      }
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "\nsliding window: N = %zu words (chosen on %zu training questions in %.1f s)\n", n_words,
                 train.size(), s);
  }
  auto t0 = std::chrono::steady_clock::now();
  auto ds = read_questions(o["data"]);
  Predictions p = predict_all(ds, n_words);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "qa_baselines: %zu questions of %s answered by both peers in %.2f s (N = %zu)\n", ds.size(),
               o["data"].c_str(), s, n_words);
  if (o.count("sliding-window")) write_predictions(o["sliding-window"], ds, p.sliding[n_words - 1]);
  if (o.count("first-sentence")) write_predictions(o["first-sentence"], ds, p.first);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string cmd = argc > 1 ? argv[1] : "";
    if (cmd == "split") return split(argc, argv);
    if (cmd == "predict") return predict(argc, argv);
    if (cmd == "subset") return subset(argc, argv);
    usage(cmd.empty() ? "expected a command: split, predict or subset" : "unknown command '" + cmd + "'");
  } catch (const textune::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qa_baselines: %s\n", e.what());
    return 1;
  }
}
