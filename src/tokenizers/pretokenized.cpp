// Defaults of the pre-split (is_split_into_words) entry points of tokenizers::Tokenizer: see
// include/textune/tokenizers/tokenizer.h. Tokenizers that can encode pre-split words override them.
#include "textune/core/error.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::tokenizers {

Encoding Tokenizer::encode_words(const std::vector<std::string>&, const std::vector<std::string>*,
                                 const EncodeOptions&) const {
  throw UsageError("this tokenizer cannot encode pre-split words (is_split_into_words)");
}

std::vector<Encoding> Tokenizer::encode_words_batch(const std::vector<std::vector<std::string>>& sentences,
                                                    const EncodeOptions& options) const {
  std::vector<Encoding> out;
  out.reserve(sentences.size());
  for (const auto& words : sentences) out.push_back(encode_words(words, nullptr, options));
  return out;
}

std::shared_ptr<const Tokenizer> Tokenizer::with_prefix_space() const {
  throw UsageError("this tokenizer cannot add a prefix space (add_prefix_space)");
}

std::string Tokenizer::convert_tokens_to_string(const std::vector<std::string>& tokens) const {
  std::string out;
  for (size_t i = 0; i < tokens.size(); ++i) out += (i ? " " : "") + tokens[i];
  return out;
}

}  // namespace textune::tokenizers
