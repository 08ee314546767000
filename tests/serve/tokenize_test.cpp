// /tokenize and the length check of /predict with the real bert-base-uncased tokenizer, against the
// ids and offsets Hugging Face `tokenizers` produced (fixtures/tokenizers/bert-base-uncased).
#include <fstream>

#include "serve_support.h"
#include "textune/core/json.h"

using textune::core::Json;
using namespace textune::testing;

namespace {

/// Python's text[begin:end] for UTF-8 `text` (indices in code points), written independently of the
/// server's helper: decode to code points, slice, encode.
std::string python_slice(const std::string& text, size_t begin, size_t end) {
  std::vector<std::string> chars;
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
    chars.push_back(text.substr(i, n));
    i += n;
  }
  std::string out;
  for (size_t k = begin; k < end && k < chars.size(); ++k) out += chars[k];
  return out;
}

std::vector<Json> golden_rows(size_t every) {
  std::ifstream in(tokenizer_fixture("bert-base-uncased") + "/golden_single.jsonl");
  std::vector<Json> rows;
  std::string line;
  for (size_t i = 0; std::getline(in, line); ++i)
    if (i % every == 0) rows.push_back(Json::parse(line));
  return rows;
}

}  // namespace

TEST(ServeTokenize, MatchesHuggingFaceTokenizersIdsAndOffsets) {
  auto tokenizer = textune::tokenizers::Tokenizer::from_dir(tokenizer_fixture("bert-base-uncased"));
  textune::serve::ServerOptions o;
  o.max_client_batch_size = 32;
  RunningServer server(std::make_shared<FakePipeline>(512), o, tokenizer);
  auto cli = server.client();
  const auto rows = golden_rows(20);
  ASSERT_GT(rows.size(), 150u);
  size_t compared = 0;
  for (size_t start = 0; start < rows.size(); start += 32) {
    Json inputs = Json::array();
    for (size_t i = start; i < std::min(rows.size(), start + 32); ++i) inputs.push_back(rows[i]["text"]);
    for (bool special : {true, false}) {
      auto r =
          cli.Post("/tokenize", Json{{"inputs", inputs}, {"add_special_tokens", special}}.dump(), "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      const Json answer = Json::parse(r->body);
      ASSERT_EQ(answer.size(), inputs.size());
      for (size_t k = 0; k < answer.size(); ++k) {
        const Json& g = rows[start + k];
        const std::string text = g["text"];
        const Json& ids = special ? g["ids"] : g["ids_no_special"];
        const Json& tokens = answer[k];
        ASSERT_EQ(tokens.size(), ids.size()) << text;
        // Without special tokens the golden offsets are those of the non-special positions.
        std::vector<Json> offsets, masks;
        for (size_t j = 0; j < g["ids"].size(); ++j)
          if (special || g["special_tokens_mask"][j] == 0) {
            offsets.push_back(g["offsets"][j]);
            masks.push_back(g["special_tokens_mask"][j]);
          }
        for (size_t j = 0; j < tokens.size(); ++j) {
          EXPECT_EQ(tokens[j]["id"], ids[j]) << text << " token " << j;
          const bool is_special = masks[j] == 1;
          EXPECT_EQ(tokens[j]["special"], is_special) << text;
          if (is_special) {
            EXPECT_EQ(tokens[j]["text"], g["tokens"][j]) << text;
            EXPECT_TRUE(tokens[j]["start"].is_null());
          } else {
            EXPECT_EQ(tokens[j]["start"], offsets[j][0]) << text << " token " << j;
            EXPECT_EQ(tokens[j]["stop"], offsets[j][1]) << text << " token " << j;
            EXPECT_EQ(tokens[j]["text"], python_slice(text, offsets[j][0], offsets[j][1])) << text;
          }
        }
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 2 * rows.size());
}

TEST(ServeTokenize, PredictRefusesInputsLongerThanTheModelByTheTokenizersCount) {
  auto tokenizer = textune::tokenizers::Tokenizer::from_dir(tokenizer_fixture("bert-base-uncased"));
  RunningServer server(std::make_shared<FakePipeline>(16), {}, tokenizer);
  auto cli = server.client();
  size_t refused = 0, accepted = 0;
  for (const Json& g : golden_rows(40)) {
    const size_t n = g["ids"].size();  // tokens with [CLS] and [SEP], as `tokenizers` counts them
    auto r = cli.Post("/predict", Json{{"inputs", g["text"]}}.dump(), "application/json");
    ASSERT_TRUE(r);
    if (g["text"] == "") continue;  // 400 Empty
    if (n > 16) {
      EXPECT_EQ(r->status, 413) << g["text"];
      EXPECT_EQ(Json::parse(r->body)["error"],
                "Input validation error: `inputs` must have less than 16 tokens. Given: " + std::to_string(n));
      ++refused;
      r = cli.Post("/predict", Json{{"inputs", g["text"]}, {"truncate", true}}.dump(), "application/json");
      EXPECT_EQ(r->status, 200) << g["text"];
    } else {
      EXPECT_EQ(r->status, 200) << g["text"] << r->body;
      ++accepted;
    }
  }
  EXPECT_GT(refused, 10u);
  EXPECT_GT(accepted, 10u);
}
