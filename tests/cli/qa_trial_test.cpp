// A new user's trial of question answering (issue 13), the findings fixed: a SQuAD file in UTF-16
// read with --encoding; a context over --max_windows named by the file and where its question is
// (a SQuAD file's question number and JSON path, a JSONL line, a --question's input number), not
// "line 1" for every layout; a binary .json file's message free of raw control bytes.
//
// Expected values are by definition: the files are written here, their one question is q1 (question
// 1, data[0].paragraphs[0].qas[0] of a SQuAD file; line 1 of a JSONL file).
#include <algorithm>
#include <cctype>
#include <filesystem>

#include "support/test_support.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

using namespace textune;
using core::Json;
using textune::testing::run_cli;
using textune::testing::TempDir;
using textune::testing::write_text;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

const char* const kContext = "The cat sat on the mat.";

/// A SQuAD v1.1 file of one question "q1" on `context` (answer "The cat" at 0).
Json squad(const std::string& context) {
  Json qa = {{"id", "q1"},
             {"question", "Where did the cat sit?"},
             {"answers", Json::array({Json{{"text", "The cat"}, {"answer_start", 0}}})}};
  Json paragraph = {{"context", context}, {"qas", Json::array({qa})}};
  return Json{{"version", "1.1"},
              {"data", Json::array({Json{{"title", "t"}, {"paragraphs", Json::array({paragraph})}}})}};
}

/// UTF-16LE with a byte order mark, of ASCII `text` (each byte followed by a zero byte).
std::string utf16le_bom(const std::string& text) {
  std::string out = "\xFF\xFE";
  for (char c : text) {
    out += c;
    out += '\0';
  }
  return out;
}

/// A randomly initialised BertForQuestionAnswering (hidden 32, 2 layers, 512 positions) whose cased
/// WordPiece vocabulary is the special tokens and the words below.
void write_tiny_qa_bert(const std::string& dir) {
  const std::vector<std::string> words = {"The", "cat", "sat", "on", "the", "mat", ".", "Where", "did", "sit", "?"};
  std::string v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
  for (const auto& w : words) v += w + "\n";
  write_text(dir + ".vocab.txt", v);
  Json cfg = {{"architectures", {"BertForQuestionAnswering"}},
              {"attention_probs_dropout_prob", 0.0},
              {"hidden_act", "gelu"},
              {"hidden_dropout_prob", 0.0},
              {"hidden_size", 32},
              {"initializer_range", 0.02},
              {"intermediate_size", 64},
              {"layer_norm_eps", 1e-12},
              {"max_position_embeddings", 512},
              {"model_type", "bert"},
              {"num_attention_heads", 4},
              {"num_hidden_layers", 2},
              {"pad_token_id", 0},
              {"type_vocab_size", 2},
              {"vocab_size", static_cast<int64_t>(5 + words.size())}};
  auto model = models::from_config(cfg, {});
  core::AtomicDirectory out(dir);
  models::save_pretrained_into(model, out.staging_path());
  tokenizers::write_bert_tokenizer(dir + ".vocab.txt", out.staging_path(), false, 512);
  out.commit();
}

class QaTrial : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    write_tiny_qa_bert(path("tiny"));
  }
  static void TearDownTestSuite() { delete dir_; }
  static std::string path(const std::string& name) { return *dir_ / name; }
  static TempDir* dir_;
};

TempDir* QaTrial::dir_ = nullptr;

/// A context of `n` words: with --max_length 32 and --doc_stride 8 it needs about n / 14 windows.
std::string long_context(size_t n) {
  std::string s = kContext;
  for (size_t i = 0; i < n; ++i) s += " the mat";
  return s;
}

}  // namespace

// Before: a SQuAD file was recognised by its first byte being '{', so a UTF-16 file (its first bytes
// the byte order mark) was read as a table and refused: `no "question" column (the file has columns
// "version", "data" ...)`, though the message for the same file without --encoding says to pass it.
TEST_F(QaTrial, Utf16SquadFileIsReadWithEncoding) {
  const std::string text = squad(kContext).dump();
  write_text(path("u16.json"), utf16le_bom(text));
  const auto r = run_cli("eval --model " + path("tiny") + " --data " + path("u16.json") + " --encoding utf-16");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json report = Json::parse(r.out);
  EXPECT_EQ(report["metric"], "squad");
  EXPECT_EQ(report["num_examples"], 1);
  // without --encoding: the reader says what the file is and which option reads it
  const auto plain = run_cli("eval --model " + path("tiny") + " --data " + path("u16.json"));
  EXPECT_EQ(plain.exit_code, 1) << plain.err;
  EXPECT_TRUE(contains(plain.err, "--encoding utf-16")) << plain.err;
  // score reads such references with --encoding too (the same message told it to pass it, and score had
  // no --encoding); the prediction is the gold answer: exact match 100 by definition
  write_text(path("pred.json"), R"({"q1": "The cat"})");
  const auto s = run_cli("score --metric squad --references " + path("u16.json") + " --encoding utf-16 --predictions " +
                         path("pred.json"));
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(Json::parse(s.out)["exact_match"], 100.0);
  // a JSON array of rows in UTF-16 still reads as rows
  const Json rows = Json::array({Json{{"id", "r1"},
                                      {"question", "Where did the cat sit?"},
                                      {"context", kContext},
                                      {"answers", Json{{"text", {"The cat"}}, {"answer_start", {0}}}}}});
  write_text(path("rows16.json"), utf16le_bom(rows.dump()));
  const auto r2 = run_cli("eval --model " + path("tiny") + " --data " + path("rows16.json") + " --encoding utf-16");
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(Json::parse(r2.out)["num_examples"], 1);
}

// Before: every layout said "question "q1" (line 1)", and the file was not named.
TEST_F(QaTrial, TooManyWindowsNamesTheFileAndWhereTheQuestionIs) {
  const std::string opts = " --max_length 32 --doc_stride 8 --max_windows 2";
  core::write_json_file(path("long.json"), squad(long_context(200)));
  const auto r = run_cli("eval --model " + path("tiny") + " --data " + path("long.json") + opts);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, path("long.json") +
                                  ": question \"q1\" (question 1, data[0].paragraphs[0].qas[0]): the context needs "
                                  "more than 2 windows"))
      << r.err;
  EXPECT_FALSE(contains(r.err, "(line ")) << r.err;

  const Json row = {{"id", "q1"},
                    {"question", "Where did the cat sit?"},
                    {"context", long_context(200)},
                    {"answers", Json{{"text", {"The cat"}}, {"answer_start", {0}}}}};
  write_text(path("long.jsonl"), row.dump() + "\n");
  const auto j = run_cli("predict --model " + path("tiny") + " --input " + path("long.jsonl") + opts);
  EXPECT_EQ(j.exit_code, 1) << j.err;
  EXPECT_TRUE(contains(j.err, path("long.jsonl") + ": question \"q1\" (line 1): the context needs more than 2"))
      << j.err;

  const auto q = run_cli("predict --model " + path("tiny") + " --question 'Where did the cat sit?' --context '" +
                         long_context(200) + "'" + opts);
  EXPECT_EQ(q.exit_code, 1) << q.err;
  EXPECT_TRUE(contains(q.err, "question \"1\" (input 1): the context needs more than 2")) << q.err;
}

// Before: "it begins with" followed the file's raw bytes, control characters included.
TEST_F(QaTrial, BinaryFileMessageHasNoControlBytes) {
  std::string bytes = "\x01\x02\x1b[31m\x7f\x05\x06\x07\x08garbage";
  write_text(path("bin.json"), bytes);
  const auto r = run_cli("eval --model " + path("tiny") + " --data " + path("bin.json"));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "bin.json")) << r.err;
  const std::string first_line = r.err.substr(0, r.err.find('\n'));
  EXPECT_TRUE(std::none_of(first_line.begin(), first_line.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  })) << first_line;
  EXPECT_TRUE(contains(first_line, "\\x01\\x02\\x1b[31m\\x7f")) << first_line;
}

// Before: `textune --help` said train's tasks were "text classification of texts or pairs, ner", eval's
// metrics a classifier's and serve "a fine-tuned classifier": a new user could not tell QA was there.
TEST(QaTrialHelp, CommandsSayTheyDoQuestionAnswering) {
  const auto r = run_cli("--help");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto line_of = [&](const std::string& command) {
    const size_t at = r.out.find("\n  " + command + " ");
    if (at == std::string::npos) return std::string();
    return r.out.substr(at + 1, r.out.find('\n', at + 1) - at - 1);
  };
  EXPECT_TRUE(contains(line_of("train"), "qa")) << r.out;
  EXPECT_TRUE(contains(line_of("eval"), "qa")) << r.out;
  EXPECT_TRUE(contains(line_of("serve"), "qa")) << r.out;
}
