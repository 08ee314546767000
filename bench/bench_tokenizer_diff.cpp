// bench_tokenizer_diff: the differential test against the live reference tokenizer for any count.
//   bench_tokenizer_diff [--count N] [--seed S] [--examples K] TOKENIZER_JSON...
// Prints, per tokenizer, how many generated requests differ from Hugging Face tokenizers (via
// tools/reference) and the first K differences; exits 1 when any differ.
#include <cstdio>
#include <iostream>
#include <string>

#include "../tests/tokenizers/reference_diff.h"

int main(int argc, char** argv) {
  using namespace textune::tokenizers;
  size_t count = 10000, examples = 5;
  uint64_t seed = 1;
  std::vector<std::string> files;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--count" && i + 1 < argc) {
      count = std::stoul(argv[++i]);
    } else if (a == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
    } else if (a == "--examples" && i + 1 < argc) {
      examples = std::stoul(argv[++i]);
    } else {
      files.push_back(a);
    }
  }
  if (files.empty()) {
    std::cerr << "usage: bench_tokenizer_diff [--count N] [--seed S] [--examples K] TOKENIZER_JSON...\n";
    return 2;
  }
  bool any = false;
  for (const std::string& f : files) {
    auto tok = Tokenizer::from_file(f);
    auto requests = reference_diff::generate_requests(count, seed, reference_diff::added_token_contents(f));
    auto rep = reference_diff::run_and_compare(*tok, TEXTUNE_SOURCE_DIR, f, requests, examples);
    std::printf(
        "%s: %zu requests, %zu differ (%zu refused for a stride that leaves no room, where the reference "
        "panics)\n",
        f.c_str(), rep.requests, rep.mismatched, rep.reference_panics);
    for (const auto& e : rep.examples) std::printf("  %s\n", e.c_str());
    any |= rep.mismatched > 0;
  }
  return any ? 1 : 0;
}
