// `textune predict` with a question-answering model (issue 13): --question/--context pairs, a SQuAD
// file or a JSONL/CSV of question and context columns; {id, question, answer, score, start, end} per
// question as transformers' QuestionAnsweringPipeline answers (top_k, max_answer_len,
// handle_impossible_answer). The model is untrained (random qa_outputs), so the checks are what
// holds by definition for any logits: the answer is context[start:end] in code points (emoji, CJK
// and combining marks in the context), the score a probability, top_k lists sorted with distinct
// texts, the list's first scoring at least the top_k 1 answer, max_answer_len 1 answers one word; the different input
// paths give the same answers (one path is the oracle of the others for plumbing only). Exit codes: 2 for usage, 1 for
// data.
#include <filesystem>

#include "support/qa_model.h"
#include "support/test_support.h"
#include "textune/core/json.h"

using textune::core::Json;
using namespace textune::testing;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

/// JSON lines of standard output.
std::vector<Json> json_lines(const std::string& out) {
  std::vector<Json> rows;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    if (end > pos) rows.push_back(Json::parse(out.substr(pos, end - pos)));
    pos = end + 1;
  }
  return rows;
}

// Emoji (astral code points: 2 UTF-16 units, 1 Python index), CJK and a combining acute accent:
// byte, UTF-16 and code point offsets all differ here.
const std::string kContext =
    "The café\xcc\x81 in Z\xc3\xbcrich opened in 1912 \xf0\x9f\x8e\x89 and was founded by Anna Meier. "
    "\xe5\x8c\x97\xe4\xba\xac\xe6\x98\xaf\xe4\xb8\xad\xe5\x9b\xbd\xe7\x9a\x84\xe9\xa6\x96\xe9\x83\xbd\xe3\x80\x82 "
    "It serves coffee \xe2\x98\x95 and cake every day.";
// Several 64-token windows (doc_stride 16).
std::string long_context() {
  std::string s;
  for (int i = 0; i < 6; ++i)
    s += "Sentence " + std::to_string(i) + " tells of the river \xf0\x9f\x8c\x8a that flows past the old mill. ";
  return s;
}

class CliQaPredict : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    model_ = *dir_ / "qa";
    error_ = make_small_qa_model(dir_->path(), model_);
  }
  static void TearDownTestSuite() { delete dir_; }
  void SetUp() override { ASSERT_EQ(error_, ""); }
  static CommandResult predict(const std::string& args) {
    return run_cli("predict --model " + shell_quote(model_) + " " + args);
  }
  static std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  }
  static TempDir* dir_;
  static std::string model_, error_;
};
TempDir* CliQaPredict::dir_ = nullptr;
std::string CliQaPredict::model_, CliQaPredict::error_;

}  // namespace

TEST_F(CliQaPredict, AnswersAreTheContextsCodePointSpansOnePerQuestion) {
  auto r =
      predict("--question 'Who founded the cafe?' --question 'When did it open?' --context " + shell_quote(kContext));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = json_lines(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[0]["id"], "1");
  EXPECT_EQ(rows[0]["question"], "Who founded the cafe?");
  EXPECT_EQ(rows[1]["id"], "2");
  EXPECT_EQ(rows[1]["question"], "When did it open?");
  for (const auto& row : rows) EXPECT_EQ(answer_problem(row, kContext), "") << row.dump();
}

TEST_F(CliQaPredict, TopKListsAreSortedWithDistinctAnswers) {
  const std::string q = "--question 'What does it serve?' --context " + shell_quote(kContext);
  auto one = predict(q);
  auto five = predict(q + " --top_k 5");
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(five.exit_code, 0) << five.err;
  const Json best = json_lines(one.out).at(0);
  const Json list = json_lines(five.out).at(0);
  ASSERT_TRUE(list.contains("answers")) << list.dump();
  ASSERT_EQ(list["answers"].size(), 5u) << list.dump();
  for (size_t k = 0; k < 5; ++k) {
    EXPECT_EQ(answer_problem(list["answers"][k], kContext), "") << k;
    if (k) EXPECT_GE(list["answers"][k - 1]["score"].get<double>(), list["answers"][k]["score"].get<double>());
  }
  // Answers of the same text are one answer (the pipeline sums their scores, over spans and
  // windows): texts are distinct, and the top_k 1 answer, taken from fewer spans, scores at most the
  // first of the list.
  for (size_t k = 1; k < 5; ++k)
    for (size_t j = 0; j < k; ++j) EXPECT_NE(list["answers"][j]["answer"], list["answers"][k]["answer"]);
  EXPECT_LE(best["score"].get<double>(), list["answers"][0]["score"].get<double>() + 1e-12);
  EXPECT_EQ(answer_problem(best, kContext), "");
}

TEST_F(CliQaPredict, MaxAnswerLenOneGivesOneWordAndHandleImpossibleAddsTheNullAnswer) {
  // max_answer_len counts tokens; align_to_words widens a token to its word: one word, no space.
  auto r =
      predict("--question 'Which river?' --context " + shell_quote(long_context()) + " --max_answer_len 1 --top_k 8");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json list = json_lines(r.out).at(0);
  // (answers of the same text are merged: up to 8)
  ASSERT_GE(list["answers"].size(), 2u) << list.dump();
  ASSERT_LE(list["answers"].size(), 8u) << list.dump();
  for (const auto& a : list["answers"]) {
    EXPECT_EQ(answer_problem(a, long_context()), "");
    EXPECT_FALSE(contains(a["answer"].get<std::string>(), " ")) << a.dump();
  }
  // The null answer {"", score, 0, 0} joins the candidates with --handle_impossible_answer, and only
  // then; with a top_k above every candidate it is listed. (decode_spans fills a top_k above the
  // candidates with zero-score pairs, as np.argsort does in the reference: those are skipped.)
  for (const bool impossible : {true, false}) {
    r = predict("--question 'Which river?' --context 'A short one.' --top_k 1000" +
                std::string(impossible ? " --handle_impossible_answer" : ""));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Json all = json_lines(r.out).at(0)["answers"];
    size_t nulls = 0, spans = 0;
    for (const auto& a : all) {
      if (a["score"].get<double>() == 0.0) continue;
      if (a["answer"] == "" && a["start"] == 0 && a["end"] == 0) {
        ++nulls;
        EXPECT_LE(a["score"].get<double>(), 1.0);
      } else {
        ++spans;
        EXPECT_EQ(answer_problem(a, "A short one."), "") << a.dump();
      }
    }
    EXPECT_EQ(nulls, impossible ? 1u : 0u) << all.dump();
    EXPECT_GE(spans, 4u) << all.dump();  // "A", "short", "one", "one." at least
  }
}

TEST_F(CliQaPredict, QuestionsPairWithTheirContextsAndFilesGiveTheSameAnswers) {
  const std::string ctx2 = long_context();
  auto pairs = predict("--question 'Who founded the cafe?' --context " + shell_quote(kContext) +
                       " --question 'Which river?' --context " + shell_quote(ctx2));
  ASSERT_EQ(pairs.exit_code, 0) << pairs.err;
  const auto rows = json_lines(pairs.out);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(answer_problem(rows[0], kContext), "");
  EXPECT_EQ(answer_problem(rows[1], ctx2), "");  // windows over the long context
  // Each alone: the same answer (plumbing: questions do not leak into each other's batches).
  auto alone = predict("--question 'Which river?' --context " + shell_quote(ctx2));
  ASSERT_EQ(alone.exit_code, 0) << alone.err;
  const Json a = json_lines(alone.out).at(0);
  EXPECT_EQ(a["answer"], rows[1]["answer"]);
  EXPECT_EQ(a["start"], rows[1]["start"]);
  EXPECT_NEAR(a["score"].get<double>(), rows[1]["score"].get<double>(), 1e-6);

  // A SQuAD file and a JSONL of rows with the same questions: the same answers, the file's ids.
  Json squad = {
      {"version", "1.1"},
      {"data", Json::array({{{"title", "t"},
                             {"paragraphs", Json::array({{{"context", kContext},
                                                          {"qas", Json::array({{{"id", "q-cafe"},
                                                                                {"question", "Who founded the cafe?"},
                                                                                {"answers", Json::array()}}})}},
                                                         {{"context", ctx2},
                                                          {"qas", Json::array({{{"id", "q-river"},
                                                                                {"question", "Which river?"},
                                                                                {"answers", Json::array()}}})}}})}}})}};
  write_text(*dir_ / "squad.json", squad.dump());
  std::string jsonl = Json{{"id", "q-cafe"}, {"question", "Who founded the cafe?"}, {"context", kContext}}.dump() +
                      "\n" + Json{{"id", "q-river"}, {"question", "Which river?"}, {"context", ctx2}}.dump() + "\n";
  write_text(*dir_ / "rows.jsonl", jsonl);
  for (const std::string file : {"squad.json", "rows.jsonl"}) {
    auto f = predict("--input " + shell_quote(*dir_ / file));
    ASSERT_EQ(f.exit_code, 0) << file << ": " << f.err;
    const auto got = json_lines(f.out);
    ASSERT_EQ(got.size(), 2u) << file;
    EXPECT_EQ(got[0]["id"], "q-cafe") << file;
    EXPECT_EQ(got[1]["id"], "q-river") << file;
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_EQ(got[i]["answer"], rows[i]["answer"]) << file;
      EXPECT_EQ(got[i]["start"], rows[i]["start"]) << file;
      EXPECT_EQ(got[i]["end"], rows[i]["end"]) << file;
      EXPECT_NEAR(got[i]["score"].get<double>(), rows[i]["score"].get<double>(), 1e-6) << file;
    }
  }
  // CSV output: the answer's columns.
  auto csv = predict("--input " + shell_quote(*dir_ / "rows.jsonl") + " --output " + shell_quote(*dir_ / "out.csv"));
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  const std::string table = read_text(*dir_ / "out.csv");
  EXPECT_EQ(table.substr(0, table.find('\n')), "id,question,answer,score,start,end") << table;
}

TEST_F(CliQaPredict, BadQuestionsAreUsageOrDataErrors) {
  const std::string ctx = " --context 'A context.'";
  // --question without --context, and the reverse: usage (2), before the model loads.
  auto r = predict("--question 'Who?'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--question needs --context")) << r.err;
  r = predict("--context 'A context.'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // Counts that do not pair: 2 questions, 3 contexts.
  r = predict("--question a --question b --context x --context y --context z");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "2 questions but 3 --context values")) << r.err;
  // Questions with other inputs.
  r = predict("--question a" + ctx + " some text");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  // TEXT arguments to a question-answering model.
  r = predict("'just a text'");
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(contains(r.err, "--question Q --context C")) << r.err;
  // An empty question, or only whitespace: data (1), naming which.
  r = predict("--question 'Who?' --question ''" + ctx);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--question 2 of 2 is empty")) << r.err;
  r = predict("--question '   '" + ctx);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "--question 1 of 1 is empty (only whitespace)")) << r.err;
  r = predict("--question 'Who?' --context ' '");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  // A context over max_windows windows: data (1), naming the question.
  r = predict("--question 'Which river?' --context " + shell_quote(long_context()) + " --max_windows 1");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "question \"1\"")) << r.err;
  EXPECT_TRUE(contains(r.err, "more than 1 windows")) << r.err;
  // --help says how questions and contexts pair.
  r = run_cli("predict --help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.out, "once per --question")) << r.out;
}
