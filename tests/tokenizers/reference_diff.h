// Differential testing against the live reference tokenizer (Hugging Face `tokenizers`, Rust,
// through the Node binding in tools/reference): generated texts, the same requests to both, every
// field compared. Shared by tests/tokenizers/differential_test.cpp (fixed seed, in the suite) and
// bench/bench_tokenizer_diff.cpp (any count).
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "textune/core/error.h"
#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tokenizers::reference_diff {

using core::Json;

inline void put(std::string& s, char32_t c) {
  if (c < 0x80) {
    s += static_cast<char>(c);
  } else if (c < 0x800) {
    s += static_cast<char>(0xC0 | (c >> 6));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    s += static_cast<char>(0xE0 | (c >> 12));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (c >> 18));
    s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (c & 0x3F));
  }
}

/// Random text of many scripts and hard cases: Latin with accents and combining marks, CJK,
/// Hangul, Thai, Arabic, Cyrillic, Greek, Devanagari, emoji with ZWJ, skin tones and flags,
/// control, format and zero-width characters, odd whitespace, fullwidth forms and ligatures,
/// very long words, and the tokenizer's special tokens typed in the text.
class TextGenerator {
 public:
  TextGenerator(uint64_t seed, std::vector<std::string> specials) : rng_(seed), specials_(std::move(specials)) {}

  std::string text() {
    std::string s;
    const int segments = 1 + pick(10);
    for (int i = 0; i < segments; ++i) {
      segment(s);
      if (pick(4) != 0) separator(s);
    }
    return s;
  }

 private:
  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint64_t>(n)); }
  char32_t range(char32_t lo, char32_t hi) { return lo + static_cast<char32_t>(rng_() % (hi - lo + 1)); }

  void word(std::string& s, char32_t lo, char32_t hi, int max_len) {
    int n = 1 + pick(max_len);
    for (int i = 0; i < n; ++i) put(s, range(lo, hi));
  }

  void separator(std::string& s) {
    static const char32_t kSpaces[] = {' ',    ' ',    ' ',    ' ',    '\t',   '\n',   '\r',   0x0B,
                                       0x0C,   0x85,   0xA0,   0x1680, 0x2000, 0x2003, 0x2009, 0x200A,
                                       0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0x180E};
    int n = pick(5) == 0 ? 2 + pick(3) : 1;
    for (int i = 0; i < n; ++i) put(s, kSpaces[pick(sizeof(kSpaces) / sizeof(kSpaces[0]))]);
  }

  void segment(std::string& s) {
    static const char* kWords[] = {"the",         "Hello",    "world",
                                   "don't",       "can't",    "I'm",
                                   "U.S.A.",      "e-mail",   "state-of-the-art",
                                   "naïve",       "café",     "résumé",
                                   "Straße",      "İstanbul", "ΟΔΟΣ",
                                   "Ёлка",        "über",     "coöperate",
                                   "rock'n'roll", "3.14",     "1,000",
                                   "$5",          "24/7",     "http://x.org/a?b=c",
                                   "#tag",        "@user",    "<b>",
                                   "&amp;",       "x²",       "½",
                                   "ﬁne",         "Ⅻ",        "ǅ",
                                   "ＡＢＣ",      "１２３",   "𝔘𝔫𝔦"};
    switch (pick(20)) {
      case 0:
      case 1:
      case 2:
        s += kWords[pick(sizeof(kWords) / sizeof(kWords[0]))];
        break;
      case 3:  // ASCII word, mixed case
        word(s, 'a', 'z', 9);
        if (pick(2)) s[s.size() - 1] = static_cast<char>(std::toupper(static_cast<unsigned char>(s.back())));
        break;
      case 4: {  // Latin with precomposed accents and combining marks
        int n = 1 + pick(8);
        for (int i = 0; i < n; ++i) {
          put(s, pick(3) == 0 ? range(0xC0, 0x17F) : range('a', 'z'));
          if (pick(4) == 0) put(s, range(0x300, 0x36F));
          if (pick(12) == 0) put(s, range(0x300, 0x36F));
        }
        break;
      }
      case 5:
        word(s, 0x4E00, 0x9FFF, 6);
        break;  // CJK
      case 6:
        word(s, 0xAC00, 0xD7A3, 5);
        break;  // Hangul syllables
      case 7:
        word(s, 0x0E01, 0x0E3A, 8);
        break;  // Thai
      case 8:
        word(s, 0x0621, 0x064A, 7);
        break;  // Arabic
      case 9:
        word(s, 0x0410, 0x044F, 8);
        break;  // Cyrillic
      case 10:
        word(s, 0x03B1, 0x03C9, 6);
        break;  // Greek
      case 11:
        word(s, 0x0905, 0x094D, 6);
        break;    // Devanagari with signs
      case 12: {  // emoji, ZWJ sequences, skin tones, flags
        int kind = pick(4);
        if (kind == 0) {
          put(s, range(0x1F600, 0x1F64F));
        } else if (kind == 1) {
          put(s, range(0x1F466, 0x1F469));
          put(s, 0x200D);
          put(s, range(0x1F466, 0x1F469));
        } else if (kind == 2) {
          put(s, 0x1F44D);
          put(s, range(0x1F3FB, 0x1F3FF));
        } else {
          put(s, range(0x1F1E6, 0x1F1FF));
          put(s, range(0x1F1E6, 0x1F1FF));
        }
        break;
      }
      case 13: {  // control, format and zero-width characters
        static const char32_t kOdd[] = {0x00,   0x01,   0x07,   0x1B,   0x1F,   0x7F,   0x80,   0x9F,   0xAD,   0x200B,
                                        0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0xFEFF, 0xFFFD, 0xE000, 0x061C, 0x034F};
        put(s, kOdd[pick(sizeof(kOdd) / sizeof(kOdd[0]))]);
        break;
      }
      case 14: {  // punctuation and symbols
        static const char* kPunct[] = {".", ",", "!", "?", "...", "«",  "»",  "“",  "”", "‘", "’", "—",
                                       "–", "−", "¿", "¡", "(",   ")",  "[",  "]",  "{", "}", "/", "\\",
                                       "*", "_", "~", "`", "^",   "|",  "'",  "\"", "€", "£", "¥", "©",
                                       "°", "§", "•", "→", "∑",   "、", "。", "，", "！"};
        s += kPunct[pick(sizeof(kPunct) / sizeof(kPunct[0]))];
        break;
      }
      case 15: {  // digits of several scripts
        int n = 1 + pick(6);
        char32_t base = pick(3) == 0 ? 0x0660 : pick(2) == 0 ? 0x0966 : '0';
        for (int i = 0; i < n; ++i) put(s, base + pick(10));
        break;
      }
      case 16:  // a very long word
        word(s, 'a', 'z', 1);
        for (int i = 0; i < 60 + pick(140); ++i) put(s, pick(5) == 0 ? range(0xE0, 0xFF) : range('a', 'z'));
        break;
      case 17:  // a special token typed in the text
        if (!specials_.empty()) s += specials_[pick(static_cast<int>(specials_.size()))];
        break;
      case 18:
        word(s, 0xFF01, 0xFF5E, 5);
        break;  // fullwidth forms
      default:
        word(s, 0x3041, 0x30FF, 6);
        break;  // kana
    }
  }

  std::mt19937_64 rng_;
  std::vector<std::string> specials_;
};

/// The requests of a run: single texts, texts without special tokens, and pairs under every
/// truncation strategy, some with a stride (overflow windows).
inline std::vector<Json> generate_requests(size_t n, uint64_t seed, const std::vector<std::string>& specials) {
  TextGenerator gen(seed, specials);
  std::mt19937_64 rng(seed ^ 0x5DEECE66DULL);
  std::vector<Json> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Json r = Json::object();
    r["text"] = gen.text();
    r["pair"] = nullptr;
    r["add_special_tokens"] = rng() % 6 != 0;
    r["truncation"] = nullptr;
    if (rng() % 4 == 0) {
      r["pair"] = gen.text();
      if (rng() % 2 == 0) {
        static const char* kStrategies[] = {"LongestFirst", "OnlyFirst", "OnlySecond"};
        Json t = Json::object();
        t["max_length"] = 6 + rng() % 40;
        t["strategy"] = kStrategies[rng() % 3];
        t["stride"] = rng() % 3 == 0 ? static_cast<uint64_t>(rng() % 4) : 0;
        r["truncation"] = t;
      }
    } else if (rng() % 8 == 0) {
      Json t = Json::object();
      t["max_length"] = 4 + rng() % 30;
      t["strategy"] = "LongestFirst";
      t["stride"] = static_cast<uint64_t>(rng() % 3);
      r["truncation"] = t;
    }
    out.push_back(std::move(r));
  }
  return out;
}

/// Contents of the tokenizer's added tokens, to type them into the generated text.
inline std::vector<std::string> added_token_contents(const std::string& tokenizer_json) {
  std::ifstream in(tokenizer_json);
  Json j = Json::parse(in);
  std::vector<std::string> out;
  if (j.contains("added_tokens"))
    for (const auto& t : j["added_tokens"]) out.push_back(t["content"].get<std::string>());
  return out;
}

inline Json encoding_json(const Encoding& e) {
  Json r = Json::object();
  r["ids"] = e.ids;
  r["type_ids"] = e.type_ids;
  r["tokens"] = e.tokens;
  Json offs = Json::array();
  for (const auto& p : e.offsets) offs.push_back(Json::array({p.first, p.second}));
  r["offsets"] = offs;
  r["special_tokens_mask"] = e.special_tokens_mask;
  r["attention_mask"] = e.attention_mask;
  Json w = Json::array(), s = Json::array();
  for (const auto& x : e.word_ids) w.push_back(x ? Json(*x) : Json());
  for (const auto& x : e.sequence_ids) s.push_back(x ? Json(*x) : Json());
  r["word_ids"] = w;
  r["sequence_ids"] = s;
  return r;
}

/// textune's answer to one request, in the reference script's shape.
inline Json our_result(const Tokenizer& tok, const Json& req) {
  EncodeOptions o;
  o.add_special_tokens = req["add_special_tokens"].get<bool>();
  if (!req["truncation"].is_null()) {
    const Json& t = req["truncation"];
    TruncationOptions to;
    to.max_length = t["max_length"].get<size_t>();
    const std::string s = t["strategy"].get<std::string>();
    to.strategy = s == "OnlyFirst"    ? TruncationStrategy::kOnlyFirst
                  : s == "OnlySecond" ? TruncationStrategy::kOnlySecond
                                      : TruncationStrategy::kLongestFirst;
    to.stride = t["stride"].get<size_t>();
    to.early_exit = false;  // the Node reference runs tokenizers 0.22, before the early exit
    o.truncation = to;
    o.return_overflowing_tokens = true;
  }
  try {
    std::optional<std::string> pair;
    if (!req["pair"].is_null()) pair = req["pair"].get<std::string>();
    Encoding e = tok.encode(req["text"].get<std::string>(), pair, o);
    Json r = encoding_json(e);
    Json ov = Json::array();
    for (const Encoding& w : e.overflowing) ov.push_back(encoding_json(w));
    r["overflowing"] = ov;
    r["decoded"] = tok.decode(e.ids, true);
    r["decoded_all"] = tok.decode(e.ids, false);
    return r;
  } catch (const DataError& err) {
    return Json{{"error", err.what()}};
  }
}

/// Runs the reference on `requests` (spawning node); one result per request.
/// @throws std::runtime_error when node or the reference package is missing.
inline std::vector<Json> run_reference(const std::string& source_dir, const std::string& tokenizer_json,
                                       const std::vector<Json>& requests) {
  namespace fs = std::filesystem;
  const std::string script = source_dir + "/tools/reference/reference_tokenizer.js";
  if (!fs::exists(source_dir + "/tools/reference/node_modules/@anush008/tokenizers/package.json"))
    throw std::runtime_error(
        "the reference tokenizer is not installed: run scripts/install-deps.sh (npm ci in "
        "tools/reference)");
  std::string tmpl = (fs::temp_directory_path() / "textune-diff-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  const std::string in = tmpl + "/in.jsonl", out = tmpl + "/out.jsonl", err = tmpl + "/err.txt";
  {
    std::ofstream f(in, std::ios::binary);
    for (const Json& r : requests) f << r.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) << "\n";
  }
  const std::string cmd =
      "node '" + script + "' encode '" + tokenizer_json + "' '" + in + "' '" + out + "' 2>'" + err + "'";
  int status = std::system(cmd.c_str());
  std::vector<Json> results;
  std::ifstream f(out);
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) results.push_back(Json::parse(line));
  std::ifstream ef(err);
  std::stringstream es;
  es << ef.rdbuf();
  fs::remove_all(tmpl);
  if (status != 0 || results.size() != requests.size())
    throw std::runtime_error("the reference tokenizer failed (status " + std::to_string(status) + "): " + es.str());
  return results;
}

/// Mismatches between textune and the reference over a run.
struct Report {
  size_t requests = 0;
  size_t mismatched = 0;
  size_t reference_panics = 0;        // stride leaves no room: the reference aborts, textune refuses
  std::vector<std::string> examples;  // the first few, with both answers
};

/// Runs `requests` through textune and the reference and compares every field. Requests whose
/// stride leaves no room are not sent (the reference panics and aborts the process on them);
/// textune must refuse them with a DataError, which is counted in reference_panics.
inline Report run_and_compare(const Tokenizer& tok, const std::string& source_dir, const std::string& tokenizer_json,
                              const std::vector<Json>& requests, size_t max_examples = 6) {
  Report rep;
  rep.requests = requests.size();
  std::vector<Json> ours(requests.size());
  std::vector<Json> sent;
  std::vector<size_t> sent_index;
  for (size_t i = 0; i < requests.size(); ++i) {
    ours[i] = our_result(tok, requests[i]);
    if (ours[i].contains("error") && ours[i]["error"].get<std::string>().find("stride") != std::string::npos) {
      ++rep.reference_panics;
      continue;
    }
    sent.push_back(requests[i]);
    sent_index.push_back(i);
  }
  const std::vector<Json> reference = run_reference(source_dir, tokenizer_json, sent);
  for (size_t k = 0; k < sent.size(); ++k) {
    const size_t i = sent_index[k];
    const Json& ref = reference[k];
    const Json& got = ours[i];
    bool same;
    std::string field;
    if (ref.contains("error") || got.contains("error")) {
      same = ref.contains("error") == got.contains("error");
      field = "error";
    } else {
      same = true;
      for (const char* key : {"ids", "tokens", "type_ids", "offsets", "special_tokens_mask", "attention_mask",
                              "word_ids", "sequence_ids", "overflowing", "decoded", "decoded_all"}) {
        if (ref[key] != got[key]) {
          same = false;
          field = key;
          break;
        }
      }
    }
    if (same) continue;
    ++rep.mismatched;
    if (rep.examples.size() < max_examples) {
      Json ref_f = ref.contains(field) ? ref[field] : ref;
      Json got_f = got.contains(field) ? got[field] : got;
      rep.examples.push_back("request " + std::to_string(i) + " " + requests[i].dump(-1, ' ', true).substr(0, 300) +
                             "\n    field " + field + "\n    reference " + ref_f.dump(-1, ' ', true).substr(0, 600) +
                             "\n    textune   " + got_f.dump(-1, ' ', true).substr(0, 600));
    }
  }
  return rep;
}

}  // namespace textune::tokenizers::reference_diff
