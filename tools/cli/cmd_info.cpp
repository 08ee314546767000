// `textune info --model DIR|HUB_ID`: what a checkpoint holds, read from config.json and the
// safetensors headers only (no weights are loaded). A Hub model id is resolved through the cache.
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "command.h"
#include "model_options.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"

namespace textune::cli {
namespace {

struct InfoOptions {
  ModelOption model;
  bool json = false;
};

int run_info(const InfoOptions& o) {
  // The header of every safetensors file is read: the weights are needed, the tokenizer is not.
  const std::string dir = resolve_model_option(o.model, /*weights=*/true, /*tokenizer=*/false);
  core::Json cfg = core::read_model_config(dir);
  core::CheckpointWeights w = core::CheckpointWeights::open(dir);
  int64_t params = 0;
  std::map<std::string, int64_t> by_dtype;
  for (const auto& name : w.names()) {
    const auto& info = w.info(name);
    int64_t n = 1;
    for (auto d : info.shape) n *= d;
    params += n;
    by_dtype[info.dtype] += n;
  }
  auto get = [&](const char* key) -> core::Json { return cfg.contains(key) ? cfg[key] : core::Json(); };
  core::Json out = core::Json::object();
  out["model"] = o.model.model;
  if (dir != o.model.model) out["path"] = dir;
  out["model_type"] = get("model_type");
  out["architectures"] = get("architectures");
  for (const char* k : {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                        "vocab_size", "max_position_embeddings", "d_model", "num_layers", "n_layers", "dim"})
    if (cfg.contains(k)) out[k] = cfg[k];
  out["problem_type"] = get("problem_type");
  out["id2label"] = get("id2label");
  core::Json dt = core::Json::object();
  for (const auto& [k, v] : by_dtype) dt[k] = v;
  out["dtype"] = cfg.contains("torch_dtype") ? cfg["torch_dtype"] : get("dtype");
  out["parameters_by_dtype"] = dt;
  out["num_parameters"] = params;
  out["num_tensors"] = w.names().size();
  out["weight_files"] = w.files().size();
  if (o.json) {
    std::cout << out.dump(2) << "\n";
    return 0;
  }
  for (auto it = out.begin(); it != out.end(); ++it) {
    if (it.value().is_null()) continue;
    std::string v = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
    if (it.key() == "num_parameters") v = fmt::format("{} ({:.2f}M)", params, params / 1e6);
    std::cout << fmt::format("{:<24} {}\n", it.key(), v);
  }
  return 0;
}

const CommandRegistrar kRegistrar("info", "Show the architecture, sizes, labels, dtype and parameter count of a checkpoint",
                                  [](CLI::App& app) -> CommandRun {
                                    auto o = std::make_shared<InfoOptions>();
                                    add_model_options(app, o->model);
                                    app.add_flag("--json", o->json, "Print one JSON object");
                                    return [o] { return run_info(*o); };
                                  },
                                  90);

}  // namespace
}  // namespace textune::cli
