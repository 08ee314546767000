// DistilBERT: transformers' models/distilbert/modeling_distilbert.py, in reading order:
// embeddings (word + position; with sinusoidal_pos_embds the positions start as the sinusoidal
// table and are trained, as in transformers 5), multi-head self-attention
// (q_lin, k_lin, v_lin, out_lin), FFN (lin1, activation, lin2), transformer block (post-norm with
// sa_layer_norm and output_layer_norm), transformer, base model, heads. LayerNorm eps is 1e-12
// throughout, as in transformers.
#include <cmath>

#include <fmt/format.h>

#include "models/config_view.h"
#include "models/heads.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/registry.h"
#include "textune/core/error.h"

namespace textune::models {
namespace {

constexpr double kDistilLayerNormEps = 1e-12;

/// transformers' DistilBertConfig fields (defaults as its constructor).
struct DistilBertConfig {
  int64_t vocab_size, max_position_embeddings, n_layers, n_heads, dim, hidden_dim;
  bool sinusoidal_pos_embds;
  double dropout, attention_dropout, qa_dropout, seq_classif_dropout, initializer_range;
  Activation activation;
  std::optional<int64_t> pad_token_id;

  static DistilBertConfig from_json(const core::Json& json) {
    ConfigView c(json, "config.json");
    DistilBertConfig d;
    d.vocab_size = c.get_int("vocab_size", 30522);
    d.max_position_embeddings = c.get_int("max_position_embeddings", 512);
    d.sinusoidal_pos_embds = c.get_bool("sinusoidal_pos_embds", false);
    d.n_layers = c.get_int("n_layers", 6);
    d.n_heads = c.get_int("n_heads", 12);
    d.dim = c.get_int("dim", 768);
    d.hidden_dim = c.get_int("hidden_dim", 4 * 768);
    d.dropout = c.get_double("dropout", 0.1);
    d.attention_dropout = c.get_double("attention_dropout", 0.1);
    d.activation = activation_from_name(c.get_string("activation", "gelu"), "config.json \"activation\"");
    d.initializer_range = c.get_double("initializer_range", 0.02);
    d.qa_dropout = c.get_double("qa_dropout", 0.1);
    d.seq_classif_dropout = c.get_double("seq_classif_dropout", 0.2);
    d.pad_token_id = json.contains("pad_token_id") ? c.get_optional_int("pad_token_id") : std::optional<int64_t>(0);
    if (d.dim <= 0 || d.n_heads <= 0 || d.dim % d.n_heads != 0)
      throw DataError(fmt::format("config.json: dim ({}) must be a positive multiple of n_heads ({})", d.dim, d.n_heads));
    return d;
  }
};

// ---- embeddings ----

struct EmbeddingsImpl : torch::nn::Module {
  explicit EmbeddingsImpl(const DistilBertConfig& c) {
    word_embeddings = register_module("word_embeddings", make_embedding(c.vocab_size, c.dim, c.pad_token_id));
    position_embeddings = register_module("position_embeddings", make_embedding(c.max_position_embeddings, c.dim));
    LayerNorm = register_module("LayerNorm", make_layer_norm(c.dim, kDistilLayerNormEps));
    dropout = register_module("dropout", torch::nn::Dropout(c.dropout));
  }
  /// input_ids (B, T) -> (B, T, dim).
  torch::Tensor forward(const torch::Tensor& input_ids) {
    const int64_t T = input_ids.size(1);
    auto position_ids = torch::arange(T, input_ids.options().dtype(torch::kLong)).unsqueeze(0);  // (1, T)
    return dropout(LayerNorm(word_embeddings(input_ids) + position_embeddings(position_ids)));
  }
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(Embeddings);

// ---- self-attention ----

struct MultiHeadSelfAttentionImpl : torch::nn::Module {
  explicit MultiHeadSelfAttentionImpl(const DistilBertConfig& c)
      : n_heads(c.n_heads), head_size(c.dim / c.n_heads), dropout_p(c.attention_dropout) {
    q_lin = register_module("q_lin", make_linear(c.dim, c.dim));
    k_lin = register_module("k_lin", make_linear(c.dim, c.dim));
    v_lin = register_module("v_lin", make_linear(c.dim, c.dim));
    out_lin = register_module("out_lin", make_linear(c.dim, c.dim));
  }
  /// x (B, T, dim), bias (B, 1, 1, T) -> (B, T, dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias) {
    const int64_t B = x.size(0), T = x.size(1);
    auto heads = [&](const torch::Tensor& t) { return t.view({B, T, n_heads, head_size}).transpose(1, 2); };
    auto context = dot_product_attention(heads(q_lin(x)), heads(k_lin(x)), heads(v_lin(x)), bias, dropout_p,
                                         is_training(), 1.0 / std::sqrt(double(head_size)));  // (B, NH, T, D)
    return out_lin(context.transpose(1, 2).reshape({B, T, n_heads * head_size}));
  }
  torch::nn::Linear q_lin{nullptr}, k_lin{nullptr}, v_lin{nullptr}, out_lin{nullptr};
  int64_t n_heads, head_size;
  double dropout_p;
};
TORCH_MODULE(MultiHeadSelfAttention);

// ---- feed-forward ----

struct FFNImpl : torch::nn::Module {
  explicit FFNImpl(const DistilBertConfig& c) : activation(c.activation) {
    lin1 = register_module("lin1", make_linear(c.dim, c.hidden_dim));
    lin2 = register_module("lin2", make_linear(c.hidden_dim, c.dim));
    dropout = register_module("dropout", torch::nn::Dropout(c.dropout));
  }
  /// (B, T, dim) -> (B, T, dim).
  torch::Tensor forward(const torch::Tensor& x) { return dropout(lin2(apply_activation(lin1(x), activation))); }
  torch::nn::Linear lin1{nullptr}, lin2{nullptr};
  torch::nn::Dropout dropout{nullptr};
  Activation activation;
};
TORCH_MODULE(FFN);

// ---- transformer block ----

struct TransformerBlockImpl : torch::nn::Module {
  explicit TransformerBlockImpl(const DistilBertConfig& c) {
    attention = register_module("attention", MultiHeadSelfAttention(c));
    sa_layer_norm = register_module("sa_layer_norm", make_layer_norm(c.dim, kDistilLayerNormEps));
    ffn = register_module("ffn", FFN(c));
    output_layer_norm = register_module("output_layer_norm", make_layer_norm(c.dim, kDistilLayerNormEps));
  }
  /// (B, T, dim) -> (B, T, dim).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias) {
    auto sa = sa_layer_norm(attention(x, bias) + x);
    return output_layer_norm(ffn(sa) + sa);
  }
  MultiHeadSelfAttention attention{nullptr};
  torch::nn::LayerNorm sa_layer_norm{nullptr}, output_layer_norm{nullptr};
  FFN ffn{nullptr};
};
TORCH_MODULE(TransformerBlock);

struct TransformerImpl : torch::nn::Module {
  explicit TransformerImpl(const DistilBertConfig& c) {
    layer = register_module("layer", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.n_layers; ++i) layer->push_back(TransformerBlock(c));
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& bias, std::vector<torch::Tensor>* all_hidden) {
    if (all_hidden) all_hidden->push_back(x);
    for (const auto& m : *layer) {
      x = m->as<TransformerBlockImpl>()->forward(x, bias);
      if (all_hidden) all_hidden->push_back(x);
    }
    return x;
  }
  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(Transformer);

// ---- base model ----

class DistilBertModelImpl : public PreTrainedModelImpl {
 public:
  explicit DistilBertModelImpl(const core::Json& config) : cfg_(DistilBertConfig::from_json(config)) {
    config_ = config;
    embeddings_ = register_module("embeddings", Embeddings(cfg_));
    transformer_ = register_module("transformer", Transformer(cfg_));
  }
  ModelOutputs forward(const ModelInputs& in) override {
    validate_inputs(in, cfg_.max_position_embeddings, "DistilBertModel");
    check_index_range(in.input_ids, cfg_.vocab_size, "input_ids", "the vocabulary (vocab_size)", "DistilBertModel");
    auto hidden = embeddings_(in.input_ids);                                      // (B, T, dim)
    auto bias = padding_attention_bias(in.attention_mask, hidden.scalar_type());  // (B, 1, 1, T)
    ModelOutputs out;
    out.last_hidden_state = transformer_(hidden, bias, in.output_hidden_states ? &out.hidden_states : nullptr);
    return out;
  }
  std::string architecture() const override { return "DistilBertModel"; }
  TaskKind task() const override { return TaskKind::kBase; }
  std::optional<int64_t> max_sequence_length() const override { return cfg_.max_position_embeddings; }
  std::string base_model_prefix() const override { return "distilbert"; }
  const DistilBertConfig& distil_config() const { return cfg_; }
  torch::nn::Embedding word_embeddings() const { return embeddings_->word_embeddings; }

 protected:
  /// transformers 5 initialises sinusoidal position embeddings with the fixed table and then
  /// trains them like any parameter (transformers 4 froze them).
  void after_init_weights(const std::set<std::string>& initialised) override {
    if (!cfg_.sinusoidal_pos_embds || !initialised.count("embeddings.position_embeddings.weight")) return;
    torch::NoGradGuard no_grad;
    auto& w = embeddings_->position_embeddings->weight;
    w.copy_(sinusoidal_position_table(cfg_.max_position_embeddings, cfg_.dim).to(w.dtype()));
  }

 private:
  DistilBertConfig cfg_;
  Embeddings embeddings_{nullptr};
  Transformer transformer_{nullptr};
};

// ---- heads ----

/// classifier(dropout(relu(pre_classifier(h[:, 0])))), (B, C).
class DistilBertForSequenceClassificationImpl : public PreTrainedModelImpl {
 public:
  explicit DistilBertForSequenceClassificationImpl(const core::Json& config) {
    config_ = config;
    auto m = std::make_shared<DistilBertModelImpl>(config);
    const auto& c = m->distil_config();
    distilbert_ = register_module("distilbert", as_model(m));
    pre_classifier_ = register_module("pre_classifier", make_linear(c.dim, c.dim));
    classifier_ = register_module("classifier", make_linear(c.dim, config_num_labels(config)));
    dropout_ = register_module("dropout", torch::nn::Dropout(c.seq_classif_dropout));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = distilbert_->forward(inputs);
    auto pooled = dropout_(torch::relu(pre_classifier_(out.last_hidden_state.select(1, 0))));  // (B, dim)
    attach_sequence_classification_loss(out, classifier_(pooled), inputs, config_);
    return out;
  }
  std::string architecture() const override { return "DistilBertForSequenceClassification"; }
  TaskKind task() const override { return TaskKind::kSequenceClassification; }
  std::optional<int64_t> max_sequence_length() const override { return distilbert_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "distilbert"; }
  std::vector<std::string> initializable_prefixes() const override { return {"pre_classifier.", "classifier."}; }

 private:
  PreTrainedModel distilbert_{nullptr};
  torch::nn::Linear pre_classifier_{nullptr}, classifier_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

/// vocab_projector(vocab_layer_norm(activation(vocab_transform(h)))), projector tied to the word
/// embeddings, (B, T, V).
class DistilBertForMaskedLMImpl : public PreTrainedModelImpl {
 public:
  explicit DistilBertForMaskedLMImpl(const core::Json& config) {
    config_ = config;
    tied_ = ConfigView(config, "config.json").get_bool("tie_word_embeddings", true);
    auto m = std::make_shared<DistilBertModelImpl>(config);
    const auto& c = m->distil_config();
    activation_ = c.activation;
    distilbert_ = register_module("distilbert", as_model(m));
    vocab_transform_ = register_module("vocab_transform", make_linear(c.dim, c.dim));
    vocab_layer_norm_ = register_module("vocab_layer_norm", make_layer_norm(c.dim, kDistilLayerNormEps));
    vocab_projector_ = register_module(
        "vocab_projector",
        TiedLinear(c.dim, c.vocab_size, tied_ ? m->word_embeddings() : torch::nn::Embedding(nullptr)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = distilbert_->forward(inputs);
    auto x = vocab_layer_norm_(apply_activation(vocab_transform_(out.last_hidden_state), activation_));
    out.logits = vocab_projector_(x);  // (B, T, V)
    if (inputs.labels.defined()) out.loss = token_classification_loss(out.logits, inputs.labels);
    return out;
  }
  std::string architecture() const override { return "DistilBertForMaskedLM"; }
  TaskKind task() const override { return TaskKind::kMaskedLM; }
  std::optional<int64_t> max_sequence_length() const override { return distilbert_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "distilbert"; }
  std::vector<std::string> initializable_prefixes() const override {
    return {"vocab_transform.", "vocab_layer_norm.", "vocab_projector."};
  }
  std::map<std::string, std::string> tied_weights() const override {
    if (!tied_) return {};
    return {{"vocab_projector.weight", "distilbert.embeddings.word_embeddings.weight"}};
  }

 private:
  bool tied_ = true;
  Activation activation_ = Activation::kGelu;
  PreTrainedModel distilbert_{nullptr};
  torch::nn::Linear vocab_transform_{nullptr};
  torch::nn::LayerNorm vocab_layer_norm_{nullptr};
  TiedLinear vocab_projector_{nullptr};
};

}  // namespace

void register_distilbert_family() {
  register_architecture({"DistilBertModel", "distilbert", TaskKind::kBase, [](const core::Json& c) {
                           return make_model<DistilBertModelImpl>(c);
                         }});
  register_architecture({"DistilBertForSequenceClassification", "distilbert", TaskKind::kSequenceClassification,
                         [](const core::Json& c) {
                           return make_model<DistilBertForSequenceClassificationImpl>(c);
                         }});
  register_architecture({"DistilBertForTokenClassification", "distilbert", TaskKind::kTokenClassification,
                         [](const core::Json& c) {
                           const auto d = DistilBertConfig::from_json(c);
                           return make_model<TokenClassificationModelImpl>(
                               c, make_model<DistilBertModelImpl>(c),
                               HeadOptions{"DistilBertForTokenClassification", "distilbert", d.dim, d.dropout});
                         }});
  register_architecture({"DistilBertForQuestionAnswering", "distilbert", TaskKind::kQuestionAnswering,
                         [](const core::Json& c) {
                           const auto d = DistilBertConfig::from_json(c);
                           return make_model<QuestionAnsweringModelImpl>(
                               c, make_model<DistilBertModelImpl>(c),
                               HeadOptions{"DistilBertForQuestionAnswering", "distilbert", d.dim, d.qa_dropout});
                         }});
  register_architecture({"DistilBertForMaskedLM", "distilbert", TaskKind::kMaskedLM, [](const core::Json& c) {
                           return make_model<DistilBertForMaskedLMImpl>(c);
                         }});
}

}  // namespace textune::models
