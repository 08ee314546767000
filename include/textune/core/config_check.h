// Sanity checks of a Hugging Face config.json before anything is allocated from it (issue 11):
// sizes, layer and head counts, vocabulary, positions, labels, epsilons, dropouts and dtype, each
// against a range, and the parameter memory the config implies against the memory available.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "textune/core/json.h"

namespace textune::core {

/// Checks the keys of a config.json that size or shape a model (the names transformers' config
/// classes use: `hidden_size`/`d_model`/`dim`, `num_hidden_layers`/`n_layers`/`num_layers`,
/// `num_attention_heads`/`n_heads`, `intermediate_size`/`hidden_dim`/`d_ff`, `vocab_size`,
/// `max_position_embeddings`, `type_vocab_size`, `num_labels`, `layer_norm_eps`/`norm_eps`,
/// dropout probabilities, `initializer_range`), `dtype`/`torch_dtype` (a torch dtype name or
/// "auto"), `id2label` (an object of ids 0..n-1 to distinct names) and `label2id` (an object).
/// A key that is absent or null is not checked (the config class's default applies).
/// @param source the file, for messages ("DIR/config.json").
/// @throws textune::DataError, one line: "SOURCE: "KEY" is VALUE, expected RANGE".
void check_model_config(const Json& config, const std::string& source);

/// Number of parameters the encoder described by `config` has, estimated from its sizes
/// (embeddings, `num_hidden_layers` transformer layers of attention and feed-forward, pooler and a
/// classification head; transformers' defaults for BERT where a key is absent). Within a few
/// percent for the families textune builds; saturates instead of overflowing.
/// @throws nothing; values of a wrong type count as their default.
uint64_t estimate_num_parameters(const Json& config);

/// Bytes this process can still allocate: the smaller of the kernel's MemAvailable
/// (/proc/meminfo) and, under `ulimit -v` (RLIMIT_AS), the limit minus the current virtual size
/// (/proc/self/status VmSize). nullopt when neither is known.
std::optional<uint64_t> available_memory_bytes();

/// Refuses a config whose parameters (estimate_num_parameters, `bytes_per_parameter` each: 4 for
/// float32) cannot fit in `available_memory_bytes()`, before any tensor is allocated.
/// @throws textune::DataError naming `source`, the model's size and the memory available.
void check_model_fits_in_memory(const Json& config, const std::string& source, uint64_t bytes_per_parameter = 4);

}  // namespace textune::core
