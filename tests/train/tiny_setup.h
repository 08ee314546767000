// A tiny BERT with its tokenizer and a small labelled dataset, for fast Trainer tests.
#pragma once

#include <filesystem>

#include "support/test_support.h"
#include "textune/core/fs.h"
#include "textune/data/dataset.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::testing {

inline const std::vector<std::string>& tiny_words() {
  static const std::vector<std::string> w = {"good", "bad", "great", "awful", "fine", "movie", "film", "plot",
                                             "very", "not", "a", "the", "is", "was", "fun", "boring"};
  return w;
}

/// Writes a randomly initialised BERT (hidden 32, 2 layers, dropout 0.1) and a WordPiece tokenizer
/// over tiny_words() into `dir` (as `textune init` does).
inline void write_tiny_bert(const std::string& dir, double dropout = 0.1) {
  const std::string vocab = dir + ".vocab.txt";
  std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const auto& w : tiny_words()) v += w + "\n";
  write_text(vocab, v);
  core::Json cfg = {{"architectures", {"BertModel"}},
                    {"attention_probs_dropout_prob", dropout},
                    {"hidden_act", "gelu"},
                    {"hidden_dropout_prob", dropout},
                    {"hidden_size", 32},
                    {"initializer_range", 0.02},
                    {"intermediate_size", 64},
                    {"layer_norm_eps", 1e-12},
                    {"max_position_embeddings", 64},
                    {"model_type", "bert"},
                    {"num_attention_heads", 4},
                    {"num_hidden_layers", 2},
                    {"pad_token_id", 0},
                    {"type_vocab_size", 2},
                    {"vocab_size", static_cast<int64_t>(5 + tiny_words().size())}};
  auto model = models::from_config(cfg, {});
  core::AtomicDirectory out(dir);
  models::save_pretrained_into(model, out.staging_path());
  tokenizers::write_bert_tokenizer(vocab, out.staging_path(), true, 64);
  out.commit();
}

/// `n` sentiment-like rows "TEXT\tLABEL" with a header (labels pos/neg), deterministic.
inline std::string tiny_tsv(int n, int offset = 0) {
  std::string s = "sentence\tlabel\n";
  const auto& w = tiny_words();
  for (int i = offset; i < offset + n; ++i) {
    const bool pos = (i * 7 + 3) % 3 != 0;
    std::string text = std::string("the ") + w[(i * 5) % w.size()] + " " + (pos ? "good" : "bad");
    for (int k = 0; k < i % 4; ++k) text += " " + w[(i + k * 3) % w.size()];
    s += text + "\t" + (pos ? "pos" : "neg") + "\n";
  }
  return s;
}

}  // namespace textune::testing
