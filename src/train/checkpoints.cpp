// Checkpoints and output directories: checkpoint-N/ save, save_total_limit rotation, load and
// exact resume, the run directories of --overwrite_output_dir, the final save. See
// include/textune/train/trainer.h and src/train/trainer_impl.h.
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <regex>

#include <fmt/format.h>

#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/logging.h"
#include "textune/core/safetensors.h"
#include "textune/tasks/registry.h"
#include "trainer_impl.h"

namespace fs = std::filesystem;

namespace textune::train {
namespace {

// Named parameters once each (tied tensors under their first name).
std::vector<std::pair<std::string, torch::Tensor>> unique_parameters(torch::nn::Module& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  std::unordered_set<const void*> seen;
  for (const auto& item : m.named_parameters(true))
    if (seen.insert(item.value().unsafeGetTensorImpl()).second) out.emplace_back(item.key(), item.value());
  return out;
}

int64_t checkpoint_step(const std::string& name) {
  static const std::regex kRe(R"(checkpoint-(\d+))");
  std::smatch m;
  if (std::regex_match(name, m, kRe)) return std::stoll(m[1]);
  return -1;
}

std::vector<std::string> sorted_checkpoints(const std::string& output_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory(output_dir, ec)) return {};
  for (const auto& e : fs::directory_iterator(output_dir)) {
    if (!e.is_directory()) continue;
    const int64_t s = checkpoint_step(e.path().filename().string());
    if (s >= 0) found.emplace_back(s, e.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

bool same_dir(const std::string& a, const std::string& b) {
  return fs::path(a).filename() == fs::path(b).filename();
}

core::Json nullable(const std::optional<double>& v) {
  return v ? core::Json(*v) : core::Json(nullptr);
}

// A staged run directory holds this marker naming the directory itself: after the final swap the
// previous run sits under the run directory's name, and must not be taken for a run to resume.
constexpr const char* kRunMarker = ".textune_run.json";

bool is_live_run_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_regular_file(dir + "/" + kRunMarker, ec)) return false;
  try {
    return core::read_json_file(dir + "/" + kRunMarker).value("run_dir", "") == fs::path(dir).filename().string();
  } catch (const std::exception&) {
    return false;
  }
}

// Hidden sibling directories ".NAME.run-XXXXXXXX" of `out_dir`, newest first: interrupted
// --overwrite_output_dir runs (is_live_run_dir), or a previous run left by a kill after the swap.
std::vector<std::string> run_named_dirs(const std::string& out_dir) {
  const fs::path p(out_dir);
  const std::string prefix = "." + p.filename().string() + ".run-";
  const fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
  std::vector<std::pair<fs::file_time_type, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory(parent, ec)) return {};
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() == prefix.size() + 8 && n.compare(0, prefix.size(), prefix) == 0 && e.is_directory(ec))
      found.emplace_back(fs::last_write_time(e.path(), ec), e.path().string());
  }
  std::sort(found.begin(), found.end(), std::greater<>());
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(f.second);
  return out;
}

std::vector<std::string> run_dirs(const std::string& out_dir) {
  std::vector<std::string> out;
  for (auto& d : run_named_dirs(out_dir))
    if (is_live_run_dir(d)) out.push_back(d);
  return out;
}

// Whether `name` is a leftover of an interrupted atomic write (".X.incomplete-XXXXXXXX" and the like),
// never carried into a final directory.
bool is_interrupted_leftover(const std::string& name) {
  if (name == kRunMarker) return true;
  static const std::regex kRe(R"(\..+\.(incomplete|old|tmp|run)-[0-9a-f]{8})");
  return std::regex_match(name, kRe);
}

// The first parameter with a NaN or infinite element, if any.
std::optional<std::string> first_nonfinite_parameter(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (const auto& item : m.named_parameters(true))
    if (!torch::isfinite(item.value()).all().item<bool>()) return item.key();
  return std::nullopt;
}

}  // namespace

std::optional<std::string> find_resume_checkpoint(const std::string& output_dir) {
  const std::string out = core::resolve_output_path(output_dir);
  for (const auto& run : run_dirs(out))
    if (auto c = last_checkpoint(run)) return c;
  return last_checkpoint(out);
}

std::optional<std::string> last_checkpoint(const std::string& output_dir) {
  auto all = sorted_checkpoints(output_dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

core::Json Trainer::Impl::trainer_state(bool training_stop) const {
  core::Json s = core::Json::object();
  s["best_global_step"] = state.best_global_step ? core::Json(*state.best_global_step) : core::Json(nullptr);
  s["best_metric"] = nullable(state.best_metric);
  s["best_model_checkpoint"] =
      state.best_model_checkpoint ? core::Json(*state.best_model_checkpoint) : core::Json(nullptr);
  s["epoch"] = state.epoch;
  s["eval_steps"] = args.eval_steps > 0 ? args.eval_steps : args.logging_steps;
  s["global_step"] = state.global_step;
  s["is_hyper_param_search"] = false;
  s["is_local_process_zero"] = true;
  s["is_world_process_zero"] = true;
  s["log_history"] = state.log_history;
  s["logging_steps"] = args.logging_steps;
  s["max_steps"] = state.max_steps;
  s["num_input_tokens_seen"] = 0;
  s["num_train_epochs"] = state.num_train_epochs;
  s["save_steps"] = args.save_steps;
  core::Json callbacks = core::Json::object();
  if (args.early_stopping_patience) {
    callbacks["EarlyStoppingCallback"] = {
        {"args",
         {{"early_stopping_patience", *args.early_stopping_patience},
          {"early_stopping_threshold", args.early_stopping_threshold}}},
        {"attributes", {{"early_stopping_patience_counter", state.patience_counter}}}};
  }
  callbacks["TrainerControl"] = {{"args",
                                  {{"should_epoch_stop", false},
                                   {"should_evaluate", false},
                                   {"should_log", false},
                                   {"should_save", true},
                                   {"should_training_stop", training_stop}}},
                                 {"attributes", core::Json::object()}};
  s["stateful_callbacks"] = callbacks;
  s["total_flos"] = 0;
  s["train_batch_size"] = args.per_device_train_batch_size;
  s["trial_name"] = nullptr;
  s["trial_params"] = nullptr;
  return s;
}

void Trainer::Impl::save_model_files(const std::string& staging) {
  models::save_pretrained_into(model, staging);
  if (!tokenizer_dir.empty()) tokenizers::copy_tokenizer_files(tokenizer_dir, staging);
  tasks::save_task(*task, staging);
}

void Trainer::Impl::save_checkpoint(const RunState& run, bool training_stop) {
  const AdamW& optimizer = *run.optimizer;
  const LrSchedule& schedule = *run.schedule;
  const data::BatchSampler& sampler = *run.sampler;
  const std::string path = fmt::format("{}/checkpoint-{}", work_dir, state.global_step);
  check_finite_weights(fmt::format("checkpoint-{}", state.global_step));
  {
    core::AtomicDirectory dir(path, "checkpoint");
    save_model_files(dir.staging_path());
    core::save_safetensors(dir.file("optimizer.safetensors"), optimizer.state_tensors());
    core::Json sched = {{"lr_scheduler_type", scheduler_type_name(schedule.type())},
                        {"base_lr", args.learning_rate},
                        {"num_warmup_steps", schedule.warmup_steps()},
                        {"num_training_steps", schedule.total_steps()},
                        {"last_epoch", state.global_step}};
    core::write_json_file(dir.file("scheduler.json"), sched);
    auto gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor rng;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      rng = gen.get_state();
    }
    core::save_safetensors(dir.file("rng_state.safetensors"), {{"cpu", rng}});
    core::write_json_file(dir.file("data_order.json"), sampler.state().to_json());
    core::write_json_file(dir.file("trainer_state.json"), trainer_state(training_stop));
    core::write_json_file(dir.file("training_args.json"), args.to_json());
    core::kill_point("checkpoint:written");
    dir.commit();
  }
  core::kill_point("checkpoint:committed");
  rotate_checkpoints();
}

// transformers' _rotate_checkpoints: keep the newest save_total_limit, never the best.
void Trainer::Impl::rotate_checkpoints() {
  if (!args.save_total_limit) return;
  std::vector<std::string> ckpts = sorted_checkpoints(work_dir);
  int64_t limit = *args.save_total_limit;
  if (state.best_model_checkpoint) {
    auto it = std::find_if(ckpts.begin(), ckpts.end(),
                           [&](const std::string& p) { return same_dir(p, *state.best_model_checkpoint); });
    if (it != ckpts.end()) {
      // move the best to the second-to-last position
      for (size_t i = static_cast<size_t>(it - ckpts.begin()); i + 2 < ckpts.size(); ++i)
        std::swap(ckpts[i], ckpts[i + 1]);
      if (limit == 1 && !same_dir(ckpts.back(), *state.best_model_checkpoint)) limit = 2;
    }
  }
  const int64_t n_delete = std::max<int64_t>(0, static_cast<int64_t>(ckpts.size()) - limit);
  for (int64_t i = 0; i < n_delete; ++i) {
    spdlog::info("Deleting older checkpoint [{}] due to save_total_limit", ckpts[i]);
    fs::remove_all(ckpts[i]);
  }
}

void Trainer::Impl::load_checkpoint(const std::string& path, RunState& run) {
  AdamW& optimizer = *run.optimizer;
  data::BatchSampler& sampler = *run.sampler;
  if (!fs::is_directory(path)) throw DataError(path + " is not a checkpoint directory");
  {
    torch::NoGradGuard no_grad;
    core::CheckpointWeights w = core::CheckpointWeights::open(path);
    for (auto& [name, t] : unique_parameters(*model)) {
      if (!w.contains(name)) throw DataError(path + ": model.safetensors has no tensor " + name);
      torch::Tensor src = w.get(name);
      if (src.sizes() != t.sizes()) throw DataError(path + ": tensor " + name + " has the wrong shape");
      t.copy_(src);
    }
  }
  const std::string opt_path = path + "/optimizer.safetensors";
  if (!fs::exists(opt_path)) throw DataError(path + " has no optimizer.safetensors (not a checkpoint-N directory)");
  optimizer.load_state_tensors(core::SafetensorsFile::open(opt_path).all(), opt_path);
  const core::Json saved = core::read_json_file(path + "/trainer_state.json");
  state.global_step = saved.at("global_step").get<int64_t>();
  state.epoch = saved.at("epoch").get<double>();
  state.log_history = saved.at("log_history");
  state.best_metric =
      saved.at("best_metric").is_null() ? std::nullopt : std::optional<double>(saved["best_metric"].get<double>());
  state.best_global_step = saved.value("best_global_step", core::Json(nullptr)).is_null()
                               ? std::nullopt
                               : std::optional<int64_t>(saved["best_global_step"].get<int64_t>());
  state.best_model_checkpoint = saved.at("best_model_checkpoint").is_null()
                                    ? std::nullopt
                                    : std::optional<std::string>(saved["best_model_checkpoint"].get<std::string>());
  const auto& cb = saved.value("stateful_callbacks", core::Json::object());
  if (cb.contains("EarlyStoppingCallback"))
    state.patience_counter = cb["EarlyStoppingCallback"]["attributes"].value("early_stopping_patience_counter", 0);
  auto order = data::DataOrderState::from_json(core::read_json_file(path + "/data_order.json"));
  sampler.set_state(order);
  auto rng = core::SafetensorsFile::open(path + "/rng_state.safetensors").get("cpu").clone();
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(rng);
}

void Trainer::Impl::load_best_model(const std::string& best_dir) {
  torch::NoGradGuard no_grad;
  core::CheckpointWeights w = core::CheckpointWeights::open(best_dir);
  for (auto& [name, t] : unique_parameters(*model)) t.copy_(w.get(name));
}

// Refuses weights with a NaN or infinite element: such a model is never saved.
void Trainer::Impl::check_finite_weights(const std::string& what) {
  if (auto name = first_nonfinite_parameter(*model)) {
    if (log_file.is_open()) log_file.close();
    const auto good = last_checkpoint(work_dir);
    throw DataError(fmt::format(
        "training diverged: after step {} the weights are not finite (tensor {} holds NaN or infinity), so {} was "
        "not written to {}; {} (try a lower --learning_rate or more --warmup_steps)",
        state.global_step, *name, what, args.output_dir,
        good ? "the last good checkpoint is " + *good : std::string("no checkpoint had been saved")));
  }
}

// Where this run writes (out_dir, work_dir), and the leftovers of interrupted runs cleaned first.
void Trainer::Impl::prepare_directories(const std::optional<std::string>& resume) {
  std::error_code ec;
  out_dir = core::resolve_output_path(args.output_dir);
  if (out_dir != args.output_dir && fs::is_symlink(args.output_dir, ec))
    spdlog::info("{} is a symbolic link: writing through it into {}", args.output_dir, out_dir);
  if (fs::exists(out_dir, ec) && !fs::is_directory(out_dir, ec))
    throw DataError("output " + args.output_dir + " exists and is not a directory");
  for (const auto& p : core::remove_interrupted_leftovers(out_dir))
    spdlog::warn("removed {}, left by an interrupted save (the output directory was not affected)", p);
  // A resumed checkpoint inside a run directory continues that run there.
  std::optional<std::string> resume_run;
  if (resume) {
    const std::string parent = fs::path(core::resolve_output_path(*resume)).parent_path().string();
    for (const auto& r : run_dirs(out_dir))
      if (fs::equivalent(r, parent, ec)) resume_run = r;
  }
  for (const auto& r : run_named_dirs(out_dir)) {
    if (resume_run && r == *resume_run) continue;
    if (!is_live_run_dir(r)) {
      fs::remove_all(r, ec);
      spdlog::warn("removed {}, the previous run that an interrupted save had already replaced", r);
      continue;
    }
    if (resume) {
      spdlog::warn("{} holds an interrupted --overwrite_output_dir run, left as it is (resume it with --resume {})", r,
                   last_checkpoint(r).value_or(r));
      continue;
    }
    fs::remove_all(r, ec);
    spdlog::warn("removed {}, an interrupted --overwrite_output_dir run replaced by this one", r);
  }
  if (resume_run) {
    for (const auto& p : core::remove_interrupted_leftovers(*resume_run))
      spdlog::warn("removed {}, left by an interrupted save", p);
    work_dir = *resume_run;
    staged_run = true;
    spdlog::info("continuing the interrupted run in {}: it replaces {} when it ends", work_dir, args.output_dir);
    return;
  }
  work_dir = out_dir;
  staged_run = false;
  if (!resume && fs::is_directory(out_dir, ec) && !fs::is_empty(out_dir, ec)) {
    if (!args.overwrite_output_dir)
      throw DataError("output directory " + args.output_dir +
                      " exists and is not empty: use --overwrite_output_dir to replace it, or --resume to continue");
    // The previous run stays whole in out_dir until this one has finished.
    work_dir = core::make_hidden_sibling_dir(out_dir, "run");
    core::write_file_atomic(
        work_dir + "/" + kRunMarker,
        core::Json({{"run_dir", fs::path(work_dir).filename().string()}, {"output_dir", args.output_dir}}).dump());
    staged_run = true;
    spdlog::info("{} keeps its previous run until this one ends; checkpoints go to {} meanwhile", args.output_dir,
                 work_dir);
    return;
  }
  fs::create_directories(out_dir, ec);
  if (ec) throw DataError("cannot create output directory " + args.output_dir + ": " + ec.message());
}

// with it in one rename (core::replace_directory): a kill at any instant leaves out_dir as it was
// before the save (the run's checkpoints and log, or the complete previous run) or the complete
// new run. In place, the staging directory gets the model, the trainer's records, hard links to
// the checkpoints and the log (nothing is moved out of out_dir) and the caller's FinalRecords; a
// staged run (--overwrite_output_dir) is its own staging directory. Files that an earlier run left
// in out_dir and this run writes anew, FinalRecords names included, are not carried over, nor
// leftovers of interrupted writes.
void Trainer::Impl::save_final(const TrainOutput& result) {
  check_finite_weights("the final model");
  const auto& stale = final_records.names;
  if (staged_run) {
    std::error_code ec;
    for (const auto& n : stale) fs::remove_all(fs::path(work_dir) / n, ec);
    save_model_files(work_dir);
    core::write_json_file(work_dir + "/trainer_state.json", trainer_state(true));
    core::write_json_file(work_dir + "/training_args.json", args.to_json());
    core::kill_point("final:model");
    core::kill_point("final:linked");
    if (final_records.write) final_records.write(work_dir, result);
    core::kill_point("final:records");
    core::replace_directory(work_dir, out_dir, "final");
    fs::remove(out_dir + "/" + kRunMarker, ec);
    core::kill_point("final:done");
    return;
  }
  core::AtomicDirectory dir(out_dir, "final");
  save_model_files(dir.staging_path());
  core::write_json_file(dir.file("trainer_state.json"), trainer_state(true));
  core::write_json_file(dir.file("training_args.json"), args.to_json());
  core::kill_point("final:model");
  for (const auto& e : fs::directory_iterator(out_dir)) {
    const std::string name = e.path().filename().string();
    const fs::path target = fs::path(dir.staging_path()) / name;
    if (fs::exists(target) || std::find(stale.begin(), stale.end(), name) != stale.end() ||
        is_interrupted_leftover(name))
      continue;
    core::link_or_copy_tree(e.path().string(), target.string());
  }
  core::kill_point("final:linked");
  if (final_records.write) final_records.write(dir.staging_path(), result);
  core::kill_point("final:records");
  dir.commit();
  core::kill_point("final:done");
}

}  // namespace textune::train
