// Long texts under truncation (issue 11: one 50 MB text in `predict` took 3.8 GB): only a prefix of
// the text is tokenized, and the result must be the one of the whole text. Checked against the
// live reference (Hugging Face tokenizers, tools/reference) for single texts, against textune's
// own whole-text encoding for pairs under each strategy (the reference runs tokenizers 0.22, before
// the early exit those use), and the peak memory of a 50 MB text is measured.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>
#include <string>

#include "support/test_support.h"
#include "textune/tokenizers/tokenizer.h"
#include "tokenizers/reference_diff.h"
#include "tokenizers/tokenizer_impl.h"

namespace textune::tokenizers {
namespace {

using core::Json;

const std::vector<std::string> kFixtures = {"bert-base-uncased", "bert-base-cased", "bert-base-chinese", "roberta-base",
                                            "gpt2"};

/// Long texts from the differential generator: `n` texts of 8-48 KB, words joined by spaces,
/// every fourth one without ASCII whitespace at all (CJK and kana runs), so both cut rules run.
std::vector<std::string> long_texts(size_t n, uint64_t seed, const std::vector<std::string>& specials) {
  reference_diff::TextGenerator gen(seed, specials);
  std::mt19937_64 rng(seed);
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    const size_t size = 8000 + rng() % 40000;
    std::string s;
    if (i % 4 == 3) {
      while (s.size() < size) reference_diff::put(s, rng() % 3 == 0 ? 0x3041 + rng() % 90 : 0x4E00 + rng() % 20000);
    } else {
      while (s.size() < size) {
        s += gen.text();
        s += rng() % 3 == 0 ? "\n" : " ";
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

class LongTextTruncation : public ::testing::TestWithParam<std::string> {};

TEST_P(LongTextTruncation, SingleTextsMatchTheReference) {
  const std::string tj = textune::testing::tokenizer_fixture(GetParam()) + "/tokenizer.json";
  auto tok = Tokenizer::from_file(tj);
  const auto texts = long_texts(8, 20261203, reference_diff::added_token_contents(tj));
  std::vector<Json> requests;
  for (size_t i = 0; i < texts.size(); ++i) {
    Json r = Json::object();
    r["text"] = texts[i];
    r["pair"] = nullptr;
    r["add_special_tokens"] = i % 5 != 4;
    r["truncation"] =
        Json{{"max_length", std::vector<size_t>{7, 64, 512, 1000}[i % 4]}, {"strategy", "LongestFirst"}, {"stride", 0}};
    requests.push_back(std::move(r));
  }
  const size_t bounded_before = bounded_encoding_count();
  std::vector<Json> ours;
  for (const Json& r : requests) {
    EncodeOptions o;
    o.add_special_tokens = r["add_special_tokens"].get<bool>();
    TruncationOptions t;
    t.max_length = r["truncation"]["max_length"].get<size_t>();
    t.early_exit = false;  // as tokenizers 0.22 (the reference); no overflow, so a prefix still suffices
    o.truncation = t;
    Encoding e = tok->encode(r["text"].get<std::string>(), std::nullopt, o);
    Json j = reference_diff::encoding_json(e);
    j["decoded"] = tok->decode(e.ids, true);
    ours.push_back(std::move(j));
  }
  // Most of them must have been encoded from a prefix, or this tests nothing.
  EXPECT_GE(bounded_encoding_count() - bounded_before, requests.size() / 2);
  const auto reference = reference_diff::run_reference(textune::testing::source_dir(), tj, requests);
  ASSERT_EQ(reference.size(), requests.size());
  for (size_t i = 0; i < requests.size(); ++i)
    for (const char* key : {"ids", "tokens", "type_ids", "offsets", "special_tokens_mask", "attention_mask", "word_ids",
                            "sequence_ids", "decoded"})
      EXPECT_EQ(ours[i][key], reference[i][key])
          << GetParam() << " text " << i << " (" << texts[i].size() << " bytes) field " << key;
}

TEST_P(LongTextTruncation, PairsAndOverflowMatchTheWholeTextEncoding) {
  const std::string tj = textune::testing::tokenizer_fixture(GetParam()) + "/tokenizer.json";
  auto tok = Tokenizer::from_file(tj);
  const auto texts = long_texts(6, 7, reference_diff::added_token_contents(tj));
  const std::string short_text = "a short text, with a few words.";
  const size_t bounded_before = bounded_encoding_count();
  size_t cases = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    for (auto strategy :
         {TruncationStrategy::kLongestFirst, TruncationStrategy::kOnlyFirst, TruncationStrategy::kOnlySecond}) {
      for (int shape = 0; shape < 3; ++shape) {  // long+long, long+short, short+long
        const std::string& a = shape == 2 ? short_text : texts[i];
        const std::string& b = shape == 1 ? short_text : texts[(i + 1) % texts.size()];
        EncodeOptions o;
        TruncationOptions t;
        t.max_length = std::vector<size_t>{16, 128, 512}[(i + shape) % 3];
        t.strategy = strategy;
        t.stride = i % 2 ? 4 : 0;
        o.truncation = t;
        o.return_overflowing_tokens = i % 3 != 0;
        auto run = [&](bool bounded, bool pair) -> Json {
          const bool saved = set_bounded_encoding(bounded);
          Json r;
          try {
            Encoding e = pair ? tok->encode(a, b, o) : tok->encode(a, std::nullopt, o);
            r = reference_diff::encoding_json(e);
            Json ov = Json::array();
            for (const Encoding& w : e.overflowing) ov.push_back(reference_diff::encoding_json(w));
            r["overflowing"] = ov;
          } catch (const DataError& err) {
            r = Json{{"error", err.what()}};
          }
          set_bounded_encoding(saved);
          return r;
        };
        // Single texts too, with the early exit (the default).
        for (bool pair : {true, false})
          EXPECT_EQ(run(true, pair), run(false, pair))
              << GetParam() << " text " << i << " shape " << shape << " strategy " << static_cast<int>(strategy)
              << " pair " << pair;
        ++cases;
      }
    }
  }
  EXPECT_GE(bounded_encoding_count() - bounded_before, cases / 2);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, LongTextTruncation, ::testing::ValuesIn(kFixtures),
                         [](const ::testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

/// VmRSS or VmHWM of this process in KB, from /proc/self/status; -1 when unreadable.
long status_kb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::string(field).size() + 1));
  return -1;
}

// Before: a 50 MB text truncated to 512 tokens was normalized and pre-tokenized whole (gigabytes,
// seconds). Now memory and time follow the 512 tokens kept.
TEST(LongTextTruncationMemory, FiftyMegabytesTruncatedTo512StaysSmallAndFast) {
  auto tok = Tokenizer::from_file(textune::testing::tokenizer_fixture("bert-base-uncased") + "/tokenizer.json");
  std::string text;
  text.reserve(50u << 20);
  const char* words[] = {"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dogs, ", "naïve ", "café. "};
  for (size_t i = 0; text.size() < (50u << 20); ++i) text += words[(i * 7 + i / 3) % 10];
  bool reset = false;
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";  // resets VmHWM to the current RSS
    clear.flush();
    reset = clear.good();
  }
  const long rss = status_kb("VmRSS:");
  EncodeOptions o;
  o.truncation = TruncationOptions{};
  o.truncation->max_length = 512;
  const auto start = std::chrono::steady_clock::now();
  const Encoding e = tok->encode(text, std::nullopt, o);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const long peak = status_kb("VmHWM:");
  EXPECT_EQ(e.ids.size(), 512u);
  EXPECT_LT(s, 2.0);
  if (reset && rss > 0 && peak > 0)
    EXPECT_LT(peak - rss, 64 * 1024) << "peak " << peak << " KB, before " << rss << " KB";
  std::printf("50 MB text truncated to 512: %.3f s, peak RSS +%ld KB\n", s, peak - rss);
}

}  // namespace
}  // namespace textune::tokenizers
