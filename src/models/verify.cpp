// `textune verify`: parity of a checkpoint with golden tensors from transformers, with the
// tolerances of ../shared/fixtures/README.md.
#include "textune/models/verify.h"

#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/safetensors.h"

namespace textune::models {
namespace {

/// Accumulates the worst error of a group.
struct GroupAcc {
  VerifyGroup g;
  GroupAcc(std::string name, std::string metric, double tolerance) {
    g.name = std::move(name);
    g.metric = std::move(metric);
    g.tolerance = tolerance;
  }
  void add(const std::string& tensor, double error) {
    ++g.tensors;
    g.errors.emplace_back(tensor, error);
    if (std::isnan(error) || error > g.max_error || g.worst.empty()) {
      if (std::isnan(error) || error >= g.max_error) {
        g.max_error = std::isnan(error) ? std::numeric_limits<double>::infinity() : error;
        g.worst = tensor;
      }
    }
    if (!(error <= g.tolerance)) g.pass = false;
  }
};

double max_abs_diff(const torch::Tensor& ours, const torch::Tensor& ref) {
  return (ours.detach().to(torch::kCPU, torch::kFloat64).reshape(-1) - ref.to(torch::kFloat64).reshape(-1))
      .abs()
      .max()
      .item<double>();
}

std::string shape_str(c10::IntArrayRef s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

/// Compares one output tensor; shape mismatches go to `problems`.
void compare_output(GroupAcc& acc, const std::string& name, const torch::Tensor& ours, const torch::Tensor& ref,
                    VerifyReport& report) {
  if (!ours.defined()) {
    report.problems.push_back(name + ": the model produced no such output");
    acc.add(name, std::numeric_limits<double>::infinity());
    return;
  }
  if (ours.numel() != ref.numel()) {
    report.problems.push_back(
        fmt::format("{}: shape {} differs from the reference {}", name, shape_str(ours.sizes()), shape_str(ref.sizes())));
    acc.add(name, std::numeric_limits<double>::infinity());
    return;
  }
  acc.add(name, ref.numel() ? max_abs_diff(ours, ref) : 0.0);
}

/// A one-line description of an exception from the model (LibTorch's without its backtrace).
std::string error_text(const std::exception& e) {
  if (const auto* c10e = dynamic_cast<const c10::Error*>(&e)) return c10e->what_without_backtrace();
  return e.what();
}

void finish_group(VerifyReport& report, GroupAcc& acc) {
  if (acc.g.tensors == 0) return;
  if (!acc.g.informational) report.pass = report.pass && acc.g.pass;
  report.groups.push_back(acc.g);
}

}  // namespace

core::Json VerifyReport::to_json(bool details) const {
  core::Json j = core::Json::object();
  j["pass"] = pass;
  j["model"] = model_dir;
  j["golden"] = golden;
  j["architecture"] = architecture;
  core::Json groups_json = core::Json::object();
  for (const auto& g : groups) {
    core::Json o = core::Json::object();
    o[g.metric] = g.max_error;
    o["tolerance"] = g.tolerance;
    o["worst"] = g.worst;
    o["tensors"] = g.tensors;
    o["pass"] = g.pass;
    if (g.informational) o["informational"] = true;
    if (details) {
      core::Json e = core::Json::object();
      for (const auto& [name, err] : g.errors) e[name] = err;
      o["errors"] = e;
    }
    groups_json[g.name] = o;
  }
  j["groups"] = groups_json;
  if (grad_scale > 0) j["grad_scale"] = grad_scale;
  if (!notes.empty()) j["notes"] = notes;
  j["problems"] = problems;
  return j;
}

ModelInputs read_golden_inputs(const std::string& golden_path) {
  const auto file = core::SafetensorsFile::open(golden_path);
  ModelInputs in;
  for (const auto& info : file.tensors()) {
    if (!starts_with(info.name, "input.")) continue;
    const std::string key = info.name.substr(6);
    torch::Tensor t = file.get(info.name).clone();
    if (key == "input_ids") in.input_ids = t;
    else if (key == "attention_mask") in.attention_mask = t;
    else if (key == "token_type_ids") in.token_type_ids = t;
    else if (key == "labels") in.labels = t;
    else if (key == "start_positions") in.start_positions = t;
    else if (key == "end_positions") in.end_positions = t;
    else
      throw DataError(fmt::format("{}: input \"{}\" is not an encoder input textune's verify knows", golden_path,
                                  info.name));
  }
  if (!in.input_ids.defined()) throw DataError(golden_path + ": no input.input_ids tensor (not a golden file?)");
  return in;
}

VerifyReport verify_model(PreTrainedModel model, const std::string& golden_path, const VerifyOptions& options) {
  VerifyReport report;
  report.golden = golden_path;
  report.architecture = model->architecture();
  const auto file = core::SafetensorsFile::open(golden_path);
  ModelInputs in = read_golden_inputs(golden_path);
  auto dev = model->parameters().empty() ? torch::Device(torch::kCPU) : model->parameters().front().device();
  for (torch::Tensor* t : {&in.input_ids, &in.attention_mask, &in.token_type_ids, &in.labels, &in.start_positions,
                           &in.end_positions})
    if (t->defined()) *t = t->to(dev);

  GroupAcc outputs("outputs", "max_abs_error", options.output_atol);
  GroupAcc hidden("hidden_states", "max_abs_error", options.output_atol);
  GroupAcc loss("loss", "max_abs_error", options.output_atol);
  GroupAcc grads("grads", "max_rel_error", options.grad_rtol);

  // ---- eval mode, hidden states, no gradient ----
  {
    torch::NoGradGuard no_grad;
    model->eval();
    ModelInputs eval_in = in;
    eval_in.output_hidden_states = true;
    ModelOutputs out;
    try {
      out = model->forward(eval_in);
    } catch (const std::exception& e) {
      report.problems.push_back(std::string("eval forward failed: ") + error_text(e));
      report.pass = false;
      return report;
    }
    for (const auto& info : file.tensors()) {
      if (!starts_with(info.name, "eval.")) continue;
      const std::string key = info.name.substr(5);
      const torch::Tensor ref = file.get(info.name);
      if (key == "logits") compare_output(outputs, info.name, out.logits, ref, report);
      else if (key == "start_logits") compare_output(outputs, info.name, out.start_logits, ref, report);
      else if (key == "end_logits") compare_output(outputs, info.name, out.end_logits, ref, report);
      else if (key == "loss") compare_output(loss, info.name, out.loss, ref, report);
      else if (starts_with(key, "hidden_states.")) {
        const size_t i = std::stoul(key.substr(14));
        compare_output(hidden, info.name, i < out.hidden_states.size() ? out.hidden_states[i] : torch::Tensor(), ref,
                       report);
      } else {
        report.problems.push_back(info.name + ": an output textune's encoder models do not produce");
        outputs.add(info.name, std::numeric_limits<double>::infinity());
      }
    }
    size_t ref_hidden = 0;
    for (const auto& info : file.tensors()) ref_hidden += starts_with(info.name, "eval.hidden_states.");
    if (ref_hidden && out.hidden_states.size() != ref_hidden)
      report.problems.push_back(fmt::format("the model returned {} hidden states, the reference {}",
                                            out.hidden_states.size(), ref_hidden));
  }

  // ---- train mode: one forward and backward ----
  if (file.contains("train.loss")) {
    model->train();
    model->zero_grad();
    ModelOutputs out;
    try {
      out = model->forward(in);
    } catch (const std::exception& e) {
      report.problems.push_back(std::string("train forward failed: ") + error_text(e));
      report.pass = false;
      return report;
    }
    compare_output(loss, "train.loss", out.loss, file.get("train.loss"), report);
    if (out.loss.defined()) {
      out.loss.backward();
      auto params = model->named_parameters(true);
      // The tolerance is relative to the largest element of the reference gradient (over every
      // parameter: the gradient of the loss as one vector), as ../shared/fixtures/README.md states
      // it. Per tensor it could not be met: the reference's own float32 rounding, measured against
      // a float64 run of the same model, reaches 3e-4 of some small tensors' largest element (and
      // the attention key biases, zero in exact arithmetic, hold 1e-13 of pure rounding noise).
      double global_max = 0;
      for (const auto& info : file.tensors())
        if (starts_with(info.name, "grad."))
          global_max = std::max(global_max, file.get(info.name).abs().max().item<double>());
      report.grad_scale = global_max;
      for (const auto& info : file.tensors()) {
        if (!starts_with(info.name, "grad.")) continue;
        const std::string name = info.name.substr(5);
        const torch::Tensor ref = file.get(info.name);
        if (!params.contains(name)) {
          report.problems.push_back(info.name + ": the model has no parameter \"" + name + "\"");
          grads.add(info.name, std::numeric_limits<double>::infinity());
          continue;
        }
        const torch::Tensor g = params[name].grad();
        if (!g.defined()) {
          report.problems.push_back(info.name + ": the parameter received no gradient");
          grads.add(info.name, std::numeric_limits<double>::infinity());
          continue;
        }
        if (g.numel() != ref.numel()) {
          report.problems.push_back(fmt::format("{}: shape {} differs from the reference {}", info.name,
                                                shape_str(g.sizes()), shape_str(ref.sizes())));
          grads.add(info.name, std::numeric_limits<double>::infinity());
          continue;
        }
        const double err = max_abs_diff(g, ref);
        grads.add(info.name, global_max > 0 ? err / global_max : err);
      }
      for (const auto& p : params) {
        if (file.contains("grad." + p.key())) continue;
        const torch::Tensor g = p.value().grad();
        if (g.defined() && g.abs().max().item<double>() > 0)
          report.problems.push_back("grad." + p.key() + ": the model computes a gradient the reference does not have");
      }
    }
    model->zero_grad();
    model->eval();
  }
  for (GroupAcc* g : {&outputs, &hidden, &loss, &grads}) finish_group(report, *g);
  if (!report.problems.empty()) report.pass = false;
  return report;
}

ParamComparison compare_final_parameter(const std::string& name, const torch::Tensor& ours,
                                        const torch::Tensor& reference, const TrajectoryResult& result, double atol) {
  ParamComparison c;
  const torch::Tensor diff =
      (ours.detach().to(torch::kCPU, torch::kFloat64).reshape(-1) - reference.to(torch::kFloat64).reshape(-1)).abs();
  if (diff.numel() == 0) return c;
  auto as_flat = [&](const std::map<std::string, torch::Tensor>& m) -> torch::Tensor {
    auto it = m.find(name);
    if (it == m.end() || it->second.numel() != diff.numel()) return {};
    return it->second.detach().to(torch::kCPU, torch::kFloat64).reshape(-1);
  };
  const torch::Tensor rel = as_flat(result.max_relative_gradient);
  const torch::Tensor small = as_flat(result.min_abs_gradient);
  double lr_sum = 0, lr_max = 0;
  for (double lr : result.lr_used_per_step) lr_sum += lr, lr_max = std::max(lr_max, lr);
  torch::Tensor noise = torch::zeros_like(diff, torch::kBool);
  if (rel.defined()) noise = noise | ((rel <= kNearZeroGradient) & (diff <= 2.0 * lr_sum));
  if (small.defined() && result.adam_epsilon > 0)
    noise = noise | ((small < result.adam_epsilon) & (diff <= 2.0 * lr_max));
  c.max_error = torch::where(noise, torch::zeros_like(diff), diff).max().item<double>();
  const torch::Tensor excused = (noise & (diff > atol)).nonzero().reshape(-1);
  c.noise_elements = excused.numel();
  if (c.noise_elements == 0) return c;
  const torch::Tensor o = ours.detach().to(torch::kCPU, torch::kFloat64).reshape(-1);
  const torch::Tensor r = reference.to(torch::kFloat64).reshape(-1);
  c.message = fmt::format(
      "final.{}: {} element(s) excused as Adam noise (a gradient within rounding of zero, or below eps={:g} at a "
      "step that moved it):",
      name, c.noise_elements, result.adam_epsilon);
  for (int64_t k = 0; k < std::min<int64_t>(c.noise_elements, 5); ++k) {
    const int64_t i = excused[k].item<int64_t>();
    c.message += fmt::format(" [{}] ours {:.8g}, reference {:.8g} (|diff| {:.3g}), max |grad|/norm {:.3g}, min |grad| {:.3g};",
                             i, o[i].item<double>(), r[i].item<double>(), diff[i].item<double>(),
                             rel.defined() ? rel[i].item<double>() : -1.0, small.defined() ? small[i].item<double>() : -1.0);
  }
  return c;
}

VerifyReport verify(const VerifyOptions& options) {
  if (options.model_dir.empty()) throw UsageError("verify needs a model directory");
  if (options.golden.empty()) throw UsageError("verify needs a golden file");
  if (!options.trajectory.empty() && !options.run_trajectory)
    throw UsageError("--trajectory is not available yet: it needs the training layer's optimizer and schedule, "
                     "which this build does not provide");
  PreTrainedModel model = load_pretrained(options.model_dir);
  VerifyReport report = verify_model(model, options.golden, options);
  report.model_dir = options.model_dir;
  if (options.trajectory.empty()) return report;

  namespace fs = std::filesystem;
  std::string traj = options.trajectory;
  if (fs::is_directory(traj)) traj += "/trajectory.safetensors";
  const std::string golden_json_path = (fs::path(traj).parent_path() / "golden.json").string();
  const core::Json golden_json = core::read_json_file(golden_json_path);
  if (!golden_json.contains("trajectory") || !golden_json["trajectory"].is_object())
    throw DataError(golden_json_path + ": no \"trajectory\" object");
  const core::Json& spec = golden_json["trajectory"];
  const auto final_file = core::SafetensorsFile::open(traj);

  PreTrainedModel fresh = load_pretrained(options.model_dir);
  ModelInputs batch = read_golden_inputs(options.golden);
  fresh->train();
  const TrajectoryResult result = options.run_trajectory(fresh, batch, spec);

  GroupAcc steps("trajectory_loss", "max_abs_error", options.trajectory_atol);
  const auto ref_losses = spec.value("loss_per_step", std::vector<double>{});
  if (result.loss_per_step.size() != ref_losses.size())
    report.problems.push_back(fmt::format("the trajectory ran {} steps, the reference {}", result.loss_per_step.size(),
                                          ref_losses.size()));
  for (size_t i = 0; i < ref_losses.size() && i < result.loss_per_step.size(); ++i)
    steps.add(fmt::format("loss_per_step[{}]", i), std::abs(result.loss_per_step[i] - ref_losses[i]));

  GroupAcc lrs("trajectory_lr", "max_abs_error", 1e-12);
  const auto ref_lrs = spec.value("lr_used_per_step", std::vector<double>{});
  for (size_t i = 0; i < ref_lrs.size() && i < result.lr_used_per_step.size(); ++i)
    lrs.add(fmt::format("lr_used_per_step[{}]", i), std::abs(result.lr_used_per_step[i] - ref_lrs[i]));

  GroupAcc norms("trajectory_grad_norm", "max_rel_error", options.grad_rtol);
  const auto ref_norms = spec.value("grad_norm_per_step", std::vector<double>{});
  for (size_t i = 0; i < ref_norms.size() && i < result.grad_norm_per_step.size(); ++i)
    norms.add(fmt::format("grad_norm_per_step[{}]", i),
              std::abs(result.grad_norm_per_step[i] - ref_norms[i]) / std::max(std::abs(ref_norms[i]), 1e-30));

  GroupAcc params("trajectory_params", "max_abs_error", options.trajectory_atol);
  auto named = fresh->named_parameters(true);
  for (const auto& info : final_file.tensors()) {
    if (!starts_with(info.name, "final.")) continue;
    const std::string name = info.name.substr(6);
    if (!named.contains(name)) {
      report.problems.push_back(info.name + ": the model has no parameter \"" + name + "\"");
      params.add(info.name, std::numeric_limits<double>::infinity());
      continue;
    }
    const torch::Tensor ref = final_file.get(info.name);
    if (named[name].numel() != ref.numel()) {
      compare_output(params, info.name, named[name], ref, report);  // reports the shapes
      continue;
    }
    const ParamComparison c = compare_final_parameter(name, named[name], ref, result, options.trajectory_atol);
    if (c.noise_elements) report.notes.push_back(c.message);
    params.add(info.name, c.max_error);
  }
  // grad_norm_per_step is reported but does not decide the verdict: the fixture README's trajectory
  // tolerances are loss_per_step and final.PARAM (1e-5); a norm over a batch whose gradients cancel
  // (ModernBERT's fixture) moves by 3e-4 relative under one-ulp changes of the weights.
  norms.g.informational = true;
  for (GroupAcc* g : {&steps, &lrs, &norms, &params}) finish_group(report, *g);
  if (!report.problems.empty()) report.pass = false;
  return report;
}

}  // namespace textune::models
