// The public tokenizer API. Reproduces Hugging Face `tokenizers` (Rust crate, v0.23):
// tokenizer.json interpreted stage by stage, or the legacy vocabulary files.
//
// NOTE (interface pinned by the lead so that data/train/serve can code against it; the tokenizers
// layer owns and may extend it, but must not change what is declared here without updating callers).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace textune::tokenizers {

/// `tokenizers`' TruncationStrategy.
enum class TruncationStrategy { kLongestFirst, kOnlyFirst, kOnlySecond };
/// `tokenizers`' TruncationDirection / PaddingDirection.
enum class Side { kRight, kLeft };

/// Truncation settings (`tokenizers`' TruncationParams).
struct TruncationOptions {
  size_t max_length = 512;  ///< in tokens, special tokens included
  TruncationStrategy strategy = TruncationStrategy::kLongestFirst;
  size_t stride = 0;        ///< overlap between overflow windows, in tokens
  Side direction = Side::kRight;
  /// tokenizers >= 0.23.1 (PR #1990) stops tokenizing a sequence once it holds max_length tokens
  /// when truncating to the right, so overflow windows cover at most the first max_length tokens
  /// (whole pre-tokenized words) of each sequence. true reproduces that (transformers 5 with
  /// tokenizers 0.23); false tokenizes everything, as tokenizers 0.22 did, so the windows cover
  /// the whole text.
  bool early_exit = true;
};

/// Padding settings (`tokenizers`' PaddingParams).
struct PaddingOptions {
  enum class Strategy { kLongest, kFixed } strategy = Strategy::kLongest;
  size_t length = 0;               ///< for kFixed
  std::optional<size_t> pad_to_multiple_of;
  Side direction = Side::kRight;
  // pad id/type id/token come from the tokenizer (tokenizer.json "padding" or its pad token)
};

/// Options of one encode call.
struct EncodeOptions {
  bool add_special_tokens = true;
  std::optional<TruncationOptions> truncation;   ///< none: no truncation
  bool return_overflowing_tokens = false;        ///< keep the windows truncation cuts off
};

/// The result of encoding one text or pair; all vectors have the same length (tokens).
/// Mirrors `tokenizers::Encoding`.
struct Encoding {
  std::vector<int64_t> ids;                 ///< input_ids
  std::vector<int64_t> type_ids;            ///< token_type_ids
  std::vector<std::string> tokens;
  std::vector<std::pair<size_t, size_t>> offsets;  ///< [begin, end) in Unicode code points of the
                                                   ///< original text of its sequence; (0,0) for specials
  std::vector<int8_t> special_tokens_mask;  ///< 1 for added special tokens
  std::vector<int8_t> attention_mask;       ///< 0 for padding
  std::vector<std::optional<uint32_t>> word_ids;     ///< word index within its sequence
  std::vector<std::optional<uint32_t>> sequence_ids; ///< 0 first text, 1 pair, none for specials
  std::vector<Encoding> overflowing;        ///< further windows (return_overflowing_tokens)

  size_t size() const { return ids.size(); }
};

/// A loaded tokenizer. Immutable after loading, so `encode`/`decode` are safe from many threads.
class Tokenizer {
 public:
  /// Loads `DIR/tokenizer.json` when present, else the legacy files (vocab.txt +
  /// tokenizer_config.json; vocab.json + merges.txt; *.spm / spiece.model).
  /// @throws textune::DataError naming the file and the component (unknown "type", bad vocab ...).
  static std::shared_ptr<const Tokenizer> from_dir(const std::string& dir);
  /// Loads one tokenizer.json file.
  static std::shared_ptr<const Tokenizer> from_file(const std::string& tokenizer_json);

  virtual ~Tokenizer() = default;

  /// Encodes a text, or a pair when `pair` is given. Input must be valid UTF-8.
  /// @throws textune::DataError for invalid UTF-8, or a stride that leaves no room in a window.
  virtual Encoding encode(const std::string& text, const std::optional<std::string>& pair = std::nullopt,
                          const EncodeOptions& options = {}) const = 0;

  /// Encodes many inputs on all cores; results in input order.
  virtual std::vector<Encoding> encode_batch(const std::vector<std::string>& texts,
                                             const std::vector<std::string>* pairs = nullptr,
                                             const EncodeOptions& options = {}) const = 0;

  /// Encodes pre-split words: transformers' `is_split_into_words=True`, tokenizers'
  /// InputSequence::PreTokenized. Each word is normalized and pre-tokenized on its own; word_ids give
  /// the word's index; offsets are in code points relative to each word (as the Rust crate merges
  /// the words' encodings without growing offsets). `pair_words`: the second sequence, pre-split too.
  /// Truncation and overflow windows as encode(). Byte-level BPE (RoBERTa) needs a prefix space: use
  /// with_prefix_space() first, as transformers needs `add_prefix_space=True`.
  /// @throws textune::DataError for invalid UTF-8 (naming the word) or as encode();
  ///         textune::UsageError when the tokenizer cannot encode pre-split words.
  virtual Encoding encode_words(const std::vector<std::string>& words,
                                const std::vector<std::string>* pair_words = nullptr,
                                const EncodeOptions& options = {}) const;
  /// encode_words of many sentences on all cores; results in input order.
  virtual std::vector<Encoding> encode_words_batch(const std::vector<std::vector<std::string>>& sentences,
                                                   const EncodeOptions& options = {}) const;
  /// Whether the tokenizer's byte-level pre-tokenizer leaves words without a prefix space
  /// (ByteLevel add_prefix_space false: RoBERTa, GPT-2); encode_words then merges a word with nothing
  /// before it differently from the same word inside a text. Default: false.
  virtual bool needs_prefix_space() const { return false; }
  /// A copy whose ByteLevel pre-tokenizer (and post-processor) add a prefix space, as transformers'
  /// RobertaTokenizerFast(add_prefix_space=True) rewrites tokenizer.json; itself (a copy) when
  /// !needs_prefix_space(). @throws textune::UsageError when the tokenizer cannot do it.
  virtual std::shared_ptr<const Tokenizer> with_prefix_space() const;
  /// The model's continuing_subword_prefix ("##" for WordPiece; BPE's when set), if any: the
  /// token-classification pipeline's test for "this token is a subword".
  virtual std::optional<std::string> continuing_subword_prefix() const { return std::nullopt; }
  /// transformers' convert_tokens_to_string: token strings (as id_to_token gives them, or any text)
  /// through the tokenizer's decoder ("##" joined for WordPiece, bytes decoded for byte-level BPE,
  /// cleanup as decode). Default: the tokens joined with spaces.
  virtual std::string convert_tokens_to_string(const std::vector<std::string>& tokens) const;
  /// The unknown token's id, if the tokenizer has one.
  virtual std::optional<int64_t> unk_token_id() const { return std::nullopt; }
  /// transformers' tokenizer.cls_token_id (tokenizer_config.json / special_tokens_map.json "cls_token",
  /// else the post-processor's cls), if any; run_qa.py points unanswerable windows at it.
  virtual std::optional<int64_t> cls_token_id() const { return std::nullopt; }
  /// transformers' tokenizer.padding_side: tokenizer_config.json "padding_side", else tokenizer.json
  /// "padding"."direction", else right. run_qa.py puts the context first when it is left.
  virtual Side padding_side() const { return Side::kRight; }

  /// Pads encodings in place (`tokenizers`' pad_encodings): longest or fixed length.
  virtual void pad(std::vector<Encoding>& encodings, const PaddingOptions& options) const = 0;

  /// Ids back to text through the tokenizer's decoder.
  virtual std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = true) const = 0;

  virtual std::optional<int64_t> token_to_id(const std::string& token) const = 0;
  virtual std::optional<std::string> id_to_token(int64_t id) const = 0;
  /// Vocabulary size including added tokens.
  virtual size_t vocab_size() const = 0;
  /// Pad token id (from tokenizer.json "padding", tokenizer_config.json or the pad token), if any.
  virtual std::optional<int64_t> pad_token_id() const = 0;
  /// tokenizer_config.json "model_max_length" when set to a real value.
  virtual std::optional<size_t> model_max_length() const = 0;
  /// Number of special tokens added to a single text (`pair`: to a pair), e.g. 2 and 3 for BERT.
  virtual size_t num_special_tokens_to_add(bool pair) const = 0;
};

}  // namespace textune::tokenizers

namespace textune::tokenizers {

/// The tokenizer files a model directory may hold, in the order they are looked for.
/// (tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt, vocab.json,
/// merges.txt, spiece.model, source.spm, target.spm, sentencepiece.bpe.model, added_tokens.json)
const std::vector<std::string>& tokenizer_file_names();

/// Copies every tokenizer file present in `src_dir` into `dst_dir` (used when saving a fine-tuned
/// model next to its tokenizer). @throws textune::DataError when a copy fails.
void copy_tokenizer_files(const std::string& src_dir, const std::string& dst_dir);

/// Writes a BERT WordPiece tokenizer for `vocab_txt` into `dst_dir` as Hugging Face saves one
/// (`tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`, `vocab.txt`), for
/// `textune init`. @throws textune::DataError when the vocabulary lacks [CLS]/[SEP]/[PAD]/[UNK]/[MASK].
void write_bert_tokenizer(const std::string& vocab_txt, const std::string& dst_dir, bool do_lower_case,
                          size_t model_max_length);

}  // namespace textune::tokenizers
