// The public model API: a Hugging Face checkpoint loaded as a LibTorch module whose parameter
// names are exactly the checkpoint's tensor names (transformers' `PreTrainedModel`).
//
// NOTE (interface pinned by the lead so that train/eval/serve can code against it; the models layer
// owns and may extend it, but must not change what is declared here without updating callers).
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/core/problem_type.h"

namespace textune::models {

/// What a model with a head is for (from `architectures` and `problem_type`).
enum class TaskKind {
  kBase,                      ///< no head (e.g. BertModel)
  kSequenceClassification,   ///< ...ForSequenceClassification
  kTokenClassification,      ///< ...ForTokenClassification
  kQuestionAnswering,        ///< ...ForQuestionAnswering
  kMaskedLM,                 ///< ...ForMaskedLM
};

/// `problem_type` of a sequence classifier, as transformers infers it when config.json leaves it
/// out: regression when num_labels == 1, single-label for integer labels, multi-label for float.
/// The one definition lives in core (core/problem_type.h); data::Task is the same type.
using ProblemType = core::ProblemType;

/// A batch for `forward`. Shapes: input_ids/attention_mask/token_type_ids (B, T) int64;
/// labels (B) int64 for single-label, (B, L) float for multi-label, (B) or (B, 1) float for
/// regression, (B, T) int64 with -100 ignored for token classification/MLM; start/end_positions (B).
struct ModelInputs {
  torch::Tensor input_ids;
  torch::Tensor attention_mask;   ///< optional: all ones when undefined
  torch::Tensor token_type_ids;   ///< optional: zeros when undefined and the model uses them
  torch::Tensor labels;           ///< optional: when defined, `loss` is computed
  torch::Tensor start_positions;  ///< QA, optional
  torch::Tensor end_positions;    ///< QA, optional
  bool output_hidden_states = false;
};

/// Outputs of `forward` (transformers' ModelOutput fields).
struct ModelOutputs {
  torch::Tensor loss;                       ///< scalar, when labels/positions were given
  torch::Tensor logits;                     ///< (B, C) sequence cls, (B, T, C) token cls, (B, T, V) MLM
  torch::Tensor start_logits, end_logits;   ///< (B, T) QA
  torch::Tensor last_hidden_state;          ///< (B, T, H)
  std::vector<torch::Tensor> hidden_states; ///< embeddings + each layer, (B, T, H), when asked
  /// (B, H): the pooler's output (tanh(dense(h[:, 0]))) for base models that have a pooler
  /// (BertModel, RobertaModel); undefined otherwise.
  torch::Tensor pooler_output;
};

/// Base of every architecture-with-head. Registered submodule names are the Hugging Face names,
/// so `named_parameters()` yields exactly the checkpoint's tensor names.
class PreTrainedModelImpl : public torch::nn::Module {
 public:
  /// Runs the model. In train mode dropout is active.
  /// @throws textune::DataError for inputs of the wrong shape or a sequence longer than the model allows.
  virtual ModelOutputs forward(const ModelInputs& inputs) = 0;

  /// The full config.json (unknown keys kept), updated by the setters below.
  const core::Json& config() const { return config_; }
  core::Json& mutable_config() { return config_; }
  /// config.json's "model_type".
  std::string model_type() const;
  /// The class name transformers uses ("BertForSequenceClassification").
  virtual std::string architecture() const = 0;
  virtual TaskKind task() const = 0;
  /// For sequence classification.
  ProblemType problem_type() const;
  /// Number of labels (outputs of the head); 0 for base/MLM.
  int64_t num_labels() const;
  /// id2label in id order ("LABEL_0"... when config.json has none).
  std::vector<std::string> id2label() const;
  /// Longest sequence the position embeddings allow (max_position_embeddings, minus the padding
  /// offset for RoBERTa); nullopt for relative-position models without a limit.
  virtual std::optional<int64_t> max_sequence_length() const = 0;

  /// Names of parameters that are tied to another and left out of saved files
  /// (e.g. "cls.predictions.decoder.weight" -> "bert.embeddings.word_embeddings.weight").
  virtual std::map<std::string, std::string> tied_weights() const { return {}; }

  // ---- extensions owned by the models layer ----

  /// transformers' `base_model_prefix`: the name under which a model with a head holds its base
  /// model ("bert", "roberta", "distilbert", "electra"). A base model itself reports the same
  /// prefix (its own parameters are named without it).
  virtual std::string base_model_prefix() const = 0;

  /// Prefixes of the parameters that a checkpoint may lack and that loading then creates and
  /// initialises with a warning: the head ("classifier.", "qa_outputs.", "cls.") and the pooler
  /// ("bert.pooler."). Every other parameter is required.
  virtual std::vector<std::string> initializable_prefixes() const { return {}; }

  /// Initialises the parameters whose names are in `names` (all when empty) as transformers'
  /// `_init_weights` does: Linear weights and Embedding weights normal(0, initializer_range) with a
  /// zero bias and a zero padding row, LayerNorm weight 1 and bias 0, a bare bias (MLM head) 0.
  /// @param generator the random source (seeded by the caller).
  /// Families whose transformers class initialises differently (ModernBERT's truncated normals) override it.
  virtual void init_weights(const std::vector<std::string>& names, torch::Generator generator);

  /// Names of the parameters that get weight decay, exactly as transformers' `Trainer.
  /// get_decay_parameter_names` (transformers 5) chooses them: every parameter except those whose
  /// name contains "bias" and those of a normalization layer (LayerNorm). Sorted. Like
  /// transformers it lists a tied weight under both names (e.g. "cls.predictions.decoder.weight"
  /// beside "bert.embeddings.word_embeddings.weight"); the alias has no entry in named_parameters().
  std::vector<std::string> decay_parameter_names() const;

  /// config.json's "initializer_range" (0.02 when absent).
  double initializer_range() const;

 protected:
  /// Called by init_weights on every PreTrainedModelImpl of the module tree (this one and nested
  /// base models) after the generic initialisation, with the parameter names, relative to that
  /// module, that were initialised. Families whose `_init_weights` does more override it
  /// (DistilBERT copies its sinusoidal position table).
  virtual void after_init_weights(const std::set<std::string>& initialised) {}

  core::Json config_;
};
TORCH_MODULE(PreTrainedModel);

/// Options of `load_pretrained`.
struct LoadOptions {
  /// Override the architecture (e.g. load a base checkpoint as "BertForSequenceClassification").
  std::optional<std::string> architecture;
  /// Or choose the head by task: the architecture of config.json's model_type for this task
  /// (kSequenceClassification on a "bert" checkpoint gives "BertForSequenceClassification").
  /// Ignored when `architecture` is set.
  std::optional<TaskKind> task;
  /// transformers' `ignore_mismatched_sizes`: a head tensor whose shape differs from the model's
  /// (e.g. a 3-label classifier loaded for 5 labels) is re-initialised with a warning instead of
  /// being an error. Tensors of the base model must always match.
  bool ignore_mismatched_sizes = false;
  /// For a new head: labels in id order (sets num_labels, id2label, label2id).
  std::optional<std::vector<std::string>> labels;
  std::optional<ProblemType> problem_type;
  torch::Device device = torch::kCPU;
  /// Parameter dtype after loading (weights in F16/BF16 files are converted).
  torch::Dtype dtype = torch::kFloat32;
  /// Seed for initialising tensors the checkpoint lacks (a new head).
  uint64_t seed = 42;
};

/// What loading found (transformers' `loading_info`).
struct LoadReport {
  std::vector<std::string> missing_keys;     ///< created and initialised (new head): warned
  std::vector<std::string> unexpected_keys;  ///< in the file but unused (e.g. a pooler or pretraining head)
  std::vector<std::string> mismatched_keys;  ///< re-initialised because of ignore_mismatched_sizes
  std::string architecture;                  ///< the architecture that was built
};

/// Loads `DIR` (config.json + model.safetensors or shards): the architecture from `architectures`
/// (or options.architecture), weights by exact name, tied weights tied, a missing head created
/// and initialised as transformers' `_init_weights` does (normal(0, initializer_range), zero
/// bias) with a warning listing the new tensors.
/// @throws textune::DataError for an unknown model_type/architecture, a tensor of the wrong shape,
///         or a missing required (non-head) tensor, naming it.
PreTrainedModel load_pretrained(const std::string& dir, const LoadOptions& options = {},
                                LoadReport* report = nullptr);

/// Builds a randomly initialised model from a config (transformers' `from_config`), seeded.
PreTrainedModel from_config(const core::Json& config, const LoadOptions& options = {});

/// Saves config.json (architectures, id2label, label2id, problem_type, dtype) and model.safetensors
/// (names and order as save_pretrained writes them, tied weights left out) into `dir`,
/// atomically (core::AtomicDirectory). Files already in the staging directory are kept, so callers
/// may add tokenizer files: use `save_pretrained_into` for that.
void save_pretrained(PreTrainedModel model, const std::string& dir);

/// Writes config.json and model.safetensors into an existing (staging) directory, non-atomically.
void save_pretrained_into(PreTrainedModel model, const std::string& staging_dir);

/// Architectures textune can build, e.g. {"BertForSequenceClassification", ...}, sorted.
std::vector<std::string> supported_architectures();

/// config.json "model_type" values textune can build, sorted.
std::vector<std::string> supported_model_types();

/// "single_label_classification", "multi_label_classification" or "regression" (config.json's
/// spelling of a ProblemType): core::problem_type_name.
using core::problem_type_name;

/// The inverse of problem_type_name (core::problem_type_from_name).
/// @throws textune::DataError for another string.
using core::problem_type_from_name;

/// Sets LibTorch's intra-op threads to what bench/bench_models measured fastest, once per process
/// (load_pretrained and from_config call it): TEXTUNE_NUM_THREADS or OMP_NUM_THREADS when set;
/// else one thread when the BLAS is OpenBLAS running its own pthread pool of several threads
/// (two pools on the same cores fight: 3.4 times slower on 2 cores); else LibTorch's default.
void configure_cpu_threads();

}  // namespace textune::models
