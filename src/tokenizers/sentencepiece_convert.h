// tokenizer.json pipelines built from SentencePiece model files, in the shapes transformers'
// converters give them (convert_slow_tokenizer.py SpmConverter; models/t5/tokenization_t5.py): the
// model's pieces and scores as a Unigram (or, for BPE-type files, not supported here) with its
// precompiled charsmap as a Precompiled normalizer, Metaspace pre-tokenization and decoding.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "textune/tokenizers/tokenizer.h"
#include "tokenizers/sentencepiece_model.h"

namespace textune::tokenizers {

/// How to lay out the converted pipeline.
struct SpmConvertOptions {
  /// Normalizer: Sequence[Precompiled(charsmap) (when the model has one), Replace(" {2,}" -> " ")].
  /// Off: no normalizer (transformers 5's T5Tokenizer).
  bool precompiled_normalizer = true;
  /// Pre-tokenizer: WhitespaceSplit before Metaspace (transformers 5's T5Tokenizer).
  bool whitespace_split = false;
  /// T5Tokenizer with `legacy: false` (models/t5/tokenization_t5.py): a word gets "▁" only at the
  /// start of the text or after whitespace, not right after an added token ("<extra_id_0>." gives
  /// "<extra_id_0>", "." where legacy gives "<extra_id_0>", "▁", "."). Built as: whitespace runs to
  /// one space and trailing whitespace stripped in each piece between added tokens (sentencepiece's
  /// remove_extra_whitespaces), then Metaspace with prepend_scheme "first". Replaces
  /// whitespace_split.
  bool t5_non_legacy = false;
  /// Post-processor: "$A <eos>" and "$A <eos> $B <eos>" when set (T5), "$A $B <eos>" for pairs when
  /// `pair_single_eos` (Marian's build_inputs_with_special_tokens); none when empty.
  std::string eos_token;
  bool pair_single_eos = false;
  uint32_t pair_type_id = 1;  ///< type id of the second text and its </s> (T5's template string: 0)
  /// Appends the 256 <0xXX> pieces (score 0) when the model has none and sets byte_fallback.
  bool add_byte_fallback = false;
  /// Added special tokens appended after the vocabulary, in this order (e.g. T5's <extra_id_N>).
  std::vector<std::string> extra_special_tokens;
};

/// The tokenizer.json of a Unigram SentencePiece model. Control and unknown pieces become special
/// added tokens, user-defined pieces non-special added tokens (SpmConverter's rule).
/// @throws textune::DataError naming `source` when the model is not a Unigram model.
nlohmann::json sentencepiece_tokenizer_json(const spm::ModelProto& model, const SpmConvertOptions& options,
                                            const std::string& source);

/// transformers 5's T5Tokenizer for a directory with spiece.model and no tokenizer.json
/// (models/t5/tokenization_t5.py): the model's pieces as a Unigram (unk from the model's trainer spec),
/// no normalizer, WhitespaceSplit + Metaspace, "$A </s>" / "$A </s> $B </s>" (all type 0), Metaspace
/// decoding, and `extra_ids` (tokenizer_config.json, default 100) sentinels <extra_id_N> with the ids
/// T5 checkpoints use: <extra_id_0> last (piece count + extra_ids - 1).
/// @throws textune::DataError naming the file for a broken model or config.
std::shared_ptr<const Tokenizer> load_t5_spiece(const std::string& dir);

}  // namespace textune::tokenizers
