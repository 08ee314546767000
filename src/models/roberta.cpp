// RoBERTa and XLM-RoBERTa: transformers' models/roberta/modeling_roberta.py and
// models/xlm_roberta/modeling_xlm_roberta.py. The encoder is BERT's; what differs is the
// embeddings' position ids (counted from pad_token_id + 1 over the non-padding tokens of
// input_ids, with padding at pad_token_id), the classification head (dense + tanh + out_proj on
// the first token, no pooler), and the LM head (lm_head with exact GELU).
#include <fmt/format.h>

#include "models/bert.h"
#include "models/config_view.h"
#include "models/heads.h"
#include "models/losses.h"
#include "models/registry.h"
#include "textune/core/error.h"

namespace textune::models {
namespace {

BertConfig roberta_defaults() {
  BertConfig d;
  d.vocab_size = 50265;
  d.pad_token_id = 1;
  return d;
}

BertConfig roberta_config(const core::Json& config) {
  BertConfig c = BertConfig::from_json(config, roberta_defaults(), "config.json");
  if (!c.pad_token_id) throw DataError("config.json: RoBERTa needs pad_token_id (its position ids count from it)");
  return c;
}

/// Position ids from the padding of input_ids (transformers' create_position_ids_from_input_ids):
/// pad + cumsum(mask) over non-padding tokens, pad at padding. (B, T) -> (B, T).
torch::Tensor position_ids_from_input_ids(const torch::Tensor& input_ids, int64_t pad) {
  auto mask = input_ids.ne(pad).to(torch::kInt);
  return (torch::cumsum(mask, 1).to(torch::kInt) * mask).to(torch::kLong) + pad;
}

/// RobertaModel / XLMRobertaModel: BERT's modules, position ids from the padding.
class RobertaModelImpl : public PreTrainedModelImpl {
 public:
  RobertaModelImpl(const core::Json& config, bool add_pooling_layer, std::string architecture)
      : cfg_(roberta_config(config)), architecture_(std::move(architecture)) {
    config_ = config;
    embeddings_ = register_module("embeddings", BertEmbeddings(cfg_, BertEmbeddingsOptions{cfg_.pad_token_id}));
    encoder_ = register_module("encoder", BertEncoder(cfg_));
    if (add_pooling_layer) pooler_ = register_module("pooler", BertPooler(cfg_));
  }
  ModelOutputs forward(const ModelInputs& in) override {
    validate_inputs(in, max_sequence_length(), architecture_);
    check_index_range(in.input_ids, cfg_.vocab_size, "input_ids", "the vocabulary (vocab_size)", architecture_);
    check_index_range(in.token_type_ids, cfg_.type_vocab_size, "token_type_ids", "type_vocab_size", architecture_);
    auto token_type_ids = in.token_type_ids.defined() ? in.token_type_ids : torch::zeros_like(in.input_ids);
    auto position_ids = position_ids_from_input_ids(in.input_ids, *cfg_.pad_token_id);  // (B, T)
    auto hidden = embeddings_(in.input_ids, token_type_ids, position_ids);                // (B, T, H)
    auto bias = padding_attention_bias(in.attention_mask, hidden.scalar_type());           // (B, 1, 1, T)
    ModelOutputs out;
    out.last_hidden_state = encoder_(hidden, bias, in.output_hidden_states ? &out.hidden_states : nullptr);
    if (!pooler_.is_empty()) out.pooler_output = pooler_(out.last_hidden_state);
    return out;
  }
  std::string architecture() const override { return architecture_; }
  TaskKind task() const override { return TaskKind::kBase; }
  /// Positions run from pad_token_id + 1, so max_position_embeddings - pad_token_id - 1 tokens fit.
  std::optional<int64_t> max_sequence_length() const override {
    return cfg_.max_position_embeddings - *cfg_.pad_token_id - 1;
  }
  std::string base_model_prefix() const override { return "roberta"; }
  std::vector<std::string> initializable_prefixes() const override { return {"pooler."}; }
  const BertConfig& bert_config() const { return cfg_; }
  torch::nn::Embedding word_embeddings() const { return embeddings_->word_embeddings; }

 private:
  BertConfig cfg_;
  std::string architecture_;
  BertEmbeddings embeddings_{nullptr};
  BertEncoder encoder_{nullptr};
  BertPooler pooler_{nullptr};
};

/// RobertaClassificationHead: out_proj(dropout(tanh(dense(dropout(h[:, 0]))))).
struct RobertaClassificationHeadImpl : torch::nn::Module {
  RobertaClassificationHeadImpl(const BertConfig& c, int64_t num_labels) {
    dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size));
    dropout = register_module("dropout", torch::nn::Dropout(c.classifier_dropout.value_or(c.hidden_dropout_prob)));
    out_proj = register_module("out_proj", make_linear(c.hidden_size, num_labels));
  }
  /// (B, T, H) -> (B, C).
  torch::Tensor forward(const torch::Tensor& features) {
    auto x = dropout(features.select(1, 0));
    x = dropout(torch::tanh(dense(x)));
    return out_proj(x);
  }
  torch::nn::Linear dense{nullptr}, out_proj{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(RobertaClassificationHead);

class RobertaForSequenceClassificationImpl : public PreTrainedModelImpl {
 public:
  RobertaForSequenceClassificationImpl(const core::Json& config, std::string architecture, std::string base)
      : architecture_(std::move(architecture)) {
    config_ = config;
    auto m = std::make_shared<RobertaModelImpl>(config, /*add_pooling_layer=*/false, base);
    roberta_ = register_module("roberta", as_model(m));
    classifier_ = register_module("classifier", RobertaClassificationHead(m->bert_config(), config_num_labels(config)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = roberta_->forward(inputs);
    attach_sequence_classification_loss(out, classifier_(out.last_hidden_state), inputs, config_);
    return out;
  }
  std::string architecture() const override { return architecture_; }
  TaskKind task() const override { return TaskKind::kSequenceClassification; }
  std::optional<int64_t> max_sequence_length() const override { return roberta_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "roberta"; }
  std::vector<std::string> initializable_prefixes() const override { return {"classifier."}; }

 private:
  std::string architecture_;
  PreTrainedModel roberta_{nullptr};
  RobertaClassificationHead classifier_{nullptr};
};

/// RobertaLMHead: decoder(layer_norm(gelu(dense(h)))) + bias, decoder tied to the word embeddings.
struct RobertaLMHeadImpl : torch::nn::Module {
  RobertaLMHeadImpl(const BertConfig& c, torch::nn::Embedding tied_to) : tied(std::move(tied_to)) {
    dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size));
    layer_norm = register_module("layer_norm", make_layer_norm(c.hidden_size, c.layer_norm_eps));
    if (tied.is_empty()) decoder = register_module("decoder", make_linear(c.hidden_size, c.vocab_size, false));
    bias = register_parameter("bias", torch::zeros({c.vocab_size}));
  }
  /// (B, T, H) -> (B, T, V).
  torch::Tensor forward(const torch::Tensor& h) {
    auto x = layer_norm(torch::gelu(dense(h)));
    return torch::nn::functional::linear(x, tied.is_empty() ? decoder->weight : tied->weight, bias);
  }
  torch::nn::Linear dense{nullptr}, decoder{nullptr};
  torch::nn::LayerNorm layer_norm{nullptr};
  torch::nn::Embedding tied{nullptr};
  torch::Tensor bias;
};
TORCH_MODULE(RobertaLMHead);

class RobertaForMaskedLMImpl : public PreTrainedModelImpl {
 public:
  RobertaForMaskedLMImpl(const core::Json& config, std::string architecture, std::string base)
      : architecture_(std::move(architecture)) {
    config_ = config;
    tied_ = ConfigView(config, "config.json").get_bool("tie_word_embeddings", true);
    auto m = std::make_shared<RobertaModelImpl>(config, /*add_pooling_layer=*/false, base);
    roberta_ = register_module("roberta", as_model(m));
    lm_head_ = register_module(
        "lm_head", RobertaLMHead(m->bert_config(), tied_ ? m->word_embeddings() : torch::nn::Embedding(nullptr)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = roberta_->forward(inputs);
    out.logits = lm_head_(out.last_hidden_state);  // (B, T, V)
    if (inputs.labels.defined()) out.loss = token_classification_loss(out.logits, inputs.labels);
    return out;
  }
  std::string architecture() const override { return architecture_; }
  TaskKind task() const override { return TaskKind::kMaskedLM; }
  std::optional<int64_t> max_sequence_length() const override { return roberta_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "roberta"; }
  std::vector<std::string> initializable_prefixes() const override { return {"lm_head."}; }
  std::map<std::string, std::string> tied_weights() const override {
    std::map<std::string, std::string> t{{"lm_head.decoder.bias", "lm_head.bias"}};
    if (tied_) t["lm_head.decoder.weight"] = "roberta.embeddings.word_embeddings.weight";
    return t;
  }

 private:
  std::string architecture_;
  bool tied_ = true;
  PreTrainedModel roberta_{nullptr};
  RobertaLMHead lm_head_{nullptr};
};

/// Registers one of the two spellings ("Roberta"/"roberta", "XLMRoberta"/"xlm-roberta").
void register_variant(const std::string& name, const std::string& model_type) {
  const std::string base = name + "Model";
  register_architecture({base, model_type, TaskKind::kBase, [base](const core::Json& c) {
                           return make_model<RobertaModelImpl>(c, true, base);
                         }});
  const std::string seq = name + "ForSequenceClassification";
  register_architecture({seq, model_type, TaskKind::kSequenceClassification, [seq, base](const core::Json& c) {
                           return make_model<RobertaForSequenceClassificationImpl>(c, seq, base);
                         }});
  const std::string tok = name + "ForTokenClassification";
  register_architecture({tok, model_type, TaskKind::kTokenClassification, [tok, base](const core::Json& c) {
                           const BertConfig bc = roberta_config(c);
                           return make_model<TokenClassificationModelImpl>(
                               c, make_model<RobertaModelImpl>(c, false, base),
                               HeadOptions{tok, "roberta", bc.hidden_size,
                                           bc.classifier_dropout.value_or(bc.hidden_dropout_prob)});
                         }});
  const std::string qa = name + "ForQuestionAnswering";
  register_architecture({qa, model_type, TaskKind::kQuestionAnswering, [qa, base](const core::Json& c) {
                           const BertConfig bc = roberta_config(c);
                           return make_model<QuestionAnsweringModelImpl>(
                               c, make_model<RobertaModelImpl>(c, false, base),
                               HeadOptions{qa, "roberta", bc.hidden_size, 0.0});
                         }});
  const std::string mlm = name + "ForMaskedLM";
  register_architecture({mlm, model_type, TaskKind::kMaskedLM, [mlm, base](const core::Json& c) {
                           return make_model<RobertaForMaskedLMImpl>(c, mlm, base);
                         }});
}

}  // namespace

void register_roberta_family() {
  register_variant("Roberta", "roberta");
  register_variant("XLMRoberta", "xlm-roberta");
}

}  // namespace textune::models
