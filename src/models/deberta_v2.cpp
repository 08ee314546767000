// DeBERTa-v2 / DeBERTa-v3: transformers' models/deberta_v2/modeling_deberta_v2.py, module by module
// in reading order: embeddings, relative positions, disentangled self-attention (content-to-content
// plus content-to-position "c2p" and position-to-content "p2c" scores over log-bucketed relative
// distances), attention output, intermediate, output (the last three are BERT's modules, as
// transformers' "Copied from" classes are), layer, the optional ConvLayer, encoder (with the shared
// relative position table `rel_embeddings` and its LayerNorm), base model, then the heads:
// sequence classification with the ContextPooler, token classification, QA, masked LM (the legacy
// `cls.predictions` head and the newer `lm_predictions.lm_head`), and registration.
#include "models/deberta_v2.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include <fmt/format.h>

#include "models/bert.h"
#include "models/config_view.h"
#include "models/heads.h"
#include "models/layers.h"
#include "models/losses.h"
#include "models/registry.h"
#include "textune/core/error.h"

namespace textune::models {

torch::Tensor make_log_bucket_position(const torch::Tensor& relative_pos, int64_t bucket_size, int64_t max_position) {
  const int64_t mid = bucket_size / 2;
  auto sign = torch::sign(relative_pos);
  // distances inside (-mid, mid) are parked at mid - 1 so that the log below stays finite
  auto inside = relative_pos.lt(mid).logical_and(relative_pos.gt(-mid));
  auto abs_pos = torch::where(inside, torch::full_like(relative_pos, mid - 1), relative_pos.abs());
  // float32 throughout, as torch computes `abs_pos / mid` and `torch.tensor((max_position - 1) / mid)`
  auto ratio = abs_pos.to(torch::kFloat32) / static_cast<double>(mid);
  auto denominator =
      torch::log(torch::tensor(static_cast<double>(max_position - 1) / static_cast<double>(mid),
                               torch::TensorOptions().dtype(torch::kFloat32).device(relative_pos.device())));
  auto log_pos = torch::ceil(torch::log(ratio) / denominator * static_cast<double>(mid - 1)) + static_cast<double>(mid);
  return torch::where(abs_pos.le(mid), relative_pos.to(torch::kFloat32), log_pos * sign.to(torch::kFloat32));
}

torch::Tensor build_relative_position(int64_t query_size, int64_t key_size, int64_t bucket_size, int64_t max_position,
                                      torch::Device device) {
  auto opts = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto rel = torch::arange(query_size, opts).unsqueeze(1) - torch::arange(key_size, opts).unsqueeze(0);  // (Q, K)
  if (bucket_size > 0 && max_position > 0) rel = make_log_bucket_position(rel, bucket_size, max_position);
  return rel.to(torch::kLong).unsqueeze(0);  // (1, Q, K)
}

namespace {

/// torch.finfo(dtype).min: what transformers fills masked attention scores with.
double lowest_value(torch::ScalarType dtype) {
  double v = 0;
  AT_DISPATCH_FLOATING_TYPES_AND2(torch::kHalf, torch::kBFloat16, dtype, "lowest_value",
                                  [&] { v = static_cast<double>(std::numeric_limits<scalar_t>::lowest()); });
  return v;
}

/// "P2C| c2p" -> {"p2c", "c2p"}: lower-cased, split on '|', trimmed (how DebertaV2Config reads
/// pos_att_type strings and the encoder reads norm_rel_ebd).
std::vector<std::string> split_options(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return std::tolower(ch); });
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string part;
  while (std::getline(ss, part, '|')) {
    const auto first = part.find_first_not_of(" \t"), last = part.find_last_not_of(" \t");
    out.push_back(first == std::string::npos ? std::string() : part.substr(first, last - first + 1));
  }
  return out;
}

/// The fields of transformers' DebertaV2Config that the modules read (defaults as its constructor
/// and the modules' `getattr(config, ..., default)` give them).
struct DebertaV2Config {
  int64_t vocab_size = 128100;
  int64_t hidden_size = 1536;
  int64_t embedding_size = 1536;  ///< embedding width; hidden_size unless config.json sets it
  int64_t num_hidden_layers = 24;
  int64_t num_attention_heads = 24;
  int64_t attention_head_size = 64;  ///< hidden_size / num_attention_heads unless config.json sets it
  int64_t intermediate_size = 6144;
  Activation hidden_act = Activation::kGelu;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 0;
  double layer_norm_eps = 1e-7;
  std::optional<int64_t> pad_token_id = 0;
  bool position_biased_input = true;  ///< absolute position embeddings added to the input
  bool relative_attention = false;
  int64_t max_relative_positions = 512;  ///< resolved: max_position_embeddings when config.json has < 1
  int64_t position_buckets = -1;         ///< > 0: log-bucketed distances
  bool c2p = false, p2c = false;         ///< pos_att_type
  bool share_att_key = false;            ///< position projections reuse query_proj/key_proj
  bool norm_rel_ebd = false;             ///< norm_rel_ebd contains "layer_norm"
  int64_t conv_kernel_size = 0;          ///< > 0: a ConvLayer after the first layer
  int64_t conv_groups = 1;
  Activation conv_act = Activation::kTanh;
  int64_t pooler_hidden_size = 1536;
  Activation pooler_hidden_act = Activation::kGelu;
  double pooler_dropout = 0.0;
  std::optional<double> cls_dropout;
  bool legacy = true;  ///< masked LM head: cls.predictions (true) or lm_predictions.lm_head

  /// Rows of the relative position table: 2 * (position_buckets, or max_relative_positions).
  int64_t pos_ebd_size() const { return position_buckets > 0 ? position_buckets : max_relative_positions; }

  /// The BERT modules (attention output, intermediate, output) read these fields.
  BertConfig as_bert() const {
    BertConfig b;
    b.hidden_size = hidden_size;
    b.intermediate_size = intermediate_size;
    b.hidden_act = hidden_act;
    b.hidden_dropout_prob = hidden_dropout_prob;
    b.layer_norm_eps = layer_norm_eps;
    return b;
  }

  /// @throws textune::DataError for a wrong type, an unknown activation, or sizes that do not fit.
  static DebertaV2Config from_json(const core::Json& json) {
    const std::string src = "config.json";
    ConfigView c(json, src);
    DebertaV2Config d;
    d.vocab_size = c.get_int("vocab_size", d.vocab_size);
    d.hidden_size = c.get_int("hidden_size", d.hidden_size);
    d.embedding_size = c.get_int("embedding_size", d.hidden_size);
    d.num_hidden_layers = c.get_int("num_hidden_layers", d.num_hidden_layers);
    d.num_attention_heads = c.get_int("num_attention_heads", d.num_attention_heads);
    if (d.hidden_size <= 0 || d.num_attention_heads <= 0 || d.hidden_size % d.num_attention_heads != 0)
      throw DataError(fmt::format("{}: hidden_size ({}) must be a positive multiple of num_attention_heads ({})", src,
                                  d.hidden_size, d.num_attention_heads));
    d.attention_head_size = c.get_int("attention_head_size", d.hidden_size / d.num_attention_heads);
    d.intermediate_size = c.get_int("intermediate_size", d.intermediate_size);
    d.hidden_act = activation_from_name(c.get_string("hidden_act", "gelu"), src + " \"hidden_act\"");
    d.hidden_dropout_prob = c.get_double("hidden_dropout_prob", d.hidden_dropout_prob);
    d.attention_probs_dropout_prob = c.get_double("attention_probs_dropout_prob", d.attention_probs_dropout_prob);
    d.max_position_embeddings = c.get_int("max_position_embeddings", d.max_position_embeddings);
    d.type_vocab_size = c.get_int("type_vocab_size", d.type_vocab_size);
    d.layer_norm_eps = c.get_double("layer_norm_eps", d.layer_norm_eps);
    d.pad_token_id = json.contains("pad_token_id") ? c.get_optional_int("pad_token_id") : d.pad_token_id;
    d.position_biased_input = c.get_bool("position_biased_input", true);
    d.relative_attention = c.get_bool("relative_attention", false);
    d.max_relative_positions = c.get_int("max_relative_positions", -1);
    if (d.max_relative_positions < 1) d.max_relative_positions = d.max_position_embeddings;
    d.position_buckets = c.get_int("position_buckets", -1);
    // pos_att_type: a list, or the "p2c|c2p" string older configs hold (DebertaV2Config splits it)
    if (c.has("pos_att_type")) {
      std::vector<std::string> types;
      const auto& v = json["pos_att_type"];
      if (v.is_string()) {
        types = split_options(v.get<std::string>());
      } else if (v.is_array()) {
        for (const auto& t : v) {
          if (!t.is_string())
            throw DataError(
                fmt::format("{}: \"pos_att_type\" must list strings (\"c2p\", \"p2c\"), got {}", src, v.dump()));
          types.push_back(t.get<std::string>());
        }
      } else {
        throw DataError(
            fmt::format("{}: \"pos_att_type\" must be a list or a \"p2c|c2p\" string, got {}", src, v.dump()));
      }
      for (const auto& t : types) {
        d.c2p |= t == "c2p";
        d.p2c |= t == "p2c";
      }
    }
    d.share_att_key = c.get_bool("share_att_key", false);
    for (const auto& part : split_options(c.get_string("norm_rel_ebd", "none"))) d.norm_rel_ebd |= part == "layer_norm";
    d.conv_kernel_size = c.get_int("conv_kernel_size", 0);
    d.conv_groups = c.get_int("conv_groups", 1);
    d.conv_act = activation_from_name(c.get_string("conv_act", "tanh"), src + " \"conv_act\"");
    d.pooler_hidden_size = c.get_int("pooler_hidden_size", d.hidden_size);
    d.pooler_hidden_act =
        activation_from_name(c.get_string("pooler_hidden_act", "gelu"), src + " \"pooler_hidden_act\"");
    d.pooler_dropout = c.get_double("pooler_dropout", 0.0);
    d.cls_dropout = c.get_optional_double("cls_dropout");
    d.legacy = c.get_bool("legacy", true);
    if (d.relative_attention && d.pos_ebd_size() < 1)
      throw DataError(fmt::format("{}: relative attention needs position_buckets or max_relative_positions > 0", src));
    if (d.conv_kernel_size > 0 && (d.conv_groups < 1 || d.hidden_size % d.conv_groups != 0))
      throw DataError(
          fmt::format("{}: conv_groups ({}) must divide hidden_size ({})", src, d.conv_groups, d.hidden_size));
    return d;
  }
};

// ---- embeddings ----

/// word (+ position when position_biased_input) (+ token_type when type_vocab_size > 0)
/// embeddings of width embedding_size, `embed_proj` (E -> H, no bias) when E != H, LayerNorm,
/// padding positions zeroed by the mask, dropout.
struct DebertaV2EmbeddingsImpl : torch::nn::Module {
  explicit DebertaV2EmbeddingsImpl(const DebertaV2Config& c) {
    word_embeddings =
        register_module("word_embeddings", make_embedding(c.vocab_size, c.embedding_size, c.pad_token_id));
    if (c.position_biased_input)
      position_embeddings =
          register_module("position_embeddings", make_embedding(c.max_position_embeddings, c.embedding_size));
    if (c.type_vocab_size > 0)
      token_type_embeddings =
          register_module("token_type_embeddings", make_embedding(c.type_vocab_size, c.embedding_size));
    if (c.embedding_size != c.hidden_size)
      embed_proj = register_module("embed_proj", make_linear(c.embedding_size, c.hidden_size, /*bias=*/false));
    LayerNorm = register_module("LayerNorm", make_layer_norm(c.hidden_size, c.layer_norm_eps));
    dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
  }

  /// input_ids, token_type_ids (B, T) int64, position_ids (1, T), mask (B, T) 1/0 -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                        const torch::Tensor& position_ids, const torch::Tensor& mask) {
    auto embeddings = word_embeddings(input_ids);  // (B, T, E)
    if (!position_embeddings.is_empty()) embeddings = embeddings + position_embeddings(position_ids);
    if (!token_type_embeddings.is_empty()) embeddings = embeddings + token_type_embeddings(token_type_ids);
    if (!embed_proj.is_empty()) embeddings = embed_proj(embeddings);  // (B, T, H)
    embeddings = LayerNorm(embeddings);
    embeddings = embeddings * mask.unsqueeze(2).to(embeddings.scalar_type());  // padding rows -> 0
    return dropout(embeddings);
  }

  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::Linear embed_proj{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(DebertaV2Embeddings);

// ---- disentangled self-attention ----

/// query_proj, key_proj, value_proj (H -> NH * D), and, when the position projections are not
/// shared, pos_key_proj (c2p) and pos_query_proj (p2c). Scores are
///   q k^T / sqrt(D s) + c2p + p2c,  s = 1 + [c2p] + [p2c],
/// c2p[i, j] = q_i . Kr[S + bucket(i - j)] / sqrt(D s), p2c[i, j] = k_j . Qr[S - bucket(j - i)] / sqrt(D s)
/// (indices clamped to [0, 2S)), where Kr and Qr are the relative position table (2S rows) projected
/// by key_proj/query_proj or their pos_ counterparts (He et al. 2021, DeBERTa, eq. 2-4).
struct DisentangledSelfAttentionImpl : torch::nn::Module {
  explicit DisentangledSelfAttentionImpl(const DebertaV2Config& c)
      : num_heads(c.num_attention_heads),
        head_size(c.attention_head_size),
        relative_attention(c.relative_attention),
        c2p(c.c2p),
        p2c(c.p2c),
        share_att_key(c.share_att_key),
        att_span(c.pos_ebd_size()) {
    const int64_t all_head_size = num_heads * head_size;
    query_proj = register_module("query_proj", make_linear(c.hidden_size, all_head_size));
    key_proj = register_module("key_proj", make_linear(c.hidden_size, all_head_size));
    value_proj = register_module("value_proj", make_linear(c.hidden_size, all_head_size));
    if (relative_attention) {
      pos_dropout = register_module("pos_dropout", torch::nn::Dropout(c.hidden_dropout_prob));
      if (!share_att_key) {
        if (c2p) pos_key_proj = register_module("pos_key_proj", make_linear(c.hidden_size, all_head_size));
        if (p2c) pos_query_proj = register_module("pos_query_proj", make_linear(c.hidden_size, all_head_size));
      }
    }
    dropout = register_module("dropout", torch::nn::Dropout(c.attention_probs_dropout_prob));
  }

  /// (N, L, NH * D) -> (N * NH, L, D) (transformers' transpose_for_scores).
  torch::Tensor split_heads(const torch::Tensor& x) const {
    const int64_t N = x.size(0), L = x.size(1);
    return x.view({N, L, num_heads, -1}).permute({0, 2, 1, 3}).contiguous().view({-1, L, x.size(-1) / num_heads});
  }

  /// sqrt(D * scale_factor) in float32, as a scalar tensor of the scores' dtype (scaled_size_sqrt).
  torch::Tensor scale_of(int64_t scale_factor, const torch::Tensor& like) const {
    return torch::sqrt(torch::tensor(static_cast<double>(head_size), torch::kFloat32) *
                       static_cast<double>(scale_factor))
        .to(like.options());
  }

  /// hidden (B, T, H); mask (B, 1, T, T) bool (query and key both real tokens); relative_pos
  /// (1, T, T) int64; rel_embeddings (2 * att_span, H) -> context (B, T, NH * D).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& mask, const torch::Tensor& relative_pos,
                        const torch::Tensor& rel_embeddings) {
    const int64_t B = hidden.size(0), T = hidden.size(1);
    auto q = split_heads(query_proj(hidden));  // (B*NH, T, D)
    auto k = split_heads(key_proj(hidden));    // (B*NH, T, D)
    auto v = split_heads(value_proj(hidden));  // (B*NH, T, D)
    const int64_t scale_factor = 1 + (c2p ? 1 : 0) + (p2c ? 1 : 0);
    auto scores = torch::bmm(q, k.transpose(-1, -2) / scale_of(scale_factor, q));  // (B*NH, T, T)
    if (relative_attention)
      scores = scores + disentangled_attention_bias(q, k, relative_pos, pos_dropout(rel_embeddings), scale_factor);
    scores = scores.view({B, num_heads, T, T}).masked_fill(mask.logical_not(), lowest_value(q.scalar_type()));
    // softmax in the scores' dtype as transformers (half precision upcast to float32): forcing
    // float64 scores into float32 made the lowest value -inf and a padding query's row NaN
    const auto softmax_dtype = at::promote_types(scores.scalar_type(), torch::kFloat32);
    auto probs = dropout(torch::softmax(scores, -1, softmax_dtype).to(q.scalar_type()));  // (B, NH, T, T)
    auto context = torch::bmm(probs.view({B * num_heads, T, T}), v);                        // (B*NH, T, D)
    return context.view({B, num_heads, T, head_size}).permute({0, 2, 1, 3}).contiguous().view({B, T, -1});
  }

  /// The c2p and p2c scores: q, k (B*NH, T, D), relative_pos (1, T, T), rel (2S, H) -> (B*NH, T, T).
  torch::Tensor disentangled_attention_bias(const torch::Tensor& q, const torch::Tensor& k,
                                            const torch::Tensor& relative_pos, const torch::Tensor& rel,
                                            int64_t scale_factor) {
    const int64_t BH = q.size(0), T = q.size(1), repeat = BH / num_heads;
    auto table = rel.slice(0, 0, att_span * 2).unsqueeze(0);  // (1, 2S, H)
    torch::Tensor pos_key, pos_query;                         // (B*NH, 2S, D)
    if (c2p) pos_key = split_heads((share_att_key ? key_proj : pos_key_proj)(table)).repeat({repeat, 1, 1});
    if (p2c) pos_query = split_heads((share_att_key ? query_proj : pos_query_proj)(table)).repeat({repeat, 1, 1});
    torch::Tensor score;
    if (c2p) {
      auto c2p_att = torch::bmm(q, pos_key.transpose(-1, -2));                      // (B*NH, T, 2S)
      auto c2p_pos = torch::clamp(relative_pos + att_span, 0, att_span * 2 - 1);    // (1, T, T)
      c2p_att = torch::gather(c2p_att, -1, c2p_pos.squeeze(0).expand({BH, T, T}));  // (B*NH, T, T)
      score = c2p_att / scale_of(scale_factor, c2p_att);
    }
    if (p2c) {
      auto p2c_pos = torch::clamp(-relative_pos + att_span, 0, att_span * 2 - 1);  // (1, T, T)
      auto p2c_att = torch::bmm(k, pos_query.transpose(-1, -2));                   // (B*NH, T, 2S)
      p2c_att = torch::gather(p2c_att, -1, p2c_pos.squeeze(0).expand({BH, T, T})).transpose(-1, -2);
      auto part = p2c_att / scale_of(scale_factor, p2c_att);
      score = score.defined() ? score + part : part;
    }
    return score.defined() ? score : torch::zeros({1}, q.options());
  }

  int64_t num_heads, head_size;
  bool relative_attention, c2p, p2c, share_att_key;
  int64_t att_span;
  torch::nn::Linear query_proj{nullptr}, key_proj{nullptr}, value_proj{nullptr};
  torch::nn::Linear pos_key_proj{nullptr}, pos_query_proj{nullptr};
  torch::nn::Dropout pos_dropout{nullptr}, dropout{nullptr};
};
TORCH_MODULE(DisentangledSelfAttention);

/// `self` (DisentangledSelfAttention) + `output` (dense, dropout, residual, LayerNorm: BERT's).
struct DebertaV2AttentionImpl : torch::nn::Module {
  explicit DebertaV2AttentionImpl(const DebertaV2Config& c) {
    self = register_module("self", DisentangledSelfAttention(c));
    output = register_module("output", BertSelfOutput(c.as_bert()));
  }
  /// (B, T, H) -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& mask, const torch::Tensor& relative_pos,
                        const torch::Tensor& rel_embeddings) {
    return output(self(hidden, mask, relative_pos, rel_embeddings), hidden);
  }
  DisentangledSelfAttention self{nullptr};
  BertSelfOutput output{nullptr};
};
TORCH_MODULE(DebertaV2Attention);

// ---- layer ----

/// attention, intermediate (dense H -> I, hidden_act), output (dense I -> H, residual, LayerNorm).
struct DebertaV2LayerImpl : torch::nn::Module {
  explicit DebertaV2LayerImpl(const DebertaV2Config& c) {
    attention = register_module("attention", DebertaV2Attention(c));
    intermediate = register_module("intermediate", BertIntermediate(c.as_bert()));
    output = register_module("output", BertOutput(c.as_bert()));
  }
  /// (B, T, H) -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& mask, const torch::Tensor& relative_pos,
                        const torch::Tensor& rel_embeddings) {
    auto attention_output = attention(hidden, mask, relative_pos, rel_embeddings);  // (B, T, H)
    return output(intermediate(attention_output), attention_output);
  }
  DebertaV2Attention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertOutput output{nullptr};
};
TORCH_MODULE(DebertaV2Layer);

/// ConvLayer (DeBERTa-v2 xlarge and up): a 1-D convolution over the embedding output, masked,
/// conv_act, added to the first layer's output, LayerNorm, masked again.
struct ConvLayerImpl : torch::nn::Module {
  explicit ConvLayerImpl(const DebertaV2Config& c) : act(c.conv_act) {
    conv = register_module("conv",
                           torch::nn::Conv1d(torch::nn::Conv1dOptions(c.hidden_size, c.hidden_size, c.conv_kernel_size)
                                                 .padding((c.conv_kernel_size - 1) / 2)
                                                 .groups(c.conv_groups)));
    LayerNorm = register_module("LayerNorm", make_layer_norm(c.hidden_size, c.layer_norm_eps));
    dropout = register_module("dropout", torch::nn::Dropout(c.hidden_dropout_prob));
  }
  /// hidden (B, T, H) the embedding output, residual (B, T, H) the first layer's, mask (B, T) -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& residual, const torch::Tensor& mask) {
    auto out = conv(hidden.permute({0, 2, 1}).contiguous()).permute({0, 2, 1}).contiguous();  // (B, T, H)
    out = out.masked_fill(mask.eq(0).unsqueeze(-1).expand(out.sizes()), 0.0);
    out = apply_activation(dropout(out), act);
    auto normed = LayerNorm(residual + out);
    return normed * mask.unsqueeze(2).to(normed.scalar_type());
  }
  Activation act;
  torch::nn::Conv1d conv{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(ConvLayer);

// ---- encoder ----

/// `layer.0` ... `layer.{N-1}`, `rel_embeddings` (2 * att_span, H) when relative_attention, its
/// `LayerNorm` when norm_rel_ebd says "layer_norm", and `conv` when conv_kernel_size > 0.
struct DebertaV2EncoderImpl : torch::nn::Module {
  explicit DebertaV2EncoderImpl(const DebertaV2Config& c) : cfg(c) {
    layer = register_module("layer", torch::nn::ModuleList());
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(DebertaV2Layer(c));
    if (c.relative_attention)
      rel_embeddings = register_module("rel_embeddings", make_embedding(c.pos_ebd_size() * 2, c.hidden_size));
    if (c.norm_rel_ebd) LayerNorm = register_module("LayerNorm", make_layer_norm(c.hidden_size, c.layer_norm_eps));
    if (c.conv_kernel_size > 0) conv = register_module("conv", ConvLayer(c));
  }

  /// hidden (B, T, H) the embedding output, mask (B, T) 1/0 -> last hidden (B, T, H); appends the
  /// input and every layer's output to `all_hidden` when given.
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& mask,
                        std::vector<torch::Tensor>* all_hidden) {
    const int64_t T = hidden.size(1);
    // (B, 1, 1, T) * (B, 1, T, 1): a score counts only when query and key are both real tokens
    auto m = mask.to(torch::kLong);
    auto pair_mask = (m.unsqueeze(1).unsqueeze(2) * m.unsqueeze(1).unsqueeze(3)).to(torch::kBool);  // (B, 1, T, T)
    torch::Tensor relative_pos, rel;
    if (cfg.relative_attention) {
      relative_pos = build_relative_position(T, T, cfg.position_buckets, cfg.max_relative_positions, hidden.device());
      rel = rel_embeddings->weight;                     // (2S, H)
      if (!LayerNorm.is_empty()) rel = LayerNorm(rel);  // norm_rel_ebd
    }
    auto states = hidden;
    if (all_hidden) all_hidden->push_back(states);
    bool first = true;
    for (const auto& m_layer : *layer) {
      states = m_layer->as<DebertaV2LayerImpl>()->forward(states, pair_mask, relative_pos, rel);
      if (first && !conv.is_empty()) states = conv(hidden, states, mask);
      first = false;
      if (all_hidden) all_hidden->push_back(states);
    }
    return states;
  }

  DebertaV2Config cfg;
  torch::nn::ModuleList layer{nullptr};
  torch::nn::Embedding rel_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  ConvLayer conv{nullptr};
};
TORCH_MODULE(DebertaV2Encoder);

// ---- base model ----

/// DebertaV2Model: embeddings, encoder. forward fills last_hidden_state, and hidden_states
/// (embeddings + each layer) when asked.
class DebertaV2ModelImpl : public PreTrainedModelImpl {
 public:
  explicit DebertaV2ModelImpl(const core::Json& config) : cfg_(DebertaV2Config::from_json(config)) {
    config_ = config;
    embeddings_ = register_module("embeddings", DebertaV2Embeddings(cfg_));
    encoder_ = register_module("encoder", DebertaV2Encoder(cfg_));
  }
  ModelOutputs forward(const ModelInputs& in) override {
    validate_inputs(in, max_sequence_length(), "DebertaV2Model");
    check_index_range(in.input_ids, cfg_.vocab_size, "input_ids", "the vocabulary (vocab_size)", "DebertaV2Model");
    if (cfg_.type_vocab_size > 0)
      check_index_range(in.token_type_ids, cfg_.type_vocab_size, "token_type_ids", "type_vocab_size", "DebertaV2Model");
    const int64_t T = in.input_ids.size(1);
    auto mask = in.attention_mask.defined() ? in.attention_mask : torch::ones_like(in.input_ids);  // (B, T)
    auto token_type_ids = in.token_type_ids.defined() ? in.token_type_ids : torch::zeros_like(in.input_ids);
    auto position_ids = torch::arange(T, in.input_ids.options().dtype(torch::kLong)).unsqueeze(0);  // (1, T)
    auto hidden = embeddings_(in.input_ids, token_type_ids, position_ids, mask);                    // (B, T, H)
    ModelOutputs out;
    out.last_hidden_state = encoder_(hidden, mask, in.output_hidden_states ? &out.hidden_states : nullptr);
    return out;
  }
  std::string architecture() const override { return "DebertaV2Model"; }
  TaskKind task() const override { return TaskKind::kBase; }
  /// Absolute positions limit the length; with relative attention alone any length runs.
  std::optional<int64_t> max_sequence_length() const override {
    if (cfg_.position_biased_input) return cfg_.max_position_embeddings;
    return std::nullopt;
  }
  std::string base_model_prefix() const override { return "deberta"; }
  const DebertaV2Config& deberta_config() const { return cfg_; }
  torch::nn::Embedding word_embeddings() const { return embeddings_->word_embeddings; }

 private:
  DebertaV2Config cfg_;
  DebertaV2Embeddings embeddings_{nullptr};
  DebertaV2Encoder encoder_{nullptr};
};

// ---- heads ----

/// ContextPooler: act(dense(dropout(h[:, 0]))), pooler_hidden_size wide.
struct ContextPoolerImpl : torch::nn::Module {
  explicit ContextPoolerImpl(const DebertaV2Config& c) : act(c.pooler_hidden_act) {
    dense = register_module("dense", make_linear(c.pooler_hidden_size, c.pooler_hidden_size));
    dropout = register_module("dropout", torch::nn::Dropout(c.pooler_dropout));
  }
  /// (B, T, H) -> (B, H).
  torch::Tensor forward(const torch::Tensor& hidden) {
    return apply_activation(dense(dropout(hidden.select(1, 0))), act);
  }
  Activation act;
  torch::nn::Linear dense{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(ContextPooler);

/// DebertaV2ForSequenceClassification's loss when config.json has no problem_type (its own rule,
/// not the shared one, and it leaves problem_type unset): one label -> MSE; integer labels (B) ->
/// cross-entropy over the examples whose label is >= 0 (0 when none is); (B, C) labels -> soft-label
/// cross-entropy -(log_softmax(logits) * labels).sum(-1).mean().
torch::Tensor deberta_default_loss(const torch::Tensor& logits, const torch::Tensor& labels,
                                   const ModelInputs& inputs) {
  const int64_t num_labels = logits.size(-1);
  if (num_labels == 1) return torch::mse_loss(logits.view({-1}), labels.view({-1}).to(logits.scalar_type()));
  if (labels.dim() == 1 || labels.size(-1) == 1) {
    auto flat = labels.view({-1});
    if (flat.numel() != logits.size(0))
      throw DataError(fmt::format("labels have shape {}, expected ({}) (one label id per example)",
                                  c10::str(labels.sizes()), logits.size(0)));
    auto keep = flat.ge(0).nonzero().view({-1});  // (N)
    if (keep.numel() == 0) return torch::zeros({}, logits.options());
    return sequence_classification_loss(logits.index_select(0, keep).to(torch::kFloat32),
                                        flat.index_select(0, keep).to(torch::kLong), ProblemType::kSingleLabel);
  }
  if (labels.sizes() != logits.sizes())
    throw DataError(fmt::format("labels have shape {}, expected {} (a probability row per example)",
                                c10::str(labels.sizes()), c10::str(logits.sizes())));
  return -(torch::log_softmax(logits, -1) * labels.to(logits.scalar_type())).sum(-1).mean();
}

/// DebertaV2ForSequenceClassification: classifier(dropout(pooler(h))), (B, C). Parameters:
/// deberta.*, pooler.dense.*, classifier.*.
class DebertaV2ForSequenceClassificationImpl : public PreTrainedModelImpl {
 public:
  explicit DebertaV2ForSequenceClassificationImpl(const core::Json& config) {
    config_ = config;
    auto m = std::make_shared<DebertaV2ModelImpl>(config);
    const auto& c = m->deberta_config();
    deberta_ = register_module("deberta", as_model(m));
    pooler_ = register_module("pooler", ContextPooler(c));
    classifier_ = register_module("classifier", make_linear(c.hidden_size, config_num_labels(config)));
    dropout_ = register_module("dropout", torch::nn::Dropout(c.cls_dropout.value_or(c.hidden_dropout_prob)));
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = deberta_->forward(inputs);
    auto logits = classifier_(dropout_(pooler_(out.last_hidden_state)));  // (B, C)
    const bool has_problem_type = config_.contains("problem_type") && config_["problem_type"].is_string();
    if (inputs.labels.defined() && !has_problem_type) {
      out.loss = deberta_default_loss(logits, inputs.labels, inputs);
      out.logits = logits;
    } else {
      attach_sequence_classification_loss(out, logits, inputs, config_);
    }
    return out;
  }
  std::string architecture() const override { return "DebertaV2ForSequenceClassification"; }
  TaskKind task() const override { return TaskKind::kSequenceClassification; }
  std::optional<int64_t> max_sequence_length() const override { return deberta_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "deberta"; }
  std::vector<std::string> initializable_prefixes() const override { return {"classifier.", "pooler."}; }

 private:
  PreTrainedModel deberta_{nullptr};
  ContextPooler pooler_{nullptr};
  torch::nn::Linear classifier_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

/// cls.predictions.transform (legacy head): dense (H -> E), hidden_act, LayerNorm(E).
struct LegacyDebertaV2PredictionHeadTransformImpl : torch::nn::Module {
  explicit LegacyDebertaV2PredictionHeadTransformImpl(const DebertaV2Config& c) : act(c.hidden_act) {
    dense = register_module("dense", make_linear(c.hidden_size, c.embedding_size));
    LayerNorm = register_module("LayerNorm", make_layer_norm(c.embedding_size, c.layer_norm_eps));
  }
  /// (B, T, H) -> (B, T, E).
  torch::Tensor forward(const torch::Tensor& h) { return LayerNorm(apply_activation(dense(h), act)); }
  Activation act;
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
};
TORCH_MODULE(LegacyDebertaV2PredictionHeadTransform);

/// cls.predictions: transform, then the decoder (the word embedding matrix when tied) plus `bias`.
struct LegacyDebertaV2LMPredictionHeadImpl : torch::nn::Module {
  LegacyDebertaV2LMPredictionHeadImpl(const DebertaV2Config& c, torch::nn::Embedding tied_to)
      : tied(std::move(tied_to)) {
    transform = register_module("transform", LegacyDebertaV2PredictionHeadTransform(c));
    if (tied.is_empty()) decoder = register_module("decoder", make_linear(c.embedding_size, c.vocab_size, false));
    bias = register_parameter("bias", torch::zeros({c.vocab_size}));
  }
  /// (B, T, H) -> (B, T, V).
  torch::Tensor forward(const torch::Tensor& h) {
    return torch::nn::functional::linear(transform(h), tied.is_empty() ? decoder->weight : tied->weight, bias);
  }
  LegacyDebertaV2PredictionHeadTransform transform{nullptr};
  torch::nn::Linear decoder{nullptr};
  torch::nn::Embedding tied{nullptr};  // not registered: the parameter belongs to the embeddings
  torch::Tensor bias;
};
TORCH_MODULE(LegacyDebertaV2LMPredictionHead);

/// lm_predictions.lm_head (legacy false): LayerNorm(act(dense(h))) @ word_embeddings^T + bias.
struct DebertaV2LMPredictionHeadImpl : torch::nn::Module {
  DebertaV2LMPredictionHeadImpl(const DebertaV2Config& c, torch::nn::Embedding word_embeddings)
      : act(c.hidden_act), embeddings(std::move(word_embeddings)) {
    dense = register_module("dense", make_linear(c.hidden_size, c.hidden_size));
    LayerNorm = register_module("LayerNorm", make_layer_norm(c.hidden_size, c.layer_norm_eps));
    bias = register_parameter("bias", torch::zeros({c.vocab_size}));
  }
  /// (B, T, H) -> (B, T, V).
  torch::Tensor forward(const torch::Tensor& h) {
    auto x = LayerNorm(apply_activation(dense(h), act));
    return torch::matmul(x, embeddings->weight.t()) + bias;
  }
  Activation act;
  torch::nn::Embedding embeddings{nullptr};  // not registered
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::Tensor bias;
};
TORCH_MODULE(DebertaV2LMPredictionHead);

/// DebertaV2ForMaskedLM: `cls.predictions` (legacy, the default: decoder tied to the word
/// embeddings unless tie_word_embeddings is false) or `lm_predictions.lm_head` (legacy false).
class DebertaV2ForMaskedLMImpl : public PreTrainedModelImpl {
 public:
  explicit DebertaV2ForMaskedLMImpl(const core::Json& config) {
    config_ = config;
    auto m = std::make_shared<DebertaV2ModelImpl>(config);
    const auto& c = m->deberta_config();
    legacy_ = c.legacy;
    tied_ = ConfigView(config, "config.json").get_bool("tie_word_embeddings", true);
    deberta_ = register_module("deberta", as_model(m));
    if (legacy_) {
      auto cls = std::make_shared<torch::nn::Module>();
      predictions_ = cls->register_module(
          "predictions",
          LegacyDebertaV2LMPredictionHead(c, tied_ ? m->word_embeddings() : torch::nn::Embedding(nullptr)));
      register_module("cls", cls);
    } else {
      if (c.embedding_size != c.hidden_size)
        throw DataError(
            fmt::format("config.json: DebertaV2ForMaskedLM with legacy false multiplies by the word "
                        "embeddings, so embedding_size ({}) must equal hidden_size ({})",
                        c.embedding_size, c.hidden_size));
      auto lm = std::make_shared<torch::nn::Module>();
      lm_head_ = lm->register_module("lm_head", DebertaV2LMPredictionHead(c, m->word_embeddings()));
      register_module("lm_predictions", lm);
    }
  }
  ModelOutputs forward(const ModelInputs& inputs) override {
    ModelOutputs out = deberta_->forward(inputs);
    out.logits = legacy_ ? predictions_(out.last_hidden_state) : lm_head_(out.last_hidden_state);  // (B, T, V)
    if (inputs.labels.defined()) out.loss = token_classification_loss(out.logits, inputs.labels);
    return out;
  }
  std::string architecture() const override { return "DebertaV2ForMaskedLM"; }
  TaskKind task() const override { return TaskKind::kMaskedLM; }
  std::optional<int64_t> max_sequence_length() const override { return deberta_->max_sequence_length(); }
  std::string base_model_prefix() const override { return "deberta"; }
  std::vector<std::string> initializable_prefixes() const override { return {legacy_ ? "cls." : "lm_predictions."}; }
  std::map<std::string, std::string> tied_weights() const override {
    if (!legacy_) return {};
    std::map<std::string, std::string> t{{"cls.predictions.decoder.bias", "cls.predictions.bias"}};
    if (tied_) t["cls.predictions.decoder.weight"] = "deberta.embeddings.word_embeddings.weight";
    return t;
  }

 private:
  bool legacy_ = true, tied_ = true;
  PreTrainedModel deberta_{nullptr};
  LegacyDebertaV2LMPredictionHead predictions_{nullptr};
  DebertaV2LMPredictionHead lm_head_{nullptr};
};

HeadOptions deberta_head(const core::Json& config, const std::string& arch, bool with_dropout) {
  const DebertaV2Config c = DebertaV2Config::from_json(config);
  return {arch, "deberta", c.hidden_size, with_dropout ? c.hidden_dropout_prob : 0.0};
}

}  // namespace

void register_deberta_v2_family() {
  register_architecture({"DebertaV2Model", "deberta-v2", TaskKind::kBase,
                         [](const core::Json& c) { return make_model<DebertaV2ModelImpl>(c); }});
  register_architecture({"DebertaV2ForSequenceClassification", "deberta-v2", TaskKind::kSequenceClassification,
                         [](const core::Json& c) { return make_model<DebertaV2ForSequenceClassificationImpl>(c); }});
  register_architecture(
      {"DebertaV2ForTokenClassification", "deberta-v2", TaskKind::kTokenClassification, [](const core::Json& c) {
         return make_model<TokenClassificationModelImpl>(c, make_model<DebertaV2ModelImpl>(c),
                                                         deberta_head(c, "DebertaV2ForTokenClassification", true));
       }});
  register_architecture(
      {"DebertaV2ForQuestionAnswering", "deberta-v2", TaskKind::kQuestionAnswering, [](const core::Json& c) {
         return make_model<QuestionAnsweringModelImpl>(c, make_model<DebertaV2ModelImpl>(c),
                                                       deberta_head(c, "DebertaV2ForQuestionAnswering", false));
       }});
  register_architecture({"DebertaV2ForMaskedLM", "deberta-v2", TaskKind::kMaskedLM,
                         [](const core::Json& c) { return make_model<DebertaV2ForMaskedLMImpl>(c); }});
}

}  // namespace textune::models
