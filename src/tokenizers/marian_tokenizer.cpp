// MarianTokenizer as transformers 5 runs it through its Python backend:
//  - tokenization_python.py PythonBackend: added tokens split out first (Trie.split, lstrip/rstrip/
//    single_word), the rest tokenized chunk by chunk; convert_tokens_to_ids; prepare_for_model and
//    truncate_sequences (longest_first / only_first / only_second, stride, side); pad.
//  - models/marian/tokenization_marian.py: a leading ">>xx<<" language code kept whole, the source (or
//    target) SentencePiece model, pieces mapped through vocab.json (unknown -> <unk>), </s> appended,
//    special tokens mask with <unk> not counted, decoding through SentencePiece DecodePieces with U+2581
//    turned into spaces and the result stripped.
#include "tokenizers/marian_tokenizer.h"

#include <algorithm>
#include <filesystem>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "tokenizers/sentencepiece_convert.h"
#include "tokenizers/sentencepiece_processor.h"

namespace textune::tokenizers {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------- UTF-8 and Python string helpers

/// Decodes the code point at `s[i]` (valid UTF-8 assumed) and advances `i`.
char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  const size_t n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : 2;
  char32_t c = b0 & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n && i + k < s.size(); ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return c;
}

/// Throws DataError at the first malformed UTF-8 sequence of `text` (overlong forms, surrogates and
/// code points past U+10FFFF are malformed, as Python's decoder says).
void check_utf8(std::string_view text, const char* which) {
  for (size_t i = 0; i < text.size();) {
    const size_t len = spm::valid_utf8_char_len(text.substr(i));
    if (len == 0)
      throw DataError(std::string("invalid UTF-8 in the ") + which + " text at byte offset " + std::to_string(i));
    i += len;
  }
}

/// Python's str.isspace for one code point.
bool py_isspace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/// Byte range [b, e) of `s` without leading (left) and/or trailing (right) Python whitespace.
void py_strip_range(std::string_view s, size_t& b, size_t& e, bool left, bool right) {
  if (left) {
    while (b < e) {
      size_t i = b;
      if (!py_isspace(next_code_point(s, i))) break;
      b = i;
    }
  }
  if (right) {
    while (e > b) {
      size_t start = e - 1;
      while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
      size_t i = start;
      if (!py_isspace(next_code_point(s, i))) break;
      e = start;
    }
  }
}

std::string py_strip(std::string_view s) {
  size_t b = 0, e = s.size();
  py_strip_range(s, b, e, true, true);
  return std::string(s.substr(b, e - b));
}

// ---------------------------------------------------------------- configuration

/// `AddedToken` of tokenizer_config.json's added_tokens_decoder.
struct MarianAddedToken {
  std::string content;
  int64_t id = 0;
  bool lstrip = false, rstrip = false, single_word = false, special = true;
};

std::string token_content(const core::Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return {};
}

/// One token id with its byte span in the original text (absolute).
struct Piece {
  int64_t id;
  size_t begin, end;
};

struct Scratch {
  spm::EncodeScratch spm;
  std::vector<spm::EncodedPiece> pieces;
};

}  // namespace

// ---------------------------------------------------------------- the tokenizer

class MarianTokenizer : public Tokenizer {
 public:
  struct Shared {
    std::string dir;
    std::shared_ptr<const spm::SentencePieceProcessor> spm_source, spm_target;
    std::unordered_map<std::string, int64_t> encoder, target_encoder;
    std::unordered_map<int64_t, std::string> decoder;
    bool separate_vocabs = false;
    std::vector<MarianAddedToken> added;  ///< sorted by content length, longest first (for the split)
    std::unordered_map<std::string, size_t> added_index;  ///< content -> index in `added`
    bool added_first_byte[256] = {};                      ///< first bytes of the added tokens
    std::unordered_map<int64_t, std::string> added_decoder;
    std::vector<const std::string*> id_tokens;  ///< convert_ids_to_tokens for ids 0..n-1 (dense cache)
    std::unordered_set<int64_t> special_ids;      ///< all_special_ids
    std::unordered_set<std::string> special_tokens;  ///< all_special_tokens
    int64_t unk_id = 0, eos_id = 0;
    std::optional<int64_t> pad_id;
    std::string pad_token;
    std::optional<size_t> model_max_length;
    bool clean_up_tokenization_spaces = false;
  };

  MarianTokenizer(std::shared_ptr<const Shared> shared, bool target) : s_(std::move(shared)), target_(target) {}

  std::shared_ptr<const Shared> shared() const { return s_; }

  Encoding encode(const std::string& text, const std::optional<std::string>& pair,
                  const EncodeOptions& options) const override {
    check_utf8(text, "input");
    if (pair) check_utf8(*pair, "pair");
    thread_local Scratch scratch;
    std::vector<Piece> a = tokenize(text, scratch), b;
    if (pair) b = tokenize(*pair, scratch);
    return prepare_for_model(text, std::move(a), pair ? &*pair : nullptr, pair ? std::optional(std::move(b)) : std::nullopt,
                             options);
  }

  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, const std::vector<std::string>* pairs,
                                     const EncodeOptions& options) const override {
    if (pairs && pairs->size() != texts.size())
      throw UsageError("encode_batch: " + std::to_string(texts.size()) + " texts but " + std::to_string(pairs->size()) +
                       " pairs");
    std::vector<Encoding> out(texts.size());
    const size_t n_threads = std::max<size_t>(1, std::min<size_t>(std::thread::hardware_concurrency(), texts.size() / 64));
    auto work = [&](size_t t, std::exception_ptr* error) {
      try {
        for (size_t i = t; i < texts.size(); i += n_threads)
          out[i] = encode(texts[i], pairs ? std::optional<std::string>((*pairs)[i]) : std::nullopt, options);
      } catch (...) {
        *error = std::current_exception();
      }
    };
    std::vector<std::exception_ptr> errors(n_threads);
    std::vector<std::thread> threads;
    for (size_t t = 1; t < n_threads; ++t) threads.emplace_back(work, t, &errors[t]);
    work(0, &errors[0]);
    for (auto& th : threads) th.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
    return out;
  }

  void pad(std::vector<Encoding>& encodings, const PaddingOptions& options) const override {
    if (encodings.empty()) return;
    if (!s_->pad_id) throw DataError(s_->dir + ": cannot pad: the tokenizer has no pad token");
    size_t length = options.strategy == PaddingOptions::Strategy::kFixed ? options.length : 0;
    if (options.strategy == PaddingOptions::Strategy::kLongest)
      for (const auto& e : encodings) length = std::max(length, e.size());
    if (options.pad_to_multiple_of && *options.pad_to_multiple_of > 0) {
      const size_t m = *options.pad_to_multiple_of;
      length = (length + m - 1) / m * m;
    }
    for (auto& e : encodings) pad_one(e, length, options.direction);
  }

  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const override {
    // PythonBackend._decode -> convert_ids_to_tokens -> MarianTokenizer.convert_tokens_to_string.
    std::vector<std::string_view> sub;
    std::string out;
    // transformers decodes with the source model unless the vocabularies are separate.
    const auto& sp = s_->separate_vocabs ? *s_->spm_target : *s_->spm_source;
    for (int64_t id : ids) {
      if (skip_special_tokens && s_->special_ids.count(id)) continue;
      const std::string& token = id_token(id);
      if (s_->special_tokens.count(token)) {
        out += sp.decode_pieces(sub);
        out += token;
        out += ' ';
        sub.clear();
      } else {
        sub.push_back(token);
      }
    }
    out += sp.decode_pieces(sub);
    std::string text;
    text.reserve(out.size());
    for (size_t i = 0; i < out.size();) {
      if (out.compare(i, 3, "\xe2\x96\x81") == 0) {
        text.push_back(' ');
        i += 3;
      } else {
        text.push_back(out[i++]);
      }
    }
    text = py_strip(text);
    if (s_->clean_up_tokenization_spaces) text = clean_up_tokenization(text);
    return text;
  }

  std::optional<int64_t> token_to_id(const std::string& token) const override {
    if (auto it = s_->added_index.find(token); it != s_->added_index.end()) return s_->added[it->second].id;
    const auto& enc = current_encoder();
    if (auto it = enc.find(token); it != enc.end()) return it->second;
    return std::nullopt;
  }

  std::optional<std::string> id_to_token(int64_t id) const override {
    if (auto it = s_->added_decoder.find(id); it != s_->added_decoder.end()) return it->second;
    if (auto it = s_->decoder.find(id); it != s_->decoder.end()) return it->second;
    return std::nullopt;
  }

  size_t vocab_size() const override {
    // len(tokenizer) = len(get_vocab()): the source vocabulary with the added tokens.
    size_t n = s_->encoder.size();
    for (const auto& t : s_->added)
      if (!s_->encoder.count(t.content)) ++n;
    return n;
  }
  std::optional<int64_t> pad_token_id() const override { return s_->pad_id; }
  std::optional<size_t> model_max_length() const override { return s_->model_max_length; }
  size_t num_special_tokens_to_add(bool) const override { return 1; }

 private:
  const std::unordered_map<std::string, int64_t>& current_encoder() const {
    return target_ && s_->separate_vocabs ? s_->target_encoder : s_->encoder;
  }
  const spm::SentencePieceProcessor& current_spm() const { return target_ ? *s_->spm_target : *s_->spm_source; }

  /// convert_ids_to_tokens for one id: added tokens, then vocab.json, then the unknown token.
  const std::string& id_token(int64_t id) const {
    if (id >= 0 && static_cast<size_t>(id) < s_->id_tokens.size()) return *s_->id_tokens[static_cast<size_t>(id)];
    if (auto it = s_->added_decoder.find(id); it != s_->added_decoder.end()) return it->second;
    if (auto it = s_->decoder.find(id); it != s_->decoder.end()) return it->second;
    return s_->added_decoder.at(s_->unk_id);
  }

  /// _convert_token_to_id_with_added_voc.
  int64_t token_id(std::string_view token) const {
    static thread_local std::string key;
    key.assign(token);
    if (auto it = s_->added_index.find(key); it != s_->added_index.end()) return s_->added[it->second].id;
    const auto& enc = current_encoder();
    if (auto it = enc.find(key); it != enc.end()) return it->second;
    return s_->unk_id;
  }

  /// PythonBackend.tokenize + convert_tokens_to_ids, with byte spans.
  std::vector<Piece> tokenize(const std::string& text, Scratch& scratch) const {
    // Trie.split: leftmost, then longest, added token.
    struct Chunk {
      size_t begin, end;
      int added;  // index into s_->added, or -1 for text
    };
    std::vector<Chunk> chunks;
    size_t start = 0;
    for (size_t i = 0; i < text.size();) {
      int found = -1;
      if (!s_->added_first_byte[static_cast<unsigned char>(text[i])]) {
        ++i;
        continue;
      }
      for (size_t k = 0; k < s_->added.size(); ++k) {
        const std::string& c = s_->added[k].content;
        if (!c.empty() && text.compare(i, c.size(), c) == 0) {
          found = static_cast<int>(k);
          break;  // `added` is sorted longest first
        }
      }
      if (found < 0) {
        ++i;
        continue;
      }
      if (start < i) chunks.push_back({start, i, -1});
      chunks.push_back({i, i + s_->added[found].content.size(), found});
      i += s_->added[found].content.size();
      start = i;
    }
    if (start < text.size()) chunks.push_back({start, text.size(), -1});

    // lstrip / rstrip / single_word of the added tokens.
    for (size_t i = 0; i < chunks.size(); ++i) {
      if (chunks[i].added < 0) continue;
      const MarianAddedToken& tok = s_->added[chunks[i].added];
      Chunk* left = i > 0 ? &chunks[i - 1] : nullptr;
      Chunk* right = i + 1 < chunks.size() ? &chunks[i + 1] : nullptr;
      if (tok.rstrip && right && right->end > right->begin) py_strip_range(text, right->begin, right->end, true, false);
      if (tok.lstrip && left && left->end > left->begin) py_strip_range(text, left->begin, left->end, false, true);
      if (tok.single_word) {
        if (left && left->end > left->begin && text[left->end - 1] != ' ') {
          left->end = chunks[i].end;  // the token joins the text on its left
          chunks[i].end = chunks[i].begin;
        } else if (right && right->end > right->begin && text[right->begin] != ' ') {
          right->begin = chunks[i].begin;
          chunks[i].end = chunks[i].begin;
        }
      }
    }

    std::vector<Piece> out;
    const auto& sp = current_spm();
    for (const Chunk& c : chunks) {
      if (c.end <= c.begin) continue;
      const std::string_view chunk(text.data() + c.begin, c.end - c.begin);
      if (c.added >= 0 && chunk == s_->added[c.added].content) {
        out.push_back({s_->added[c.added].id, c.begin, c.end});
        continue;
      }
      if (auto it = s_->added_index.find(std::string(chunk)); it != s_->added_index.end()) {
        out.push_back({s_->added[it->second].id, c.begin, c.end});
        continue;
      }
      // MarianTokenizer._tokenize: a leading ">>xx<<" language code, then SentencePiece.
      std::string_view rest = chunk;
      size_t rest_begin = c.begin;
      if (rest.substr(0, 2) == ">>") {
        const size_t end_loc = rest.find("<<");
        if (end_loc != std::string_view::npos) {
          out.push_back({token_id(rest.substr(0, end_loc + 2)), c.begin, c.begin + end_loc + 2});
          rest.remove_prefix(end_loc + 2);
          rest_begin += end_loc + 2;
        }
      }
      sp.encode(rest, &scratch.pieces, &scratch.spm);
      for (const auto& p : scratch.pieces)
        out.push_back({token_id(sp.piece_text(p, scratch.spm)), rest_begin + p.orig_begin, rest_begin + p.orig_end});
    }
    return out;
  }

  /// PythonBackend.truncate_sequences. Returns the overflowing pieces.
  static std::vector<Piece> truncate(std::vector<Piece>& ids, std::optional<std::vector<Piece>>& pair, size_t remove,
                                     const TruncationOptions& t) {
    std::vector<Piece> overflow;
    if (remove == 0) return overflow;
    const bool left = t.direction == Side::kLeft;
    auto cut = [&](std::vector<Piece>& v, size_t n, bool keep_overflow) {
      if (keep_overflow) {
        const size_t window = std::min(v.size(), t.stride + n);
        if (left)
          overflow.assign(v.begin(), v.begin() + static_cast<ptrdiff_t>(window));
        else
          overflow.assign(v.end() - static_cast<ptrdiff_t>(window), v.end());
      }
      n = std::min(n, v.size());
      if (left)
        v.erase(v.begin(), v.begin() + static_cast<ptrdiff_t>(n));
      else
        v.resize(v.size() - n);
    };
    if (t.strategy == TruncationStrategy::kOnlyFirst || (t.strategy == TruncationStrategy::kLongestFirst && !pair)) {
      cut(ids, remove, true);
    } else if (t.strategy == TruncationStrategy::kLongestFirst) {
      const size_t len_ids = ids.size(), len_pair = pair->size();
      const size_t first_remove = std::min(len_ids > len_pair ? len_ids - len_pair : len_pair - len_ids, remove);
      const size_t second_remove = remove - first_remove;
      size_t ids_to_move, pair_to_move;
      if (len_ids > len_pair) {
        ids_to_move = first_remove + second_remove / 2;
        pair_to_move = second_remove - second_remove / 2;
      } else {
        ids_to_move = second_remove / 2;
        pair_to_move = first_remove + second_remove - second_remove / 2;
      }
      cut(ids, ids_to_move, false);
      if (!pair->empty()) cut(*pair, pair_to_move, false);
      if (left && pair->empty()) pair.reset();  // `pair_ids[n:] if pair_ids else None`
    } else if (t.strategy == TruncationStrategy::kOnlySecond && pair && !pair->empty()) {
      cut(*pair, remove, true);
    }
    return overflow;
  }

  /// PythonBackend.prepare_for_model with MarianTokenizer's special tokens.
  Encoding prepare_for_model(const std::string& text, std::vector<Piece> ids, const std::string* pair_text,
                             std::optional<std::vector<Piece>> pair, const EncodeOptions& options) const {
    const bool add = options.add_special_tokens;
    std::vector<Piece> overflow;
    if (options.truncation) {
      const TruncationOptions& t = *options.truncation;
      if (options.return_overflowing_tokens && t.strategy == TruncationStrategy::kLongestFirst && pair)
        throw UsageError(
            "Not possible to return overflowing tokens for pair of sequences with the `longest_first` truncation "
            "strategy: choose only_first or only_second");
      const size_t total = ids.size() + (pair ? pair->size() : 0) + (add ? 1 : 0);
      if (t.max_length > 0 && total > t.max_length) overflow = truncate(ids, pair, total - t.max_length, t);
    }
    Encoding e;
    const size_t n = ids.size() + (pair ? pair->size() : 0) + 1;
    e.ids.reserve(n);
    e.type_ids.reserve(n);
    e.tokens.reserve(n);
    e.offsets.reserve(n);
    e.special_tokens_mask.reserve(n);
    e.attention_mask.reserve(n);
    e.word_ids.reserve(n);
    e.sequence_ids.reserve(n);
    append(e, text, ids, 0);
    if (pair) append(e, *pair_text, *pair, 1);
    if (add) {
      e.ids.push_back(s_->eos_id);
      e.type_ids.push_back(0);
      e.tokens.push_back(id_token(s_->eos_id));
      e.offsets.emplace_back(0, 0);
      e.special_tokens_mask.push_back(1);
      e.attention_mask.push_back(1);
      e.word_ids.push_back(std::nullopt);
      e.sequence_ids.push_back(std::nullopt);
      // Marian's mask: every special id but <unk> counts, typed in the text or not.
      for (size_t i = 0; i + 1 < e.ids.size(); ++i)
        e.special_tokens_mask[i] = e.ids[i] != s_->unk_id && s_->special_ids.count(e.ids[i]) ? 1 : 0;
    }
    if (options.return_overflowing_tokens && !overflow.empty()) {
      Encoding o;
      const bool from_pair = options.truncation->strategy == TruncationStrategy::kOnlySecond;
      append(o, from_pair ? *pair_text : text, overflow, from_pair ? 1 : 0);
      e.overflowing.push_back(std::move(o));
    }
    return e;
  }

  /// Appends the pieces of one sequence, offsets turned into code points of `text`.
  void append(Encoding& e, const std::string& text, const std::vector<Piece>& pieces, uint32_t sequence) const {
    // Code point index of each byte offset, computed by walking the text once.
    size_t byte = 0, cp = 0;
    auto to_cp = [&](size_t target) {
      if (target < byte) {
        byte = 0;
        cp = 0;
      }
      while (byte < target && byte < text.size()) {
        next_code_point(text, byte);
        ++cp;
      }
      return cp;
    };
    uint32_t word = 0;
    bool first = true;
    for (const Piece& p : pieces) {
      const std::string& token = id_token(p.id);
      e.ids.push_back(p.id);
      e.type_ids.push_back(0);
      e.tokens.push_back(token);
      const size_t b = to_cp(p.begin);
      const size_t en = to_cp(p.end);
      e.offsets.emplace_back(b, en);
      e.special_tokens_mask.push_back(0);
      e.attention_mask.push_back(1);
      // A word starts at every piece that begins with U+2581 (SentencePiece's word boundary).
      if (!first && token.compare(0, 3, "\xe2\x96\x81") == 0) ++word;
      first = false;
      e.word_ids.push_back(word);
      e.sequence_ids.push_back(sequence);
    }
  }

  void pad_one(Encoding& e, size_t length, Side side) const {
    if (e.size() >= length) return;
    const size_t n = length - e.size();
    auto fill = [&](auto& v, auto value) {
      if (side == Side::kRight)
        v.insert(v.end(), n, value);
      else
        v.insert(v.begin(), n, value);
    };
    fill(e.ids, *s_->pad_id);
    fill(e.type_ids, int64_t{0});
    fill(e.tokens, s_->pad_token);
    fill(e.offsets, std::pair<size_t, size_t>(0, 0));
    fill(e.special_tokens_mask, int8_t{1});
    fill(e.attention_mask, int8_t{0});
    fill(e.word_ids, std::optional<uint32_t>());
    fill(e.sequence_ids, std::optional<uint32_t>());
  }

  /// PreTrainedTokenizerBase.clean_up_tokenization.
  static std::string clean_up_tokenization(std::string s) {
    static const std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) {
      std::string out;
      size_t pos = 0;
      while (true) {
        const size_t at = s.find(from, pos);
        if (at == std::string::npos) break;
        out.append(s, pos, at - pos);
        out.append(to);
        pos = at + from.size();
      }
      out.append(s, pos, std::string::npos);
      s.swap(out);
    }
    return s;
  }

  std::shared_ptr<const Shared> s_;
  bool target_;
};

// ---------------------------------------------------------------- loading

namespace {

std::unordered_map<std::string, int64_t> read_vocab_json(const std::string& path) {
  // Plain nlohmann::json (a sorted map): the order-keeping core::Json inserts in linear time per key,
  // which is quadratic on a 60k-entry vocabulary.
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(core::read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw DataError(path + ": invalid JSON: " + e.what());
  }
  if (!j.is_object()) throw DataError(path + ": expected a JSON object mapping pieces to ids");
  std::unordered_map<std::string, int64_t> vocab;
  vocab.reserve(j.size());
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_number_integer())
      throw DataError(path + ": the id of \"" + it.key() + "\" is not an integer");
    vocab[it.key()] = it.value().get<int64_t>();
  }
  return vocab;
}

std::shared_ptr<const Tokenizer> load_marian(const std::string& dir) {
  auto s = std::make_shared<MarianTokenizer::Shared>();
  s->dir = dir;
  core::Json config = core::Json::object();
  if (fs::exists(dir + "/tokenizer_config.json")) config = core::read_json_file(dir + "/tokenizer_config.json");
  core::Json special_map = core::Json::object();
  if (fs::exists(dir + "/special_tokens_map.json")) special_map = core::read_json_file(dir + "/special_tokens_map.json");
  auto special = [&](const char* key, const char* def) {
    std::string v = config.contains(key) ? token_content(config[key]) : std::string();
    if (v.empty() && special_map.contains(key)) v = token_content(special_map[key]);
    return v.empty() ? std::string(def) : v;
  };
  const std::string eos = special("eos_token", "</s>"), unk = special("unk_token", "<unk>"),
                    pad = special("pad_token", "<pad>");
  s->separate_vocabs = config.value("separate_vocabs", false);
  s->clean_up_tokenization_spaces =
      config.contains("clean_up_tokenization_spaces") && config["clean_up_tokenization_spaces"].is_boolean() &&
      config["clean_up_tokenization_spaces"].get<bool>();
  if (config.contains("model_max_length") && config["model_max_length"].is_number()) {
    const double m = config["model_max_length"].get<double>();
    if (m > 0 && m < 1e15) s->model_max_length = static_cast<size_t>(m);
  } else {
    s->model_max_length = 512;  // MarianTokenizer's default
  }

  s->spm_source = spm::SentencePieceProcessor::load(dir + "/source.spm");
  s->spm_target = spm::SentencePieceProcessor::load(dir + "/target.spm");
  s->encoder = read_vocab_json(dir + "/vocab.json");
  if (!s->encoder.count(unk)) throw DataError(dir + "/vocab.json: the unknown token \"" + unk + "\" is not in the vocabulary");
  if (s->separate_vocabs) {
    const std::string target = dir + "/target_vocab.json";
    s->target_encoder = read_vocab_json(target);
    for (const auto& [k, v] : s->target_encoder) s->decoder[v] = k;
  } else {
    for (const auto& [k, v] : s->encoder) s->decoder[v] = k;
  }

  // Added tokens: tokenizer_config's added_tokens_decoder, then the special tokens not yet among them
  // (PythonBackend._add_tokens: the id of a token already in the vocabulary, else the next free id).
  std::vector<MarianAddedToken> added;
  if (config.contains("added_tokens_decoder") && config["added_tokens_decoder"].is_object()) {
    for (auto it = config["added_tokens_decoder"].begin(); it != config["added_tokens_decoder"].end(); ++it) {
      MarianAddedToken t;
      try {
        t.id = std::stoll(it.key());
      } catch (...) {
        throw DataError(dir + "/tokenizer_config.json: added_tokens_decoder key \"" + it.key() + "\" is not an id");
      }
      const core::Json& v = it.value();
      t.content = token_content(v);
      if (t.content.empty()) throw DataError(dir + "/tokenizer_config.json: added token " + it.key() + " has no content");
      t.lstrip = v.value("lstrip", false);
      t.rstrip = v.value("rstrip", false);
      t.single_word = v.value("single_word", false);
      t.special = v.value("special", false);
      added.push_back(t);
    }
  }
  std::vector<std::string> specials = {eos, unk, pad};
  for (const char* key : {"additional_special_tokens", "extra_special_tokens"}) {
    if (config.contains(key) && config[key].is_array())
      for (const auto& t : config[key]) specials.push_back(token_content(t));
  }
  auto vocab_id = [&](const std::string& content) -> std::optional<int64_t> {
    for (const auto& t : added)
      if (t.content == content) return t.id;
    if (auto it = s->encoder.find(content); it != s->encoder.end()) return it->second;
    return std::nullopt;
  };
  for (const std::string& content : specials) {
    if (content.empty()) continue;
    bool present = false;
    for (auto& t : added)
      if (t.content == content) {
        present = true;
        t.special = true;
      }
    if (present) continue;
    MarianAddedToken t;
    t.content = content;
    t.special = true;
    if (auto id = vocab_id(content)) {
      t.id = *id;
    } else {
      size_t size = s->encoder.size();
      for (const auto& a : added)
        if (!s->encoder.count(a.content)) ++size;
      t.id = static_cast<int64_t>(size);
    }
    added.push_back(t);
  }
  for (const auto& t : added) {
    s->added_decoder[t.id] = t.content;
    if (t.special) {
      s->special_ids.insert(t.id);
      s->special_tokens.insert(t.content);
    }
  }
  std::stable_sort(added.begin(), added.end(),
                   [](const MarianAddedToken& a, const MarianAddedToken& b) { return a.content.size() > b.content.size(); });
  for (size_t i = 0; i < added.size(); ++i) {
    s->added_index[added[i].content] = i;
    s->added_first_byte[static_cast<unsigned char>(added[i].content[0])] = true;
  }
  s->added = std::move(added);
  s->unk_id = s->added[s->added_index.at(unk)].id;
  s->eos_id = s->added[s->added_index.at(eos)].id;
  s->pad_id = s->added[s->added_index.at(pad)].id;
  s->pad_token = pad;
  // Dense table of convert_ids_to_tokens (added tokens first, then vocab.json, else <unk>).
  int64_t max_id = -1;
  for (const auto& [id, _] : s->decoder) max_id = std::max(max_id, id);
  for (const auto& [id, _] : s->added_decoder) max_id = std::max(max_id, id);
  if (max_id >= 0 && static_cast<size_t>(max_id) < 4 * (s->decoder.size() + s->added_decoder.size()) + 1024) {
    const std::string& unk_token = s->added_decoder.at(s->unk_id);
    s->id_tokens.assign(static_cast<size_t>(max_id) + 1, &unk_token);
    for (const auto& [id, token] : s->decoder) s->id_tokens[static_cast<size_t>(id)] = &token;
    for (const auto& [id, token] : s->added_decoder) s->id_tokens[static_cast<size_t>(id)] = &token;
  }
  return std::make_shared<const MarianTokenizer>(s, false);
}

}  // namespace

std::shared_ptr<const Tokenizer> load_sentencepiece_dir(const std::string& dir) {
  if (fs::exists(dir + "/source.spm") && fs::exists(dir + "/target.spm") && fs::exists(dir + "/vocab.json"))
    return load_marian(dir);
  if (fs::exists(dir + "/spiece.model")) return load_t5_spiece(dir);
  return nullptr;
}

std::shared_ptr<const Tokenizer> marian_target_tokenizer(const std::shared_ptr<const Tokenizer>& tokenizer) {
  const auto* m = dynamic_cast<const MarianTokenizer*>(tokenizer.get());
  if (!m) return nullptr;
  return std::make_shared<const MarianTokenizer>(m->shared(), true);
}

}  // namespace textune::tokenizers
