// serve and the C++ Pipeline for issue 12: each /predict input is checked by its task
// (Pipeline::check_input) before it joins a batch, so that a bad input fails its own request only;
// a token classifier answers the Inference API's entity lists; Pipeline::entities.
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <sstream>
#include <thread>
#include <tuple>

#include "classifier_model.h"
#include "serve/api.h"
#include "serve_support.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/pipeline.h"

using textune::Pipeline;
using textune::core::Json;
using textune::serve::ServerOptions;
using namespace textune::testing;

namespace {

/// The fake classifier with a task-side input check: "boom", which its model refuses (and so fails
/// the whole batch it is in), is refused by check_input as a task's from_inputs would refuse it.
class CheckingPipeline : public FakePipeline {
 public:
  void check_input(const Json& input) const override {
    if (input.is_string() && input.get<std::string>() == "boom")
      throw textune::DataError("input 1 of 1: the fake task refuses 'boom'");
  }
};

/// The answer the fake classifier gives for `text` (TEI's shape: labels by score, highest first).
Json fake_answer(const FakePipeline& p, const std::string& text) {
  return p.response(FakePipeline::record(p.make(fake_logits(text))), false);
}

}  // namespace

// Before check_input, "boom" reached the batch queue, and the batch it joined failed with 424 for
// every request in it.
TEST(ServeCheckInput, ABadInputFailsOnlyItsOwnRequestNotTheBatchItWouldHaveJoined) {
  auto pipeline = std::make_shared<CheckingPipeline>();
  ServerOptions o;
  o.max_wait_ms = 400;  // requests sent together wait for each other: one batch
  o.max_batch_requests = 32;
  RunningServer server(pipeline, o);

  const std::vector<std::string> texts = {"a cat", "boom", "an aardvark", "the sea", "banana"};
  std::vector<std::future<std::pair<int, std::string>>> answers;
  for (const auto& t : texts)
    answers.push_back(std::async(std::launch::async, [&server, t] {
      auto cli = server.client();
      auto r = cli.Post("/predict", Json{{"inputs", t}}.dump(), "application/json");
      return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
    }));
  for (size_t i = 0; i < texts.size(); ++i) {
    const auto [status, body] = answers[i].get();
    if (texts[i] == "boom") {
      EXPECT_EQ(status, 422) << body;
      EXPECT_EQ(Json::parse(body),
                Json({{"error", "Input validation error: input 1 of 1: the fake task refuses 'boom'"},
                      {"error_type", "Validation"}}));
    } else {
      ASSERT_EQ(status, 200) << texts[i] << ": " << body;
      EXPECT_EQ(Json::parse(body), fake_answer(*pipeline, texts[i])) << texts[i];
    }
  }
  // The model saw the four good texts only.
  size_t predicted = 0;
  for (size_t n : pipeline->calls()) predicted += n;
  EXPECT_EQ(predicted, 4u);

  // In a batch request, the element is named.
  auto cli = server.client();
  auto r = cli.Post("/predict", R"({"inputs": [["fine"], ["boom"]]})", "application/json");
  ASSERT_EQ(r->status, 422);
  EXPECT_EQ(Json::parse(r->body)["error"],
            "Input validation error: inputs[1]: input 1 of 1: the fake task refuses 'boom'");
}

// The fake classifier keeps TEI's request shapes: objects are not inputs of a task that takes pairs.
TEST(ServeCheckInput, ObjectsAndStringListsKeepTeisMeaningByDefault) {
  auto pipeline = std::make_shared<CheckingPipeline>();
  RunningServer server(pipeline, ServerOptions{});
  auto cli = server.client();
  EXPECT_EQ(cli.Post("/predict", R"({"inputs": {"text": "a"}})", "application/json")->status, 422);
  auto r = cli.Post("/predict", R"({"inputs": ["a b", "c"]})", "application/json");  // a pair
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body),
            pipeline->response(FakePipeline::record(pipeline->make(fake_logits("a b || c"))), false));
}

/// A task whose list input is a batch (token classification): the Inference API's list is a batch
/// and objects are the task's input fields, checked by check_input.
class NoPairsPipeline : public CheckingPipeline {
 public:
  bool list_is_batch() const override { return true; }
  void check_input(const Json& input) const override {
    CheckingPipeline::check_input(input);
    if (input.is_object()) throw textune::DataError("input 1 of 1: expected a string, got an object");
  }
};

TEST(ServeCheckInput, AListIsABatchForATaskThatSaysSo) {
  auto pipeline = std::make_shared<NoPairsPipeline>();
  RunningServer server(pipeline, ServerOptions{});
  auto cli = server.client();
  auto r = cli.Post("/predict", R"({"inputs": ["a b", "c"]})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body), Json::array({fake_answer(*pipeline, "a b"), fake_answer(*pipeline, "c")}));
  r = cli.Post("/predict", R"({"inputs": {"tokens": 3}})", "application/json");
  EXPECT_EQ(r->status, 422);
  EXPECT_EQ(Json::parse(r->body)["error"], "Input validation error: input 1 of 1: expected a string, got an object");
  r = cli.Post("/predict", R"({"inputs": ["a", 3]})", "application/json");
  EXPECT_EQ(r->status, 422);
  r = cli.Post("/predict", R"({"inputs": ["a", ""]})", "application/json");
  EXPECT_EQ(r->status, 400);  // an empty text, as TEI
}

// ---- the real text classifier's Pipeline (TaskPipeline) ----

class PipelineCheckInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    model_ = *tmp_ / "classifier";
    ASSERT_EQ(make_small_classifier(tmp_->path(), model_), "");
  }
  static void TearDownTestSuite() { delete tmp_; }
  static TempDir* tmp_;
  static std::string model_;
};
TempDir* PipelineCheckInput::tmp_ = nullptr;
std::string PipelineCheckInput::model_;

// Before: Pipeline::check_input was the default no-op for every model.
TEST_F(PipelineCheckInput, TheTasksFromInputsDecides) {
  auto p = Pipeline::load(model_);
  EXPECT_NO_THROW(p->check_input(Json("a text")));
  EXPECT_NO_THROW(p->check_input(Json{{"text", "a"}, {"text_pair", "b"}}));
  EXPECT_THROW(p->check_input(Json{{"tokens", 3}}), textune::DataError);
  EXPECT_THROW(p->check_input(Json(3)), textune::DataError);
  EXPECT_THROW(p->check_input(Json{{"text", 3}}), textune::DataError);
  // Text classification: TEI's request shapes, long texts cut (serve's reading of its requests).
  EXPECT_FALSE(p->list_is_batch());
  EXPECT_FALSE(p->windows_long_inputs());
  // entities() is the token classifier's.
  EXPECT_THROW(p->entities({"a text"}), textune::UsageError);
}

// A real model served: a bad input among good ones answers 422 alone.
TEST_F(PipelineCheckInput, ServedClassifierAnswersGoodRequestsBesideABadOne) {
  auto p = Pipeline::load(model_);
  auto tok = textune::tokenizers::Tokenizer::from_dir(model_);
  ServerOptions o;
  o.max_wait_ms = 300;
  RunningServer server(p, o, tok);
  std::vector<std::future<int>> statuses;
  const std::vector<std::string> bodies = {R"({"inputs": "good one"})", R"({"inputs": [["x"], ["y", "z"]]})",
                                           R"({"inputs": "  "})", R"({"inputs": ["a", "b"]})"};
  for (const auto& b : bodies)
    statuses.push_back(std::async(std::launch::async, [&server, b] {
      auto r = server.client().Post("/predict", b, "application/json");
      return r ? r->status : 0;
    }));
  for (auto& s : statuses) EXPECT_EQ(s.get(), 200);
}

// ---- a token classifier served ----

namespace {

/// A small BERT token classifier over the real bert-base-cased vocabulary (`textune init`: 2 layers,
/// hidden 32, 64 positions) with labels O, B-PER, I-PER, whose classifier bias is (0, 10, 0): the
/// encoder's logits are small, so every token's label is B-PER with probability above 0.999, and
/// the entities of a text follow from its tokens by the pipeline's definition (aggregation "simple":
/// every B- token starts a new entity). Returns "" on success, else the error.
std::string make_small_ner(const std::string& work_dir, const std::string& dir) {
  const std::string base = work_dir + "/ner-base";
  auto r = run_cli("init --arch bert --cased --vocab " + data_dir() +
                   "/vocab/bert-base-cased/vocab.txt --layers 2 --hidden 32 --heads 2 --intermediate 64 "
                   "--max-position 64 --output " +
                   base);
  if (r.exit_code != 0) return "textune init failed: " + r.err;
  textune::models::LoadOptions lo;
  lo.architecture = "BertForTokenClassification";
  lo.labels = std::vector<std::string>{"O", "B-PER", "I-PER"};
  auto model = textune::models::load_pretrained(base, lo);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters())
      if (p.key() == "classifier.bias") p.value().copy_(torch::tensor({0.0f, 10.0f, 0.0f}));
  }
  textune::core::AtomicDirectory out(dir);
  textune::models::save_pretrained_into(model, out.staging_path());
  textune::tokenizers::copy_tokenizer_files(base, out.staging_path());
  out.commit();
  return "";
}

/// An entity of the answer: {"entity_group", "score", "word", "start", "end"}.
void expect_entity(const Json& e, const std::string& word, size_t start, size_t end) {
  ASSERT_TRUE(e.is_object()) << e.dump();
  EXPECT_EQ(e.size(), 5u) << e.dump();
  EXPECT_EQ(e.at("entity_group"), "PER") << e.dump();
  EXPECT_EQ(e.at("word"), word) << e.dump();
  EXPECT_EQ(e.at("start"), start) << e.dump();
  EXPECT_EQ(e.at("end"), end) << e.dump();
  EXPECT_GT(e.at("score").get<double>(), 0.999) << e.dump();
  EXPECT_LE(e.at("score").get<double>(), 1.0) << e.dump();
}

class NerServe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new TempDir();
    model_ = *tmp_ / "ner";
    ASSERT_EQ(make_small_ner(tmp_->path(), model_), "");
    classifier_ = *tmp_ / "classifier";
    ASSERT_EQ(make_small_classifier(tmp_->path(), classifier_), "");
  }
  static void TearDownTestSuite() { delete tmp_; }
  static TempDir* tmp_;
  static std::string model_, classifier_;
};
TempDir* NerServe::tmp_ = nullptr;
std::string NerServe::model_, NerServe::classifier_;

// "— Alice went to Paris": five tokens of bert-base-cased, each its own PER entity; offsets in code
// points ("—" is one code point, three bytes), end exclusive.
const char* kText = "\xe2\x80\x94 Alice went to Paris";

}  // namespace

TEST_F(NerServe, PipelineEntitiesAreThePipelinesOnRawText) {
  auto p = Pipeline::load(model_);
  EXPECT_EQ(p->task(), "token-classification");
  EXPECT_TRUE(p->list_is_batch());
  EXPECT_TRUE(p->windows_long_inputs());
  EXPECT_THROW(p->predict(std::vector<std::string>{"a"}), textune::UsageError);
  const auto all = p->entities({kText, "Paris"});
  ASSERT_EQ(all.size(), 2u);
  const std::vector<std::tuple<std::string, size_t, size_t>> expected = {
      {"\xe2\x80\x94", 0, 1}, {"Alice", 2, 7}, {"went", 8, 12}, {"to", 13, 15}, {"Paris", 16, 21}};
  ASSERT_EQ(all[0].size(), expected.size());
  for (size_t k = 0; k < expected.size(); ++k) {
    EXPECT_EQ(all[0][k].entity_group, "PER");
    EXPECT_EQ(all[0][k].word, std::get<0>(expected[k]));
    EXPECT_EQ(all[0][k].start, std::get<1>(expected[k]));
    EXPECT_EQ(all[0][k].end, std::get<2>(expected[k]));
    EXPECT_GT(all[0][k].score, 0.999);
  }
  ASSERT_EQ(all[1].size(), 1u);
  EXPECT_EQ(all[1][0].word, "Paris");
  EXPECT_EQ(all[1][0].end, 5u);
  // The task refuses what is not a text.
  EXPECT_THROW(p->check_input(Json{{"tokens", 3}}), textune::DataError);
  EXPECT_NO_THROW(p->check_input(Json{{"tokens", {"Alice", "went"}}}));
}

TEST_F(NerServe, PredictAnswersTheInferenceApisEntityLists) {
  auto p = Pipeline::load(model_);
  ServerOptions o;
  o.max_client_batch_size = 4;
  o.max_request_bytes = 1 << 20;
  o.model_id = "small-ner";
  RunningServer server(p, o, textune::tokenizers::Tokenizer::from_dir(model_));
  auto cli = server.client();

  // /info names the task and its labels.
  const Json info = Json::parse(cli.Get("/info")->body);
  EXPECT_EQ(info["task"], "token-classification");
  EXPECT_EQ(info["labels"], Json({"O", "B-PER", "I-PER"}));
  EXPECT_EQ(info["model_type"]["classifier"]["id2label"], Json({{"0", "O"}, {"1", "B-PER"}, {"2", "I-PER"}}));

  // One text: its entity list; scores as Pipeline::entities gives them.
  auto r = cli.Post("/predict", Json{{"inputs", kText}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json one = Json::parse(r->body);
  ASSERT_TRUE(one.is_array() && one.size() == 5u) << r->body;
  expect_entity(one[0], "\xe2\x80\x94", 0, 1);
  expect_entity(one[1], "Alice", 2, 7);
  expect_entity(one[4], "Paris", 16, 21);
  const auto direct = p->entities({kText});
  for (size_t k = 0; k < 5; ++k) EXPECT_EQ(one[k]["score"].get<double>(), direct[0][k].score);

  // A list of texts: a list of lists, in order.
  r = cli.Post("/predict", R"({"inputs": ["Paris", "Alice went"]})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json two = Json::parse(r->body);
  ASSERT_TRUE(two.is_array() && two.size() == 2u) << r->body;
  ASSERT_EQ(two[0].size(), 1u);
  expect_entity(two[0][0], "Paris", 0, 5);
  ASSERT_EQ(two[1].size(), 2u);
  expect_entity(two[1][1], "went", 6, 10);

  // Pre-split words: entities over word indices (the sentence predictor's).
  r = cli.Post("/predict", R"({"inputs": {"tokens": ["Alice", "went"]}})", "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  const Json words = Json::parse(r->body);
  ASSERT_EQ(words.size(), 2u) << r->body;
  expect_entity(words[0], "Alice", 0, 1);
  expect_entity(words[1], "went", 1, 2);

  // A text longer than the model's 64 positions, truncation off: predicted in windows, merged; every
  // word gets its entity, none twice.
  std::string long_text;
  for (int i = 0; i < 150; ++i) long_text += i ? " Paris" : "Paris";
  r = cli.Post("/predict", Json{{"inputs", long_text}, {"truncate", false}}.dump(), "application/json");
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  const Json many = Json::parse(r->body);
  ASSERT_EQ(many.size(), 150u);
  for (size_t k = 0; k < 150; ++k) expect_entity(many[k], "Paris", 6 * k, 6 * k + 5);

  // Bad inputs of the task: 422 for that request, with the task's message.
  r = cli.Post("/predict", R"({"inputs": {"tokens": 3}})", "application/json");
  EXPECT_EQ(r->status, 422);
  EXPECT_NE(Json::parse(r->body)["error"].get<std::string>().find("\"tokens\" must be a non-empty list of words"),
            std::string::npos)
      << r->body;
  r = cli.Post("/predict", R"({"inputs": {"text": "a", "text_pair": "b"}})", "application/json");
  EXPECT_EQ(r->status, 422) << r->body;
  r = cli.Post("/predict", R"({"inputs": ["a", 3]})", "application/json");
  EXPECT_EQ(r->status, 422) << r->body;
}

TEST_F(NerServe, ConcurrentRequestsAreBatchedAndABadOneFailsAlone) {
  auto p = Pipeline::load(model_);
  ServerOptions o;
  o.max_wait_ms = 300;
  RunningServer server(p, o, textune::tokenizers::Tokenizer::from_dir(model_));
  const std::vector<std::string> bodies = {R"({"inputs": "Alice"})", R"({"inputs": {"tokens": 3}})",
                                           R"({"inputs": "Alice went to Paris"})", R"({"inputs": ["to", "Paris"]})",
                                           R"({"inputs": {"tokens": ["Paris"]}})"};
  std::vector<std::future<std::pair<int, std::string>>> answers;
  for (const auto& b : bodies)
    answers.push_back(std::async(std::launch::async, [&server, b] {
      auto r = server.client().Post("/predict", b, "application/json");
      return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
    }));
  std::vector<std::pair<int, std::string>> got;
  for (auto& a : answers) got.push_back(a.get());
  EXPECT_EQ(got[1].first, 422) << got[1].second;
  for (size_t i : {0u, 2u, 3u, 4u}) ASSERT_EQ(got[i].first, 200) << bodies[i] << ": " << got[i].second;
  expect_entity(Json::parse(got[0].second)[0], "Alice", 0, 5);
  EXPECT_EQ(Json::parse(got[2].second).size(), 4u);
  expect_entity(Json::parse(got[3].second)[1][0], "Paris", 0, 5);
  expect_entity(Json::parse(got[4].second)[0], "Paris", 0, 1);
}

// The malformed-input suite as for classification; where the Inference API's token-classification
// shapes differ from TEI's, the request is a valid one here.
TEST_F(NerServe, MalformedInputSuite) {
  auto p = Pipeline::load(model_);
  ServerOptions o;
  o.max_client_batch_size = 4;
  o.max_request_bytes = 1 << 20;
  RunningServer server(p, o, textune::tokenizers::Tokenizer::from_dir(model_));
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "Paris ";
  std::vector<BadRequest> cases = malformed_requests(long_text);
  const std::map<std::string, int> valid_here = {
      {"inputs object", 200},                    // {"text": "a"}: one input of the task's fields
      {"three texts", 200},                      // a list of three texts
      {"batch mixing arrays and strings", 200},  // [["a"], "b"]: two texts
      {"text above max length", 200},            // windows: no text is too long
  };
  for (auto& c : cases)
    if (auto it = valid_here.find(c.what); it != valid_here.end()) c.status = it->second;
  expect_statuses(server.port(), cases);
  // Still serving.
  auto r = server.client().Post("/predict", R"({"inputs": "Paris"})", "application/json");
  ASSERT_EQ(r->status, 200);
}

// aggregation_strategy "none" (saved in textune_task.json): one entity per token, named by its label
// ("entity" in the pipeline's answer, entity_group in Entity).
TEST_F(NerServe, EntitiesWithoutAggregationCarryTheTokensLabel) {
  TempDir tmp;
  const std::string dir = tmp / "none";
  std::filesystem::copy(model_, dir, std::filesystem::copy_options::recursive);
  write_text(dir + "/textune_task.json",
             R"({"task": "token-classification", "options": {"aggregation_strategy": "none"}})");
  auto p = Pipeline::load(dir);
  const auto e = p->entities({"Alice went"});
  ASSERT_EQ(e.size(), 1u);
  ASSERT_EQ(e[0].size(), 2u);
  EXPECT_EQ(e[0][0].entity_group, "B-PER");
  EXPECT_EQ(e[0][0].word, "Alice");
  EXPECT_EQ(e[0][0].start, 0u);
  EXPECT_EQ(e[0][0].end, 5u);
  EXPECT_EQ(e[0][1].entity_group, "B-PER");
  EXPECT_EQ(e[0][1].word, "went");
  EXPECT_EQ(e[0][1].start, 6u);
  EXPECT_GT(e[0][1].score, 0.999);
}

// The README's example program (examples/cpp/ner.cpp), built against the public headers only.
TEST_F(NerServe, ExampleProgramPrintsTheEntities) {
  TempDir out;
  const std::string example = std::string(TEXTUNE_BINARY_DIR) + "/example_ner " + shell_quote(model_) + " " +
                              shell_quote("Alice went") + " Paris > " + shell_quote(out / "stdout");
  ASSERT_EQ(std::system(example.c_str()), 0);
  const std::string printed = read_text(out / "stdout");
  const auto direct = Pipeline::load(model_)->entities({"Alice went", "Paris"});
  std::istringstream lines(printed);
  std::string line;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) rows.push_back(line);
  ASSERT_EQ(rows.size(), 3u) << printed;
  EXPECT_EQ(rows[0].substr(0, 6), "0\tPER\t");
  EXPECT_NE(rows[0].find("\t0\t5\tAlice"), std::string::npos) << rows[0];
  EXPECT_NE(rows[1].find("\t6\t10\twent"), std::string::npos) << rows[1];
  EXPECT_EQ(rows[2].substr(0, 6), "1\tPER\t");
  EXPECT_NE(rows[2].find("\t0\t5\tParis"), std::string::npos) << rows[2];
  // The score column is the entity's score (printed with 9 digits).
  std::istringstream first(rows[0]);
  std::string index, group, score;
  std::getline(first, index, '\t');
  std::getline(first, group, '\t');
  std::getline(first, score, '\t');
  EXPECT_NEAR(std::stod(score), direct[0][0].score, 1e-8);

  // A text classifier is not a token classifier: one line, exit code 2 (a usage error).
  const int status = std::system((std::string(TEXTUNE_BINARY_DIR) + "/example_ner " + shell_quote(classifier_) +
                                  " hello 2> " + shell_quote(out / "stderr"))
                                     .c_str());
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 2);
  const std::string err = read_text(out / "stderr");
  EXPECT_NE(err.find("token classifier"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

// A Chinese NER model trained by `textune train --task ner` on 200 MSRA sentences (a few steps; the
// entities are a weak model's): served, every entity's start/end are code points of the text (Python
// string indices) and its word is the text between them (the decoder joins CJK tokens with spaces,
// as transformers' convert_tokens_to_string does).
TEST(NerServeMsra, EntitiesOfATrainedChineseModelIndexTheTextInCodePoints) {
  TempDir tmp;
  auto r = run_cli("init --arch bert --vocab " + data_dir() +
                   "/vocab/bert-base-chinese/vocab.txt --layers 2 --hidden 64 --heads 2 --intermediate 128 "
                   "--max-position 128 --output " +
                   (tmp / "base"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream train(read_text(data_dir() + "/ner/msra/train_sample_uer_testdata.tsv"));
  std::string line, head;
  for (int i = 0; i < 201 && std::getline(train, line); ++i) head += line + "\n";
  write_text(tmp / "train.tsv", head);
  r = run_cli("train --task ner --format msra --model " + (tmp / "base") + " --train " + (tmp / "train.tsv") +
              " --max_steps 30 --output " + (tmp / "model"));
  ASSERT_EQ(r.exit_code, 0) << r.err;

  const std::string text = "相比之下，青岛海牛队和广州松日队的雨中之战虽然也是0∶0，但乏善可陈。";
  auto p = Pipeline::load(tmp / "model");
  ServerOptions o;
  RunningServer server(p, o, textune::tokenizers::Tokenizer::from_dir(tmp / "model"));
  auto res = server.client().Post("/predict", Json{{"inputs", text}}.dump(), "application/json");
  ASSERT_EQ(res->status, 200) << res->body;
  const Json entities = Json::parse(res->body);
  ASSERT_FALSE(entities.empty()) << res->body;
  auto no_spaces = [](std::string s) {
    s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
    return s;
  };
  const auto direct = p->entities({text});
  ASSERT_EQ(direct[0].size(), entities.size());
  size_t previous_end = 0;
  for (size_t k = 0; k < entities.size(); ++k) {
    const Json& e = entities[k];
    const size_t start = e["start"], end = e["end"];
    ASSERT_LT(start, end) << e.dump();
    ASSERT_LE(end, 35u) << e.dump();  // the text has 35 code points
    EXPECT_GE(start, previous_end) << e.dump();
    previous_end = end;
    EXPECT_EQ(no_spaces(e["word"]), textune::serve::utf8_slice(text, start, end)) << e.dump();
    EXPECT_EQ(e["entity_group"], direct[0][k].entity_group);
    EXPECT_EQ(e["score"].get<double>(), direct[0][k].score);
  }
}
