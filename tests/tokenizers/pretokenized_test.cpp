// Pre-split words (transformers' is_split_into_words, tokenizers' InputSequence::PreTokenized):
// Tokenizer::encode_words against the live reference (tools/reference/reference_tokenizer.js
// encode-words) on every sentence of WNUT-17 (train + dev, bert-base-cased and roberta-base with
// add_prefix_space) and MSRA (train sample + dev, bert-base-chinese): ids, tokens, type_ids,
// offsets, special_tokens_mask, attention_mask, word_ids and sequence_ids identical; truncation
// with stride and overflow windows on long pre-split inputs; convert_tokens_to_string against the
// reference's decoder; continuing_subword_prefix, unk_token_id, with_prefix_space. The data files
// are parsed here (first CoNLL column; MSRA text_a split on spaces), not by the data layer.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>

#include "support/test_support.h"
#include "textune/core/error.h"
#include "tokenizers/reference_diff.h"

namespace textune::tokenizers {
namespace {

using core::Json;
using Sentences = std::vector<std::vector<std::string>>;

/// Words of a CoNLL file: the first column (before the first TAB, else the first space), a blank
/// line between sentences, -DOCSTART- lines left out.
Sentences read_conll_words(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  Sentences out;
  std::vector<std::string> cur;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    if (line.rfind("-DOCSTART-", 0) == 0) continue;
    size_t cut = line.find('\t');
    if (cut == std::string::npos) cut = line.find(' ');
    cur.push_back(line.substr(0, cut));
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

/// Characters of an MSRA TSV file: column text_a (before the TAB) split on spaces; header skipped.
Sentences read_msra_words(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  Sentences out;
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (header) {
      header = false;
      continue;
    }
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string text = line.substr(0, line.find('\t'));
    std::vector<std::string> words;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t sp = text.find(' ', pos);
      if (sp == std::string::npos) sp = text.size();
      if (sp > pos) words.push_back(text.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (!words.empty()) out.push_back(std::move(words));
  }
  return out;
}

Sentences concat(Sentences a, const Sentences& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

/// Runs tools/reference/reference_tokenizer.js MODE on `requests`; one JSON per request.
std::vector<Json> run_node(const std::string& mode, const std::string& tokenizer_json,
                           const std::vector<Json>& requests) {
  testing::TempDir dir;
  const std::string in = dir / "in.jsonl", out = dir / "out.jsonl", err = dir / "err.txt";
  {
    std::ofstream f(in, std::ios::binary);
    for (const Json& r : requests) f << r.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) << "\n";
  }
  const std::string cmd = "node '" + testing::source_dir() + "/tools/reference/reference_tokenizer.js' " + mode + " '" +
                          tokenizer_json + "' '" + in + "' '" + out + "' 2>'" + err + "'";
  const int status = std::system(cmd.c_str());
  std::vector<Json> results;
  std::ifstream f(out);
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) results.push_back(Json::parse(line));
  if (status != 0 || results.size() != requests.size())
    throw std::runtime_error("the reference tokenizer failed (status " + std::to_string(status) +
                             "): " + testing::read_text(err));
  return results;
}

struct Request {
  std::vector<std::string> words;
  bool add_special_tokens = true;
  std::optional<size_t> max_length;  ///< truncation (LongestFirst, right) with overflow windows
  size_t stride = 0;
};

Json request_json(const Request& r) {
  Json j = Json::object();
  j["words"] = r.words;
  j["add_special_tokens"] = r.add_special_tokens;
  j["truncation"] = nullptr;
  if (r.max_length) j["truncation"] = Json{{"max_length", *r.max_length}, {"stride", r.stride}};
  return j;
}

EncodeOptions options_of(const Request& r) {
  EncodeOptions o;
  o.add_special_tokens = r.add_special_tokens;
  if (r.max_length) {
    TruncationOptions t;
    t.max_length = *r.max_length;
    t.stride = r.stride;
    t.early_exit = false;  // the Node reference runs tokenizers 0.22, before the early exit
    o.truncation = t;
    o.return_overflowing_tokens = true;
  }
  return o;
}

Json our_json(const Encoding& e) {
  Json r = reference_diff::encoding_json(e);
  Json ov = Json::array();
  for (const Encoding& w : e.overflowing) ov.push_back(reference_diff::encoding_json(w));
  r["overflowing"] = ov;
  return r;
}

struct Outcome {
  size_t compared = 0;
  size_t mismatched = 0;
  std::string examples;
};

/// Encodes every request with `tok` (encode_words_batch for requests without truncation) and with
/// the reference, and compares every field.
Outcome compare(const Tokenizer& tok, const std::string& reference_json, const std::vector<Request>& requests) {
  std::vector<Json> req_json;
  req_json.reserve(requests.size());
  for (const Request& r : requests) req_json.push_back(request_json(r));
  std::vector<Json> ours(requests.size());
  // Plain requests in one parallel batch, as the data layer will call it; the others one by one.
  Sentences plain;
  std::vector<size_t> plain_index;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i].max_length && requests[i].add_special_tokens) {
      plain.push_back(requests[i].words);
      plain_index.push_back(i);
    } else {
      ours[i] = our_json(tok.encode_words(requests[i].words, nullptr, options_of(requests[i])));
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<Encoding> batch = tok.encode_words_batch(plain);
  const auto t1 = std::chrono::steady_clock::now();
  for (size_t k = 0; k < batch.size(); ++k) ours[plain_index[k]] = our_json(batch[k]);
  const auto t2 = std::chrono::steady_clock::now();
  const std::vector<Json> ref = run_node("encode-words", reference_json, req_json);
  const auto t3 = std::chrono::steady_clock::now();
  if (!plain.empty())
    std::cerr << plain.size() << " sentences: encode_words_batch "
              << std::chrono::duration<double>(t1 - t0).count() * 1e3 << " ms; reference (node, whole run) "
              << std::chrono::duration<double>(t3 - t2).count() * 1e3 << " ms\n";
  Outcome o;
  for (size_t i = 0; i < requests.size(); ++i) {
    ++o.compared;
    for (const char* key : {"ids", "tokens", "type_ids", "offsets", "special_tokens_mask", "attention_mask", "word_ids",
                            "sequence_ids", "overflowing"}) {
      if (ref[i].contains(key) && ref[i][key] == ours[i][key]) continue;
      if (++o.mismatched <= 4)
        o.examples += "  request " + std::to_string(i) + " " + req_json[i].dump(-1, ' ', true).substr(0, 300) +
                      "\n    field " + key + "\n    reference " + ref[i].dump(-1, ' ', true).substr(0, 600) +
                      "\n    textune   " + ours[i].dump(-1, ' ', true).substr(0, 600) + "\n";
      break;
    }
  }
  return o;
}

std::vector<Request> plain_requests(const Sentences& sentences) {
  std::vector<Request> out;
  out.reserve(sentences.size());
  for (const auto& s : sentences) out.push_back(Request{s, true, std::nullopt, 0});
  return out;
}

/// Long pre-split inputs (several sentences joined) under truncation with stride and overflow,
/// plus a few without special tokens; seeded.
std::vector<Request> long_requests(const Sentences& sentences, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Request> out;
  static const size_t kMax[] = {8, 16, 33, 64, 128};
  for (size_t i = 0; i < n; ++i) {
    Request r;
    const size_t join = 1 + rng() % 8;
    for (size_t k = 0; k < join; ++k) {
      const auto& s = sentences[rng() % sentences.size()];
      r.words.insert(r.words.end(), s.begin(), s.end());
    }
    r.max_length = kMax[rng() % 5];
    r.stride = rng() % 3 == 0 ? 0 : rng() % std::min<size_t>(*r.max_length / 2, 8);
    r.add_special_tokens = rng() % 5 != 0;
    out.push_back(std::move(r));
  }
  return out;
}

std::string fixture_json(const std::string& name) {
  return testing::tokenizer_fixture(name) + "/tokenizer.json";
}

/// roberta-base's tokenizer.json as transformers' RobertaTokenizerFast(add_prefix_space=True)
/// rewrites it: "add_prefix_space" true on the ByteLevel pre-tokenizer and on RobertaProcessing,
/// trim_offsets kept. Written into `dir`.
std::string roberta_prefix_space_json(const testing::TempDir& dir) {
  std::ifstream in(fixture_json("roberta-base"));
  nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["pre_tokenizer"]["type"], "ByteLevel");
  EXPECT_EQ(j["post_processor"]["type"], "RobertaProcessing");
  j["pre_tokenizer"]["add_prefix_space"] = true;
  j["post_processor"]["add_prefix_space"] = true;
  const std::string path = dir / "tokenizer.json";
  testing::write_text(path, j.dump());
  return path;
}

Sentences wnut() {
  const std::string d = testing::data_dir() + "/ner/wnut17/";
  return concat(read_conll_words(d + "wnut17train.conll"), read_conll_words(d + "emerging.dev.conll"));
}

Sentences msra() {
  const std::string d = testing::data_dir() + "/ner/msra/";
  return concat(read_msra_words(d + "train_sample_uer_testdata.tsv"), read_msra_words(d + "dev.tsv"));
}

TEST(PretokenizedParity, EveryWnut17SentenceWithBertBaseCased) {
  const Sentences s = wnut();
  ASSERT_EQ(s.size(), 3394u + 1009u);  // the files' sentence counts (blank-line separated)
  auto tok = Tokenizer::from_file(fixture_json("bert-base-cased"));
  const Outcome o = compare(*tok, fixture_json("bert-base-cased"), plain_requests(s));
  EXPECT_EQ(o.compared, s.size());
  EXPECT_EQ(o.mismatched, 0u) << o.examples;
}

TEST(PretokenizedParity, EveryMsraSentenceWithBertBaseChinese) {
  const Sentences s = msra();
  ASSERT_EQ(s.size(), 1000u + 2318u);  // data lines of the two files
  auto tok = Tokenizer::from_file(fixture_json("bert-base-chinese"));
  const Outcome o = compare(*tok, fixture_json("bert-base-chinese"), plain_requests(s));
  EXPECT_EQ(o.compared, s.size());
  EXPECT_EQ(o.mismatched, 0u) << o.examples;
}

TEST(PretokenizedParity, EveryWnut17SentenceWithRobertaBaseAddPrefixSpace) {
  testing::TempDir dir;
  const std::string copy = roberta_prefix_space_json(dir);
  auto base = Tokenizer::from_file(fixture_json("roberta-base"));
  EXPECT_TRUE(base->needs_prefix_space());
  auto tok = base->with_prefix_space();
  EXPECT_FALSE(tok->needs_prefix_space());
  const Sentences s = wnut();
  const Outcome o = compare(*tok, copy, plain_requests(s));
  EXPECT_EQ(o.compared, s.size());
  EXPECT_EQ(o.mismatched, 0u) << o.examples;
  // The rewritten file loaded directly gives the same encodings as with_prefix_space().
  auto direct = Tokenizer::from_file(copy);
  const Sentences few(s.begin(), s.begin() + 200);
  const auto a = tok->encode_words_batch(few), b = direct->encode_words_batch(few);
  for (size_t i = 0; i < few.size(); ++i) ASSERT_EQ(our_json(a[i]), our_json(b[i])) << i;
}

TEST(PretokenizedParity, WithoutThePrefixSpaceRobertaMergesWordsDifferently) {
  // Why add_prefix_space is needed: without it a word starts without "Ġ" (the reference agrees).
  auto tok = Tokenizer::from_file(fixture_json("roberta-base"));
  const Outcome o = compare(*tok, fixture_json("roberta-base"), plain_requests({{"Hello", "world"}}));
  EXPECT_EQ(o.mismatched, 0u) << o.examples;
  const Encoding e = tok->encode_words({"Hello", "world"});
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"<s>", "Hello", "world", "</s>"}));
  const Encoding p = tok->with_prefix_space()->encode_words({"Hello", "world"});
  EXPECT_EQ(p.tokens, (std::vector<std::string>{"<s>", "ĠHello", "Ġworld", "</s>"}));
  EXPECT_EQ(p.offsets, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {0, 5}, {0, 5}, {0, 0}}));
}

TEST(PretokenizedParity, TruncationWithStrideAndOverflowOnLongInputs) {
  const Sentences w = wnut();
  const auto t0 = std::chrono::steady_clock::now();
  {
    auto tok = Tokenizer::from_file(fixture_json("bert-base-cased"));
    const Outcome o = compare(*tok, fixture_json("bert-base-cased"), long_requests(w, 300, 20261203));
    EXPECT_EQ(o.mismatched, 0u) << o.examples;
  }
  {
    testing::TempDir dir;
    const std::string copy = roberta_prefix_space_json(dir);
    auto tok = Tokenizer::from_file(fixture_json("roberta-base"))->with_prefix_space();
    const Outcome o = compare(*tok, copy, long_requests(w, 300, 20261204));
    EXPECT_EQ(o.mismatched, 0u) << o.examples;
  }
  {
    auto tok = Tokenizer::from_file(fixture_json("bert-base-chinese"));
    const Outcome o = compare(*tok, fixture_json("bert-base-chinese"), long_requests(msra(), 200, 20261205));
    EXPECT_EQ(o.mismatched, 0u) << o.examples;
  }
  std::cerr << "truncation parity: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s\n";
}

TEST(PretokenizedParity, OddWordsMatchTheReference) {
  // Empty and whitespace-only words (no tokens), words with inner or leading spaces, accents,
  // control characters, special tokens typed as words, a very long word.
  const std::vector<std::vector<std::string>> odd = {
      {},
      {""},
      {"", "a", " ", "b"},
      {"New York", "  x", "y  "},
      {"café", "naïve", "Straße", "\xC2\xAD", "\xE2\x80\x8B", "a\tb"},
      {"[CLS]", "<s>", "[UNK]", "</s>"},
      {std::string(300, 'x'), "ok"},
      {"日本語", "한국어", "😀", "1,000"},
  };
  for (const char* name : {"bert-base-cased", "bert-base-chinese"}) {
    auto tok = Tokenizer::from_file(fixture_json(name));
    const Outcome o = compare(*tok, fixture_json(name), plain_requests(odd));
    EXPECT_EQ(o.mismatched, 0u) << name << "\n" << o.examples;
  }
  testing::TempDir dir;
  const std::string copy = roberta_prefix_space_json(dir);
  auto tok = Tokenizer::from_file(fixture_json("roberta-base"))->with_prefix_space();
  // Words with leading spaces are left out for RoBERTa: there the reference's per-word trimming of
  // offsets differs from the crate's (see reference_tokenizer.js).
  std::vector<std::vector<std::string>> no_leading;
  for (const auto& s : odd)
    if (std::none_of(s.begin(), s.end(), [](const std::string& x) { return !x.empty() && x[0] == ' '; }))
      no_leading.push_back(s);
  const Outcome o = compare(*tok, copy, plain_requests(no_leading));
  EXPECT_EQ(o.mismatched, 0u) << o.examples;
}

TEST(PretokenizedWords, PairWordsAsTheTextsTheyJoinInto) {
  // By definition, when each word is one pre-tokenized piece, the pre-split pair encodes as the
  // space-joined texts do, with word ids counted per sequence and offsets per word.
  auto tok = Tokenizer::from_file(fixture_json("bert-base-cased"));
  const std::vector<std::string> a = {"Hello", "world"}, b = {"How", "are", "you"};
  const Encoding e = tok->encode_words(a, &b);
  const Encoding t = tok->encode("Hello world", std::string("How are you"));
  EXPECT_EQ(e.ids, t.ids);
  EXPECT_EQ(e.type_ids, t.type_ids);
  EXPECT_EQ(e.special_tokens_mask, t.special_tokens_mask);
  EXPECT_EQ(e.sequence_ids, t.sequence_ids);
  using W = std::optional<uint32_t>;
  EXPECT_EQ(e.word_ids, (std::vector<W>{std::nullopt, 0, 1, std::nullopt, 0, 1, 2, std::nullopt}));
  EXPECT_EQ(e.offsets[2], (std::pair<size_t, size_t>{0, 5}));  // "world" within its word
  EXPECT_EQ(e.offsets[6], (std::pair<size_t, size_t>{0, 3}));  // "you"
}

TEST(PretokenizedWords, TruncationWithoutOverflowKeepsTheFirstWindow) {
  // A single sequence without overflow stops tokenizing once max_length tokens are held; the
  // tokens kept are those of the first window of the full encoding.
  auto tok = Tokenizer::from_file(fixture_json("bert-base-cased"));
  std::vector<std::string> words;
  for (const auto& s : wnut()) {
    words.insert(words.end(), s.begin(), s.end());
    if (words.size() > 5000) break;
  }
  for (bool early_exit : {true, false}) {
    EncodeOptions o;
    o.truncation = TruncationOptions{};
    o.truncation->max_length = 64;
    o.truncation->early_exit = early_exit;
    const Encoding cut = tok->encode_words(words, nullptr, o);
    o.return_overflowing_tokens = true;
    const Encoding full = tok->encode_words(words, nullptr, o);
    EXPECT_EQ(cut.ids.size(), 64u);
    EXPECT_EQ(cut.ids, full.ids);
    EXPECT_EQ(cut.word_ids, full.word_ids);
    EXPECT_TRUE(cut.overflowing.empty());
    EXPECT_GT(full.overflowing.size(), 50u);
  }
}

TEST(PretokenizedWords, BadWordsAreNamed) {
  auto tok = Tokenizer::from_file(fixture_json("bert-base-cased"));
  try {
    tok->encode_words({"fine", "bad\xFF"});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("word 1"), std::string::npos) << e.what();
  }
  try {
    tok->encode_words_batch({{"ok"}, {"ok"}, {"\xC3"}});
    FAIL() << "no error";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("sentence 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("word 0"), std::string::npos) << e.what();
  }
}

TEST(PretokenizedWords, PrefixSpaceOnlyWhereByteLevelLacksIt) {
  auto bert = Tokenizer::from_file(fixture_json("bert-base-cased"));
  EXPECT_FALSE(bert->needs_prefix_space());
  const auto same = bert->with_prefix_space();
  EXPECT_EQ(same->encode_words({"Hello", "world"}).ids, bert->encode_words({"Hello", "world"}).ids);
  auto gpt2 = Tokenizer::from_file(fixture_json("gpt2"));
  EXPECT_TRUE(gpt2->needs_prefix_space());
  EXPECT_EQ(gpt2->with_prefix_space()->encode_words({"Hello", "world"}).tokens,
            (std::vector<std::string>{"ĠHello", "Ġworld"}));
}

TEST(PretokenizedWords, PrefixSpaceInsideSequences) {
  // gpt2's components wrapped in Sequences: with_prefix_space() sets the nested ByteLevel
  // pre-tokenizer and post-processor; the result matches the reference on the same file written
  // with both set by hand.
  std::ifstream in(fixture_json("gpt2"));
  nlohmann::json j = nlohmann::json::parse(in);
  nlohmann::json post = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}};
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", nlohmann::json::array({j["pre_tokenizer"]})}};
  j["post_processor"] = {{"type", "Sequence"}, {"processors", nlohmann::json::array({post})}};
  testing::TempDir dir;
  testing::write_text(dir / "tokenizer.json", j.dump());
  j["pre_tokenizer"]["pretokenizers"][0]["add_prefix_space"] = true;
  j["post_processor"]["processors"][0]["add_prefix_space"] = true;
  testing::write_text(dir / "set.json", j.dump());
  auto tok = Tokenizer::from_file(dir / "tokenizer.json");
  ASSERT_TRUE(tok->needs_prefix_space());
  auto spaced = tok->with_prefix_space();
  EXPECT_FALSE(spaced->needs_prefix_space());
  const Encoding e = spaced->encode_words({"Hello", "world"});
  EXPECT_EQ(e.tokens, (std::vector<std::string>{"ĠHello", "Ġworld"}));
  EXPECT_EQ(e.offsets, (std::vector<std::pair<size_t, size_t>>{{0, 5}, {0, 5}}));
  const Sentences w = wnut();
  const Outcome o = compare(*spaced, dir / "set.json", plain_requests(Sentences(w.begin(), w.begin() + 300)));
  EXPECT_EQ(o.mismatched, 0u) << o.examples;
}

TEST(PretokenizedWords, ContinuingSubwordPrefixAndUnkTokenId) {
  auto bert = Tokenizer::from_file(fixture_json("bert-base-cased"));
  EXPECT_EQ(bert->continuing_subword_prefix(), std::optional<std::string>("##"));
  EXPECT_EQ(bert->unk_token_id(), std::optional<int64_t>(100));  // "[UNK]" is line 101 of vocab.txt
  auto roberta = Tokenizer::from_file(fixture_json("roberta-base"));
  EXPECT_EQ(roberta->continuing_subword_prefix(), std::nullopt);  // BPE "continuing_subword_prefix": ""
  // tokenizer_config.json "unk_token": "<unk>", id 3 in vocab.json (the BPE model has no unk_token).
  EXPECT_EQ(roberta->unk_token_id(), std::optional<int64_t>(3));
  EXPECT_EQ(roberta->with_prefix_space()->unk_token_id(), std::optional<int64_t>(3));
}

TEST(PretokenizedWords, ConvertTokensToStringMatchesTheReferenceDecoder) {
  // Hand cases first: "##" pieces join their word (WordPiece decoder, cleanup " !" -> "!"); byte-
  // level tokens turn back into bytes ("Ġ" is a space).
  auto bert = Tokenizer::from_file(fixture_json("bert-base-cased"));
  EXPECT_EQ(bert->convert_tokens_to_string({"Hello", "##world", "!"}), "Helloworld!");
  EXPECT_EQ(bert->convert_tokens_to_string({"New", "York"}), "New York");
  auto roberta = Tokenizer::from_file(fixture_json("roberta-base"));
  EXPECT_EQ(roberta->convert_tokens_to_string({"ĠNew", "ĠYork"}), " New York");
  EXPECT_EQ(roberta->convert_tokens_to_string({"ĠcafÃ©"}), " café");
  // Then the tokens of real sentences, whole and in entity-sized slices, against the reference.
  const Sentences w = wnut();
  for (const char* name : {"bert-base-cased", "roberta-base", "bert-base-chinese"}) {
    auto tok = Tokenizer::from_file(fixture_json(name));
    const Sentences s = std::string(name) == "bert-base-chinese" ? msra() : w;
    std::vector<Json> req;
    std::vector<std::string> ours;
    for (size_t i = 0; i < s.size(); i += 7) {
      const Encoding e = tok->encode_words(s[i], nullptr, EncodeOptions{false, std::nullopt, false});
      for (size_t from = 0; from < e.tokens.size(); from += 3) {
        std::vector<std::string> slice(e.tokens.begin() + from,
                                       e.tokens.begin() + std::min(e.tokens.size(), from + 1 + i % 4));
        req.push_back(Json{{"tokens", slice}});
        ours.push_back(tok->convert_tokens_to_string(slice));
      }
      req.push_back(Json{{"tokens", e.tokens}});
      ours.push_back(tok->convert_tokens_to_string(e.tokens));
    }
    const std::vector<Json> ref = run_node("decode-tokens", fixture_json(name), req);
    size_t bad = 0;
    std::string examples;
    for (size_t i = 0; i < req.size(); ++i) {
      if (ref[i]["decoded"].get<std::string>() == ours[i]) continue;
      if (++bad <= 4)
        examples += req[i].dump(-1, ' ', true) + "\n  reference " + ref[i].dump(-1, ' ', true) + "\n  textune   " +
                    ours[i] + "\n";
    }
    EXPECT_GT(req.size(), 1000u);
    EXPECT_EQ(bad, 0u) << name << " (" << req.size() << " token lists)\n" << examples;
  }
}

}  // namespace
}  // namespace textune::tokenizers
