// A small BERT sequence classifier for the end-to-end tests: `textune init` makes the encoder and the
// tokenizer over the real bert-base-uncased vocabulary; a 3-label classification head is added and
// saved as transformers' `from_pretrained(..., num_labels=3)` + `save_pretrained` would.
#pragma once

#include <string>

#include "support/test_support.h"
#include "textune/core/fs.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::testing {

/// Builds the classifier (2 layers, hidden 32, 2 heads, 64 positions; labels negative, neutral,
/// positive) in `dir`; returns "" on success, else the error.
inline std::string make_small_classifier(const std::string& work_dir, const std::string& dir) {
  const std::string base = work_dir + "/base";
  auto r = run_cli("init --arch bert --vocab " + data_dir() +
                   "/vocab/bert-base-uncased/vocab.txt --layers 2 --hidden 32 --heads 2 --intermediate 64 "
                   "--max-position 64 --output " +
                   base);
  if (r.exit_code != 0) return "textune init failed: " + r.err;
  models::LoadOptions lo;
  lo.architecture = "BertForSequenceClassification";
  lo.labels = std::vector<std::string>{"negative", "neutral", "positive"};
  auto model = models::load_pretrained(base, lo);
  core::AtomicDirectory out(dir);
  models::save_pretrained_into(model, out.staging_path());
  tokenizers::copy_tokenizer_files(base, out.staging_path());
  out.commit();
  return "";
}

/// `s` quoted for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace textune::testing
