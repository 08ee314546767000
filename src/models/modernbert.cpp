// ModernBERT: transformers' models/modernbert/modeling_modernbert.py on its padded path (eager/SDPA
// attention, not the unpadded flash-attention one), module by module in reading order: layer norm
// without bias, embeddings (tok_embeddings, norm, drop), GeGLU MLP (Wi, Wo), rotary embeddings,
// attention (Wqkv, Wo; global, or local within a sliding window), pre-norm encoder layer
// (attn_norm, attn, mlp_norm, mlp), base model (layers, final_norm), prediction head (dense, act,
// norm), then sequence classification (cls or mean pooling), token classification, QA, masked LM,
// and registration. Parameters are initialised as ModernBertPreTrainedModel._init_weights does
// (truncated normals with per-role standard deviations).
#include "models/modernbert.h"

#include <cmath>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "models/config_view.h"
#include "models/heads.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/registry.h"
#include "textune/core/error.h"

namespace textune::models {

std::pair<torch::Tensor, torch::Tensor> rotary_cos_sin(int64_t seq_len, int64_t head_dim, double theta,
                                                       torch::Device device, torch::Dtype dtype) {
  auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  // inv_freq = 1 / theta^(arange(0, D, 2) / D), in float32 as transformers computes it
  auto exponent =
      torch::arange(0, head_dim, 2, torch::TensorOptions().dtype(torch::kLong).device(device)).to(torch::kFloat32) /
      static_cast<double>(head_dim);                               // (D/2)
  auto inv_freq = torch::reciprocal(torch::pow(theta, exponent));  // (D/2)
  auto positions = torch::arange(seq_len, f32);                    // (T)
  auto freqs = positions.unsqueeze(1) * inv_freq.unsqueeze(0);     // (T, D/2)
  auto emb = torch::cat({freqs, freqs}, -1);                       // (T, D)
  return {emb.cos().to(dtype).unsqueeze(0).unsqueeze(0), emb.sin().to(dtype).unsqueeze(0).unsqueeze(0)};
}

torch::Tensor apply_rotary(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto rotated = torch::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);  // (B, NH, T, D)
  return x * cos + rotated * sin;
}

torch::Tensor sliding_window(int64_t seq_len, int64_t local_attention, torch::Device device) {
  auto rows = torch::arange(seq_len, torch::TensorOptions().dtype(torch::kLong).device(device));
  auto distance = (rows.unsqueeze(0) - rows.unsqueeze(1)).abs();  // (T, T)
  return distance.le(local_attention / 2);
}

namespace {

/// torch.finfo(dtype).min: what transformers fills masked attention scores with.
double lowest_value(torch::ScalarType dtype) {
  double v = 0;
  AT_DISPATCH_FLOATING_TYPES_AND2(torch::kHalf, torch::kBFloat16, dtype, "lowest_value",
                                  [&] { v = static_cast<double>(std::numeric_limits<scalar_t>::lowest()); });
  return v;
}

/// The fields of transformers' ModernBertConfig that the modules read (defaults as its constructor).
/// Both config layouts are read: transformers 5's `layer_types` + `rope_parameters`, and the older
/// `global_attn_every_n_layers` + `global_rope_theta` / `local_rope_theta`.
struct ModernBertConfig {
  int64_t vocab_size = 50368;
  int64_t hidden_size = 768;
  int64_t intermediate_size = 1152;
  int64_t num_hidden_layers = 22;
  int64_t num_attention_heads = 12;
  Activation hidden_activation = Activation::kGelu;
  int64_t max_position_embeddings = 8192;
  double initializer_range = 0.02;
  double initializer_cutoff_factor = 2.0;
  double norm_eps = 1e-5;
  bool norm_bias = false;
  std::optional<int64_t> pad_token_id = 50283;
  bool attention_bias = false;
  double attention_dropout = 0.0;
  std::vector<bool> sliding;  ///< per layer: local attention within the window ("sliding_attention")
  double global_rope_theta = 160000.0, local_rope_theta = 10000.0;
  int64_t local_attention = 128;  ///< the whole window: a token sees local_attention / 2 on each side
  double embedding_dropout = 0.0;
  bool mlp_bias = false;
  double mlp_dropout = 0.0;
  bool decoder_bias = true;
  bool mean_pooling = false;  ///< classifier_pooling "mean" (else "cls")
  double classifier_dropout = 0.0;
  bool classifier_bias = false;
  Activation classifier_activation = Activation::kGelu;
  bool sparse_prediction = false;
  int64_t sparse_pred_ignore_index = -100;
  bool tie_word_embeddings = true;

  int64_t head_dim() const { return hidden_size / num_attention_heads; }

  /// @throws textune::DataError for a wrong type, an unknown activation or pooling, a rope_type
  ///         other than "default", or layer_types of the wrong length.
  static ModernBertConfig from_json(const core::Json& json) {
    const std::string src = "config.json";
    ConfigView c(json, src);
    ModernBertConfig d;
    d.vocab_size = c.get_int("vocab_size", d.vocab_size);
    d.hidden_size = c.get_int("hidden_size", d.hidden_size);
    d.intermediate_size = c.get_int("intermediate_size", d.intermediate_size);
    d.num_hidden_layers = c.get_int("num_hidden_layers", d.num_hidden_layers);
    d.num_attention_heads = c.get_int("num_attention_heads", d.num_attention_heads);
    if (d.hidden_size <= 0 || d.num_attention_heads <= 0 || d.hidden_size % d.num_attention_heads != 0 ||
        d.head_dim() % 2 != 0)
      throw DataError(
          fmt::format("{}: hidden_size ({}) must be a positive multiple of num_attention_heads ({}) with "
                      "an even head size (rotary embeddings rotate pairs)",
                      src, d.hidden_size, d.num_attention_heads));
    d.hidden_activation =
        activation_from_name(c.get_string("hidden_activation", "gelu"), src + " \"hidden_activation\"");
    d.max_position_embeddings = c.get_int("max_position_embeddings", d.max_position_embeddings);
    d.initializer_range = c.get_double("initializer_range", d.initializer_range);
    // absent: the config's default 2; null: _init_weights falls back to 3
    d.initializer_cutoff_factor =
        json.contains("initializer_cutoff_factor") && json["initializer_cutoff_factor"].is_null()
            ? 3.0
            : c.get_double("initializer_cutoff_factor", d.initializer_cutoff_factor);
    d.norm_eps = c.get_double("norm_eps", d.norm_eps);
    d.norm_bias = c.get_bool("norm_bias", d.norm_bias);
    d.pad_token_id = json.contains("pad_token_id") ? c.get_optional_int("pad_token_id") : d.pad_token_id;
    d.attention_bias = c.get_bool("attention_bias", d.attention_bias);
    d.attention_dropout = c.get_double("attention_dropout", d.attention_dropout);
    d.local_attention = c.get_int("local_attention", d.local_attention);
    d.embedding_dropout = c.get_double("embedding_dropout", d.embedding_dropout);
    d.mlp_bias = c.get_bool("mlp_bias", d.mlp_bias);
    d.mlp_dropout = c.get_double("mlp_dropout", d.mlp_dropout);
    d.decoder_bias = c.get_bool("decoder_bias", d.decoder_bias);
    const std::string pooling = c.get_string("classifier_pooling", "cls");
    if (pooling != "cls" && pooling != "mean")
      throw DataError(fmt::format("{}: \"classifier_pooling\" must be \"cls\" or \"mean\", got \"{}\"", src, pooling));
    d.mean_pooling = pooling == "mean";
    d.classifier_dropout = c.get_double("classifier_dropout", d.classifier_dropout);
    d.classifier_bias = c.get_bool("classifier_bias", d.classifier_bias);
    d.classifier_activation =
        activation_from_name(c.get_string("classifier_activation", "gelu"), src + " \"classifier_activation\"");
    d.sparse_prediction = c.get_bool("sparse_prediction", d.sparse_prediction);
    d.sparse_pred_ignore_index = c.get_int("sparse_pred_ignore_index", d.sparse_pred_ignore_index);
    d.tie_word_embeddings = c.get_bool("tie_word_embeddings", d.tie_word_embeddings);

    // which layers attend locally
    if (c.has("layer_types")) {
      const auto& types = json["layer_types"];
      if (!types.is_array() || static_cast<int64_t>(types.size()) != d.num_hidden_layers)
        throw DataError(fmt::format("{}: \"layer_types\" must list {} entries (num_hidden_layers), got {}", src,
                                    d.num_hidden_layers, types.dump()));
      for (const auto& t : types) {
        const std::string s = t.is_string() ? t.get<std::string>() : t.dump();
        if (s != "full_attention" && s != "sliding_attention")
          throw DataError(
              fmt::format("{}: \"layer_types\" entry \"{}\" is neither \"full_attention\" nor "
                          "\"sliding_attention\"",
                          src, s));
        d.sliding.push_back(s == "sliding_attention");
      }
    } else {
      const int64_t every = c.get_int("global_attn_every_n_layers", 3);
      if (every < 1) throw DataError(fmt::format("{}: \"global_attn_every_n_layers\" must be >= 1", src));
      for (int64_t i = 0; i < d.num_hidden_layers; ++i) d.sliding.push_back(i % every != 0);
    }

    // rotary bases: rope_parameters per layer type (or one for both), else the older keys
    d.global_rope_theta = c.get_double("global_rope_theta", d.global_rope_theta);
    d.local_rope_theta = c.get_double("local_rope_theta", d.local_rope_theta);
    if (c.has("rope_parameters")) {
      const auto& rp = json["rope_parameters"];
      if (!rp.is_object())
        throw DataError(fmt::format("{}: \"rope_parameters\" must be an object, got {}", src, rp.dump()));
      auto read = [&](const core::Json& params, const std::string& where, double& theta) {
        if (!params.is_object()) throw DataError(fmt::format("{}: \"{}\" must be an object", src, where));
        ConfigView p(params, src + " " + where);
        const std::string type = p.get_string("rope_type", "default");
        if (type != "default")
          throw DataError(fmt::format("{}: rope_type \"{}\" in \"{}\" is not supported (textune reads \"default\")",
                                      src, type, where));
        theta = p.get_double("rope_theta", theta);
      };
      if (rp.contains("full_attention") || rp.contains("sliding_attention")) {
        if (rp.contains("full_attention") && !rp["full_attention"].is_null())
          read(rp["full_attention"], "rope_parameters.full_attention", d.global_rope_theta);
        if (rp.contains("sliding_attention") && !rp["sliding_attention"].is_null())
          read(rp["sliding_attention"], "rope_parameters.sliding_attention", d.local_rope_theta);
      } else {
        read(rp, "rope_parameters", d.global_rope_theta);
        read(rp, "rope_parameters", d.local_rope_theta);
      }
    }
    if (c.has("rope_scaling"))
      throw DataError(fmt::format("{}: \"rope_scaling\" is not supported (textune reads rope_type \"default\")", src));
    return d;
  }
};

// ---- layer norm without bias ----

/// nn.LayerNorm(hidden_size, eps, bias=norm_bias): `weight`, and `bias` only when norm_bias.
struct ModernBertLayerNormImpl : torch::nn::Module {
  ModernBertLayerNormImpl(int64_t size, double eps, bool with_bias) : eps(eps) {
    weight = register_parameter("weight", torch::ones({size}));
    if (with_bias) bias = register_parameter("bias", torch::zeros({size}));
  }
  /// (..., H) -> (..., H).
  torch::Tensor forward(const torch::Tensor& x) { return torch::layer_norm(x, {weight.size(0)}, weight, bias, eps); }
  double eps;
  torch::Tensor weight, bias;
};
TORCH_MODULE(ModernBertLayerNorm);

// ---- embeddings ----

/// tok_embeddings (padding_idx pad_token_id), norm, drop; no position embeddings (rotary instead).
struct ModernBertEmbeddingsImpl : torch::nn::Module {
  explicit ModernBertEmbeddingsImpl(const ModernBertConfig& c) {
    tok_embeddings = register_module("tok_embeddings", make_embedding(c.vocab_size, c.hidden_size, c.pad_token_id));
    norm = register_module("norm", ModernBertLayerNorm(c.hidden_size, c.norm_eps, c.norm_bias));
    drop = register_module("drop", torch::nn::Dropout(c.embedding_dropout));
  }
  /// (B, T) int64 -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& input_ids) { return drop(norm(tok_embeddings(input_ids))); }
  torch::nn::Embedding tok_embeddings{nullptr};
  ModernBertLayerNorm norm{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(ModernBertEmbeddings);

// ---- MLP ----

/// GeGLU (Shazeer 2020): Wi (H -> 2I) split into input and gate, Wo(drop(act(input) * gate)).
struct ModernBertMLPImpl : torch::nn::Module {
  explicit ModernBertMLPImpl(const ModernBertConfig& c) : act(c.hidden_activation) {
    Wi = register_module("Wi", make_linear(c.hidden_size, c.intermediate_size * 2, c.mlp_bias));
    drop = register_module("drop", torch::nn::Dropout(c.mlp_dropout));
    Wo = register_module("Wo", make_linear(c.intermediate_size, c.hidden_size, c.mlp_bias));
  }
  /// (B, T, H) -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden) {
    auto parts = Wi(hidden).chunk(2, -1);  // 2 x (B, T, I)
    return Wo(drop(apply_activation(parts[0], act) * parts[1]));
  }
  Activation act;
  torch::nn::Linear Wi{nullptr}, Wo{nullptr};
  torch::nn::Dropout drop{nullptr};
};
TORCH_MODULE(ModernBertMLP);

// ---- attention ----

/// Which keys each query may see, as the attention layers take it: `bias` (B, 1, 1 or T, T) additive
/// (0 or the dtype's lowest value) and `has_key` (B, 1, 1 or T, 1) bool, false for a query that sees
/// no key at all (a padding token whose whole window is padding). transformers 5 builds boolean masks,
/// and torch's SDPA returns zeros for such a query rather than an average over the masked keys.
struct ModernBertMask {
  torch::Tensor bias, has_key;
};

/// Wqkv (H -> 3H) split into query, key, value heads; rotary positions on query and key;
/// softmax(q k^T / sqrt(D) + bias) v; Wo (H -> H), out_drop.
struct ModernBertAttentionImpl : torch::nn::Module {
  explicit ModernBertAttentionImpl(const ModernBertConfig& c)
      : num_heads(c.num_attention_heads), head_dim(c.head_dim()), dropout_p(c.attention_dropout) {
    Wqkv = register_module("Wqkv", make_linear(c.hidden_size, 3 * c.hidden_size, c.attention_bias));
    Wo = register_module("Wo", make_linear(c.hidden_size, c.hidden_size, c.attention_bias));
    out_drop = register_module("out_drop", torch::nn::Dropout(c.attention_dropout));
  }
  /// hidden (B, T, H); mask as ModernBertMask; cos, sin (1, 1, T, D) -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const ModernBertMask& mask, const torch::Tensor& cos,
                        const torch::Tensor& sin) {
    const int64_t B = hidden.size(0), T = hidden.size(1);
    // (B, T, 3, NH, D) -> (B, NH, 3, T, D) -> 3 x (B, NH, T, D)
    auto qkv = Wqkv(hidden).view({B, T, 3, num_heads, head_dim}).transpose(3, 1).unbind(2);
    auto q = apply_rotary(qkv[0], cos, sin);
    auto k = apply_rotary(qkv[1], cos, sin);
    auto context = dot_product_attention(q, k, qkv[2], mask.bias, dropout_p, is_training(),
                                         1.0 / std::sqrt(static_cast<double>(head_dim)));  // (B, NH, T, D)
    context = context.masked_fill(mask.has_key.logical_not(), 0.0);                        // queries seeing no key
    return out_drop(Wo(context.transpose(1, 2).contiguous().view({B, T, num_heads * head_dim})));
  }
  int64_t num_heads, head_dim;
  double dropout_p;
  torch::nn::Linear Wqkv{nullptr}, Wo{nullptr};
  torch::nn::Dropout out_drop{nullptr};
};
TORCH_MODULE(ModernBertAttention);

// ---- layer ----

/// Pre-norm layer: h + attn(attn_norm(h)), then + mlp(mlp_norm(.)). Layer 0 has no attn_norm (the
/// embeddings' norm precedes it).
struct ModernBertEncoderLayerImpl : torch::nn::Module {
  ModernBertEncoderLayerImpl(const ModernBertConfig& c, int64_t layer_id) : sliding(c.sliding[layer_id]) {
    if (layer_id != 0)
      attn_norm = register_module("attn_norm", ModernBertLayerNorm(c.hidden_size, c.norm_eps, c.norm_bias));
    attn = register_module("attn", ModernBertAttention(c));
    mlp_norm = register_module("mlp_norm", ModernBertLayerNorm(c.hidden_size, c.norm_eps, c.norm_bias));
    mlp = register_module("mlp", ModernBertMLP(c));
  }
  /// (B, T, H) -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const ModernBertMask& mask, const torch::Tensor& cos,
                        const torch::Tensor& sin) {
    auto h = hidden + attn(attn_norm.is_empty() ? hidden : attn_norm(hidden), mask, cos, sin);
    return h + mlp(mlp_norm(h));
  }
  bool sliding;
  ModernBertLayerNorm attn_norm{nullptr}, mlp_norm{nullptr};
  ModernBertAttention attn{nullptr};
  ModernBertMLP mlp{nullptr};
};
TORCH_MODULE(ModernBertEncoderLayer);

// ---- initialisation ----

/// Fills `t` from a normal(0, std) truncated to [-cutoff std, cutoff std] (torch.nn.init.trunc_normal_'s
/// inverse-CDF method).
void trunc_normal(torch::Tensor t, double std_dev, double cutoff, torch::Generator generator) {
  auto cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double lo = cdf(-cutoff), hi = cdf(cutoff);
  t.uniform_(2 * lo - 1, 2 * hi - 1, generator);
  t.erfinv_();
  t.mul_(std_dev * std::sqrt(2.0));
  t.clamp_(-cutoff * std_dev, cutoff * std_dev);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// Every ModernBERT class: initialises parameters as ModernBertPreTrainedModel._init_weights does.
class ModernBertPreTrainedModelImpl : public PreTrainedModelImpl {
 public:
  /// Truncated normals (cutoff initializer_cutoff_factor standard deviations) with std
  /// initializer_range for tok_embeddings, Wqkv and Wi; initializer_range / sqrt(2 num_hidden_layers)
  /// for the attention and MLP Wo, head.dense and the MLM decoder; hidden_size^-0.5 for the
  /// classifier; norms weight 1 and bias 0; every Linear bias 0.
  void init_weights(const std::vector<std::string>& names, torch::Generator generator) override {
    torch::NoGradGuard no_grad;
    const ModernBertConfig c = ModernBertConfig::from_json(config_);
    const double in_std = c.initializer_range;
    const double out_std = c.initializer_range / std::sqrt(2.0 * static_cast<double>(c.num_hidden_layers));
    const double final_std = 1.0 / std::sqrt(static_cast<double>(c.hidden_size));
    const std::set<std::string> wanted(names.begin(), names.end());
    for (auto& p : named_parameters(/*recurse=*/true)) {
      const std::string& n = p.key();
      if (!wanted.empty() && !wanted.count(n)) continue;
      torch::Tensor t = p.value();
      if (ends_with(n, ".bias") || n == "bias") {
        t.zero_();
      } else if (ends_with(n, "norm.weight")) {
        t.fill_(1.0);
      } else if (ends_with(n, "tok_embeddings.weight") || ends_with(n, "Wqkv.weight") ||
                 ends_with(n, "mlp.Wi.weight")) {
        trunc_normal(t, in_std, c.initializer_cutoff_factor, generator);
      } else if (n == "classifier.weight") {
        trunc_normal(t, final_std, c.initializer_cutoff_factor, generator);
      } else {  // attn.Wo, mlp.Wo, head.dense, decoder
        trunc_normal(t, out_std, c.initializer_cutoff_factor, generator);
      }
    }
  }
  std::string base_model_prefix() const override { return "model"; }
};

// ---- base model ----

/// ModernBertModel: embeddings, layers, final_norm. hidden_states (when asked) are the embeddings,
/// each layer's output but the last, and last_hidden_state (after final_norm), as transformers 5
/// records them.
class ModernBertModelImpl : public ModernBertPreTrainedModelImpl {
 public:
  explicit ModernBertModelImpl(const core::Json& config) : cfg_(ModernBertConfig::from_json(config)) {
    config_ = config;
    embeddings_ = register_module("embeddings", ModernBertEmbeddings(cfg_));
    layers_ = register_module("layers", torch::nn::ModuleList());
    for (int64_t i = 0; i < cfg_.num_hidden_layers; ++i) layers_->push_back(ModernBertEncoderLayer(cfg_, i));
    final_norm_ = register_module("final_norm", ModernBertLayerNorm(cfg_.hidden_size, cfg_.norm_eps, cfg_.norm_bias));
  }
  ModelOutputs forward(const ModelInputs& in) override {
    validate_inputs(in, std::nullopt, "ModernBertModel");
    check_index_range(in.input_ids, cfg_.vocab_size, "input_ids", "the vocabulary (vocab_size)", "ModernBertModel");
    const int64_t B = in.input_ids.size(0), T = in.input_ids.size(1);
    auto hidden = embeddings_(in.input_ids);  // (B, T, H)
    const auto dtype = hidden.scalar_type();
    const auto device = hidden.device();
    // global layers: padded keys masked, (B, 1, 1, T); local layers: also keys outside the window, (B, 1, T, T)
    auto key_ok = in.attention_mask.defined()
                      ? in.attention_mask.to(torch::kBool).view({B, 1, 1, T})
                      : torch::ones({B, 1, 1, T}, torch::TensorOptions().dtype(torch::kBool).device(device));
    auto local_ok = key_ok.logical_and(sliding_window(T, cfg_.local_attention, device).view({1, 1, T, T}));
    // a query that sees no key keeps a zero bias row (finite softmax, no NaN in the backward pass in
    // any dtype) and has its output zeroed by the attention instead
    auto make_mask = [&](const torch::Tensor& ok) {
      auto has_key = ok.any(-1, /*keepdim=*/true);
      auto bias = torch::zeros(ok.sizes(), hidden.options())
                      .masked_fill(ok.logical_not().logical_and(has_key), lowest_value(dtype));
      return ModernBertMask{bias, has_key};
    };
    const ModernBertMask global_mask = make_mask(key_ok), local_mask = make_mask(local_ok);
    auto global_rope = rotary_cos_sin(T, cfg_.head_dim(), cfg_.global_rope_theta, device, dtype);
    auto local_rope = rotary_cos_sin(T, cfg_.head_dim(), cfg_.local_rope_theta, device, dtype);
    ModelOutputs out;
    for (const auto& m : *layers_) {
      if (in.output_hidden_states) out.hidden_states.push_back(hidden);
      auto* layer = m->as<ModernBertEncoderLayerImpl>();
      const auto& rope = layer->sliding ? local_rope : global_rope;
      hidden = layer->forward(hidden, layer->sliding ? local_mask : global_mask, rope.first, rope.second);
    }
    out.last_hidden_state = final_norm_(hidden);
    if (in.output_hidden_states) out.hidden_states.push_back(out.last_hidden_state);
    return out;
  }
  std::string architecture() const override { return "ModernBertModel"; }
  TaskKind task() const override { return TaskKind::kBase; }
  /// Rotary positions set no hard limit (max_position_embeddings is the trained length).
  std::optional<int64_t> max_sequence_length() const override { return std::nullopt; }
  const ModernBertConfig& modernbert_config() const { return cfg_; }
  torch::nn::Embedding tok_embeddings() const { return embeddings_->tok_embeddings; }

 private:
  ModernBertConfig cfg_;
  ModernBertEmbeddings embeddings_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  ModernBertLayerNorm final_norm_{nullptr};
};

// ---- heads ----

/// ModernBertPredictionHead: norm(act(dense(h))), H -> H, dense bias classifier_bias.
struct ModernBertPredictionHeadImpl : torch::nn::Module {
  explicit ModernBertPredictionHeadImpl(const ModernBertConfig& c) : act(c.classifier_activation) {
    dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size, c.classifier_bias));
    norm = register_module("norm", ModernBertLayerNorm(c.hidden_size, c.norm_eps, c.norm_bias));
  }
  /// (..., H) -> (..., H).
  torch::Tensor forward(const torch::Tensor& h) { return norm(apply_activation(dense(h), act)); }
  Activation act;
  torch::nn::Linear dense{nullptr};
  ModernBertLayerNorm norm{nullptr};
};
TORCH_MODULE(ModernBertPredictionHead);

/// The classification heads' shared parts: model, head, drop, classifier (H -> num_labels).
class ModernBertClassifierModelImpl : public ModernBertPreTrainedModelImpl {
 public:
  ModernBertClassifierModelImpl(const core::Json& config, int64_t num_outputs) {
    config_ = config;
    auto m = std::make_shared<ModernBertModelImpl>(config);
    cfg_ = m->modernbert_config();
    model_ = register_module("model", as_model(m));
    head_ = register_module("head", ModernBertPredictionHead(cfg_));
    drop_ = register_module("drop", torch::nn::Dropout(cfg_.classifier_dropout));
    classifier_ = register_module("classifier", make_linear(cfg_.hidden_size, num_outputs));
  }
  std::optional<int64_t> max_sequence_length() const override { return std::nullopt; }
  std::vector<std::string> initializable_prefixes() const override { return {"head.", "classifier."}; }

 protected:
  /// classifier(drop(head(x))): (..., H) -> (..., C).
  torch::Tensor classify(const torch::Tensor& x) { return classifier_(drop_(head_(x))); }

  ModernBertConfig cfg_;
  PreTrainedModel model_{nullptr};
  ModernBertPredictionHead head_{nullptr};
  torch::nn::Dropout drop_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

/// ModernBertForSequenceClassification: the first token ("cls") or the mask-weighted mean of the
/// final hidden states ("mean"), then head, drop, classifier: (B, C).
class ModernBertForSequenceClassificationImpl : public ModernBertClassifierModelImpl {
 public:
  explicit ModernBertForSequenceClassificationImpl(const core::Json& config)
      : ModernBertClassifierModelImpl(config, config_num_labels(config)) {}
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = model_->forward(inputs);
    const auto& h = out.last_hidden_state;  // (B, T, H)
    torch::Tensor pooled;                   // (B, H)
    if (!cfg_.mean_pooling) {
      pooled = h.select(1, 0);
    } else {
      auto mask = inputs.attention_mask.defined() ? inputs.attention_mask : torch::ones_like(inputs.input_ids);
      pooled = (h * mask.unsqueeze(-1).to(h.scalar_type())).sum(1) / mask.sum(1, /*keepdim=*/true).to(h.scalar_type());
    }
    attach_sequence_classification_loss(out, classify(pooled), inputs, config_);
    return out;
  }
  std::string architecture() const override { return "ModernBertForSequenceClassification"; }
  TaskKind task() const override { return TaskKind::kSequenceClassification; }
};

/// ModernBertForTokenClassification: head, drop, classifier on every token: (B, T, C).
class ModernBertForTokenClassificationImpl : public ModernBertClassifierModelImpl {
 public:
  explicit ModernBertForTokenClassificationImpl(const core::Json& config)
      : ModernBertClassifierModelImpl(config, config_num_labels(config)) {}
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = model_->forward(inputs);
    out.logits = classify(out.last_hidden_state);  // (B, T, C)
    if (inputs.labels.defined()) out.loss = token_classification_loss(out.logits, inputs.labels);
    return out;
  }
  std::string architecture() const override { return "ModernBertForTokenClassification"; }
  TaskKind task() const override { return TaskKind::kTokenClassification; }
};

/// ModernBertForQuestionAnswering: head, drop, classifier (H -> 2) split into start/end logits (B, T).
class ModernBertForQuestionAnsweringImpl : public ModernBertClassifierModelImpl {
 public:
  explicit ModernBertForQuestionAnsweringImpl(const core::Json& config)
      : ModernBertClassifierModelImpl(config, checked_outputs(config)) {}
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = model_->forward(inputs);
    auto logits = classify(out.last_hidden_state);  // (B, T, 2)
    out.start_logits = logits.select(-1, 0).contiguous();
    out.end_logits = logits.select(-1, 1).contiguous();
    if (inputs.start_positions.defined() || inputs.end_positions.defined())
      out.loss =
          question_answering_loss(out.start_logits, out.end_logits, inputs.start_positions, inputs.end_positions);
    return out;
  }
  std::string architecture() const override { return "ModernBertForQuestionAnswering"; }
  TaskKind task() const override { return TaskKind::kQuestionAnswering; }

 private:
  static int64_t checked_outputs(const core::Json& config) {
    const int64_t n = config_num_labels(config);
    if (n != 2)
      throw DataError(fmt::format(
          "ModernBertForQuestionAnswering needs 2 outputs (start and end), but config.json describes {} labels", n));
    return n;
  }
};

/// The MLM decoder: H -> V with the word embedding matrix as weight when tied (else its own
/// `weight`), and `bias` when decoder_bias.
struct ModernBertDecoderImpl : torch::nn::Module {
  ModernBertDecoderImpl(const ModernBertConfig& c, torch::nn::Embedding tied_to) : tied(std::move(tied_to)) {
    if (tied.is_empty()) weight = register_parameter("weight", torch::empty({c.vocab_size, c.hidden_size}));
    if (c.decoder_bias) bias = register_parameter("bias", torch::zeros({c.vocab_size}));
  }
  /// (..., H) -> (..., V).
  torch::Tensor forward(const torch::Tensor& x) {
    return torch::nn::functional::linear(x, tied.is_empty() ? weight : tied->weight, bias);
  }
  torch::nn::Embedding tied{nullptr};  // not registered: the parameter belongs to the embeddings
  torch::Tensor weight, bias;
};
TORCH_MODULE(ModernBertDecoder);

/// ModernBertForMaskedLM: decoder(head(h)), (B, T, V); with sparse_prediction and labels, only the
/// tokens whose label is not sparse_pred_ignore_index are decoded ((N, V) logits).
class ModernBertForMaskedLMImpl : public ModernBertPreTrainedModelImpl {
 public:
  explicit ModernBertForMaskedLMImpl(const core::Json& config) {
    config_ = config;
    auto m = std::make_shared<ModernBertModelImpl>(config);
    cfg_ = m->modernbert_config();
    model_ = register_module("model", as_model(m));
    head_ = register_module("head", ModernBertPredictionHead(cfg_));
    decoder_ = register_module(
        "decoder",
        ModernBertDecoder(cfg_, cfg_.tie_word_embeddings ? m->tok_embeddings() : torch::nn::Embedding(nullptr)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = model_->forward(inputs);
    auto h = out.last_hidden_state;  // (B, T, H)
    auto labels = inputs.labels;
    if (cfg_.sparse_prediction && labels.defined()) {
      labels = labels.reshape({-1});  // (B*T)
      auto keep = labels.ne(cfg_.sparse_pred_ignore_index).nonzero().view({-1});
      h = h.reshape({labels.size(0), -1}).index_select(0, keep);  // (N, H)
      labels = labels.index_select(0, keep);                      // (N)
    }
    out.logits = decoder_(head_(h));  // (B, T, V) or (N, V)
    if (labels.defined()) out.loss = token_classification_loss(out.logits, labels);
    return out;
  }
  std::string architecture() const override { return "ModernBertForMaskedLM"; }
  TaskKind task() const override { return TaskKind::kMaskedLM; }
  std::optional<int64_t> max_sequence_length() const override { return std::nullopt; }
  std::vector<std::string> initializable_prefixes() const override { return {"head.", "decoder."}; }
  std::map<std::string, std::string> tied_weights() const override {
    if (!cfg_.tie_word_embeddings) return {};
    return {{"decoder.weight", "model.embeddings.tok_embeddings.weight"}};
  }

 private:
  ModernBertConfig cfg_;
  PreTrainedModel model_{nullptr};
  ModernBertPredictionHead head_{nullptr};
  ModernBertDecoder decoder_{nullptr};
};

}  // namespace

void register_modernbert_family() {
  register_architecture({"ModernBertModel", "modernbert", TaskKind::kBase,
                         [](const core::Json& c) { return make_model<ModernBertModelImpl>(c); }});
  register_architecture({"ModernBertForSequenceClassification", "modernbert", TaskKind::kSequenceClassification,
                         [](const core::Json& c) { return make_model<ModernBertForSequenceClassificationImpl>(c); }});
  register_architecture({"ModernBertForTokenClassification", "modernbert", TaskKind::kTokenClassification,
                         [](const core::Json& c) { return make_model<ModernBertForTokenClassificationImpl>(c); }});
  register_architecture({"ModernBertForQuestionAnswering", "modernbert", TaskKind::kQuestionAnswering,
                         [](const core::Json& c) { return make_model<ModernBertForQuestionAnsweringImpl>(c); }});
  register_architecture({"ModernBertForMaskedLM", "modernbert", TaskKind::kMaskedLM,
                         [](const core::Json& c) { return make_model<ModernBertForMaskedLMImpl>(c); }});
}

}  // namespace textune::models
