// `--model` and `--revision`, declared once for every subcommand that loads a model or tokenizer
// (train, eval, predict, serve, info, verify, tokenize), resolved through core::resolve_model.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "textune/core/hub.h"

namespace textune::cli {

/// The values of --model and --revision.
struct ModelOption {
  std::string model;              ///< a model directory or a Hub model id (name or org/name)
  std::string revision = "main";  ///< branch, tag or commit hash of a Hub model
};

/// Adds `--model` (required unless `required` is false) and `--revision` to `app`, bound to `o`,
/// which must outlive parsing (keep it in the options struct the subcommand's run function holds).
/// Returns the --model option (to add `->excludes(...)` and the like).
inline CLI::Option* add_model_options(CLI::App& app, ModelOption& o, bool required = true,
                                      const std::string& what = "Model") {
  CLI::Option* model =
      app.add_option("--model", o.model,
                     what +
                         ": a local directory, or a Hugging Face Hub model id (bert-base-uncased, org/name), "
                         "downloaded once into the Hub cache ($HF_HUB_CACHE, default ~/.cache/huggingface/hub; "
                         "HF_HUB_OFFLINE=1 uses only the cache)");
  if (required) model->required();
  app.add_option("--revision", o.revision, "Branch, tag or commit hash of a Hub model (ignored for a local directory)")
      ->capture_default_str();
  return model;
}

/// Resolves `o` to a directory (core::resolve_model): a local directory as is, a Hub model id to
/// its snapshot in the cache, downloading what is missing. `weights` false fetches config.json and
/// the tokenizer only (e.g. for `textune tokenize`).
/// @throws textune::DataError as core::resolve_model.
inline std::string resolve_model_option(const ModelOption& o, bool weights = true, bool tokenizer = true) {
  core::HubOptions hub;
  hub.revision = o.revision;
  hub.weights = weights;
  hub.tokenizer = tokenizer;
  return core::resolve_model(o.model, hub);
}

}  // namespace textune::cli
