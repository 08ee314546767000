// `textune verify --model DIR --golden FILE [--trajectory FILE]`: parity of a checkpoint with
// golden tensors from Hugging Face transformers. Prints one JSON report; exits 0 only when every
// group is within tolerance.
#include <iostream>

#include "command.h"
#include "model_options.h"
#include "textune/models/verify.h"
#include "textune/train/trajectory.h"

namespace textune::cli {
namespace {

struct VerifyCliOptions {
  ModelOption model;
  std::string golden, trajectory;
  bool details = false;
};

int run_verify(const VerifyCliOptions& o) {
  models::VerifyOptions options;
  options.model_dir = resolve_model_option(o.model, /*weights=*/true, /*tokenizer=*/false);
  options.golden = o.golden;
  options.trajectory = o.trajectory;
  // The optimizer trajectory runs with the training layer's AdamW, decay groups and schedule.
  options.run_trajectory = [](models::PreTrainedModel model, const models::ModelInputs& batch,
                              const core::Json& trajectory) {
    return train::run_trajectory(model, batch, trajectory);
  };
  const models::VerifyReport report = models::verify(options);
  std::cout << report.to_json(o.details).dump(2) << "\n";
  return report.pass ? 0 : 1;
}

const CommandRegistrar kRegistrar(
    "verify", "Check a checkpoint against golden outputs, losses and gradients from transformers",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<VerifyCliOptions>();
      add_model_options(app, o->model, true, "Model to check (config.json + model.safetensors)");
      app.add_option("--golden", o->golden, "golden.safetensors with input.*, eval.*, train.loss, grad.* tensors")
          ->required();
      app.add_option("--trajectory", o->trajectory,
                     "trajectory.safetensors (golden.json beside it): also run its optimizer steps");
      app.add_flag("--details", o->details, "Print every tensor's error, not only the worst of each group");
      return [o] { return run_verify(*o); };
    },
    95);

}  // namespace
}  // namespace textune::cli
