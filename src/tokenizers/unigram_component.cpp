// tokenizer.json's {"type": "Unigram", "unk_id": n|null, "vocab": [[piece, score], ...],
// "byte_fallback": b} as a pipeline Model (tokenizers/src/models/unigram/serialization.rs fields).
#include "textune/core/error.h"
#include "tokenizers/components.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/unigram_model.h"

namespace textune::tokenizers {
namespace {

class UnigramComponent : public Model {
 public:
  explicit UnigramComponent(UnigramModel model) : model_(std::move(model)) {}

  void tokenize(std::string_view sequence, std::vector<Token>& out) const override {
    thread_local std::vector<UnigramToken> tokens;
    tokens.clear();
    model_.tokenize(sequence, tokens);
    for (const UnigramToken& t : tokens)
      out.push_back(Token{t.id, std::string(model_.token_text(t, sequence)), Offsets{t.begin, t.end}});
  }
  std::optional<uint32_t> token_to_id(std::string_view token) const override { return model_.token_to_id(token); }
  const std::string* id_to_token(uint32_t id) const override { return model_.id_to_token(id); }
  size_t vocab_size() const override { return model_.vocab_size(); }
  std::optional<uint32_t> unk_id() const override { return model_.unk_id(); }

 private:
  UnigramModel model_;
};

}  // namespace

std::unique_ptr<Model> make_unigram_model(const TokenizerJson& j, const LoadContext& ctx) {
  const std::string& where = ctx.where;
  const TokenizerJson& vocab_json = json_field(j, "vocab", where);
  if (!vocab_json.is_array()) throw DataError(where + ": field \"vocab\" must be a list of [piece, score]");
  std::vector<std::pair<std::string, double>> vocab;
  vocab.reserve(vocab_json.size());
  for (size_t i = 0; i < vocab_json.size(); ++i) {
    const TokenizerJson& e = vocab_json[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      throw DataError(where + ": vocab entry " + std::to_string(i) + " must be [piece, score], got " + e.dump());
    vocab.emplace_back(e[0].get<std::string>(), e[1].get<double>());
  }
  std::optional<uint32_t> unk_id;
  if (j.contains("unk_id") && !j["unk_id"].is_null()) {
    unk_id = json_token_id(j.at("unk_id"), where, "field \"unk_id\"");
  }
  const bool byte_fallback = json_bool_or(j, "byte_fallback", false, where);
  return std::make_unique<UnigramComponent>(UnigramModel(std::move(vocab), unk_id, byte_fallback, where));
}

}  // namespace textune::tokenizers
