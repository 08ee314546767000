// bench_tokenize: encodes the 67,349 SST-2 training sentences with bert-base-uncased and
// roberta-base, with textune and with the live reference (Hugging Face tokenizers through
// tools/reference, Node) in the same run, single thread and batch on all cores, and prints the
// ratios. Targets: >= 1.0x the reference single thread, >= 1.5x its encodeBatch on all cores.
//   bench_tokenize [--repeat R] [--limit N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> read_sst2(const std::string& path, size_t limit) {
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> out;
  std::getline(in, line);  // header: sentence\tlabel
  while (std::getline(in, line) && out.size() < limit) {
    size_t tab = line.rfind('\t');
    out.push_back(tab == std::string::npos ? line : line.substr(0, tab));
  }
  return out;
}

struct Rate {
  double sentences_per_s = 0;
  size_t tokens = 0;
};

/// Runs the Node reference's bench mode; `threads` 1 pins its Rayon pool to one thread.
Rate reference_rate(const std::string& tokenizer_json, const std::string& sentences_file, int threads) {
  const std::string script = std::string(TEXTUNE_SOURCE_DIR) + "/tools/reference/reference_tokenizer.js";
  std::string cmd = (threads > 0 ? "RAYON_NUM_THREADS=" + std::to_string(threads) + " " : std::string()) + "node '" +
                    script + "' bench '" + tokenizer_json + "' '" + sentences_file + "'";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {};
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p)) out += buf;
  if (pclose(p) != 0) {
    std::fprintf(stderr, "reference failed: %s\n", out.c_str());
    return {};
  }
  auto j = textune::core::Json::parse(out);
  return {j["sentences"].get<double>() / j["seconds"].get<double>(), j["tokens"].get<size_t>()};
}

}  // namespace

int main(int argc, char** argv) {
  using namespace textune::tokenizers;
  size_t limit = SIZE_MAX;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--limit") limit = std::stoul(argv[i + 1]);
    if (a == "--repeat") repeat = std::stoi(argv[i + 1]);
  }
  const std::string shared = std::getenv("TEXTUNE_SHARED") ? std::getenv("TEXTUNE_SHARED") : TEXTUNE_SHARED_DIR;
  std::vector<std::string> sents = read_sst2(shared + "/data/en/sst2/train.tsv", limit);
  const std::string tmp = (std::filesystem::temp_directory_path() / "textune-bench-sst2.txt").string();
  {
    std::ofstream f(tmp);
    for (const auto& s : sents) f << s << "\n";
  }
  std::printf("SST-2 train: %zu sentences; %u hardware threads; best of %d runs\n", sents.size(),
              std::thread::hardware_concurrency(), repeat);
  std::printf("%-18s %-10s %14s %14s %8s\n", "tokenizer", "mode", "textune sent/s", "reference", "ratio");
  for (const char* name : {"bert-base-uncased", "roberta-base"}) {
    const std::string tj = shared + "/fixtures/tokenizers/" + name + "/tokenizer.json";
    auto tok = Tokenizer::from_file(tj);
    // textune, one thread: encode one sentence at a time
    double best_single = 0, best_batch = 0;
    size_t tokens = 0;
    for (int r = 0; r < repeat; ++r) {
      auto t0 = Clock::now();
      size_t n = 0;
      for (const auto& s : sents) n += tok->encode(s).size();
      double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      best_single = std::max(best_single, sents.size() / dt);
      tokens = n;
      t0 = Clock::now();
      auto enc = tok->encode_batch(sents);
      dt = std::chrono::duration<double>(Clock::now() - t0).count();
      best_batch = std::max(best_batch, sents.size() / dt);
    }
    Rate ref1, refn;
    for (int r = 0; r < repeat; ++r) {
      Rate a = reference_rate(tj, tmp, 1);
      if (a.sentences_per_s > ref1.sentences_per_s) ref1 = a;
      Rate b = reference_rate(tj, tmp, 0);
      if (b.sentences_per_s > refn.sentences_per_s) refn = b;
    }
    if (ref1.tokens != 0 && ref1.tokens != tokens)
      std::printf("warning: token counts differ: textune %zu, reference %zu\n", tokens, ref1.tokens);
    std::printf("%-18s %-10s %14.0f %14.0f %7.2fx\n", name, "1 thread", best_single, ref1.sentences_per_s,
                ref1.sentences_per_s > 0 ? best_single / ref1.sentences_per_s : 0.0);
    std::printf("%-18s %-10s %14.0f %14.0f %7.2fx\n", name, "all cores", best_batch, refn.sentences_per_s,
                refn.sentences_per_s > 0 ? best_batch / refn.sentences_per_s : 0.0);
  }
  std::filesystem::remove(tmp);
  return 0;
}
