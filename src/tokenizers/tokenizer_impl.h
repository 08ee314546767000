// The tokenizer pipeline (`tokenizers`' TokenizerImpl, tokenizers/src/tokenizer/mod.rs): added
// tokens -> normalizer -> pre-tokenizer -> model -> truncation -> post-processor -> padding, and
// decoding. Built from tokenizer.json, from the legacy vocabulary files, or from components.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"
#include "tokenizers/added_vocabulary.h"
#include "tokenizers/components.h"

namespace textune::tokenizers {

/// Everything a tokenizer is made of.
/// Shared pointers: a tokenizer derived from another (Tokenizer::with_prefix_space) shares the
/// components it does not change, the model above all.
struct TokenizerComponents {
  std::shared_ptr<Normalizer> normalizer;         ///< may be null
  std::shared_ptr<PreTokenizer> pre_tokenizer;    ///< may be null
  std::shared_ptr<Model> model;                   ///< required
  std::shared_ptr<PostProcessor> post_processor;  ///< may be null
  std::shared_ptr<Decoder> decoder;               ///< may be null (tokens joined by spaces)
  /// The tokenizer.json objects the pre-tokenizer and post-processor were built from (null when
  /// none, or when built otherwise), and the file they came from: with_prefix_space() rebuilds
  /// them with "add_prefix_space" set, as transformers rewrites them.
  TokenizerJson pre_tokenizer_json;
  TokenizerJson post_processor_json;
  std::string source;
  /// tokenizer_config.json / special_tokens_map.json "unk_token": unk_token_id() looks it up
  /// (added tokens first), as transformers' unk_token_id does; else the model's unknown token.
  std::optional<std::string> unk_token;
  std::vector<AddedToken> added_tokens;
  std::optional<std::string> pad_token;  ///< its id is looked up in the vocabulary
  /// tokenizer_config.json / special_tokens_map.json "cls_token": cls_token_id() looks it up (added
  /// tokens first, the unknown token's id when absent, as transformers' convert_tokens_to_ids); when
  /// none, the post-processor's cls (post_processor_json: BertProcessing / RobertaProcessing "cls",
  /// TemplateProcessing's special token that opens the single template).
  std::optional<std::string> cls_token;
  /// tokenizer_config.json "padding_side", else tokenizer.json "padding"."direction", else right.
  Side padding_side = Side::kRight;
  std::optional<int64_t> pad_token_id;  ///< wins over pad_token's lookup
  uint32_t pad_type_id = 0;
  std::optional<size_t> model_max_length;
  /// tokenizer_config.json "clean_up_tokenization_spaces": decode applies transformers'
  /// PreTrainedTokenizerBase.clean_up_tokenization (" ." -> ".", " ' " -> "'", " n't" -> "n't", ...).
  bool clean_up_tokenization_spaces = false;
};

/// Builds a tokenizer from its components. @throws textune::DataError when the model is missing.
std::shared_ptr<const Tokenizer> make_tokenizer(TokenizerComponents components);

/// Builds a tokenizer from a parsed tokenizer.json (`source` names it in errors). `config` is the
/// parsed tokenizer_config.json (or null): pad token and model_max_length come from there.
std::shared_ptr<const Tokenizer> load_tokenizer_json(const TokenizerJson& tokenizer_json, const std::string& source,
                                                     const core::Json& config = core::Json());

/// Parses a tokenizer.json file (fast: see TokenizerJson). @throws textune::DataError naming it.
TokenizerJson read_tokenizer_json(const std::string& path);

/// Test hook: when false, Tokenizer::encode tokenizes every text whole instead of a prefix long
/// enough for the tokens truncation keeps (see encode_bounded in tokenizer_impl.cpp), so tests can
/// compare the two. Returns the previous setting. Default true.
bool set_bounded_encoding(bool on);
/// Test hook: how many sequences were encoded from a prefix of their text so far.
size_t bounded_encoding_count();

/// Runs fn(i) for i in [0, n) on all cores (the calling thread included); the first exception
/// thrown is rethrown after all work stops.
void parallel_for(size_t n, const std::function<void(size_t)>& fn);

}  // namespace textune::tokenizers
