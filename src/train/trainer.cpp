// The training loop. See include/textune/train/trainer.h.
#include "textune/train/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>

#include <fmt/format.h>

#include "textune/core/device.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/logging.h"
#include "textune/core/safetensors.h"
#include "textune/train/optimizer.h"
#include "textune/train/schedule.h"

namespace fs = std::filesystem;

namespace textune::train {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// bf16 autocast for the forward pass on CUDA (transformers' --bf16); a no-op elsewhere.
class AutocastGuard {
 public:
  explicit AutocastGuard(bool enable) : enabled_(enable) {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR >= 2
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
#else
    at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
    at::autocast::set_enabled(true);
#endif
  }
  ~AutocastGuard() {
    if (!enabled_) return;
#if TORCH_VERSION_MAJOR >= 2
    at::autocast::set_autocast_enabled(at::kCUDA, false);
#else
    at::autocast::set_enabled(false);
#endif
    at::autocast::clear_cache();
  }

 private:
  bool enabled_;
};

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

core::Json nullable(const std::optional<double>& v) { return v ? core::Json(*v) : core::Json(nullptr); }

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

double nan_inf_filtered_sum(double window_sum, double value, int64_t steps_in_window, bool filter) {
  if (filter && !std::isfinite(value)) return window_sum + window_sum / static_cast<double>(1 + steps_in_window);
  return window_sum + value;
}

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

models::ModelInputs to_model_inputs(const data::Batch& batch, const models::PreTrainedModel& model,
                                    const torch::Device& device) {
  models::ModelInputs in;
  in.input_ids = batch.input_ids.to(device);
  in.attention_mask = batch.attention_mask.to(device);
  if (batch.token_type_ids.defined()) in.token_type_ids = batch.token_type_ids.to(device);
  if (batch.labels.defined()) in.labels = batch.labels.to(device);
  return in;
}

torch::Tensor predict_logits(models::PreTrainedModel model, const std::vector<tokenizers::Encoding>& encodings,
                             size_t batch_size, const data::CollateOptions& collate, const data::Dataset* dataset,
                             double* loss) {
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const torch::Device device = model->parameters().empty() ? torch::Device(torch::kCPU)
                                                          : model->parameters().front().device();
  std::vector<size_t> order(encodings.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return encodings[a].size() > encodings[b].size(); });
  torch::Tensor logits;
  double loss_sum = 0;
  size_t loss_n = 0;
  for (size_t start = 0; start < order.size(); start += batch_size) {
    std::vector<size_t> idx(order.begin() + start, order.begin() + std::min(order.size(), start + batch_size));
    data::Batch b = data::collate(encodings, idx, (dataset && dataset->has_labels()) ? dataset : nullptr, collate);
    models::ModelInputs in = to_model_inputs(b, model, device);
    if (!loss) in.labels = torch::Tensor();
    models::ModelOutputs out = model->forward(in);
    torch::Tensor l = out.logits.to(torch::kCPU, torch::kFloat32);  // (b, C)
    if (!logits.defined()) logits = torch::empty({static_cast<int64_t>(encodings.size()), l.size(1)}, torch::kFloat32);
    logits.index_copy_(0, torch::tensor(std::vector<int64_t>(idx.begin(), idx.end()), torch::kInt64), l);
    if (loss && out.loss.defined()) {
      loss_sum += out.loss.item<double>() * static_cast<double>(idx.size());
      loss_n += idx.size();
    }
  }
  if (loss) *loss = loss_n ? loss_sum / static_cast<double>(loss_n) : std::nan("");
  if (was_training) model->train();
  if (!logits.defined()) logits = torch::empty({0, 0}, torch::kFloat32);
  return logits;
}

torch::Tensor class_weights_for(const std::string& spec, const data::Dataset& train) {
  if (spec.empty()) return {};
  if (train.task != data::Task::kClassification)
    throw UsageError("--class-weights applies to single-label classification only");
  const size_t c = train.label_map.size();
  std::vector<double> w(c, 0.0);
  if (spec == "auto") {
    const auto counts = train.label_counts();
    const double n = static_cast<double>(train.size());
    for (size_t k = 0; k < c; ++k) {
      if (counts[k] == 0)
        throw DataError("--class-weights auto: label \"" + train.label_map.label(k) + "\" has no training example");
      w[k] = n / (static_cast<double>(c) * static_cast<double>(counts[k]));
    }
  } else {
    const core::Json j = core::read_json_file(spec);
    if (j.is_array()) {
      if (j.size() != c)
        throw DataError(fmt::format("{}: {} class weights for {} labels (expected one per label, in id order)", spec,
                                    j.size(), c));
      for (size_t k = 0; k < c; ++k) {
        if (!j[k].is_number()) throw DataError(fmt::format("{}: weight {} is not a number", spec, k));
        w[k] = j[k].get<double>();
      }
    } else if (j.is_object()) {
      std::vector<bool> seen(c, false);
      for (auto it = j.begin(); it != j.end(); ++it) {
        auto id = train.label_map.id(it.key());
        if (!id) throw DataError(spec + ": label \"" + it.key() + "\" is not a training label");
        if (!it.value().is_number()) throw DataError(spec + ": weight of \"" + it.key() + "\" is not a number");
        w[*id] = it.value().get<double>();
        seen[*id] = true;
      }
      for (size_t k = 0; k < c; ++k)
        if (!seen[k]) throw DataError(spec + ": no weight for label \"" + train.label_map.label(k) + "\"");
    } else {
      throw DataError(spec + ": expected {label: weight} or [w0, w1, ...]");
    }
    for (size_t k = 0; k < c; ++k)
      if (!(w[k] > 0) || !std::isfinite(w[k]))
        throw DataError(fmt::format("{}: weight of \"{}\" must be a positive number", spec, train.label_map.label(k)));
  }
  return torch::tensor(std::vector<float>(w.begin(), w.end()), torch::kFloat32);
}

models::PreTrainedModel load_for_training(const std::string& model_dir, data::Dataset& train, data::Dataset* eval,
                                          uint64_t seed, const std::string& device) {
  if (train.task == data::Task::kClassification) {
    const auto counts = train.label_counts();
    std::vector<size_t> present;
    for (size_t k = 0; k < counts.size(); ++k)
      if (counts[k] > 0) present.push_back(k);
    if (present.size() == 1)
      throw DataError(fmt::format("{}: the training data has only one label (\"{}\"): classification needs at least 2",
                                  train.source, train.label_map.label(static_cast<int64_t>(present[0]))));
  }
  models::LoadOptions lo;
  lo.task = models::TaskKind::kSequenceClassification;
  lo.seed = seed;
  lo.device = core::parse_device(device);
  lo.problem_type = train.task;
  std::vector<std::string> labels = train.task == data::Task::kRegression ? std::vector<std::string>{"LABEL_0"}
                                                                          : train.label_map.labels();
  // Keep a fine-tuned head when it already has exactly these labels (maybe in another order).
  const core::Json cfg = core::read_model_config(model_dir);
  if (train.task != data::Task::kRegression && cfg.contains("id2label")) {
    data::LabelMap existing;
    try {
      existing = data::LabelMap::from_config(cfg);
    } catch (const DataError&) {
    }
    if (!existing.is_placeholder() && existing.size() == labels.size()) {
      std::vector<std::string> a = existing.labels(), b = labels;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a == b && existing.labels() != labels) {
        std::vector<int64_t> remap(labels.size());
        for (size_t k = 0; k < labels.size(); ++k) remap[k] = *existing.id(labels[k]);
        for (data::Dataset* d : {&train, eval}) {
          if (!d) continue;
          for (auto& ex : d->examples) {
            if (ex.label >= 0) ex.label = remap[ex.label];
            for (auto& id : ex.label_ids) id = remap[id];
            std::sort(ex.label_ids.begin(), ex.label_ids.end());
          }
          d->label_map = existing;
        }
        labels = existing.labels();
      }
    }
  }
  lo.labels = labels;
  lo.ignore_mismatched_sizes = true;
  models::LoadReport report;
  return models::load_pretrained(model_dir, lo, &report);
}

// ---------------------------------------------------------------------------------------------

struct Trainer::Impl {
  models::PreTrainedModel model = nullptr;
  std::shared_ptr<const tokenizers::Tokenizer> tokenizer;
  std::string tokenizer_dir;
  data::Dataset train_set;
  std::optional<data::Dataset> eval_set;
  TrainingArguments args;
  StopCallback stop;
  ComputeMetrics compute_metrics;
  FinalRecords final_records;
  torch::Device device{torch::kCPU};
  // Where the run writes: out_dir is output_dir with symbolic links followed; work_dir holds the
  // checkpoints and the log while training: out_dir itself, or, when --overwrite_output_dir replaces a
  // non-empty directory, a hidden sibling run directory that replaces it at the end (staged_run), so
  // that out_dir keeps the complete previous run until then.
  std::string out_dir, work_dir;
  bool staged_run = false;

  std::vector<tokenizers::Encoding> train_enc, eval_enc;
  data::CollateOptions collate;
  torch::Tensor class_weights;

  // state (trainer_state.json)
  int64_t global_step = 0;
  double epoch = 0;
  int64_t max_steps = 0;
  int64_t num_train_epochs = 0;
  core::Json log_history = core::Json::array();
  std::optional<double> best_metric;
  std::optional<int64_t> best_global_step;
  std::optional<std::string> best_model_checkpoint;
  int64_t patience_counter = 0;
  std::ofstream log_file;

  size_t resolve_max_length() const {
    size_t m = args.max_length.value_or(512);
    if (auto model_max = model->max_sequence_length()) {
      if (!args.max_length) m = static_cast<size_t>(*model_max);
      else if (*args.max_length > static_cast<size_t>(*model_max))
        throw UsageError(fmt::format("--max_length {} is longer than the model allows ({})", *args.max_length,
                                     *model_max));
    }
    if (!args.max_length)
      if (auto t = tokenizer->model_max_length()) m = std::min(m, *t);
    return m;
  }

  void write_log(const core::Json& entry) {
    if (log_file.is_open()) {
      log_file << entry.dump() << "\n";
      log_file.flush();
    }
  }

  core::Json trainer_state(bool training_stop) const {
    core::Json s = core::Json::object();
    s["best_global_step"] = best_global_step ? core::Json(*best_global_step) : core::Json(nullptr);
    s["best_metric"] = nullable(best_metric);
    s["best_model_checkpoint"] = best_model_checkpoint ? core::Json(*best_model_checkpoint) : core::Json(nullptr);
    s["epoch"] = epoch;
    s["eval_steps"] = args.eval_steps > 0 ? args.eval_steps : args.logging_steps;
    s["global_step"] = global_step;
    s["is_hyper_param_search"] = false;
    s["is_local_process_zero"] = true;
    s["is_world_process_zero"] = true;
    s["log_history"] = log_history;
    s["logging_steps"] = args.logging_steps;
    s["max_steps"] = max_steps;
    s["num_input_tokens_seen"] = 0;
    s["num_train_epochs"] = num_train_epochs;
    s["save_steps"] = args.save_steps;
    core::Json callbacks = core::Json::object();
    if (args.early_stopping_patience) {
      callbacks["EarlyStoppingCallback"] = {
          {"args",
           {{"early_stopping_patience", *args.early_stopping_patience},
            {"early_stopping_threshold", args.early_stopping_threshold}}},
          {"attributes", {{"early_stopping_patience_counter", patience_counter}}}};
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

  EvalOutput evaluate() {
    if (!eval_set) throw UsageError("no evaluation set: give --eval FILE");
    const auto t0 = Clock::now();
    double loss = 0;
    // The evaluation loss is the training objective (class weights and label smoothing included),
    // as Trainer.prediction_step computes it through compute_loss.
    torch::Tensor logits = predict_logits_with_loss(eval_enc, &*eval_set, &loss);
    EvalOutput out;
    out.logits = logits;
    out.metrics = core::Json::object();
    out.metrics["eval_loss"] = loss;
    if (compute_metrics) {
      core::Json m = compute_metrics(logits, *eval_set);
      for (auto it = m.begin(); it != m.end(); ++it) out.metrics["eval_" + it.key()] = it.value();
    }
    const double rt = seconds_since(t0);
    const double n = static_cast<double>(eval_set->size());
    out.metrics["eval_runtime"] = std::round(rt * 1e4) / 1e4;
    out.metrics["eval_samples_per_second"] = rt > 0 ? std::round(n / rt * 1e3) / 1e3 : 0.0;
    out.metrics["eval_steps_per_second"] =
        rt > 0 ? std::round(std::ceil(n / args.per_device_eval_batch_size) / rt * 1e3) / 1e3 : 0.0;
    return out;
  }

  torch::Tensor predict_logits_with_loss(const std::vector<tokenizers::Encoding>& enc, const data::Dataset* ds,
                                         double* loss) {
    torch::NoGradGuard no_grad;
    const bool was_training = model->is_training();
    model->eval();
    std::vector<size_t> order(enc.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return enc[a].size() > enc[b].size(); });
    torch::Tensor logits;
    double loss_sum = 0;
    const size_t bs = static_cast<size_t>(args.per_device_eval_batch_size);
    for (size_t start = 0; start < order.size(); start += bs) {
      std::vector<size_t> idx(order.begin() + start, order.begin() + std::min(order.size(), start + bs));
      data::Batch b = data::collate(enc, idx, ds, collate);
      models::ModelInputs in = to_model_inputs(b, model, device);
      in.class_weights = class_weights;
      in.label_smoothing = args.label_smoothing_factor;
      models::ModelOutputs out;
      {
        AutocastGuard autocast(args.bf16 && device.is_cuda());
        out = model->forward(in);
      }
      torch::Tensor l = out.logits.to(torch::kCPU, torch::kFloat32);
      if (!logits.defined()) logits = torch::empty({static_cast<int64_t>(enc.size()), l.size(1)}, torch::kFloat32);
      logits.index_copy_(0, torch::tensor(std::vector<int64_t>(idx.begin(), idx.end()), torch::kInt64), l);
      if (out.loss.defined()) loss_sum += out.loss.item<double>() * static_cast<double>(idx.size());
    }
    if (loss) *loss = enc.empty() ? std::nan("") : loss_sum / static_cast<double>(enc.size());
    if (was_training) model->train();
    if (!logits.defined()) logits = torch::empty({0, 0}, torch::kFloat32);
    return logits;
  }

  // ---- checkpoints ----

  void save_model_files(const std::string& staging) {
    models::save_pretrained_into(model, staging);
    if (!tokenizer_dir.empty()) tokenizers::copy_tokenizer_files(tokenizer_dir, staging);
  }

  void save_checkpoint(const AdamW& optimizer, const LrSchedule& schedule, const data::BatchSampler& sampler,
                       bool training_stop) {
    const std::string path = fmt::format("{}/checkpoint-{}", work_dir, global_step);
    check_finite_weights(fmt::format("checkpoint-{}", global_step));
    {
      core::AtomicDirectory dir(path, "checkpoint");
      save_model_files(dir.staging_path());
      core::save_safetensors(dir.file("optimizer.safetensors"), optimizer.state_tensors());
      core::Json sched = {{"lr_scheduler_type", scheduler_type_name(schedule.type())},
                          {"base_lr", args.learning_rate},
                          {"num_warmup_steps", schedule.warmup_steps()},
                          {"num_training_steps", schedule.total_steps()},
                          {"last_epoch", global_step}};
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
  void rotate_checkpoints() {
    if (!args.save_total_limit) return;
    std::vector<std::string> ckpts = sorted_checkpoints(work_dir);
    int64_t limit = *args.save_total_limit;
    if (best_model_checkpoint) {
      auto it = std::find_if(ckpts.begin(), ckpts.end(),
                             [&](const std::string& p) { return same_dir(p, *best_model_checkpoint); });
      if (it != ckpts.end()) {
        // move the best to the second-to-last position
        for (size_t i = static_cast<size_t>(it - ckpts.begin()); i + 2 < ckpts.size(); ++i) std::swap(ckpts[i], ckpts[i + 1]);
        if (limit == 1 && !same_dir(ckpts.back(), *best_model_checkpoint)) limit = 2;
      }
    }
    const int64_t n_delete = std::max<int64_t>(0, static_cast<int64_t>(ckpts.size()) - limit);
    for (int64_t i = 0; i < n_delete; ++i) {
      spdlog::info("Deleting older checkpoint [{}] due to save_total_limit", ckpts[i]);
      fs::remove_all(ckpts[i]);
    }
  }

  void load_checkpoint(const std::string& path, AdamW& optimizer, data::BatchSampler& sampler) {
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
    const core::Json state = core::read_json_file(path + "/trainer_state.json");
    global_step = state.at("global_step").get<int64_t>();
    epoch = state.at("epoch").get<double>();
    log_history = state.at("log_history");
    best_metric = state.at("best_metric").is_null() ? std::nullopt : std::optional<double>(state["best_metric"].get<double>());
    best_global_step = state.value("best_global_step", core::Json(nullptr)).is_null()
                           ? std::nullopt
                           : std::optional<int64_t>(state["best_global_step"].get<int64_t>());
    best_model_checkpoint = state.at("best_model_checkpoint").is_null()
                                ? std::nullopt
                                : std::optional<std::string>(state["best_model_checkpoint"].get<std::string>());
    const auto& cb = state.value("stateful_callbacks", core::Json::object());
    if (cb.contains("EarlyStoppingCallback"))
      patience_counter = cb["EarlyStoppingCallback"]["attributes"].value("early_stopping_patience_counter", 0);
    auto order = data::DataOrderState::from_json(core::read_json_file(path + "/data_order.json"));
    sampler.set_state(order);
    auto rng = core::SafetensorsFile::open(path + "/rng_state.safetensors").get("cpu").clone();
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(rng);
  }

  // ---- the loop ----

  TrainOutput train(const std::optional<std::string>& resume) {
    args.validate();
    TrainOutput result;
    std::error_code ec;
    prepare_directories(resume);

    torch::manual_seed(args.seed);
    model->to(device);
    model->train();
    class_weights = class_weights_for(args.class_weights, train_set);
    if (class_weights.defined()) class_weights = class_weights.to(device);
    if (args.bf16 && !device.is_cuda()) spdlog::warn("--bf16 is for CUDA devices; training on {} in float32", device.str());

    data::SamplerOptions so;
    so.batch_size = static_cast<size_t>(args.per_device_train_batch_size);
    so.shuffle = true;
    so.group_by_length = args.group_by_length;
    so.drop_last = args.dataloader_drop_last;
    so.seed = args.data_seed.value_or(args.seed);
    std::vector<size_t> lengths(train_enc.size());
    for (size_t i = 0; i < train_enc.size(); ++i) lengths[i] = train_enc[i].size();
    data::BatchSampler sampler(lengths, so);
    const int64_t num_batches = static_cast<int64_t>(sampler.num_batches());
    if (num_batches == 0) throw DataError("the training set gives no batch");
    const int64_t ga = args.gradient_accumulation_steps;
    const int64_t steps_per_epoch = std::max<int64_t>(1, (num_batches + ga - 1) / ga);
    max_steps = args.max_steps > 0 ? args.max_steps
                                   : static_cast<int64_t>(std::ceil(args.num_train_epochs * steps_per_epoch));
    num_train_epochs = args.max_steps > 0 ? (max_steps + steps_per_epoch - 1) / steps_per_epoch
                                          : static_cast<int64_t>(std::ceil(args.num_train_epochs));
    const int64_t warmup = num_warmup_steps(max_steps, args.warmup_ratio, args.warmup_steps);
    const LrSchedule schedule(parse_scheduler_type(args.lr_scheduler_type), args.learning_rate, warmup, max_steps);
    AdamWOptions ao;
    ao.lr = args.learning_rate;
    ao.beta1 = args.adam_beta1;
    ao.beta2 = args.adam_beta2;
    ao.eps = args.adam_epsilon;
    ao.weight_decay = args.weight_decay;
    AdamW optimizer(model_parameters(*model, model->decay_parameter_names()), ao);
    optimizer.zero_grad();

    std::vector<core::Json> kept_log;
    if (resume) {
      load_checkpoint(*resume, optimizer, sampler);
      spdlog::info("Resuming from {} at step {}", *resume, global_step);
      // keep the log lines up to the checkpoint
      std::ifstream in(work_dir + "/training_log.jsonl");
      std::string line;
      while (std::getline(in, line)) {
        if (line.empty()) continue;
        try {
          core::Json j = core::Json::parse(line);
          if (j.value("step", int64_t{0}) <= global_step) kept_log.push_back(j);
        } catch (const std::exception&) {
        }
      }
    }
    {
      std::string text;
      for (const auto& j : kept_log) text += j.dump() + "\n";
      core::write_file_atomic(work_dir + "/training_log.jsonl", text);  // a kill here keeps the old log
    }
    log_file.open(work_dir + "/training_log.jsonl", std::ios::app);

    const int64_t eval_every = args.eval_steps > 0 ? args.eval_steps : args.logging_steps;
    const std::string best_key = args.best_metric_key();
    const bool greater = args.best_metric_greater_is_better();
    if (args.eval_strategy != "no" && !eval_set)
      throw UsageError("--eval_strategy " + args.eval_strategy + " needs an evaluation file (--eval FILE)");

    auto plural = [](int64_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); };
    spdlog::info("Training: {}, {}, {} ({} per epoch), batch {} x {} accumulation, lr {}",
                 plural(static_cast<int64_t>(train_set.size()), "example"), plural(num_train_epochs, "epoch"),
                 plural(max_steps, "step"), steps_per_epoch, args.per_device_train_batch_size, ga, args.learning_rate);
    core::ProgressOptions po;
    po.unit = "it";
    std::unique_ptr<core::ProgressBar> bar;
    if (!args.disable_tqdm) {
      bar = std::make_unique<core::ProgressBar>("train", max_steps, po);
      bar->set(global_step);
    }
    const auto t_start = Clock::now();
    const int64_t first_step = global_step;
    double logging_loss_sum = 0;
    int64_t logging_count = 0;
    core::Json last_eval;
    int64_t last_eval_step = -1;
    bool stop_training = false;

    while (global_step < max_steps && !stop_training) {
      // one optimizer step over up to `ga` micro-batches, ending early at the end of an epoch
      std::vector<std::vector<size_t>> window;
      while (static_cast<int64_t>(window.size()) < ga) {
        if (sampler.state().position >= num_batches) break;
        auto b = sampler.next();
        if (!b) break;
        window.push_back(std::move(*b));
      }
      if (window.empty()) {  // epoch boundary reached without a step: move on
        sampler.set_state({sampler.state().epoch + 1, 0, sampler.state().seed});
        continue;
      }
      double step_loss = 0;
      bool finite_loss = true;
      for (const auto& idx : window) {
        data::Batch b = data::collate(train_enc, idx, &train_set, collate);
        models::ModelInputs in = to_model_inputs(b, model, device);
        in.class_weights = class_weights;
        in.label_smoothing = args.label_smoothing_factor;
        models::ModelOutputs out;
        {
          AutocastGuard autocast(args.bf16 && device.is_cuda());
          out = model->forward(in);
        }
        torch::Tensor loss = out.loss;
        if (window.size() > 1) loss = loss / static_cast<double>(window.size());
        loss.backward();
        const double value = loss.item<double>();
        step_loss += value;
        if (!std::isfinite(value)) finite_loss = false;
        logging_loss_sum = nan_inf_filtered_sum(logging_loss_sum, value, logging_count, args.logging_nan_inf_filter);
      }
      const double grad_norm = clip_grad_norm(optimizer.params(), args.max_grad_norm);
      const double lr = schedule.lr(global_step);
      if (args.halt_on_nonfinite && (!finite_loss || !std::isfinite(grad_norm))) {
        log_file.close();
        if (bar) bar->finish();
        const auto good = last_checkpoint(work_dir);
        throw DataError(fmt::format(
            "training diverged at step {} (epoch {:.2f}, learning rate {:g}): the {} is {}; stopped before applying "
            "it, no final model written to {}; {} (try a lower --learning_rate or more --warmup_steps)",
            global_step + 1, epoch, lr, finite_loss ? "gradient norm" : "loss",
            std::isnan(finite_loss ? grad_norm : step_loss) ? std::string("NaN")
                                                            : fmt::format("{:g}", finite_loss ? grad_norm : step_loss),
            args.output_dir,
            good ? "the last good checkpoint is " + *good : std::string("no checkpoint had been saved")));
      }
      optimizer.step(lr);
      optimizer.zero_grad();
      global_step += 1;
      const auto& st = sampler.state();
      const bool epoch_end = st.position >= num_batches;
      epoch = static_cast<double>(st.epoch) + static_cast<double>(st.position) / static_cast<double>(num_batches);
      if (epoch_end) sampler.set_state({st.epoch + 1, 0, st.seed});
      result.step_losses.push_back(step_loss);
      logging_count += 1;

      write_log({{"step", global_step},
                 {"epoch", epoch},
                 {"loss", step_loss},
                 {"learning_rate", lr},
                 {"grad_norm", grad_norm},
                 {"elapsed_seconds", seconds_since(t_start)}});
      if (bar) {
        bar->set_metrics({{"loss", step_loss}, {"lr", lr}});
        bar->set(global_step);
      }
      if (global_step % args.logging_steps == 0) {
        log_history.push_back({{"epoch", epoch},
                               {"grad_norm", grad_norm},
                               {"learning_rate", lr},
                               {"loss", logging_loss_sum / static_cast<double>(logging_count)},
                               {"step", global_step}});
        logging_loss_sum = 0;
        logging_count = 0;
      }

      const bool last = global_step >= max_steps;
      const bool do_eval = eval_set && ((args.eval_strategy == "steps" && global_step % eval_every == 0) ||
                                        (args.eval_strategy == "epoch" && epoch_end));
      bool new_best = false;
      if (do_eval) {
        EvalOutput ev = evaluate();
        core::Json entry = ev.metrics;
        entry["epoch"] = epoch;
        entry["step"] = global_step;
        log_history.push_back(entry);
        write_log(entry);
        last_eval = ev.metrics;
        last_eval_step = global_step;
        if (!ev.metrics.contains(best_key) || !ev.metrics[best_key].is_number())
          throw UsageError("--metric_for_best_model: the evaluation has no metric \"" + best_key + "\"");
        const double value = ev.metrics[best_key].get<double>();
        // EarlyStoppingCallback.check_metric_value runs (in on_evaluate) before the best metric is
        // updated: better than the best so far by more than the threshold resets the patience.
        if (args.early_stopping_patience) {
          const bool improved = !best_metric || ((greater ? value > *best_metric : value < *best_metric) &&
                                                 std::abs(value - *best_metric) > args.early_stopping_threshold);
          patience_counter = improved ? 0 : patience_counter + 1;
          if (patience_counter >= *args.early_stopping_patience) {
            spdlog::info("Early stopping at step {}: {} did not improve for {} evaluations", global_step, best_key,
                         patience_counter);
            stop_training = true;
            result.stopped_early = true;
          }
        }
        // transformers' _determine_best_metric: strictly better than the best so far
        if (!best_metric || (greater ? value > *best_metric : value < *best_metric)) {
          new_best = true;
          best_metric = value;
          best_global_step = global_step;
        }
        spdlog::info("step {}: {} = {:.4f}{}", global_step, best_key, value, new_best ? " (best)" : "");
      }
      if (stop && stop(global_step)) stop_training = true;
      const bool do_save = (args.save_strategy == "steps" && global_step % args.save_steps == 0) ||
                           (args.save_strategy == "epoch" && epoch_end);
      if (new_best && do_save) best_model_checkpoint = fmt::format("{}/checkpoint-{}", args.output_dir, global_step);
      if (do_save) save_checkpoint(optimizer, schedule, sampler, last || stop_training);
    }
    if (bar) bar->finish();
    log_file.close();

    const double runtime = seconds_since(t_start);
    const int64_t steps_run = global_step - first_step;
    result.global_step = global_step;
    result.training_loss = result.step_losses.empty()
                               ? 0.0
                               : std::accumulate(result.step_losses.begin(), result.step_losses.end(), 0.0) /
                                     static_cast<double>(result.step_losses.size());
    // best_model_checkpoint names the checkpoint where it will be (output_dir); it is in work_dir now
    const std::string best_dir =
        best_model_checkpoint ? (fs::path(work_dir) / fs::path(*best_model_checkpoint).filename()).string() : "";
    if (args.load_best_model_at_end && best_model_checkpoint && fs::is_directory(best_dir)) {
      spdlog::info("Loading best model from {} ({} = {})", *best_model_checkpoint, best_key, *best_metric);
      torch::NoGradGuard no_grad;
      core::CheckpointWeights w = core::CheckpointWeights::open(best_dir);
      for (auto& [name, t] : unique_parameters(*model)) t.copy_(w.get(name));
      last_eval_step = -1;
    }
    log_history.push_back({{"epoch", epoch},
                           {"step", global_step},
                           {"total_flos", 0},
                           {"train_loss", result.training_loss},
                           {"train_runtime", runtime},
                           {"train_samples_per_second",
                            runtime > 0 ? steps_run * args.per_device_train_batch_size * ga / runtime : 0.0},
                           {"train_steps_per_second", runtime > 0 ? steps_run / runtime : 0.0}});
    if (eval_set) {
      if (last_eval_step != global_step) last_eval = evaluate().metrics;
      result.final_metrics = last_eval;
    }
    result.best_model_checkpoint = best_model_checkpoint;
    save_final(result);
    return result;
  }

  // Refuses weights with a NaN or infinite element: such a model is never saved.
  void check_finite_weights(const std::string& what) {
    if (auto name = first_nonfinite_parameter(*model)) {
      if (log_file.is_open()) log_file.close();
      const auto good = last_checkpoint(work_dir);
      throw DataError(fmt::format(
          "training diverged: after step {} the weights are not finite (tensor {} holds NaN or infinity), so {} was "
          "not written to {}; {} (try a lower --learning_rate or more --warmup_steps)",
          global_step, *name, what, args.output_dir,
          good ? "the last good checkpoint is " + *good : std::string("no checkpoint had been saved")));
    }
  }

  // Where this run writes (out_dir, work_dir), and the leftovers of interrupted runs cleaned first.
  void prepare_directories(const std::optional<std::string>& resume) {
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
        spdlog::warn("{} holds an interrupted --overwrite_output_dir run, left as it is (resume it with --resume {})",
                     r, last_checkpoint(r).value_or(r));
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

  // The final model, written atomically. The new directory is staged beside out_dir, then swapped
  // with it in one rename (core::replace_directory): a kill at any instant leaves out_dir as it was
  // before the save (the run's checkpoints and log, or the complete previous run) or the complete
  // new run. In place, the staging directory gets the model, the trainer's records, hard links to
  // the checkpoints and the log (nothing is moved out of out_dir) and the caller's FinalRecords; a
  // staged run (--overwrite_output_dir) is its own staging directory. Files that an earlier run left
  // in out_dir and this run writes anew, FinalRecords names included, are not carried over, nor
  // leftovers of interrupted writes.
  void save_final(const TrainOutput& result) {
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
};

Trainer::Trainer(models::PreTrainedModel model, std::shared_ptr<const tokenizers::Tokenizer> tokenizer,
                 std::string tokenizer_dir, data::Dataset train, std::optional<data::Dataset> eval,
                 TrainingArguments args)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.model = std::move(model);
  s.tokenizer = std::move(tokenizer);
  s.tokenizer_dir = std::move(tokenizer_dir);
  s.train_set = std::move(train);
  s.eval_set = std::move(eval);
  s.args = std::move(args);
  s.args.validate();
  s.device = core::parse_device(s.args.device);
  if (s.train_set.size() == 0) throw DataError(s.train_set.source + ": no training examples");
  s.collate.pad_token_id = s.tokenizer->pad_token_id().value_or(0);
  const size_t max_length = s.resolve_max_length();
  size_t truncated = 0;
  s.train_enc = data::encode_dataset(*s.tokenizer, s.train_set, max_length, &truncated);
  if (truncated) spdlog::info("{}: {} of {} examples truncated to {} tokens", s.train_set.source, truncated, s.train_set.size(), max_length);
  if (s.eval_set) {
    truncated = 0;
    s.eval_enc = data::encode_dataset(*s.tokenizer, *s.eval_set, max_length, &truncated);
    if (truncated) spdlog::info("{}: {} of {} examples truncated to {} tokens", s.eval_set->source, truncated, s.eval_set->size(), max_length);
  }
}

Trainer::~Trainer() = default;

TrainOutput Trainer::train(const std::optional<std::string>& resume_from_checkpoint) {
  return impl_->train(resume_from_checkpoint);
}

EvalOutput Trainer::evaluate() { return impl_->evaluate(); }
void Trainer::set_stop_callback(StopCallback callback) { impl_->stop = std::move(callback); }
void Trainer::set_compute_metrics(ComputeMetrics compute_metrics) { impl_->compute_metrics = std::move(compute_metrics); }
void Trainer::set_final_records(FinalRecords records) { impl_->final_records = std::move(records); }
models::PreTrainedModel Trainer::model() const { return impl_->model; }
const TrainingArguments& Trainer::args() const { return impl_->args; }

}  // namespace textune::train
