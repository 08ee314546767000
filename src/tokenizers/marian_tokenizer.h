// Tokenizers read from SentencePiece model files when a directory has no tokenizer.json:
// transformers' MarianTokenizer (source.spm + target.spm + vocab.json) as transformers 5 encodes with
// its Python backend (tokenization_python.py PythonBackend + models/marian/tokenization_marian.py).
#pragma once

#include <memory>
#include <string>

#include "textune/tokenizers/tokenizer.h"

namespace textune::tokenizers {

/// The tokenizer of a directory that holds SentencePiece files and no tokenizer.json, or nullptr when
/// it holds none. Recognized: source.spm + target.spm + vocab.json (MarianTokenizer, with
/// tokenizer_config.json's special tokens, separate_vocabs/target_vocab.json, model_max_length);
/// spiece.model (T5Tokenizer, see load_t5_spiece in sentencepiece_convert.h).
/// Tokenizer::from_dir calls it.
/// @throws textune::DataError naming the file for a broken model, vocabulary or config.
std::shared_ptr<const Tokenizer> load_sentencepiece_dir(const std::string& dir);

/// transformers' MarianTokenizer: source side by default.
class MarianTokenizer;

/// The target-side view of a Marian tokenizer (`tokenizer(text_target=...)`: target.spm and, with
/// separate_vocabs, target_vocab.json), for labels of translation training. Returns nullptr when
/// `tokenizer` is not a Marian tokenizer.
std::shared_ptr<const Tokenizer> marian_target_tokenizer(const std::shared_ptr<const Tokenizer>& tokenizer);

}  // namespace textune::tokenizers
