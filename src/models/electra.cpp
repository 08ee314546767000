// ELECTRA (the discriminator): transformers' models/electra/modeling_electra.py. Embeddings are
// BERT's at width embedding_size, projected to hidden_size by `embeddings_project` when the two
// differ; the encoder is BERT's; there is no pooler. Heads: classification head (dense + exact
// GELU + out_proj on the first token), token classification, QA, and the generator's masked LM
// head (generator_predictions + generator_lm_head tied to the word embeddings).
#include <fmt/format.h>

#include "models/bert.h"
#include "models/config_view.h"
#include "models/heads.h"
#include "models/losses.h"
#include "models/registry.h"
#include "textune/core/error.h"

namespace textune::models {
namespace {

BertConfig electra_config(const core::Json& config) {
  BertConfig d;
  d.vocab_size = 30522;
  d.embedding_size = 128;
  d.hidden_size = 256;
  d.num_attention_heads = 4;
  d.intermediate_size = 1024;
  BertConfig c = BertConfig::from_json(config, d, "config.json");
  c.embedding_size = ConfigView(config, "config.json").get_int("embedding_size", d.embedding_size);
  return c;
}

/// ElectraModel: embeddings (E), embeddings_project (E -> H) when E != H, encoder.
class ElectraModelImpl : public PreTrainedModelImpl {
 public:
  explicit ElectraModelImpl(const core::Json& config) : cfg_(electra_config(config)) {
    config_ = config;
    embeddings_ = register_module("embeddings", BertEmbeddings(cfg_));
    if (cfg_.embedding_size != cfg_.hidden_size)
      embeddings_project_ = register_module("embeddings_project", make_linear(cfg_.embedding_size, cfg_.hidden_size));
    encoder_ = register_module("encoder", BertEncoder(cfg_));
  }
  ModelOutputs forward(const ModelInputs& in) override {
    validate_inputs(in, cfg_.max_position_embeddings, "ElectraModel");
    check_index_range(in.input_ids, cfg_.vocab_size, "input_ids", "the vocabulary (vocab_size)", "ElectraModel");
    check_index_range(in.token_type_ids, cfg_.type_vocab_size, "token_type_ids", "type_vocab_size", "ElectraModel");
    const int64_t T = in.input_ids.size(1);
    auto token_type_ids = in.token_type_ids.defined() ? in.token_type_ids : torch::zeros_like(in.input_ids);
    auto position_ids = torch::arange(T, in.input_ids.options().dtype(torch::kLong)).unsqueeze(0);  // (1, T)
    auto hidden = embeddings_(in.input_ids, token_type_ids, position_ids);                           // (B, T, E)
    if (!embeddings_project_.is_empty()) hidden = embeddings_project_(hidden);                      // (B, T, H)
    auto bias = padding_attention_bias(in.attention_mask, hidden.scalar_type());
    ModelOutputs out;
    out.last_hidden_state = encoder_(hidden, bias, in.output_hidden_states ? &out.hidden_states : nullptr);
    return out;
  }
  std::string architecture() const override { return "ElectraModel"; }
  TaskKind task() const override { return TaskKind::kBase; }
  std::optional<int64_t> max_sequence_length() const override { return cfg_.max_position_embeddings; }
  std::string base_model_prefix() const override { return "electra"; }
  const BertConfig& bert_config() const { return cfg_; }
  torch::nn::Embedding word_embeddings() const { return embeddings_->word_embeddings; }

 private:
  BertConfig cfg_;
  BertEmbeddings embeddings_{nullptr};
  torch::nn::Linear embeddings_project_{nullptr};
  BertEncoder encoder_{nullptr};
};

/// ElectraClassificationHead: out_proj(dropout(gelu(dense(dropout(h[:, 0]))))).
struct ElectraClassificationHeadImpl : torch::nn::Module {
  ElectraClassificationHeadImpl(const BertConfig& c, int64_t num_labels) {
    dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size));
    dropout = register_module("dropout", torch::nn::Dropout(c.classifier_dropout.value_or(c.hidden_dropout_prob)));
    out_proj = register_module("out_proj", make_linear(c.hidden_size, num_labels));
  }
  /// (B, T, H) -> (B, C).
  torch::Tensor forward(const torch::Tensor& features) {
    auto x = dropout(features.select(1, 0));
    x = dropout(torch::gelu(dense(x)));
    return out_proj(x);
  }
  torch::nn::Linear dense{nullptr}, out_proj{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(ElectraClassificationHead);

class ElectraForSequenceClassificationImpl : public PreTrainedModelImpl {
 public:
  explicit ElectraForSequenceClassificationImpl(const core::Json& config) {
    config_ = config;
    auto m = std::make_shared<ElectraModelImpl>(config);
    electra_ = register_module("electra", as_model(m));
    classifier_ = register_module("classifier", ElectraClassificationHead(m->bert_config(), config_num_labels(config)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = electra_->forward(inputs);
    attach_sequence_classification_loss(out, classifier_(out.last_hidden_state), inputs, config_);
    return out;
  }
  std::string architecture() const override { return "ElectraForSequenceClassification"; }
  TaskKind task() const override { return TaskKind::kSequenceClassification; }
  std::optional<int64_t> max_sequence_length() const override { return electra_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "electra"; }
  std::vector<std::string> initializable_prefixes() const override { return {"classifier."}; }

 private:
  PreTrainedModel electra_{nullptr};
  ElectraClassificationHead classifier_{nullptr};
};

/// generator_predictions: LayerNorm(gelu(dense(h))), H -> E.
struct ElectraGeneratorPredictionsImpl : torch::nn::Module {
  explicit ElectraGeneratorPredictionsImpl(const BertConfig& c) {
    dense = register_module("dense", make_linear(c.hidden_size, c.embedding_size));
    LayerNorm = register_module("LayerNorm", make_layer_norm(c.embedding_size, c.layer_norm_eps));
  }
  torch::Tensor forward(const torch::Tensor& h) { return LayerNorm(torch::gelu(dense(h))); }
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
};
TORCH_MODULE(ElectraGeneratorPredictions);

class ElectraForMaskedLMImpl : public PreTrainedModelImpl {
 public:
  explicit ElectraForMaskedLMImpl(const core::Json& config) {
    config_ = config;
    tied_ = ConfigView(config, "config.json").get_bool("tie_word_embeddings", true);
    auto m = std::make_shared<ElectraModelImpl>(config);
    const auto& c = m->bert_config();
    electra_ = register_module("electra", as_model(m));
    generator_predictions_ = register_module("generator_predictions", ElectraGeneratorPredictions(c));
    generator_lm_head_ = register_module(
        "generator_lm_head",
        TiedLinear(c.embedding_size, c.vocab_size, tied_ ? m->word_embeddings() : torch::nn::Embedding(nullptr)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = electra_->forward(inputs);
    out.logits = generator_lm_head_(generator_predictions_(out.last_hidden_state));  // (B, T, V)
    if (inputs.labels.defined()) out.loss = token_classification_loss(out.logits, inputs.labels);
    return out;
  }
  std::string architecture() const override { return "ElectraForMaskedLM"; }
  TaskKind task() const override { return TaskKind::kMaskedLM; }
  std::optional<int64_t> max_sequence_length() const override { return electra_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "electra"; }
  std::vector<std::string> initializable_prefixes() const override {
    return {"generator_predictions.", "generator_lm_head."};
  }
  std::map<std::string, std::string> tied_weights() const override {
    if (!tied_) return {};
    return {{"generator_lm_head.weight", "electra.embeddings.word_embeddings.weight"}};
  }

 private:
  bool tied_ = true;
  PreTrainedModel electra_{nullptr};
  ElectraGeneratorPredictions generator_predictions_{nullptr};
  TiedLinear generator_lm_head_{nullptr};
};

}  // namespace

void register_electra_family() {
  register_architecture({"ElectraModel", "electra", TaskKind::kBase, [](const core::Json& c) {
                           return make_model<ElectraModelImpl>(c);
                         }});
  register_architecture({"ElectraForSequenceClassification", "electra", TaskKind::kSequenceClassification,
                         [](const core::Json& c) {
                           return make_model<ElectraForSequenceClassificationImpl>(c);
                         }});
  register_architecture({"ElectraForTokenClassification", "electra", TaskKind::kTokenClassification,
                         [](const core::Json& c) {
                           const BertConfig bc = electra_config(c);
                           return make_model<TokenClassificationModelImpl>(
                               c, make_model<ElectraModelImpl>(c),
                               HeadOptions{"ElectraForTokenClassification", "electra", bc.hidden_size,
                                           bc.classifier_dropout.value_or(bc.hidden_dropout_prob)});
                         }});
  register_architecture({"ElectraForQuestionAnswering", "electra", TaskKind::kQuestionAnswering,
                         [](const core::Json& c) {
                           const BertConfig bc = electra_config(c);
                           return make_model<QuestionAnsweringModelImpl>(
                               c, make_model<ElectraModelImpl>(c),
                               HeadOptions{"ElectraForQuestionAnswering", "electra", bc.hidden_size, 0.0});
                         }});
  register_architecture({"ElectraForMaskedLM", "electra", TaskKind::kMaskedLM, [](const core::Json& c) {
                           return make_model<ElectraForMaskedLMImpl>(c);
                         }});
}

}  // namespace textune::models
