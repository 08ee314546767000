// WordPiece and BPE (tokenizers/src/models/{wordpiece,bpe}).
#include "tokenizers/models.h"

#include <atomic>
#include <cstdio>
#include <list>
#include <queue>
#include <unordered_map>

#include "textune/core/error.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/unicode.h"
#include "tokenizers/vocab_map.h"

namespace textune::tokenizers {

namespace {

/// Vocabulary with reverse lookup: a dense table when the ids are dense, a hash map when they
/// are sparse (an id near 2^32 must not allocate 2^32 slots).
struct Vocab {
  VocabMap map;
  std::vector<std::string> by_id;
  std::vector<bool> has_id;
  std::unordered_map<uint32_t, std::string> sparse;

  /// @throws textune::DataError naming `where` when two tokens share an id (decoding that id
  /// would be ambiguous).
  void build(std::vector<std::pair<std::string, uint32_t>>& entries, const std::string& where) {
    uint32_t max_id = 0;
    for (auto& [tok, id] : entries) {
      map.insert(tok, id);
      max_id = std::max(max_id, id);
    }
    auto duplicate = [&](uint32_t id, const std::string& a, const std::string& b) {
      return DataError(where + ": vocab entries \"" + a + "\" and \"" + b + "\" have the same id " +
                       std::to_string(id));
    };
    if (!entries.empty() && max_id / 4 > entries.size() + 1024) {
      sparse.reserve(entries.size());
      for (auto& [tok, id] : entries) {
        auto [it, fresh] = sparse.emplace(id, tok);
        if (!fresh) throw duplicate(id, it->second, tok);
      }
      return;
    }
    by_id.assign(entries.empty() ? 0 : size_t(max_id) + 1, std::string());
    has_id.assign(by_id.size(), false);
    for (auto& [tok, id] : entries) {
      if (has_id[id]) throw duplicate(id, by_id[id], tok);
      by_id[id] = tok;
      has_id[id] = true;
    }
  }
  /// The token of an id in the vocabulary.
  const std::string& token(uint32_t id) const { return sparse.empty() ? by_id[id] : sparse.at(id); }
  const std::string* id_to_token(uint32_t id) const {
    if (!sparse.empty()) {
      auto it = sparse.find(id);
      return it == sparse.end() ? nullptr : &it->second;
    }
    return id < by_id.size() && has_id[id] ? &by_id[id] : nullptr;
  }
};

class WordPiece : public Model {
 public:
  WordPiece(std::vector<std::pair<std::string, uint32_t>> vocab, WordPieceOptions o, const std::string& where)
      : opt_(std::move(o)), where_(where) {
    vocab_.build(vocab, where);
    for (auto& [tok, id] : vocab) {
      if (tok.size() >= opt_.continuing_subword_prefix.size() &&
          tok.compare(0, opt_.continuing_subword_prefix.size(), opt_.continuing_subword_prefix) == 0)
        continuing_.insert(std::string_view(tok).substr(opt_.continuing_subword_prefix.size()), id);
    }
    unk_id_ = vocab_.map.find(opt_.unk_token);
  }

  void tokenize(std::string_view seq, std::vector<Token>& out) const override {
    if (unicode::count_chars(seq) > opt_.max_input_chars_per_word) {
      push_unk(seq, out);
      return;
    }
    const size_t first = out.size();
    size_t start = 0;
    while (start < seq.size()) {
      size_t end = seq.size();
      std::optional<uint32_t> found;
      while (start < end) {
        std::string_view sub = seq.substr(start, end - start);
        found = start > 0 ? continuing_.find(sub) : vocab_.map.find(sub);
        if (found) break;
        // Step back one character.
        --end;
        while (end > start && (static_cast<unsigned char>(seq[end]) & 0xC0) == 0x80) --end;
      }
      if (!found) {
        out.resize(first);
        push_unk(seq, out);
        return;
      }
      out.push_back({*found, vocab_.token(*found), {start, end}});
      start = end;
    }
  }

  std::optional<uint32_t> token_to_id(std::string_view token) const override { return vocab_.map.find(token); }
  const std::string* id_to_token(uint32_t id) const override { return vocab_.id_to_token(id); }
  size_t vocab_size() const override { return vocab_.map.size(); }
  std::optional<std::string> continuing_subword_prefix() const override { return opt_.continuing_subword_prefix; }
  std::optional<uint32_t> unk_id() const override { return unk_id_; }

 private:
  void push_unk(std::string_view seq, std::vector<Token>& out) const {
    if (!unk_id_)
      throw DataError(where_ + ": WordPiece: the unknown token \"" + opt_.unk_token + "\" is not in the vocabulary");
    out.push_back({*unk_id_, opt_.unk_token, {0, seq.size()}});
  }

  WordPieceOptions opt_;
  std::string where_;  // names the file in errors
  Vocab vocab_;
  VocabMap continuing_;
  std::optional<uint32_t> unk_id_;
};

/// (a, b) -> (rank, new id), open addressing on 64-bit keys.
class MergeMap {
 public:
  void insert(uint32_t a, uint32_t b, uint32_t rank, uint32_t new_id) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    uint64_t key = (static_cast<uint64_t>(a) << 32) | b;
    size_t mask = slots_.size() - 1;
    size_t i = mix(key) & mask;
    while (slots_[i].used) {
      if (slots_[i].key == key) {
        slots_[i].rank = rank;
        slots_[i].new_id = new_id;
        return;
      }
      i = (i + 1) & mask;
    }
    slots_[i] = {key, rank, new_id, true};
    ++count_;
  }
  bool find(uint32_t a, uint32_t b, uint32_t& rank, uint32_t& new_id) const {
    if (slots_.empty()) return false;
    uint64_t key = (static_cast<uint64_t>(a) << 32) | b;
    size_t mask = slots_.size() - 1;
    size_t i = mix(key) & mask;
    while (slots_[i].used) {
      if (slots_[i].key == key) {
        rank = slots_[i].rank;
        new_id = slots_[i].new_id;
        return true;
      }
      i = (i + 1) & mask;
    }
    return false;
  }

 private:
  struct Slot {
    uint64_t key = 0;
    uint32_t rank = 0;
    uint32_t new_id = 0;
    bool used = false;
  };
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return k;
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, Slot{});
    count_ = 0;
    for (const Slot& s : old)
      if (s.used) insert(static_cast<uint32_t>(s.key >> 32), static_cast<uint32_t>(s.key), s.rank, s.new_id);
  }
  std::vector<Slot> slots_;
  size_t count_ = 0;
};

/// The merged symbols of one word: (id, byte length) pairs.
using WordSymbols = std::vector<std::pair<uint32_t, uint32_t>>;

std::atomic<uint64_t> g_bpe_serial{1};

class Bpe : public Model {
 public:
  Bpe(std::vector<std::pair<std::string, uint32_t>> vocab, std::vector<std::pair<std::string, std::string>> merges,
      BpeOptions o, const std::string& where)
      : opt_(std::move(o)), where_(where), serial_(g_bpe_serial.fetch_add(1)) {
    vocab_.build(vocab, where);
    const size_t prefix_len = opt_.continuing_subword_prefix ? opt_.continuing_subword_prefix->size() : 0;
    for (size_t r = 0; r < merges.size(); ++r) {
      const auto& [a, b] = merges[r];
      auto ia = vocab_.map.find(a);
      auto ib = vocab_.map.find(b);
      if (!ia) throw DataError(where + ": merge " + std::to_string(r) + " uses \"" + a + "\", not in the vocabulary");
      if (!ib) throw DataError(where + ": merge " + std::to_string(r) + " uses \"" + b + "\", not in the vocabulary");
      std::string joined = a + (b.size() >= prefix_len ? b.substr(prefix_len) : std::string());
      auto in = vocab_.map.find(joined);
      if (!in)
        throw DataError(where + ": merge " + std::to_string(r) + " gives \"" + joined + "\", not in the vocabulary");
      merges_.insert(*ia, *ib, static_cast<uint32_t>(r), *in);
    }
    if (opt_.unk_token) unk_id_ = vocab_.map.find(*opt_.unk_token);
    if (opt_.byte_fallback) {
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        byte_ids_[b] = vocab_.map.find(name);
      }
    }
  }

  void tokenize(std::string_view seq, std::vector<Token>& out) const override {
    if (seq.empty()) return;
    if (opt_.ignore_merges) {
      if (auto id = vocab_.map.find(seq)) {
        out.push_back({*id, vocab_.token(*id), {0, seq.size()}});
        return;
      }
    }
    Cache& cache = thread_cache();
    const WordSymbols* word = nullptr;
    WordSymbols computed;
    std::string key;
    if (seq.size() < 256) {
      key.assign(seq);
      auto it = cache.map.find(key);
      if (it != cache.map.end()) word = &it->second;
    }
    if (!word) {
      merge_word(seq, computed);
      if (seq.size() < 256 && cache.map.size() < kCacheCapacity) {
        word = &cache.map.emplace(std::move(key), std::move(computed)).first->second;
      } else {
        word = &computed;
      }
    }
    size_t offset = 0;
    for (const auto& [id, len] : *word) {
      const std::string* v = vocab_.id_to_token(id);
      out.push_back({id, v ? *v : std::string(), {offset, offset + len}});
      offset += len;
    }
  }

  std::optional<uint32_t> token_to_id(std::string_view token) const override { return vocab_.map.find(token); }
  const std::string* id_to_token(uint32_t id) const override { return vocab_.id_to_token(id); }
  size_t vocab_size() const override { return vocab_.map.size(); }
  std::optional<std::string> continuing_subword_prefix() const override { return opt_.continuing_subword_prefix; }
  std::optional<uint32_t> unk_id() const override { return unk_id_; }

 private:
  static constexpr size_t kCacheCapacity = 10000;
  struct Cache {
    std::unordered_map<std::string, WordSymbols> map;
  };
  Cache& thread_cache() const {
    thread_local std::unordered_map<uint64_t, Cache> caches;
    thread_local uint64_t last_serial = 0;
    thread_local Cache* last = nullptr;
    if (last_serial == serial_ && last) return *last;
    Cache& c = caches[serial_];
    last_serial = serial_;
    last = &c;
    return c;
  }

  void merge_word(std::string_view w, WordSymbols& word) const {
    struct Symbol {
      uint32_t c;
      int32_t prev, next;
      uint32_t len;
    };
    std::vector<Symbol> symbols;
    symbols.reserve(w.size());
    auto add = [&symbols](uint32_t id, uint32_t len) {
      int32_t n = static_cast<int32_t>(symbols.size());
      symbols.push_back({id, n - 1, -1, len});
      if (n > 0) symbols[n - 1].next = n;
    };
    std::optional<std::pair<uint32_t, uint32_t>> unk;  // (id, len)
    std::string buf;
    size_t i = 0;
    while (i < w.size()) {
      size_t b = i;
      i += unicode::utf8_len(static_cast<unsigned char>(w[i]));
      if (i > w.size()) i = w.size();
      const bool is_first = b == 0, is_last = i == w.size();
      const uint32_t byte_len = static_cast<uint32_t>(i - b);
      std::string_view s = w.substr(b, i - b);
      if ((!is_first && opt_.continuing_subword_prefix) || (is_last && opt_.end_of_word_suffix)) {
        buf.clear();
        if (!is_first && opt_.continuing_subword_prefix) buf += *opt_.continuing_subword_prefix;
        buf += s;
        if (is_last && opt_.end_of_word_suffix) buf += *opt_.end_of_word_suffix;
        s = buf;
      }
      if (auto id = vocab_.map.find(s)) {
        if (unk) {
          add(unk->first, unk->second);
          unk.reset();
        }
        add(*id, byte_len);
        continue;
      }
      if (opt_.byte_fallback) {
        bool all = true;
        for (char ch : s) all &= byte_ids_[static_cast<unsigned char>(ch)].has_value();
        if (all) {
          for (char ch : s) add(*byte_ids_[static_cast<unsigned char>(ch)], 1);
          continue;
        }
      }
      if (opt_.unk_token) {
        if (!unk_id_)
          throw DataError(where_ + ": BPE: the unknown token \"" + *opt_.unk_token + "\" is not in the vocabulary");
        if (unk && opt_.fuse_unk) {
          unk->second += byte_len;
        } else {
          if (unk) add(unk->first, unk->second);
          unk = std::make_pair(*unk_id_, byte_len);
        }
      }
    }
    if (unk) add(unk->first, unk->second);

    // Merge by rank with a priority queue, as tokenizers' Word::merge_all does (dropout off).
    struct Merge {
      uint32_t pos, rank, new_id;
      bool operator<(const Merge& o) const {  // max-heap: lowest rank, then lowest pos, on top
        if (rank != o.rank) return rank > o.rank;
        return pos > o.pos;
      }
    };
    std::priority_queue<Merge> queue;
    for (size_t k = 0; k + 1 < symbols.size(); ++k) {
      uint32_t rank, nid;
      if (merges_.find(symbols[k].c, symbols[k + 1].c, rank, nid)) queue.push({static_cast<uint32_t>(k), rank, nid});
    }
    while (!queue.empty()) {
      Merge top = queue.top();
      queue.pop();
      Symbol& cur = symbols[top.pos];
      if (cur.len == 0 || cur.next == -1) continue;
      const size_t next_pos = static_cast<size_t>(cur.next);
      const Symbol right = symbols[next_pos];
      uint32_t rank, nid;
      if (!merges_.find(cur.c, right.c, rank, nid) || nid != top.new_id) continue;
      cur.c = top.new_id;
      cur.len += right.len;
      cur.next = right.next;
      symbols[next_pos].len = 0;
      if (right.next > -1 && static_cast<size_t>(right.next) < symbols.size())
        symbols[right.next].prev = static_cast<int32_t>(top.pos);
      const Symbol current = symbols[top.pos];
      if (current.prev >= 0) {
        const Symbol& p = symbols[current.prev];
        if (merges_.find(p.c, current.c, rank, nid)) queue.push({static_cast<uint32_t>(current.prev), rank, nid});
      }
      if (current.next >= 0 && static_cast<size_t>(current.next) < symbols.size()) {
        const Symbol& n = symbols[current.next];
        if (merges_.find(current.c, n.c, rank, nid)) queue.push({top.pos, rank, nid});
      }
    }
    word.clear();
    for (const Symbol& s : symbols)
      if (s.len != 0) word.emplace_back(s.c, s.len);
  }

  BpeOptions opt_;
  std::string where_;  // names the file in errors
  Vocab vocab_;
  MergeMap merges_;
  std::optional<uint32_t> unk_id_;
  std::optional<uint32_t> byte_ids_[256];
  uint64_t serial_;
};

std::vector<std::pair<std::string, uint32_t>> read_vocab_object(const TokenizerJson& v, const std::string& where) {
  if (!v.is_object()) throw DataError(where + ": \"vocab\" must be an object of token -> id");
  std::vector<std::pair<std::string, uint32_t>> out;
  out.reserve(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    out.emplace_back(it.key(), json_token_id(it.value(), where, "the id of vocab entry \"" + it.key() + "\""));
  }
  return out;
}

std::optional<std::string> optional_string(const TokenizerJson& j, const char* key, const std::string& w) {
  if (!j.contains(key) || j.at(key).is_null()) return std::nullopt;
  return json_string(j, key, w);
}

}  // namespace

std::unique_ptr<Model> make_wordpiece(std::vector<std::pair<std::string, uint32_t>> vocab, WordPieceOptions options,
                                      const std::string& where) {
  if (vocab.empty()) throw DataError(where + ": the WordPiece vocabulary is empty");
  return std::make_unique<WordPiece>(std::move(vocab), std::move(options), where);
}

std::unique_ptr<Model> make_bpe(std::vector<std::pair<std::string, uint32_t>> vocab,
                                std::vector<std::pair<std::string, std::string>> merges, BpeOptions options,
                                const std::string& where) {
  return std::make_unique<Bpe>(std::move(vocab), std::move(merges), std::move(options), where);
}

std::unique_ptr<Model> make_model(const TokenizerJson& j, const LoadContext& ctx) {
  const std::string& w = ctx.where;
  std::string type;
  if (j.contains("type")) {
    type = json_string(j, "type", w);
  } else if (j.contains("merges")) {
    type = "BPE";  // old files leave the model type out
  } else if (j.contains("continuing_subword_prefix") || j.contains("max_input_chars_per_word")) {
    type = "WordPiece";
  }
  if (type == "WordPiece") {
    WordPieceOptions o;
    o.unk_token = json_string_or(j, "unk_token", "[UNK]", w);
    o.continuing_subword_prefix = json_string_or(j, "continuing_subword_prefix", "##", w);
    o.max_input_chars_per_word = static_cast<size_t>(json_uint_or(j, "max_input_chars_per_word", 100, w, 1ULL << 40));
    return make_wordpiece(read_vocab_object(json_field(j, "vocab", w), w), std::move(o), w);
  }
  if (type == "BPE") {
    if (j.contains("dropout") && !j.at("dropout").is_null()) {
      // tokenizers' BpeBuilder refuses a dropout outside [0, 1] (Error::InvalidDropout).
      const TokenizerJson& d = j.at("dropout");
      if (!d.is_number() || !(d.get<double>() >= 0.0 && d.get<double>() <= 1.0))
        throw DataError(w + ": field \"dropout\" must be null or a number from 0 to 1, got " + d.dump().substr(0, 64));
      if (d.get<double>() > 0.0) throw DataError(w + ": BPE dropout is not supported (set \"dropout\" to null)");
    }
    BpeOptions o;
    o.unk_token = optional_string(j, "unk_token", w);
    o.continuing_subword_prefix = optional_string(j, "continuing_subword_prefix", w);
    o.end_of_word_suffix = optional_string(j, "end_of_word_suffix", w);
    if (o.continuing_subword_prefix && o.continuing_subword_prefix->empty()) o.continuing_subword_prefix.reset();
    if (o.end_of_word_suffix && o.end_of_word_suffix->empty()) o.end_of_word_suffix.reset();
    o.fuse_unk = json_bool_or(j, "fuse_unk", false, w);
    o.byte_fallback = json_bool_or(j, "byte_fallback", false, w);
    o.ignore_merges = json_bool_or(j, "ignore_merges", false, w);
    std::vector<std::pair<std::string, std::string>> merges;
    const TokenizerJson& m = json_field(j, "merges", w);
    if (!m.is_array()) throw DataError(w + ": \"merges\" must be a list");
    merges.reserve(m.size());
    for (size_t i = 0; i < m.size(); ++i) {
      const TokenizerJson& e = m[i];
      if (e.is_string()) {
        const std::string s = e.get<std::string>();
        size_t sp = s.find(' ');
        if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
          throw DataError(w + ": merge " + std::to_string(i) + " \"" + s +
                          "\" must be two tokens separated by a space");
        merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
      } else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string()) {
        merges.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
      } else {
        throw DataError(w + ": merge " + std::to_string(i) + " must be \"a b\" or [\"a\", \"b\"]");
      }
    }
    return make_bpe(read_vocab_object(json_field(j, "vocab", w), w), std::move(merges), std::move(o), w);
  }
  if (type == "Unigram") return make_unigram_model(j, ctx);
  throw DataError(w + ": unknown model type \"" + type + "\"");
}

}  // namespace textune::tokenizers
