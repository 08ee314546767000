// BERT: transformers' models/bert/modeling_bert.py, module by module in reading order, then the
// heads (sequence classification with the pooler, masked LM with the decoder tied to the word
// embeddings; token classification and QA come from heads.h), then registration.
#include "models/bert.h"

#include <cmath>

#include <fmt/format.h>

#include "models/config_view.h"
#include "models/heads.h"
#include "models/losses.h"
#include "models/registry.h"
#include "textune/core/error.h"

namespace textune::models {

BertConfig BertConfig::from_json(const core::Json& json, const BertConfig& d, const std::string& source) {
  ConfigView c(json, source);
  BertConfig cfg;
  cfg.vocab_size = c.get_int("vocab_size", d.vocab_size);
  cfg.hidden_size = c.get_int("hidden_size", d.hidden_size);
  cfg.embedding_size = c.get_int("embedding_size", cfg.hidden_size);
  cfg.num_hidden_layers = c.get_int("num_hidden_layers", d.num_hidden_layers);
  cfg.num_attention_heads = c.get_int("num_attention_heads", d.num_attention_heads);
  cfg.intermediate_size = c.get_int("intermediate_size", d.intermediate_size);
  cfg.hidden_act = activation_from_name(c.get_string("hidden_act", "gelu"), source + " \"hidden_act\"");
  cfg.hidden_dropout_prob = c.get_double("hidden_dropout_prob", d.hidden_dropout_prob);
  cfg.attention_probs_dropout_prob = c.get_double("attention_probs_dropout_prob", d.attention_probs_dropout_prob);
  cfg.max_position_embeddings = c.get_int("max_position_embeddings", d.max_position_embeddings);
  cfg.type_vocab_size = c.get_int("type_vocab_size", d.type_vocab_size);
  cfg.layer_norm_eps = c.get_double("layer_norm_eps", d.layer_norm_eps);
  cfg.pad_token_id = json.contains("pad_token_id") ? c.get_optional_int("pad_token_id") : d.pad_token_id;
  cfg.initializer_range = c.get_double("initializer_range", d.initializer_range);
  cfg.classifier_dropout = c.get_optional_double("classifier_dropout");
  if (cfg.hidden_size <= 0 || cfg.num_attention_heads <= 0 || cfg.hidden_size % cfg.num_attention_heads != 0)
    throw DataError(fmt::format("{}: hidden_size ({}) must be a positive multiple of num_attention_heads ({})", source,
                                cfg.hidden_size, cfg.num_attention_heads));
  const std::string pos = c.get_string("position_embedding_type", "absolute");
  if (pos != "absolute")
    throw DataError(fmt::format("{}: position_embedding_type \"{}\" is not supported (only \"absolute\")", source, pos));
  return cfg;
}

// ---- embeddings ----

BertEmbeddingsImpl::BertEmbeddingsImpl(const BertConfig& c, const BertEmbeddingsOptions& o) {
  word_embeddings = register_module("word_embeddings", make_embedding(c.vocab_size, c.embedding_size, c.pad_token_id));
  position_embeddings = register_module(
      "position_embeddings", make_embedding(c.max_position_embeddings, c.embedding_size, o.position_padding_idx));
  token_type_embeddings = register_module("token_type_embeddings", make_embedding(c.type_vocab_size, c.embedding_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(c.embedding_size, c.layer_norm_eps));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor BertEmbeddingsImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                                          const torch::Tensor& position_ids) {
  auto embeddings = word_embeddings(input_ids) + token_type_embeddings(token_type_ids);  // (B, T, E)
  embeddings = embeddings + position_embeddings(position_ids);                          // (B or 1, T, E)
  return dropout(LayerNorm(embeddings));
}

// ---- self-attention ----

BertSelfAttentionImpl::BertSelfAttentionImpl(const BertConfig& c)
    : num_heads(c.num_attention_heads),
      head_size(c.hidden_size / c.num_attention_heads),
      dropout_p(c.attention_probs_dropout_prob) {
  query = register_module("query", make_linear(c.hidden_size, c.hidden_size));
  key = register_module("key", make_linear(c.hidden_size, c.hidden_size));
  value = register_module("value", make_linear(c.hidden_size, c.hidden_size));
}

torch::Tensor BertSelfAttentionImpl::forward(const torch::Tensor& hidden, const torch::Tensor& bias) {
  const int64_t B = hidden.size(0), T = hidden.size(1);
  auto heads = [&](const torch::Tensor& x) { return x.view({B, T, num_heads, head_size}).transpose(1, 2); };
  auto q = heads(query(hidden));  // (B, NH, T, D)
  auto k = heads(key(hidden));    // (B, NH, T, D)
  auto v = heads(value(hidden));  // (B, NH, T, D)
  auto context = dot_product_attention(q, k, v, bias, dropout_p, is_training(), 1.0 / std::sqrt(double(head_size)));
  return context.transpose(1, 2).reshape({B, T, num_heads * head_size});  // (B, T, H)
}

// ---- attention output ----

BertSelfOutputImpl::BertSelfOutputImpl(const BertConfig& c) {
  dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(c.hidden_size, c.layer_norm_eps));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor BertSelfOutputImpl::forward(const torch::Tensor& hidden, const torch::Tensor& input) {
  return LayerNorm(dropout(dense(hidden)) + input);
}

BertAttentionImpl::BertAttentionImpl(const BertConfig& c) {
  self = register_module("self", BertSelfAttention(c));
  output = register_module("output", BertSelfOutput(c));
}

torch::Tensor BertAttentionImpl::forward(const torch::Tensor& hidden, const torch::Tensor& bias) {
  return output(self(hidden, bias), hidden);
}

// ---- intermediate ----

BertIntermediateImpl::BertIntermediateImpl(const BertConfig& c) : act(c.hidden_act) {
  dense = register_module("dense", make_linear(c.hidden_size, c.intermediate_size));
}

torch::Tensor BertIntermediateImpl::forward(const torch::Tensor& hidden) { return apply_activation(dense(hidden), act); }

// ---- output ----

BertOutputImpl::BertOutputImpl(const BertConfig& c) {
  dense = register_module("dense", make_linear(c.intermediate_size, c.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(c.hidden_size, c.layer_norm_eps));
  dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
}

torch::Tensor BertOutputImpl::forward(const torch::Tensor& hidden, const torch::Tensor& input) {
  return LayerNorm(dropout(dense(hidden)) + input);
}

// ---- layer ----

BertLayerImpl::BertLayerImpl(const BertConfig& c) {
  attention = register_module("attention", BertAttention(c));
  intermediate = register_module("intermediate", BertIntermediate(c));
  output = register_module("output", BertOutput(c));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& hidden, const torch::Tensor& bias) {
  auto attention_output = attention(hidden, bias);                 // (B, T, H)
  return output(intermediate(attention_output), attention_output);  // (B, T, H)
}

// ---- encoder ----

BertEncoderImpl::BertEncoderImpl(const BertConfig& c) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(BertLayer(c));
}

torch::Tensor BertEncoderImpl::forward(torch::Tensor hidden, const torch::Tensor& bias,
                                       std::vector<torch::Tensor>* all_hidden) {
  if (all_hidden) all_hidden->push_back(hidden);
  for (const auto& m : *layer) {
    hidden = m->as<BertLayerImpl>()->forward(hidden, bias);
    if (all_hidden) all_hidden->push_back(hidden);
  }
  return hidden;
}

// ---- pooler ----

BertPoolerImpl::BertPoolerImpl(const BertConfig& c) {
  dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& hidden) {
  return torch::tanh(dense(hidden.select(1, 0)));  // (B, H)
}

// ---- base model ----

namespace {
const BertConfig kBertDefaults{};
}

BertModelImpl::BertModelImpl(const core::Json& config, bool add_pooling_layer)
    : cfg_(BertConfig::from_json(config, kBertDefaults, "config.json")) {
  config_ = config;
  embeddings_ = register_module("embeddings", BertEmbeddings(cfg_));
  encoder_ = register_module("encoder", BertEncoder(cfg_));
  if (add_pooling_layer) pooler_ = register_module("pooler", BertPooler(cfg_));
}

ModelOutputs BertModelImpl::forward(const ModelInputs& in) {
  validate_inputs(in, cfg_.max_position_embeddings, "BertModel");
  check_index_range(in.input_ids, cfg_.vocab_size, "input_ids", "the vocabulary (vocab_size)", "BertModel");
  check_index_range(in.token_type_ids, cfg_.type_vocab_size, "token_type_ids", "type_vocab_size", "BertModel");
  const int64_t T = in.input_ids.size(1);
  auto token_type_ids = in.token_type_ids.defined() ? in.token_type_ids : torch::zeros_like(in.input_ids);
  auto position_ids = torch::arange(T, in.input_ids.options().dtype(torch::kLong)).unsqueeze(0);  // (1, T)
  auto hidden = embeddings_(in.input_ids, token_type_ids, position_ids);                           // (B, T, H)
  auto bias = padding_attention_bias(in.attention_mask, hidden.scalar_type());                      // (B, 1, 1, T)
  ModelOutputs out;
  out.last_hidden_state = encoder_(hidden, bias, in.output_hidden_states ? &out.hidden_states : nullptr);
  if (!pooler_.is_empty()) out.pooler_output = pooler_(out.last_hidden_state);
  return out;
}

// ---- heads ----

namespace {

/// BertForSequenceClassification: classifier(dropout(pooler_output)), (B, C).
class BertForSequenceClassificationImpl : public PreTrainedModelImpl {
 public:
  explicit BertForSequenceClassificationImpl(const core::Json& config) {
    config_ = config;
    bert_ = register_module("bert", BertModel(config, /*add_pooling_layer=*/true));
    const auto& c = bert_->bert_config();
    dropout_ = register_module("dropout", torch::nn::Dropout(c.classifier_dropout.value_or(c.hidden_dropout_prob)));
    classifier_ = register_module("classifier", make_linear(c.hidden_size, config_num_labels(config)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = bert_->forward(inputs);
    attach_sequence_classification_loss(out, classifier_(dropout_(out.pooler_output)), inputs, config_);
    return out;
  }
  std::string architecture() const override { return "BertForSequenceClassification"; }
  TaskKind task() const override { return TaskKind::kSequenceClassification; }
  std::optional<int64_t> max_sequence_length() const override { return bert_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "bert"; }
  std::vector<std::string> initializable_prefixes() const override { return {"classifier.", "bert.pooler."}; }

 private:
  BertModel bert_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

/// cls.predictions.transform: dense (H -> H), hidden_act, LayerNorm.
struct BertPredictionHeadTransformImpl : torch::nn::Module {
  explicit BertPredictionHeadTransformImpl(const BertConfig& c) : act(c.hidden_act) {
    dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size));
    LayerNorm = register_module("LayerNorm", make_layer_norm(c.hidden_size, c.layer_norm_eps));
  }
  torch::Tensor forward(const torch::Tensor& h) { return LayerNorm(apply_activation(dense(h), act)); }
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  Activation act;
};
TORCH_MODULE(BertPredictionHeadTransform);

/// cls.predictions: transform, then the decoder (the word embedding matrix when tied) plus `bias`.
struct BertLMPredictionHeadImpl : torch::nn::Module {
  BertLMPredictionHeadImpl(const BertConfig& c, torch::nn::Embedding tied_to) : tied(std::move(tied_to)) {
    transform = register_module("transform", BertPredictionHeadTransform(c));
    if (tied.is_empty()) decoder = register_module("decoder", make_linear(c.hidden_size, c.vocab_size, false));
    bias = register_parameter("bias", torch::zeros({c.vocab_size}));
  }
  /// (B, T, H) -> (B, T, V).
  torch::Tensor forward(const torch::Tensor& h) {
    const auto& w = tied.is_empty() ? decoder->weight : tied->weight;  // (V, H)
    return torch::nn::functional::linear(transform(h), w, bias);
  }
  BertPredictionHeadTransform transform{nullptr};
  torch::nn::Linear decoder{nullptr};
  torch::nn::Embedding tied{nullptr};  // not registered: the parameter belongs to the embeddings
  torch::Tensor bias;
};
TORCH_MODULE(BertLMPredictionHead);

struct BertOnlyMLMHeadImpl : torch::nn::Module {
  BertOnlyMLMHeadImpl(const BertConfig& c, torch::nn::Embedding tied_to) {
    predictions = register_module("predictions", BertLMPredictionHead(c, std::move(tied_to)));
  }
  BertLMPredictionHead predictions{nullptr};
};
TORCH_MODULE(BertOnlyMLMHead);

/// BertForMaskedLM: cls.predictions over the sequence output, (B, T, V); the decoder weight is the
/// word embedding matrix unless config.json's tie_word_embeddings is false.
class BertForMaskedLMImpl : public PreTrainedModelImpl {
 public:
  explicit BertForMaskedLMImpl(const core::Json& config) {
    config_ = config;
    bert_ = register_module("bert", BertModel(config, /*add_pooling_layer=*/false));
    tied_ = ConfigView(config, "config.json").get_bool("tie_word_embeddings", true);
    cls_ = register_module("cls", BertOnlyMLMHead(bert_->bert_config(),
                                                  tied_ ? bert_->embeddings_module()->word_embeddings
                                                        : torch::nn::Embedding(nullptr)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = bert_->forward(inputs);
    out.logits = cls_->predictions->forward(out.last_hidden_state);  // (B, T, V)
    if (inputs.labels.defined()) out.loss = token_classification_loss(out.logits, inputs.labels);
    return out;
  }
  std::string architecture() const override { return "BertForMaskedLM"; }
  TaskKind task() const override { return TaskKind::kMaskedLM; }
  std::optional<int64_t> max_sequence_length() const override { return bert_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "bert"; }
  std::vector<std::string> initializable_prefixes() const override { return {"cls."}; }
  std::map<std::string, std::string> tied_weights() const override {
    std::map<std::string, std::string> t{{"cls.predictions.decoder.bias", "cls.predictions.bias"}};
    if (tied_) t["cls.predictions.decoder.weight"] = "bert.embeddings.word_embeddings.weight";
    return t;
  }

 private:
  bool tied_ = true;
  BertModel bert_{nullptr};
  BertOnlyMLMHead cls_{nullptr};
};

HeadOptions bert_head(const core::Json& config, const std::string& arch, bool with_dropout) {
  const BertConfig c = BertConfig::from_json(config, kBertDefaults, "config.json");
  return {arch, "bert", c.hidden_size, with_dropout ? c.classifier_dropout.value_or(c.hidden_dropout_prob) : 0.0};
}

}  // namespace

void register_bert_family() {
  register_architecture({"BertModel", "bert", TaskKind::kBase, [](const core::Json& c) {
                           return make_model<BertModelImpl>(c, true);
                         }});
  register_architecture({"BertForSequenceClassification", "bert", TaskKind::kSequenceClassification,
                         [](const core::Json& c) {
                           return make_model<BertForSequenceClassificationImpl>(c);
                         }});
  register_architecture({"BertForTokenClassification", "bert", TaskKind::kTokenClassification,
                         [](const core::Json& c) {
                           return make_model<TokenClassificationModelImpl>(
                               c, make_model<BertModelImpl>(c, false),
                               bert_head(c, "BertForTokenClassification", true));
                         }});
  register_architecture({"BertForQuestionAnswering", "bert", TaskKind::kQuestionAnswering,
                         [](const core::Json& c) {
                           return make_model<QuestionAnsweringModelImpl>(
                               c, make_model<BertModelImpl>(c, false),
                               bert_head(c, "BertForQuestionAnswering", false));
                         }});
  register_architecture({"BertForMaskedLM", "bert", TaskKind::kMaskedLM, [](const core::Json& c) {
                           return make_model<BertForMaskedLMImpl>(c);
                         }});
}

}  // namespace textune::models
