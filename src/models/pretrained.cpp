// PreTrainedModel's shared behaviour, and loading and saving checkpoints the way transformers'
// `PreTrainedModel.from_pretrained` / `save_pretrained` (modeling_utils.py) do it.
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "models/config_view.h"
#include "models/registry.h"
#include "textune/core/checkpoint.h"
#include "textune/core/config_check.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/safetensors.h"
#include "textune/models/model.h"

namespace textune::models {

// ---- PreTrainedModelImpl ----

std::string PreTrainedModelImpl::model_type() const {
  return config_.contains("model_type") && config_["model_type"].is_string() ? config_["model_type"].get<std::string>()
                                                                             : std::string();
}

ProblemType PreTrainedModelImpl::problem_type() const {
  if (config_.contains("problem_type") && config_["problem_type"].is_string())
    return problem_type_from_name(config_["problem_type"].get<std::string>());
  return num_labels() == 1 ? ProblemType::kRegression : ProblemType::kSingleLabel;
}

int64_t PreTrainedModelImpl::num_labels() const {
  switch (task()) {
    case TaskKind::kSequenceClassification:
    case TaskKind::kTokenClassification:
      return config_num_labels(config_);
    case TaskKind::kQuestionAnswering:
      return 2;
    default:
      return 0;
  }
}

std::vector<std::string> PreTrainedModelImpl::id2label() const { return config_id2label(config_); }

double PreTrainedModelImpl::initializer_range() const {
  return ConfigView(config_, "config.json").get_double("initializer_range", 0.02);
}

void PreTrainedModelImpl::init_weights(const std::vector<std::string>& names, torch::Generator generator) {
  torch::NoGradGuard no_grad;
  const double std_dev = initializer_range();
  std::set<std::string> wanted(names.begin(), names.end());
  std::set<std::string> done;
  for (const auto& item : named_modules("", /*include_self=*/true)) {
    const std::string& path = item.key();
    torch::nn::Module& m = *item.value();
    for (auto& p : m.named_parameters(/*recurse=*/false)) {
      const std::string full = path.empty() ? p.key() : path + "." + p.key();
      if ((!wanted.empty() && !wanted.count(full)) || done.count(full)) continue;
      done.insert(full);
      torch::Tensor t = p.value();
      if (!t.requires_grad()) continue;  // frozen by the caller: left as it is
      if (auto* emb = dynamic_cast<torch::nn::EmbeddingImpl*>(&m)) {
        t.normal_(0.0, std_dev, generator);
        if (emb->options.padding_idx()) t[*emb->options.padding_idx()].zero_();
      } else if (dynamic_cast<torch::nn::LayerNormImpl*>(&m)) {
        if (p.key() == "weight") t.fill_(1.0); else t.zero_();
      } else if (p.key() == "bias") {
        t.zero_();
      } else {
        t.normal_(0.0, std_dev, generator);
      }
    }
  }
  for (const auto& item : named_modules("", /*include_self=*/true)) {
    auto* sub = dynamic_cast<PreTrainedModelImpl*>(item.value().get());
    if (!sub) continue;
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    std::set<std::string> relative;
    for (const auto& name : done)
      if (name.compare(0, prefix.size(), prefix) == 0) relative.insert(name.substr(prefix.size()));
    sub->after_init_weights(relative);
  }
}

std::vector<std::string> PreTrainedModelImpl::decay_parameter_names() const {
  std::set<std::string> norm_params;
  for (const auto& item : named_modules("", true)) {
    if (!dynamic_cast<const torch::nn::LayerNormImpl*>(item.value().get())) continue;
    for (const auto& p : item.value()->named_parameters(false))
      norm_params.insert(item.key().empty() ? p.key() : item.key() + "." + p.key());
  }
  static const std::regex kForbidden(R"(bias|layernorm|rmsnorm|(?:^|\.)norm(?:$|\.)|_norm(?:$|\.))");
  // transformers walks the module tree without de-duplicating shared parameters, so a tied
  // decoder weight is listed under its own name as well.
  std::vector<std::string> names;
  for (const auto& p : named_parameters(true)) names.push_back(p.key());
  for (const auto& [alias, target] : tied_weights()) names.push_back(alias);
  std::vector<std::string> out;
  for (const auto& name : names) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
    if (norm_params.count(name) || std::regex_search(lower, kForbidden)) continue;
    out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ---- threads ----

}  // namespace textune::models

// OpenBLAS (Debian's libblas.so.3 alternative) exports these; weak, so that textune links and runs
// against any other BLAS too. openblas_get_parallel: 0 sequential, 1 pthreads, 2 OpenMP.
extern "C" int openblas_get_parallel() __attribute__((weak));
extern "C" int openblas_get_num_threads() __attribute__((weak));

namespace textune::models {

void configure_cpu_threads() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const char* var : {"TEXTUNE_NUM_THREADS", "OMP_NUM_THREADS"})
      if (const char* v = std::getenv(var)) {
        const int threads = std::atoi(v);
        if (threads > 0) {
          at::set_num_threads(threads);
          return;
        }
      }
    // When the BLAS is OpenBLAS with its own pthread pool, LibTorch's OpenMP pool must stay at one
    // thread: bench/bench_models measured bert-base (batch 32, 32 tokens, 2 cores) at 917 tokens/s
    // forward and 302 forward+backward with 1 intra-op thread and OpenBLAS's 2, against 268 and 85
    // with 2 intra-op threads (the two pools spin against each other), and 558/173 with one thread
    // each. With another BLAS (MKL shares LibTorch's OpenMP pool) LibTorch's default stands.
    if (openblas_get_parallel && openblas_get_parallel() == 1 && openblas_get_num_threads &&
        openblas_get_num_threads() > 1)
      at::set_num_threads(1);
  });
}

// ---- building ----

namespace {

std::string join_names(const std::vector<std::string>& names, size_t limit = 8) {
  std::string s;
  for (size_t i = 0; i < names.size() && i < limit; ++i) s += (i ? ", " : "") + names[i];
  if (names.size() > limit) s += fmt::format(", ... ({} in all)", names.size());
  return s;
}

std::string shape_str(c10::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

/// The architecture to build for `config` (transformers: `architectures[0]`, or the override).
const ArchitectureSpec& choose_architecture(const core::Json& config, const LoadOptions& options,
                                            const std::string& source) {
  ConfigView c(config, source);
  if (!c.has("model_type"))
    throw DataError(source + ": missing \"model_type\" (textune builds: " + join_names(supported_model_types(), 99) +
                    ")");
  const std::string model_type = c.get_string("model_type");
  const auto types = supported_model_types();
  if (std::find(types.begin(), types.end(), model_type) == types.end())
    throw DataError(fmt::format("{}: unknown model_type \"{}\" (textune builds: {})", source, model_type,
                                join_names(types, 99)));
  if (options.architecture) {
    const ArchitectureSpec* spec = find_architecture(*options.architecture);
    if (!spec)
      throw DataError(fmt::format("unknown architecture \"{}\" (textune builds: {})", *options.architecture,
                                  join_names(supported_architectures(), 99)));
    if (spec->model_type != model_type)
      throw DataError(fmt::format("architecture {} is a \"{}\" model, but {} has model_type \"{}\"", spec->architecture,
                                  spec->model_type, source, model_type));
    return *spec;
  }
  if (options.task) {
    const ArchitectureSpec* spec = find_architecture_for_task(model_type, *options.task);
    if (!spec) throw DataError(fmt::format("textune has no head for this task on model_type \"{}\"", model_type));
    return *spec;
  }
  if (config.contains("architectures") && config["architectures"].is_array() && !config["architectures"].empty() &&
      config["architectures"][0].is_string()) {
    const std::string arch = config["architectures"][0].get<std::string>();
    if (const ArchitectureSpec* spec = find_architecture(arch)) return *spec;
    spdlog::info("{}: textune has no class for architecture {}; building the base {} model", source, arch, model_type);
  }
  const ArchitectureSpec* base = find_architecture_for_task(model_type, TaskKind::kBase);
  if (!base) throw DataError(fmt::format("textune has no base model for model_type \"{}\"", model_type));
  return *base;
}

/// pad_token_id indexes the word embeddings (torch::nn::Embedding's padding_idx): it must lie in
/// [-vocab_size, vocab_size), else LibTorch fails with its own message.
void check_token_ids(const core::Json& config, const std::string& source) {
  if (!config.contains("pad_token_id") || !config["pad_token_id"].is_number_integer()) {
    if (config.contains("pad_token_id") && !config["pad_token_id"].is_null())
      throw DataError(fmt::format("{}: \"pad_token_id\" is {}, expected an integer token id or null", source,
                                  config["pad_token_id"].dump()));
    return;
  }
  if (!config.contains("vocab_size") || !config["vocab_size"].is_number_integer()) return;
  const int64_t vocab = config["vocab_size"].get<int64_t>();
  const int64_t pad = config["pad_token_id"].get<int64_t>();
  if (pad < -vocab || pad >= vocab)
    throw DataError(fmt::format("{}: \"pad_token_id\" is {}, expected a token id in [0, {}) (vocab_size {})", source,
                                pad, vocab, vocab));
}

/// config.json with the options' labels and problem type applied.
core::Json apply_options(core::Json config, const LoadOptions& options) {
  if (options.labels) {
    if (options.labels->empty()) throw UsageError("the list of labels is empty");
    std::set<std::string> seen;
    for (const auto& l : *options.labels)
      if (!seen.insert(l).second) throw UsageError("label \"" + l + "\" is given twice");
    set_config_labels(config, *options.labels);
  }
  if (options.problem_type) config["problem_type"] = problem_type_name(*options.problem_type);
  if (config.contains("problem_type") && config["problem_type"].is_string())
    problem_type_from_name(config["problem_type"].get<std::string>());  // validates
  return config;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

bool is_initializable(const PreTrainedModelImpl& model, const std::string& name) {
  for (const auto& p : model.initializable_prefixes())
    if (starts_with(name, p)) return true;
  return false;
}

/// A checkpoint name as transformers renames legacy keys: TF-era LayerNorm.gamma/beta.
std::string legacy_rename(std::string name) {
  auto replace_suffix = [&](const std::string& from, const std::string& to) {
    if (name.size() > from.size() && name.compare(name.size() - from.size(), from.size(), from) == 0) {
      name = name.substr(0, name.size() - from.size()) + to;
      return true;
    }
    return false;
  };
  if (name.find("LayerNorm") != std::string::npos || name.find("layer_norm") != std::string::npos)
    replace_suffix(".gamma", ".weight") || replace_suffix(".beta", ".bias");
  return name;
}

torch::Generator make_generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

void load_weights(PreTrainedModelImpl& model, const core::CheckpointWeights& weights, const std::string& dir,
                  const LoadOptions& options, LoadReport& report) {
  auto params = model.named_parameters(/*recurse=*/true);
  const std::string prefix = model.base_model_prefix() + ".";
  bool model_has_prefix = false, ckpt_has_prefix = false;
  for (const auto& p : params) model_has_prefix |= starts_with(p.key(), prefix);
  const auto names = weights.names();
  for (const auto& n : names) ckpt_has_prefix |= starts_with(legacy_rename(n), prefix);
  const auto tied = model.tied_weights();

  std::map<std::string, std::string> source_of;  // model parameter -> checkpoint tensor
  for (const auto& ckpt_name : names) {
    std::string key = legacy_rename(ckpt_name);
    if (model_has_prefix && !ckpt_has_prefix && params.contains(prefix + key)) key = prefix + key;
    if (!model_has_prefix && ckpt_has_prefix) {
      if (!starts_with(key, prefix)) {
        report.unexpected_keys.push_back(ckpt_name);
        continue;
      }
      key = key.substr(prefix.size());
    }
    if (params.contains(key)) {
      source_of.emplace(key, ckpt_name);
    } else if (!tied.count(key)) {
      report.unexpected_keys.push_back(ckpt_name);
    }
  }

  std::vector<std::string> required_missing, to_init;
  torch::NoGradGuard no_grad;
  for (auto& p : params) {
    const std::string& name = p.key();
    auto it = source_of.find(name);
    if (it == source_of.end()) {
      if (is_initializable(model, name)) {
        report.missing_keys.push_back(name);
        to_init.push_back(name);
      } else {
        required_missing.push_back(name);
      }
      continue;
    }
    const core::TensorInfo& info = weights.info(it->second);
    torch::Tensor& param = p.value();
    if (c10::IntArrayRef(info.shape) != param.sizes()) {
      if (options.ignore_mismatched_sizes && is_initializable(model, name)) {
        report.mismatched_keys.push_back(name);
        to_init.push_back(name);
        continue;
      }
      throw DataError(fmt::format("{}: tensor \"{}\" has shape {}, but {} built from {}/config.json expects {}", dir,
                                  it->second, shape_str(info.shape), model.architecture(), dir,
                                  shape_str(param.sizes())));
    }
    if (info.dtype != "F32" && info.dtype != "F16" && info.dtype != "BF16" && info.dtype != "F64")
      throw DataError(fmt::format("{}: tensor \"{}\" has dtype {}, expected floating point (F32, F16 or BF16)", dir,
                                  it->second, info.dtype));
    param.copy_(weights.get(it->second));
  }
  if (!required_missing.empty())
    throw DataError(fmt::format("{}: the checkpoint lacks tensor \"{}\" that {} requires{}", dir, required_missing[0],
                                model.architecture(),
                                required_missing.size() > 1
                                    ? fmt::format(" ({} tensors missing: {})", required_missing.size(),
                                                  join_names(required_missing))
                                    : std::string()));
  if (!to_init.empty()) model.init_weights(to_init, make_generator(options.seed));
  for (auto* keys : {&report.missing_keys, &report.unexpected_keys, &report.mismatched_keys})
    std::sort(keys->begin(), keys->end());
  if (!report.missing_keys.empty())
    spdlog::warn(
        "Some weights of {} were not initialized from the model checkpoint at {} and are newly initialized: [{}]. "
        "You should probably TRAIN this model on a down-stream task to be able to use it for predictions and "
        "inference.",
        model.architecture(), dir, join_names(report.missing_keys, 1000));
  if (!report.mismatched_keys.empty())
    spdlog::warn("Some weights of {} were not initialized from the model checkpoint at {} and are newly initialized "
                 "because the shapes did not match: [{}]",
                 model.architecture(), dir, join_names(report.mismatched_keys, 1000));
  if (!report.unexpected_keys.empty()) {
    // transformers warns when the checkpoint was saved by the same architecture, else informs.
    const auto& cfg = model.config();
    bool same = cfg.contains("architectures") && cfg["architectures"].is_array() && !cfg["architectures"].empty() &&
                cfg["architectures"][0] == model.architecture();
    const std::string msg = fmt::format("Some weights of the model checkpoint at {} were not used when initializing "
                                        "{}: [{}]",
                                        dir, model.architecture(), join_names(report.unexpected_keys, 1000));
    if (same) spdlog::warn(msg); else spdlog::info(msg);
  }
}

PreTrainedModel build(const core::Json& raw_config, const LoadOptions& options, const std::string& source,
                      std::string* architecture) {
  core::check_model_config(raw_config, source);
  const ArchitectureSpec& spec = choose_architecture(raw_config, options, source);
  core::Json config = apply_options(raw_config, options);
  check_token_ids(config, source);
  // Before any tensor is allocated: a config of absurd size fails here, naming its size.
  core::check_model_fits_in_memory(config, source);
  if (architecture) *architecture = spec.architecture;
  return spec.build(config);
}

void finish(PreTrainedModel& model, const LoadOptions& options) {
  if (options.dtype != torch::kFloat32 || options.device != torch::Device(torch::kCPU))
    model->to(options.device, options.dtype);
  model->eval();
}

}  // namespace

PreTrainedModel load_pretrained(const std::string& dir, const LoadOptions& options, LoadReport* report) {
  configure_cpu_threads();
  const core::Json raw = core::read_model_config(dir);
  LoadReport local;
  LoadReport& r = report ? *report : local;
  r = LoadReport{};
  PreTrainedModel model = build(raw, options, dir + "/config.json", &r.architecture);
  const core::CheckpointWeights weights = core::CheckpointWeights::open(dir);
  load_weights(*model, weights, dir, options, r);
  finish(model, options);
  return model;
}

PreTrainedModel from_config(const core::Json& config, const LoadOptions& options) {
  configure_cpu_threads();
  PreTrainedModel model = build(config, options, "config", nullptr);
  model->init_weights({}, make_generator(options.seed));
  finish(model, options);
  return model;
}

// ---- saving ----

namespace {

std::string dtype_name(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat32:
      return "float32";
    case torch::kFloat16:
      return "float16";
    case torch::kBFloat16:
      return "bfloat16";
    case torch::kFloat64:
      return "float64";
    default:
      return c10::toString(t);
  }
}

}  // namespace

void save_pretrained_into(PreTrainedModel model, const std::string& staging_dir) {
  core::Json config = model->config();
  config["architectures"] = core::Json::array({model->architecture()});
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : model->named_parameters(true))
    tensors.emplace_back(p.key(), p.value().detach().to(torch::kCPU).contiguous());
  if (!tensors.empty()) {
    const std::string dt = dtype_name(tensors.front().second.scalar_type());
    config["dtype"] = dt;
    if (config.contains("torch_dtype")) config["torch_dtype"] = dt;
  }
  // transformers writes config.json with sorted keys (json.dumps(sort_keys=True)), indent 2.
  const nlohmann::json sorted = nlohmann::json::parse(config.dump());
  core::write_json_file(staging_dir + "/config.json", core::parse_json(sorted.dump(), "config.json"));
  core::save_safetensors_pretrained(staging_dir + "/model.safetensors", std::move(tensors));
}

void save_pretrained(PreTrainedModel model, const std::string& dir) {
  core::AtomicDirectory out(dir);
  save_pretrained_into(model, out.staging_path());
  out.commit();
}

}  // namespace textune::models
