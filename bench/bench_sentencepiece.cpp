// bench_sentencepiece: SentencePiece tokenization speed on the 67,349 SST-2 training sentences, against
// the live reference (Hugging Face tokenizers through tools/reference) in the same run:
//  - the tokenizer.json pipeline of opus-mt-uk-en's source.spm (Precompiled + Metaspace + Unigram,
//    converted at start-up), textune vs the reference, one thread and all cores;
//  - MarianTokenizer (our own SentencePiece encoder + vocab.json), one thread, against the same
//    reference pipeline (the closest peer: transformers' MarianTokenizer is Python over sentencepiece);
//  - the bare SentencePiece encoder.
//   bench_sentencepiece [--repeat R] [--limit N]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"
#include "tokenizers/marian_tokenizer.h"
#include "tokenizers/sentencepiece_convert.h"
#include "tokenizers/sentencepiece_processor.h"

using namespace textune::tokenizers;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// Sentences per second of the Node reference's bench mode; `threads` 1 pins its Rayon pool.
double reference_rate(const std::string& tokenizer_json, const std::string& sentences_file, int threads) {
  const std::string script = std::string(TEXTUNE_SOURCE_DIR) + "/tools/reference/reference_tokenizer.js";
  const std::string cmd = (threads > 0 ? "RAYON_NUM_THREADS=" + std::to_string(threads) + " " : std::string()) +
                          "node '" + script + "' bench '" + tokenizer_json + "' '" + sentences_file + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return 0;
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) {
    std::fprintf(stderr, "reference failed: %s\n", out.c_str());
    return 0;
  }
  const auto j = nlohmann::json::parse(out);
  return j["sentences"].get<double>() / j["seconds"].get<double>();
}

}  // namespace

int main(int argc, char** argv) {
  size_t limit = SIZE_MAX;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--limit") limit = std::stoul(argv[i + 1]);
    if (a == "--repeat") repeat = std::stoi(argv[i + 1]);
  }
  const std::string shared = std::getenv("TEXTUNE_SHARED") ? std::getenv("TEXTUNE_SHARED") : TEXTUNE_SHARED_DIR;
  std::ifstream in(shared + "/data/en/sst2/train.tsv");
  std::vector<std::string> sentences;
  std::string line;
  std::getline(in, line);  // header
  while (sentences.size() < limit && std::getline(in, line)) sentences.push_back(line.substr(0, line.find('\t')));

  const auto tmp = std::filesystem::temp_directory_path();
  const std::string sentences_file = (tmp / "textune-bench-spm-sst2.txt").string();
  const std::string tokenizer_json = (tmp / "textune-bench-spm-tokenizer.json").string();
  {
    std::ofstream f(sentences_file);
    for (const auto& s : sentences) f << s << "\n";
    SpmConvertOptions o;
    o.eos_token = "</s>";
    o.pair_single_eos = true;
    std::ofstream(tokenizer_json) << sentencepiece_tokenizer_json(
        spm::read_model_proto(shared + "/fixtures/tokenizers/marian/source.spm"), o, "source.spm").dump();
  }
  auto pipeline = Tokenizer::from_file(tokenizer_json);
  auto marian = load_sentencepiece_dir(shared + "/fixtures/tokenizers/marian");
  auto sp = spm::SentencePieceProcessor::load(shared + "/fixtures/tokenizers/marian/source.spm");
  const double n = static_cast<double>(sentences.size());

  double pipeline_one = 0, pipeline_all = 0, marian_one = 0, bare = 0, ref_one = 0, ref_all = 0;
  spm::EncodeScratch scratch;
  std::vector<spm::EncodedPiece> pieces;
  for (int r = 0; r < repeat; ++r) {
    auto t0 = Clock::now();
    for (const auto& s : sentences) (void)pipeline->encode(s);
    pipeline_one = std::max(pipeline_one, n / seconds_since(t0));
    t0 = Clock::now();
    (void)pipeline->encode_batch(sentences);
    pipeline_all = std::max(pipeline_all, n / seconds_since(t0));
    t0 = Clock::now();
    for (const auto& s : sentences) (void)marian->encode(s);
    marian_one = std::max(marian_one, n / seconds_since(t0));
    t0 = Clock::now();
    for (const auto& s : sentences) sp->encode(s, &pieces, &scratch);
    bare = std::max(bare, n / seconds_since(t0));
    ref_one = std::max(ref_one, reference_rate(tokenizer_json, sentences_file, 1));
    ref_all = std::max(ref_all, reference_rate(tokenizer_json, sentences_file, 0));
  }
  auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
  std::printf("SST-2 train: %zu sentences; %u hardware threads; best of %d runs (sentences/s)\n", sentences.size(),
              std::thread::hardware_concurrency(), repeat);
  std::printf("%-34s %12s %12s %8s\n", "", "textune", "reference", "ratio");
  std::printf("%-34s %12.0f %12.0f %7.2fx\n", "Unigram tokenizer.json, 1 thread", pipeline_one, ref_one,
              ratio(pipeline_one, ref_one));
  std::printf("%-34s %12.0f %12.0f %7.2fx\n", "Unigram tokenizer.json, all cores", pipeline_all, ref_all,
              ratio(pipeline_all, ref_all));
  std::printf("%-34s %12.0f %12.0f %7.2fx\n", "MarianTokenizer, 1 thread", marian_one, ref_one,
              ratio(marian_one, ref_one));
  std::printf("%-34s %12.0f\n", "bare SentencePiece encode, 1 thread", bare);
  std::filesystem::remove(sentences_file);
  std::filesystem::remove(tokenizer_json);
  return 0;
}
