// config.json sanity checks and the parameter-memory estimate (see config_check.h).
#include "textune/core/config_check.h"

#include <sys/resource.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "textune/core/error.h"

namespace textune::core {
namespace {

struct IntRange {
  const char* key;
  int64_t min;
  int64_t max;
};

// Generous bounds: the largest published models stay far inside them (hidden 16,384, 126 layers,
// vocabularies of 262,144). What passes here is then bounded by the memory check.
constexpr int64_t kMaxWidth = 131072;         // hidden sizes
constexpr int64_t kMaxFeedForward = 1048576;  // intermediate sizes
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 65536;
constexpr int64_t kMaxVocab = 16777216;      // 2^24
constexpr int64_t kMaxPositions = 16777216;  // 2^24
constexpr int64_t kMaxLabels = 1000000;

const IntRange kIntKeys[] = {
    {"vocab_size", 1, kMaxVocab},
    {"hidden_size", 1, kMaxWidth},
    {"d_model", 1, kMaxWidth},
    {"dim", 1, kMaxWidth},
    {"n_embd", 1, kMaxWidth},
    {"embedding_size", 1, kMaxWidth},
    {"pooler_hidden_size", 1, kMaxWidth},
    {"intermediate_size", 1, kMaxFeedForward},
    {"hidden_dim", 1, kMaxFeedForward},
    {"d_ff", 1, kMaxFeedForward},
    {"n_inner", 1, kMaxFeedForward},
    {"encoder_ffn_dim", 1, kMaxFeedForward},
    {"decoder_ffn_dim", 1, kMaxFeedForward},
    {"num_hidden_layers", 0, kMaxLayers},
    {"n_layers", 0, kMaxLayers},
    {"n_layer", 0, kMaxLayers},
    {"num_layers", 0, kMaxLayers},
    {"num_decoder_layers", 0, kMaxLayers},
    {"encoder_layers", 0, kMaxLayers},
    {"decoder_layers", 0, kMaxLayers},
    {"num_attention_heads", 1, kMaxHeads},
    {"n_heads", 1, kMaxHeads},
    {"n_head", 1, kMaxHeads},
    {"num_heads", 1, kMaxHeads},
    {"num_key_value_heads", 1, kMaxHeads},
    {"encoder_attention_heads", 1, kMaxHeads},
    {"decoder_attention_heads", 1, kMaxHeads},
    {"attention_head_size", 1, kMaxWidth},
    {"head_dim", 1, kMaxWidth},
    {"d_kv", 1, kMaxWidth},
    {"max_position_embeddings", 1, kMaxPositions},
    {"n_positions", 1, kMaxPositions},
    {"type_vocab_size", 0, kMaxVocab},
    {"num_labels", 1, kMaxLabels},
    {"max_relative_positions", -1, kMaxPositions},
    {"position_buckets", -1, kMaxPositions},
    {"relative_attention_num_buckets", 1, kMaxPositions},
    {"local_attention", 1, kMaxPositions},
    {"global_attn_every_n_layers", 1, kMaxLayers},
    {"conv_kernel_size", 0, 4096},
    {"conv_groups", 1, kMaxWidth},
};

struct FloatRange {
  const char* key;
  double min;
  double max;
  bool min_open;  // (min, max] rather than [min, max]
};

const FloatRange kFloatKeys[] = {
    {"layer_norm_eps", 0.0, 1.0, true},
    {"layer_norm_epsilon", 0.0, 1.0, true},
    {"norm_eps", 0.0, 1.0, true},
    {"rms_norm_eps", 0.0, 1.0, true},
    {"hidden_dropout_prob", 0.0, 1.0, false},
    {"attention_probs_dropout_prob", 0.0, 1.0, false},
    {"classifier_dropout", 0.0, 1.0, false},
    {"dropout", 0.0, 1.0, false},
    {"dropout_rate", 0.0, 1.0, false},
    {"attention_dropout", 0.0, 1.0, false},
    {"activation_dropout", 0.0, 1.0, false},
    {"qa_dropout", 0.0, 1.0, false},
    {"seq_classif_dropout", 0.0, 1.0, false},
    {"pooler_dropout", 0.0, 1.0, false},
    {"cls_dropout", 0.0, 1.0, false},
    {"embedding_dropout", 0.0, 1.0, false},
    {"mlp_dropout", 0.0, 1.0, false},
    {"initializer_range", 0.0, 100.0, false},
    {"init_std", 0.0, 100.0, false},
    {"global_rope_theta", 0.0, 1e12, true},
    {"local_rope_theta", 0.0, 1e12, true},
    {"rope_theta", 0.0, 1e12, true},
};

// torch dtype names (torch.<name> is a dtype), which transformers accepts for `dtype`/`torch_dtype`.
const char* const kTorchDtypes[] = {"float32",
                                    "float",
                                    "float64",
                                    "double",
                                    "float16",
                                    "half",
                                    "bfloat16",
                                    "complex64",
                                    "cfloat",
                                    "complex128",
                                    "cdouble",
                                    "complex32",
                                    "chalf",
                                    "uint8",
                                    "int8",
                                    "int16",
                                    "short",
                                    "int32",
                                    "int",
                                    "int64",
                                    "long",
                                    "bool",
                                    "uint16",
                                    "uint32",
                                    "uint64",
                                    "float8_e4m3fn",
                                    "float8_e5m2",
                                    "float8_e4m3fnuz",
                                    "float8_e5m2fnuz",
                                    "auto"};

// A value for a message: its JSON text, shortened.
std::string shown(const Json& v) {
  std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (s.size() > 40) s = s.substr(0, 37) + "...";
  return s;
}

bool present(const Json& config, const char* key) {
  return config.contains(key) && !config[key].is_null();
}

// The integer value of a JSON number that is a whole number (768 or 768.0); nullopt otherwise.
std::optional<int64_t> whole_number(const Json& v) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return v.get<int64_t>();
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e18) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

void check_int(const Json& config, const IntRange& r, const std::string& source) {
  if (!present(config, r.key)) return;
  const Json& v = config[r.key];
  const auto n = whole_number(v);
  if (!n || *n < r.min || *n > r.max)
    throw DataError(
        fmt::format("{}: \"{}\" is {}, expected an integer in [{}, {}]", source, r.key, shown(v), r.min, r.max));
}

void check_float(const Json& config, const FloatRange& r, const std::string& source) {
  if (!present(config, r.key)) return;
  const Json& v = config[r.key];
  const bool ok = v.is_number() && std::isfinite(v.get<double>()) &&
                  (r.min_open ? v.get<double>() > r.min : v.get<double>() >= r.min) && v.get<double>() <= r.max;
  if (!ok)
    throw DataError(fmt::format("{}: \"{}\" is {}, expected a number in {}{:g}, {:g}]", source, r.key, shown(v),
                                r.min_open ? "(" : "[", r.min, r.max));
}

void check_dtype(const Json& config, const char* key, const std::string& source) {
  if (!present(config, key)) return;
  const Json& v = config[key];
  if (v.is_string()) {
    std::string name = v.get<std::string>();
    if (name.rfind("torch.", 0) == 0) name = name.substr(6);
    for (const char* d : kTorchDtypes)
      if (name == d) return;
  }
  throw DataError(fmt::format(
      "{}: \"{}\" is {}, expected a torch dtype name: \"float32\", \"float16\", \"bfloat16\", \"float64\" (or another "
      "torch dtype, or \"auto\")",
      source, key, shown(v)));
}

void check_labels(const Json& config, const std::string& source) {
  if (present(config, "id2label")) {
    const Json& m = config["id2label"];
    if (!m.is_object())
      throw DataError(
          fmt::format("{}: \"id2label\" is {}, expected an object of label ids to names ({{\"0\": \"NEGATIVE\", \"1\": "
                      "\"POSITIVE\"}})",
                      source, m.is_array() ? "a list" : shown(m)));
    const int64_t n = static_cast<int64_t>(m.size());
    if (n > kMaxLabels)
      throw DataError(fmt::format("{}: \"id2label\" has {} labels, expected at most {}", source, n, kMaxLabels));
    std::vector<const std::string*> id_keys(static_cast<size_t>(n), nullptr);
    std::map<std::string, std::string> id_of_name;  // name -> the id key that first used it
    for (auto it = m.begin(); it != m.end(); ++it) {
      const std::string& key = it.key();
      int64_t id = -1;
      if (!key.empty() && key.size() <= 9 && key.find_first_not_of("0123456789") == std::string::npos)
        id = std::stoll(key);
      if (id < 0 || id >= n)
        throw DataError(fmt::format("{}: \"id2label\" key \"{}\" is not a label id: expected the integers 0..{}",
                                    source, key, n - 1));
      if (id_keys[static_cast<size_t>(id)])
        throw DataError(fmt::format("{}: \"id2label\" gives label id {} twice (keys \"{}\" and \"{}\")", source, id,
                                    *id_keys[static_cast<size_t>(id)], key));
      id_keys[static_cast<size_t>(id)] = &key;
      const Json& name = it.value();
      if (!name.is_string() && !name.is_number())
        throw DataError(fmt::format("{}: \"id2label\" value of \"{}\" is {}, expected a label name (a string)", source,
                                    key, shown(name)));
      const std::string label = name.is_string() ? name.get<std::string>() : name.dump();
      auto [prev, inserted] = id_of_name.emplace(label, key);
      if (!inserted)
        throw DataError(
            fmt::format("{}: \"id2label\" names label \"{}\" twice (ids {} and {}): each label needs its own name",
                        source, label, prev->second, key));
    }
  }
  if (present(config, "label2id") && !config["label2id"].is_object())
    throw DataError(fmt::format("{}: \"label2id\" is {}, expected an object of label names to ids", source,
                                config["label2id"].is_array() ? "a list" : shown(config["label2id"])));
}

// The first of `keys` that config holds as a whole number, else `fallback`.
int64_t size_of(const Json& config, std::initializer_list<const char*> keys, int64_t fallback) {
  for (const char* k : keys)
    if (present(config, k))
      if (auto n = whole_number(config[k])) return *n;
  return fallback;
}

std::string human_bytes(long double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int u = 0;
  while (bytes >= 1024 && u < 6) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} bytes", static_cast<double>(bytes))
                : fmt::format("{:.1f} {}", static_cast<double>(bytes), units[u]);
}

std::string human_count(long double n) {
  if (n >= 1e12) return fmt::format("{:.1f} trillion", static_cast<double>(n / 1e12));
  if (n >= 1e9) return fmt::format("{:.1f} billion", static_cast<double>(n / 1e9));
  if (n >= 1e6) return fmt::format("{:.1f} million", static_cast<double>(n / 1e6));
  return fmt::format("{:.0f}", static_cast<double>(n));
}

// "Key: N kB" of a /proc file, in bytes.
std::optional<uint64_t> proc_kb(const char* file, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0 || line.size() <= key.size() || line[key.size()] != ':') continue;
    std::istringstream s(line.substr(key.size() + 1));
    uint64_t kb = 0;
    if (s >> kb) return kb * 1024;
  }
  return std::nullopt;
}

}  // namespace

void check_model_config(const Json& config, const std::string& source) {
  if (!config.is_object()) throw DataError(source + ": expected a JSON object");
  for (const auto& r : kIntKeys) check_int(config, r, source);
  for (const auto& r : kFloatKeys) check_float(config, r, source);
  check_dtype(config, "dtype", source);
  check_dtype(config, "torch_dtype", source);
  check_labels(config, source);
  if (present(config, "model_type") && !config["model_type"].is_string())
    throw DataError(fmt::format("{}: \"model_type\" is {}, expected a string such as \"bert\"", source,
                                shown(config["model_type"])));
  if (present(config, "architectures")) {
    const Json& a = config["architectures"];
    bool ok = a.is_array();
    if (ok)
      for (const auto& x : a) ok = ok && x.is_string();
    if (!ok)
      throw DataError(fmt::format("{}: \"architectures\" is {}, expected a list of class names", source, shown(a)));
  }
}

uint64_t estimate_num_parameters(const Json& config) {
  const std::string type = present(config, "model_type") && config["model_type"].is_string()
                               ? config["model_type"].get<std::string>()
                               : std::string();
  const bool distil = type == "distilbert";
  const bool modern = type == "modernbert";
  const long double h = static_cast<long double>(size_of(config, {"hidden_size", "dim", "d_model"}, 768));
  const long double e = static_cast<long double>(size_of(config, {"embedding_size"}, static_cast<int64_t>(h)));
  const long double layers = static_cast<long double>(size_of(config, {"num_hidden_layers", "n_layers", "num_layers"},
                                                              modern   ? 22
                                                              : distil ? 6
                                                                       : 12));
  const long double ffn = static_cast<long double>(
      size_of(config, {"intermediate_size", "hidden_dim", "d_ff"}, modern ? 1152 : static_cast<int64_t>(4 * h)));
  const long double vocab = static_cast<long double>(size_of(config, {"vocab_size"}, modern ? 50368 : 30522));
  bool positional = !modern;
  if (type == "deberta-v2" && present(config, "position_biased_input") && config["position_biased_input"].is_boolean())
    positional = config["position_biased_input"].get<bool>();
  const long double positions =
      positional ? static_cast<long double>(size_of(config, {"max_position_embeddings"}, 512)) : 0.0L;
  const long double types = static_cast<long double>(size_of(config, {"type_vocab_size"}, distil || modern ? 0 : 2));
  long double labels = static_cast<long double>(size_of(config, {"num_labels"}, 2));
  if (present(config, "id2label") && config["id2label"].is_object() && !config["id2label"].empty())
    labels = static_cast<long double>(config["id2label"].size());

  long double n = (vocab + positions + types) * e + 2 * e;                // embeddings and their LayerNorm
  if (e != h) n += e * h + h;                                             // embedding projection
  const long double attention = 4 * (h * h + h);                          // query, key, value, output
  const long double feed_forward = (modern ? 3 : 2) * h * ffn + ffn + h;  // GLU in ModernBERT
  n += layers * (attention + feed_forward + 4 * h);                       // and two LayerNorms
  n += h * h + h + labels * h + labels;                                   // pooler / dense, classifier
  if (!(n < 1.8e19L)) return UINT64_MAX;
  return static_cast<uint64_t>(n);
}

std::optional<uint64_t> available_memory_bytes() {
  std::optional<uint64_t> avail = proc_kb("/proc/meminfo", "MemAvailable");
  struct rlimit rl {};
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    const uint64_t used = proc_kb("/proc/self/status", "VmSize").value_or(0);
    const uint64_t left = rl.rlim_cur > used ? rl.rlim_cur - used : 0;
    avail = avail ? std::min(*avail, left) : left;
  }
  return avail;
}

void check_model_fits_in_memory(const Json& config, const std::string& source, uint64_t bytes_per_parameter) {
  const long double params = static_cast<long double>(estimate_num_parameters(config));
  const long double bytes = params * static_cast<long double>(bytes_per_parameter);
  const auto avail = available_memory_bytes();
  if (!avail || bytes <= static_cast<long double>(*avail)) return;
  throw DataError(fmt::format(
      "{}: the model it describes has about {} parameters ({} in float32), more than the {} of memory available "
      "(free memory, and ulimit -v); check hidden_size, num_hidden_layers, intermediate_size, vocab_size and "
      "max_position_embeddings",
      source, human_count(params), human_bytes(bytes), human_bytes(static_cast<long double>(*avail))));
}

}  // namespace textune::core
