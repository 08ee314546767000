// BERT (transformers' models/bert/modeling_bert.py), in reading order: embeddings,
// self-attention, attention output, intermediate, output, layer, encoder, pooler, base model.
// RoBERTa and ELECTRA reuse the encoder and the embeddings (with their own options), as
// transformers' "Copied from Bert" classes do.
#pragma once

#include <torch/torch.h>

#include <optional>
#include <string>
#include <vector>

#include "models/layers.h"
#include "textune/core/json.h"
#include "textune/models/model.h"

namespace textune::models {

/// The fields of transformers' BertConfig that the modules read (RoBERTa and ELECTRA share them).
struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t embedding_size = 768;  ///< ELECTRA's embedding_size; hidden_size elsewhere
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  Activation hidden_act = Activation::kGelu;
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  std::optional<int64_t> pad_token_id = 0;
  double initializer_range = 0.02;
  std::optional<double> classifier_dropout;

  /// Reads config.json; absent keys take `defaults`' values (each family's config-class defaults).
  /// @throws textune::DataError for a wrong type, an unknown hidden_act, hidden_size not divisible
  ///         by num_attention_heads, or a position_embedding_type other than "absolute".
  static BertConfig from_json(const core::Json& config, const BertConfig& defaults, const std::string& source);
};

/// Options of BertEmbeddings that distinguish the families.
struct BertEmbeddingsOptions {
  /// Padding index of position_embeddings (RoBERTa: pad_token_id, whose position rows receive no
  /// gradient); none for BERT and ELECTRA.
  std::optional<int64_t> position_padding_idx;
};

/// word + position + token_type embeddings, LayerNorm, dropout. Parameters: word_embeddings,
/// position_embeddings, token_type_embeddings, LayerNorm; all of width embedding_size.
struct BertEmbeddingsImpl : torch::nn::Module {
  BertEmbeddingsImpl(const BertConfig& config, const BertEmbeddingsOptions& options = {});
  /// input_ids, token_type_ids, position_ids (B, T) int64 -> (B, T, E).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids,
                        const torch::Tensor& position_ids);

  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertEmbeddings);

/// Multi-head self-attention projections: query, key, value (H -> H).
struct BertSelfAttentionImpl : torch::nn::Module {
  explicit BertSelfAttentionImpl(const BertConfig& config);
  /// hidden (B, T, H), bias (B, 1, 1, T) additive or undefined -> context (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& bias);

  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
  int64_t num_heads, head_size;
  double dropout_p;
};
TORCH_MODULE(BertSelfAttention);

/// dense + dropout + residual + LayerNorm after attention.
struct BertSelfOutputImpl : torch::nn::Module {
  explicit BertSelfOutputImpl(const BertConfig& config);
  /// hidden (B, T, H), input (B, T, H) residual -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& input);

  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertSelfOutput);

/// `self` (BertSelfAttention) + `output` (BertSelfOutput).
struct BertAttentionImpl : torch::nn::Module {
  explicit BertAttentionImpl(const BertConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& bias);

  BertSelfAttention self{nullptr};
  BertSelfOutput output{nullptr};
};
TORCH_MODULE(BertAttention);

/// dense (H -> I) + hidden_act.
struct BertIntermediateImpl : torch::nn::Module {
  explicit BertIntermediateImpl(const BertConfig& config);
  /// (B, T, H) -> (B, T, I).
  torch::Tensor forward(const torch::Tensor& hidden);

  torch::nn::Linear dense{nullptr};
  Activation act;
};
TORCH_MODULE(BertIntermediate);

/// dense (I -> H) + dropout + residual + LayerNorm.
struct BertOutputImpl : torch::nn::Module {
  explicit BertOutputImpl(const BertConfig& config);
  /// hidden (B, T, I), input (B, T, H) -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& input);

  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(BertOutput);

/// One transformer layer: attention, intermediate, output.
struct BertLayerImpl : torch::nn::Module {
  explicit BertLayerImpl(const BertConfig& config);
  /// (B, T, H) -> (B, T, H).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& bias);

  BertAttention attention{nullptr};
  BertIntermediate intermediate{nullptr};
  BertOutput output{nullptr};
};
TORCH_MODULE(BertLayer);

/// `layer.0` ... `layer.{N-1}`.
struct BertEncoderImpl : torch::nn::Module {
  explicit BertEncoderImpl(const BertConfig& config);
  /// hidden (B, T, H) -> last hidden (B, T, H); appends the input and every layer's output to
  /// `all_hidden` when given.
  torch::Tensor forward(torch::Tensor hidden, const torch::Tensor& bias, std::vector<torch::Tensor>* all_hidden);

  torch::nn::ModuleList layer{nullptr};
};
TORCH_MODULE(BertEncoder);

/// tanh(dense(h[:, 0])).
struct BertPoolerImpl : torch::nn::Module {
  explicit BertPoolerImpl(const BertConfig& config);
  /// (B, T, H) -> (B, H).
  torch::Tensor forward(const torch::Tensor& hidden);

  torch::nn::Linear dense{nullptr};
};
TORCH_MODULE(BertPooler);

/// BertModel: embeddings, encoder, pooler (when add_pooling_layer). forward fills
/// last_hidden_state, pooler_output, and hidden_states when asked.
class BertModelImpl : public PreTrainedModelImpl {
 public:
  BertModelImpl(const core::Json& config, bool add_pooling_layer);
  ModelOutputs forward(const ModelInputs& inputs) override;
  std::string architecture() const override { return "BertModel"; }
  TaskKind task() const override { return TaskKind::kBase; }
  std::optional<int64_t> max_sequence_length() const override { return cfg_.max_position_embeddings; }
  std::string base_model_prefix() const override { return "bert"; }
  std::vector<std::string> initializable_prefixes() const override { return {"pooler."}; }
  const BertConfig& bert_config() const { return cfg_; }
  const BertEmbeddings& embeddings_module() const { return embeddings_; }

 private:
  BertConfig cfg_;
  BertEmbeddings embeddings_{nullptr};
  BertEncoder encoder_{nullptr};
  BertPooler pooler_{nullptr};
};
TORCH_MODULE(BertModel);

}  // namespace textune::models
