// Stand-ins for the SentencePiece part of the tokenizers layer (the tokenizer.json Precompiled
// normalizer and Unigram model), until it lands. Delete this file in the commit that defines them.
#include "textune/core/error.h"
#include "tokenizers/components.h"

namespace textune::tokenizers {

std::unique_ptr<Normalizer> make_precompiled_normalizer(const TokenizerJson&, const LoadContext& ctx) {
  throw DataError(ctx.where + ": normalizer type \"Precompiled\" is not implemented yet");
}

std::unique_ptr<Model> make_unigram_model(const TokenizerJson&, const LoadContext& ctx) {
  throw DataError(ctx.where + ": model type \"Unigram\" is not implemented yet");
}

}  // namespace textune::tokenizers
