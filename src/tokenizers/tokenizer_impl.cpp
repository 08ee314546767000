#include "tokenizers/tokenizer_impl.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "textune/core/error.h"
#include "tokenizers/encoding_ops.h"
#include "tokenizers/unicode.h"

namespace textune::tokenizers {

// ---------------------------------------------------------------- thread pool

namespace {

thread_local bool t_in_parallel_for = false;  // nested calls run serially instead of deadlocking

class ThreadPool {
 public:
  static ThreadPool& instance() {
    static ThreadPool pool;
    return pool;
  }

  void run(size_t n, const std::function<void(size_t)>& fn) {
    std::unique_lock<std::mutex> job_lock(job_mu_);  // one parallel_for at a time
    Job job;
    job.n = n;
    job.fn = &fn;
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &job;
      ++generation_;
    }
    cv_.notify_all();
    work(job);
    {
      std::unique_lock<std::mutex> lock(mu_);
      done_cv_.wait(lock, [&] { return job.active == 0; });
      job_ = nullptr;
    }
    if (job.error) std::rethrow_exception(job.error);
  }

  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  struct Job {
    size_t n = 0;
    const std::function<void(size_t)>* fn = nullptr;
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex error_mu;
    size_t active = 0;  // workers inside work(), guarded by mu_
  };

  ThreadPool() {
    unsigned n = std::thread::hardware_concurrency();
    if (n == 0) n = 1;
    for (unsigned i = 1; i < n; ++i) threads_.emplace_back([this] { loop(); });
  }

  static void work(Job& job) {
    struct Flag {
      bool saved;
      Flag() : saved(t_in_parallel_for) { t_in_parallel_for = true; }
      ~Flag() { t_in_parallel_for = saved; }
    } flag;
    while (!job.failed.load(std::memory_order_relaxed)) {
      size_t i = job.next.fetch_add(1);
      if (i >= job.n) break;
      try {
        (*job.fn)(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(job.error_mu);
        if (!job.error) job.error = std::current_exception();
        job.failed = true;
      }
    }
  }

  void loop() {
    uint64_t seen = 0;
    while (true) {
      Job* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (generation_ != seen && job_ != nullptr); });
        if (stop_) return;
        seen = generation_;
        job = job_;
        ++job->active;
      }
      work(*job);
      {
        std::lock_guard<std::mutex> lock(mu_);
        --job->active;
      }
      done_cv_.notify_all();
    }
  }

  std::mutex job_mu_;
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  Job* job_ = nullptr;
  uint64_t generation_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace

void parallel_for(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (n == 1 || std::thread::hardware_concurrency() <= 1 || t_in_parallel_for) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  ThreadPool::instance().run(n, fn);
}

// ---------------------------------------------------------------- pipeline

namespace {

std::atomic<bool> g_bounded_encoding{true};
std::atomic<size_t> g_bounded_count{0};

void check_utf8(const std::string& text, const char* what) {
  size_t bad = unicode::find_invalid_utf8(text);
  if (bad != std::string::npos)
    throw DataError(std::string(what) + " is not valid UTF-8 (invalid byte at offset " + std::to_string(bad) + ")");
}

class TokenizerImpl : public Tokenizer {
 public:
  explicit TokenizerImpl(TokenizerComponents c) : c_(std::move(c)) {
    if (!c_.model) throw DataError("tokenizer: no model");
    // Ids as tokenizers gives them when it loads "added_tokens" (AddedVocabulary::add_tokens, in
    // file order): the id of the same content already added or in the model's vocabulary, else
    // the model's vocabulary size, or one past the largest added id once that is beyond it. The
    // "id" written in the file is not used (tokenizers only warns when they differ).
    std::unordered_map<std::string, uint32_t> assigned;
    std::optional<uint32_t> max_id;
    const uint32_t vocab = static_cast<uint32_t>(c_.model->vocab_size());
    for (AddedToken& t : c_.added_tokens) {
      if (t.content.empty()) continue;
      uint32_t id;
      if (auto it = assigned.find(t.content); it != assigned.end()) {
        id = it->second;
      } else if (auto m = c_.model->token_to_id(t.content)) {
        id = *m;
      } else {
        id = !max_id ? vocab : (*max_id >= vocab || vocab == 0 ? *max_id + 1 : vocab);
      }
      t.id = id;
      assigned[t.content] = id;
      max_id = max_id ? std::max(*max_id, id) : id;
    }
    added_.add_tokens(c_.added_tokens, c_.normalizer.get());
    if (c_.pad_token_id) {
      pad_id_ = c_.pad_token_id;
    } else if (c_.pad_token) {
      if (auto id = token_to_id(*c_.pad_token)) pad_id_ = *id;
    }
    if (pad_id_) {
      if (c_.pad_token) {
        pad_token_ = *c_.pad_token;
      } else if (auto t = id_to_token(*pad_id_)) {
        pad_token_ = *t;
      }
    }
  }

  Encoding encode(const std::string& text, const std::optional<std::string>& pair,
                  const EncodeOptions& options) const override {
    check_utf8(text, "the input text");
    if (pair) check_utf8(*pair, "the pair text");
    // tokenizers 0.23's early exit: stop tokenizing a sequence at max_length tokens. Without it, a
    // single text truncated to the right with no overflow windows keeps its first max_length tokens
    // at most, so it may stop there too. Either way only a prefix of the text is encoded
    // (encode_bounded), so memory follows what is kept, not the text's length.
    size_t limit = SIZE_MAX;
    if (options.truncation && options.truncation->direction == Side::kRight &&
        (options.truncation->early_exit || (!pair && !options.return_overflowing_tokens)))
      limit = options.truncation->max_length;
    Encoding a = encode_bounded(text, 0, limit);
    std::optional<Encoding> b;
    if (pair) b = encode_bounded(*pair, 1, limit);
    if (options.truncation) truncate(a, b, *options.truncation, options.add_special_tokens);
    Encoding out = post_process(std::move(a), std::move(b), options.add_special_tokens);
    if (!options.return_overflowing_tokens) out.overflowing.clear();
    return out;
  }

  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts, const std::vector<std::string>* pairs,
                                     const EncodeOptions& options) const override {
    if (pairs && pairs->size() != texts.size())
      throw DataError("encode_batch: " + std::to_string(texts.size()) + " texts but " + std::to_string(pairs->size()) +
                      " pairs");
    std::vector<Encoding> out(texts.size());
    const size_t chunk = 16;
    const size_t n_chunks = (texts.size() + chunk - 1) / chunk;
    parallel_for(n_chunks, [&](size_t c) {
      const size_t end = std::min(texts.size(), (c + 1) * chunk);
      for (size_t i = c * chunk; i < end; ++i) {
        try {
          out[i] = pairs ? encode(texts[i], (*pairs)[i], options) : encode(texts[i], std::nullopt, options);
        } catch (const DataError& e) {
          throw DataError("input " + std::to_string(i) + ": " + e.what());
        }
      }
    });
    return out;
  }

  Encoding encode_words(const std::vector<std::string>& words, const std::vector<std::string>* pair_words,
                        const EncodeOptions& options) const override {
    for (size_t i = 0; i < words.size(); ++i) check_utf8(words[i], ("word " + std::to_string(i)).c_str());
    if (pair_words)
      for (size_t i = 0; i < pair_words->size(); ++i)
        check_utf8((*pair_words)[i], ("pair word " + std::to_string(i)).c_str());
    // The early exit of tokenizers 0.23 stops within one do_tokenize call, i.e. within one word
    // here. A single sequence truncated to the right without overflow windows keeps at most
    // max_length tokens, so words past them need not be tokenized at all.
    size_t word_limit = SIZE_MAX, total_limit = SIZE_MAX;
    if (options.truncation && options.truncation->direction == Side::kRight) {
      if (options.truncation->early_exit) word_limit = options.truncation->max_length;
      if (!pair_words && !options.return_overflowing_tokens) total_limit = options.truncation->max_length;
    }
    Encoding a = encode_word_list(words, 0, word_limit, total_limit);
    std::optional<Encoding> b;
    if (pair_words) b = encode_word_list(*pair_words, 1, word_limit, SIZE_MAX);
    if (options.truncation) truncate(a, b, *options.truncation, options.add_special_tokens);
    Encoding out = post_process(std::move(a), std::move(b), options.add_special_tokens);
    if (!options.return_overflowing_tokens) out.overflowing.clear();
    return out;
  }

  std::vector<Encoding> encode_words_batch(const std::vector<std::vector<std::string>>& sentences,
                                           const EncodeOptions& options) const override {
    std::vector<Encoding> out(sentences.size());
    const size_t chunk = 16;
    const size_t n_chunks = (sentences.size() + chunk - 1) / chunk;
    parallel_for(n_chunks, [&](size_t c) {
      const size_t end = std::min(sentences.size(), (c + 1) * chunk);
      for (size_t i = c * chunk; i < end; ++i) {
        try {
          out[i] = encode_words(sentences[i], nullptr, options);
        } catch (const DataError& e) {
          throw DataError("sentence " + std::to_string(i) + ": " + e.what());
        }
      }
    });
    return out;
  }

  bool needs_prefix_space() const override {
    return byte_level_without_prefix_space(c_.pre_tokenizer_json, "pretokenizers");
  }

  std::shared_ptr<const Tokenizer> with_prefix_space() const override {
    TokenizerComponents c = c_;
    if (needs_prefix_space()) {
      TokenizerJson pre = c_.pre_tokenizer_json;
      set_prefix_space(pre, "pretokenizers");
      c.pre_tokenizer = make_pre_tokenizer(pre, LoadContext{c_.source + ": pre_tokenizer (add_prefix_space)"});
      c.pre_tokenizer_json = std::move(pre);
      if (!c_.post_processor_json.is_null()) {
        TokenizerJson post = c_.post_processor_json;
        set_prefix_space(post, "processors");
        c.post_processor = make_post_processor(post, LoadContext{c_.source + ": post_processor (add_prefix_space)"});
        c.post_processor_json = std::move(post);
      }
    }
    return std::make_shared<TokenizerImpl>(std::move(c));
  }

  std::optional<std::string> continuing_subword_prefix() const override {
    return c_.model->continuing_subword_prefix();
  }

  std::string convert_tokens_to_string(const std::vector<std::string>& tokens) const override {
    if (!c_.decoder) return Tokenizer::convert_tokens_to_string(tokens);
    return c_.decoder->decode(tokens);
  }

  std::optional<int64_t> unk_token_id() const override {
    if (c_.unk_token)
      if (auto id = token_to_id(*c_.unk_token)) return *id;
    if (auto id = c_.model->unk_id()) return *id;
    return std::nullopt;
  }

  std::optional<int64_t> cls_token_id() const override {
    if (c_.cls_token) {
      // transformers' convert_tokens_to_ids: a token the vocabulary lacks gives the unknown id.
      if (auto id = token_to_id(*c_.cls_token)) return *id;
      return unk_token_id();
    }
    return post_processor_cls(c_.post_processor_json);
  }

  Side padding_side() const override { return c_.padding_side; }

  void pad(std::vector<Encoding>& encodings, const PaddingOptions& options) const override {
    if (encodings.empty()) return;
    if (!pad_id_) throw DataError("padding: this tokenizer has no pad token");
    size_t length = 0;
    if (options.strategy == PaddingOptions::Strategy::kFixed) {
      length = options.length;
    } else {
      for (const Encoding& e : encodings) length = std::max(length, e.ids.size());
    }
    if (options.pad_to_multiple_of && *options.pad_to_multiple_of > 0 && length % *options.pad_to_multiple_of > 0)
      length += *options.pad_to_multiple_of - length % *options.pad_to_multiple_of;
    for (Encoding& e : encodings) pad_encoding(e, length, *pad_id_, c_.pad_type_id, pad_token_, options.direction);
  }

  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const override {
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (int64_t id : ids) {
      if (id < 0 || id > 0xFFFFFFFFLL) continue;
      const uint32_t u = static_cast<uint32_t>(id);
      if (const AddedToken* t = added_.by_id(u)) {
        if (skip_special_tokens && added_.is_special(t->content)) continue;
        tokens.push_back(t->content);
      } else if (const std::string* s = c_.model->id_to_token(u)) {
        if (skip_special_tokens && added_.is_special(*s)) continue;
        tokens.push_back(*s);
      }
    }
    std::string out;
    if (c_.decoder) {
      out = c_.decoder->decode(std::move(tokens));
    } else {
      for (size_t i = 0; i < tokens.size(); ++i) {
        if (i) out += ' ';
        out += tokens[i];
      }
    }
    if (c_.clean_up_tokenization_spaces) out = clean_up_tokenization(std::move(out));
    return out;
  }

  std::optional<int64_t> token_to_id(const std::string& token) const override {
    if (auto id = added_.token_to_id(token)) return *id;
    if (auto id = c_.model->token_to_id(token)) return *id;
    return std::nullopt;
  }
  std::optional<std::string> id_to_token(int64_t id) const override {
    if (id < 0 || id > 0xFFFFFFFFLL) return std::nullopt;
    if (const AddedToken* t = added_.by_id(static_cast<uint32_t>(id))) return t->content;
    if (const std::string* s = c_.model->id_to_token(static_cast<uint32_t>(id))) return *s;
    return std::nullopt;
  }
  size_t vocab_size() const override {
    size_t n = c_.model->vocab_size();
    for (const AddedToken& t : added_.tokens())
      if (!c_.model->token_to_id(t.content)) ++n;
    return n;
  }
  std::optional<int64_t> pad_token_id() const override { return pad_id_; }
  std::optional<size_t> model_max_length() const override { return c_.model_max_length; }
  size_t num_special_tokens_to_add(bool pair) const override {
    return c_.post_processor ? c_.post_processor->added_tokens(pair) : 0;
  }

 private:
  /// transformers' PreTrainedTokenizerBase.clean_up_tokenization (tokenization_utils_base.py):
  /// these ten replacements, in this order, each over the whole string.
  static std::string clean_up_tokenization(std::string s) {
    static const std::pair<std::string_view, std::string_view> kRules[] = {
        {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) {
      if (s.find(from) == std::string::npos) continue;
      std::string out;
      size_t pos = 0;
      for (size_t at; (at = s.find(from, pos)) != std::string::npos; pos = at + from.size()) {
        out.append(s, pos, at - pos);
        out.append(to);
      }
      out.append(s, pos, std::string::npos);
      s.swap(out);
    }
    return s;
  }

  /// The cls token id of a post-processor: BertProcessing / RobertaProcessing "cls": [token, id];
  /// TemplateProcessing: the special token that opens the "single" template (its first id); inside
  /// a Sequence, the first processor that has one. None otherwise (GPT-2's template has none).
  static std::optional<int64_t> post_processor_cls(const TokenizerJson& j) {
    if (!j.is_object() || !j.contains("type") || !j.at("type").is_string()) return std::nullopt;
    const std::string type = j.at("type").get<std::string>();
    if (type == "BertProcessing" || type == "RobertaProcessing") {
      auto it = j.find("cls");
      if (it != j.end() && it->is_array() && it->size() == 2 && (*it)[1].is_number_unsigned())
        return static_cast<int64_t>((*it)[1].get<uint64_t>());
      return std::nullopt;
    }
    if (type == "TemplateProcessing") {
      auto single = j.find("single");
      if (single == j.end() || !single->is_array() || single->empty()) return std::nullopt;
      const TokenizerJson& first = (*single)[0];
      if (!first.is_object() || !first.contains("SpecialToken")) return std::nullopt;
      const TokenizerJson& st = first.at("SpecialToken");
      if (!st.is_object() || !st.contains("id") || !st.at("id").is_string()) return std::nullopt;
      auto specials = j.find("special_tokens");
      if (specials == j.end() || !specials->is_object()) return std::nullopt;
      auto entry = specials->find(st.at("id").get<std::string>());
      if (entry == specials->end() || !entry->is_object() || !entry->contains("ids")) return std::nullopt;
      const TokenizerJson& ids = entry->at("ids");
      if (!ids.is_array() || ids.empty() || !ids[0].is_number_unsigned()) return std::nullopt;
      return static_cast<int64_t>(ids[0].get<uint64_t>());
    }
    if (type == "Sequence" && j.contains("processors") && j.at("processors").is_array())
      for (const TokenizerJson& part : j.at("processors"))
        if (auto id = post_processor_cls(part)) return id;
    return std::nullopt;
  }

  /// Whether `j` (a pre-tokenizer or post-processor object) is, or holds in its Sequence list
  /// `list_key`, a ByteLevel component whose "add_prefix_space" is false (absent means true, as
  /// tokenizers reads it).
  static bool byte_level_without_prefix_space(const TokenizerJson& j, const char* list_key) {
    if (!j.is_object() || !j.contains("type") || !j.at("type").is_string()) return false;
    const std::string type = j.at("type").get<std::string>();
    if (type == "ByteLevel") {
      auto it = j.find("add_prefix_space");
      return it != j.end() && it->is_boolean() && !it->get<bool>();
    }
    if (type == "Sequence" && j.contains(list_key) && j.at(list_key).is_array())
      for (const TokenizerJson& part : j.at(list_key))
        if (byte_level_without_prefix_space(part, list_key)) return true;
    return false;
  }

  /// transformers' RobertaTokenizerFast(add_prefix_space=True) (tokenization_roberta_fast.py):
  /// "add_prefix_space" set to true on the component when it has that field (ByteLevel,
  /// RobertaProcessing), "trim_offsets" kept. Components inside a Sequence are set too
  /// (transformers leaves those, which would leave pre-split words without their space).
  static void set_prefix_space(TokenizerJson& j, const char* list_key) {
    if (!j.is_object()) return;
    if (j.contains("add_prefix_space")) j["add_prefix_space"] = true;
    if (j.contains("type") && j.at("type") == "Sequence" && j.contains(list_key) && j.at(list_key).is_array())
      for (TokenizerJson& part : j.at(list_key)) set_prefix_space(part, list_key);
  }

  /// Pre-split words as one sequence (tokenizers' encode_single_sequence on
  /// InputSequence::PreTokenized): each word through added tokens, normalizer, pre-tokenizer and
  /// model on its own, word_ids the word's index, offsets in code points of the word (merged
  /// without growing them). `word_limit` stops within a word at that many tokens; once
  /// `total_limit` tokens are held the remaining words are left out.
  Encoding encode_word_list(const std::vector<std::string>& words, uint32_t type_id, size_t word_limit,
                            size_t total_limit) const {
    Encoding out;
    for (size_t i = 0; i < words.size() && out.ids.size() < total_limit; ++i) {
      Encoding w = encode_bounded(words[i], type_id, word_limit);
      const uint32_t word = static_cast<uint32_t>(i);
      out.ids.insert(out.ids.end(), w.ids.begin(), w.ids.end());
      out.type_ids.insert(out.type_ids.end(), w.type_ids.begin(), w.type_ids.end());
      for (std::string& t : w.tokens) out.tokens.push_back(std::move(t));
      out.offsets.insert(out.offsets.end(), w.offsets.begin(), w.offsets.end());
      out.special_tokens_mask.insert(out.special_tokens_mask.end(), w.special_tokens_mask.begin(),
                                     w.special_tokens_mask.end());
      out.attention_mask.insert(out.attention_mask.end(), w.attention_mask.begin(), w.attention_mask.end());
      out.word_ids.insert(out.word_ids.end(), w.ids.size(), word);
      out.sequence_ids.insert(out.sequence_ids.end(), w.sequence_ids.begin(), w.sequence_ids.end());
    }
    return out;
  }

  /// What encode_single saw, to tell whether a prefix of the text gave the same tokens.
  struct SingleInfo {
    bool reached_limit = false;  ///< stopped at `limit` tokens before the last split
    size_t splits = 0;           ///< splits of the text
    size_t last_split = 0;       ///< index of the last split tokenized
    size_t last_end = 0;         ///< its end in bytes of the text
  };

  /// encode_single(text, type_id, limit), tokenizing only a prefix of `text` when `limit` allows:
  /// a prefix cut at a whitespace boundary (else before a CJK/Hangul/kana character), grown by
  /// doubling until the tokens kept are provably those of the whole text, i.e. the limit was
  /// reached at a split that is not the prefix's last and that ends at least `margin` bytes before
  /// the cut (margin covers an added token straddling the cut, and normalizer context). Work and
  /// memory are then proportional to the prefix (about 8 bytes of text per kept token to start),
  /// not to the text: a 50 MB text truncated to 512 tokens is encoded from its first few KB.
  /// Falls back to the whole text when no boundary is found (one 50 MB word).
  Encoding encode_bounded(const std::string& text, uint32_t type_id, size_t limit) const {
    if (limit == SIZE_MAX || text.size() <= 4096 || !g_bounded_encoding.load(std::memory_order_relaxed))
      return encode_single(text, type_id, limit);
    size_t max_added = 0;
    for (const AddedToken& t : added_.tokens()) max_added = std::max(max_added, t.content.size());
    const size_t margin = 4 * max_added + 64;
    size_t want = std::max<size_t>(4096, (limit > (SIZE_MAX >> 5) ? SIZE_MAX >> 5 : limit) * 8 + margin);
    while (want < text.size()) {
      const size_t cut = safe_cut(text, want);
      if (cut >= text.size()) break;
      SingleInfo info;
      Encoding e = encode_single(std::string_view(text).substr(0, cut), type_id, limit, &info);
      if (info.reached_limit && info.last_split + 1 < info.splits && info.last_end + margin <= cut) {
        g_bounded_count.fetch_add(1, std::memory_order_relaxed);
        return e;
      }
      want = cut * 2;
    }
    return encode_single(text, type_id, limit);
  }

  /// The first boundary at or after `pos` where cutting `text` cannot change the splits before
  /// it: after a run of ASCII whitespace and before a non-whitespace byte, preferred within 1 KB;
  /// else before a CJK ideograph, Hangul syllable or kana (which no normalizer composes with what
  /// precedes); else the next whitespace boundary; text.size() when there is none.
  static size_t safe_cut(const std::string& text, size_t pos) {
    auto ws = [&](size_t i) {
      const char c = text[i];
      return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    };
    auto ws_boundary = [&](size_t from, size_t to) -> size_t {
      for (size_t i = std::max<size_t>(from, 1); i < to; ++i)
        if (ws(i - 1) && !ws(i)) return i;
      return std::string::npos;
    };
    const size_t n = text.size();
    const size_t near = std::min(n, pos + 1024);
    if (size_t i = ws_boundary(pos, near); i != std::string::npos) return i;
    for (size_t i = pos; i + 3 <= std::min(n, pos + 65536); ++i) {
      const unsigned char b0 = static_cast<unsigned char>(text[i]);
      if (b0 < 0xE3 || b0 > 0xED) continue;  // 3-byte lead bytes of U+3000..U+DFFF
      const char32_t c =
          (char32_t(b0 & 0x0F) << 12) | (char32_t(text[i + 1] & 0x3F) << 6) | char32_t(text[i + 2] & 0x3F);
      if ((c >= 0x3041 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
          (c >= 0xAC00 && c <= 0xD7A3))
        return i;
    }
    if (size_t i = ws_boundary(near, n); i != std::string::npos) return i;
    return n;
  }

  /// One text through added tokens, normalizer, pre-tokenizer and model, with offsets in code
  /// points of `text` (PreTokenizedString::into_encoding with OffsetType::Char). Stops before a
  /// split once `limit` tokens are held (tokenizers 0.23's early exit).
  Encoding encode_single(std::string_view text, uint32_t type_id, size_t limit, SingleInfo* info = nullptr) const {
    PreTokenizedString pre = added_.extract_and_normalize(c_.normalizer.get(), text);
    if (c_.pre_tokenizer) c_.pre_tokenizer->pre_tokenize(pre);

    // Byte -> code point index, for non-ASCII text.
    bool ascii = true;
    for (char ch : text) {
      if (static_cast<unsigned char>(ch) >= 0x80) {
        ascii = false;
        break;
      }
    }
    std::vector<uint32_t> char_of_byte;
    if (!ascii) {
      char_of_byte.resize(text.size());
      uint32_t ci = 0;
      for (size_t b = 0; b < text.size(); ++b) {
        if (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) != 0x80) ++ci;
        char_of_byte[b] = ci;
      }
    }
    auto to_chars = [&](Offsets o) -> Offsets {
      if (ascii) return o;
      const size_t len = text.size();
      if (o.first >= len) return o;  // not in the map: unchanged
      size_t start = char_of_byte[o.first];
      size_t end;
      if (o.second < len) {
        end = char_of_byte[o.second];
      } else {
        size_t last = (o.second >= 1 && o.second - 1 < len) ? char_of_byte[o.second - 1] : start;
        end = last + 1;
      }
      return {start, end};
    };

    Encoding e;
    std::vector<Token> tokens;
    if (info) info->splits = pre.splits.size();
    for (size_t idx = 0; idx < pre.splits.size(); ++idx) {
      if (e.ids.size() >= limit) {
        if (info) info->reached_limit = true;
        break;
      }
      Split& s = pre.splits[idx];
      if (info) {
        info->last_split = idx;
        info->last_end = s.normalized.offsets_original().second;
      }
      if (!s.tokens) {
        tokens.clear();
        c_.model->tokenize(s.normalized.get(), tokens);
      }
      std::vector<Token>& toks = s.tokens ? *s.tokens : tokens;
      const size_t shift = s.normalized.offsets_original().first;
      for (Token& t : toks) {
        Offsets o = t.offsets;
        if (auto r = s.normalized.normalized_to_original(t.offsets.first, t.offsets.second))
          o = {shift + r->first, shift + r->second};
        e.ids.push_back(t.id);
        e.tokens.push_back(std::move(t.value));
        e.offsets.push_back(to_chars(o));
        e.word_ids.push_back(static_cast<uint32_t>(idx));
      }
    }
    const size_t n = e.ids.size();
    e.type_ids.assign(n, type_id);
    e.special_tokens_mask.assign(n, 0);
    e.attention_mask.assign(n, 1);
    e.sequence_ids.assign(n, std::nullopt);
    return e;
  }

  /// tokenizers/src/utils/truncation.rs truncate_encodings, after taking the special tokens off
  /// max_length.
  void truncate(Encoding& a, std::optional<Encoding>& b, const TruncationOptions& t, bool add_special) const {
    size_t max_length = t.max_length;
    const size_t n_added = add_special ? num_special_tokens_to_add(b.has_value()) : 0;
    if (n_added > 0) {
      if (max_length < n_added)
        throw DataError("truncation: max_length " + std::to_string(max_length) + " is smaller than the " +
                        std::to_string(n_added) + " special tokens this tokenizer adds");
      max_length -= n_added;
    }
    if (max_length == 0) {
      truncate_encoding(a, 0, t.stride, t.direction);
      if (b) truncate_encoding(*b, 0, t.stride, t.direction);
      return;
    }
    const size_t total = a.ids.size() + (b ? b->ids.size() : 0);
    if (total <= max_length) return;
    const size_t to_remove = total - max_length;
    switch (t.strategy) {
      case TruncationStrategy::kLongestFirst: {
        if (!b) {
          truncate_encoding(a, total - to_remove, t.stride, t.direction);
          return;
        }
        size_t n1 = a.ids.size(), n2 = b->ids.size();
        bool swap = false;
        if (n1 > n2) {
          swap = true;
          std::swap(n1, n2);
        }
        if (n1 > max_length) {
          n2 = n1;
        } else {
          n2 = std::max(n1, max_length - n1);
        }
        if (n1 + n2 > max_length) {
          n1 = max_length / 2;
          n2 = n1 + max_length % 2;
        }
        if (swap) std::swap(n1, n2);
        truncate_encoding(a, n1, t.stride, t.direction);
        truncate_encoding(*b, n2, t.stride, t.direction);
        return;
      }
      case TruncationStrategy::kOnlyFirst:
      case TruncationStrategy::kOnlySecond: {
        Encoding* target = nullptr;
        if (t.strategy == TruncationStrategy::kOnlyFirst) {
          target = &a;
        } else {
          if (!b) throw DataError("truncation only_second needs a pair of texts");
          target = &*b;
        }
        const size_t len = target->ids.size();
        if (len <= to_remove)
          throw DataError("truncation: the sequence to truncate (" + std::to_string(len) +
                          " tokens) is too short to reach max_length " + std::to_string(t.max_length) +
                          " (it would have to lose " + std::to_string(to_remove) + " tokens)");
        truncate_encoding(*target, len - to_remove, t.stride, t.direction);
        return;
      }
    }
  }

  Encoding post_process(Encoding a, std::optional<Encoding> b, bool add_special) const {
    std::vector<Encoding> list;
    list.push_back(std::move(a));
    if (b) list.push_back(std::move(*b));
    for (size_t i = 0; i < list.size(); ++i) set_sequence_id(list[i], static_cast<uint32_t>(i));
    if (c_.post_processor) list = c_.post_processor->process_encodings(std::move(list), add_special);
    if (list.size() == 1) return std::move(list[0]);
    return merge_encodings(std::move(list));
  }

  TokenizerComponents c_;
  AddedVocabulary added_;
  std::optional<int64_t> pad_id_;
  std::string pad_token_;
};

}  // namespace

bool set_bounded_encoding(bool on) {
  return g_bounded_encoding.exchange(on);
}
size_t bounded_encoding_count() {
  return g_bounded_count.load();
}

std::shared_ptr<const Tokenizer> make_tokenizer(TokenizerComponents components) {
  return std::make_shared<TokenizerImpl>(std::move(components));
}

}  // namespace textune::tokenizers
