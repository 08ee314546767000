// Speed of the SentencePiece tokenizers: MarianTokenizer (opus-mt-uk-en) over the SST-2 training
// sentences, one by one on one thread and with encode_batch on all cores, and the bare
// SentencePiece encoder underneath. Prints sentences/s and tokens/s.
#include <chrono>
#include <fstream>
#include <iostream>

#include "textune/tokenizers/tokenizer.h"
#include "tokenizers/marian_tokenizer.h"
#include "tokenizers/sentencepiece_processor.h"

using namespace textune::tokenizers;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const std::string shared = TEXTUNE_SHARED_DIR;
  const std::string tsv = argc > 1 ? argv[1] : shared + "/data/en/sst2/train.tsv";
  std::ifstream in(tsv);
  std::vector<std::string> sentences;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) sentences.push_back(line.substr(0, line.find('\t')));
  auto tok = load_sentencepiece_dir(shared + "/fixtures/tokenizers/marian");
  auto sp = spm::SentencePieceProcessor::load(shared + "/fixtures/tokenizers/marian/source.spm");

  auto seconds = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };
  size_t tokens = 0;
  for (const auto& s : sentences) tokens += tok->encode(s).size();  // warm-up
  auto t0 = Clock::now();
  for (const auto& s : sentences) (void)tok->encode(s);
  const double one = seconds(t0);
  t0 = Clock::now();
  auto batch = tok->encode_batch(sentences);
  const double all = seconds(t0);
  spm::EncodeScratch scratch;
  std::vector<spm::EncodedPiece> pieces;
  t0 = Clock::now();
  for (const auto& s : sentences) sp->encode(s, &pieces, &scratch);
  const double bare = seconds(t0);
  const double n = static_cast<double>(sentences.size());
  std::cout << "{\"sentences\": " << sentences.size() << ", \"tokens\": " << tokens
            << ", \"marian_one_thread_sentences_per_s\": " << n / one
            << ", \"marian_encode_batch_sentences_per_s\": " << n / all
            << ", \"spm_encode_sentences_per_s\": " << n / bare
            << ", \"spm_tokens_per_s\": " << static_cast<double>(tokens) / bare << "}" << std::endl;
}
