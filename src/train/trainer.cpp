// The training loop: setup, one optimizer step, what follows a step (log, evaluate, save), the
// end of a run. Task-agnostic: the task featurizes, collates and gives the loss. See
// include/textune/train/trainer.h and src/train/trainer_impl.h.
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <filesystem>
#include <numeric>

#include <fmt/format.h>

#include "textune/core/device.h"
#include "textune/core/error.h"
#include "textune/core/logging.h"
#include "textune/core/torch_compat.h"
#include "textune/tasks/registry.h"
#include "textune/tasks/text_classification.h"
#include "textune/train/inference.h"
#include "trainer_impl.h"

namespace fs = std::filesystem;

namespace textune::train {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

models::PreTrainedModel load_for_training(const std::string& model_dir, data::Dataset& train, data::Dataset* eval,
                                          uint64_t seed, const std::string& device) {
  return tasks::load_classifier_for_training(model_dir, train, eval, seed, core::parse_device(device));
}

torch::Tensor class_weights_for(const std::string& spec, const data::Dataset& train) {
  return tasks::class_weights_for(spec, train);
}

// ---- setup ----

void Trainer::Impl::init(TrainingArguments arguments) {
  args = std::move(arguments);
  args.validate();
  device = core::parse_device(args.device);
  if (!task) throw UsageError("the Trainer needs a task");
  if (!train_examples || train_examples->size() == 0)
    throw DataError((train_examples ? train_examples->source() : std::string("<train>")) + ": no training examples");
  collate.pad_token_id = tokenizer->pad_token_id().value_or(0);
  featurize();
}

void Trainer::Impl::featurize() {
  tasks::FeatureOptions fo;
  fo.max_length = tasks::resolve_max_length(model, *tokenizer, args.max_length, task->default_max_length());
  fo.training = true;
  auto run = [&](const tasks::Examples& examples, const tasks::FeatureOptions& o) {
    tasks::Features f = task->featurize(examples, *tokenizer, o);
    if (f.num_truncated)
      spdlog::info("{}: {} of {} examples truncated to {} tokens", examples.source(), f.num_truncated, examples.size(),
                   o.max_length);
    return f;
  };
  train_features = run(*train_examples, fo);
  fo.training = false;
  if (eval_examples) eval_features = run(*eval_examples, fo);
}

void Trainer::Impl::setup_run(RunState& run, const std::optional<std::string>& resume) {
  torch::manual_seed(args.seed);
  model->to(device);
  model->train();
  task->prepare_loss(*train_examples, {args.class_weights, args.label_smoothing_factor}, device);
  if (args.bf16 && !device.is_cuda())
    spdlog::warn("--bf16 is for CUDA devices; training on {} in float32", device.str());

  data::SamplerOptions so;
  so.batch_size = static_cast<size_t>(args.per_device_train_batch_size);
  so.shuffle = true;
  so.group_by_length = args.group_by_length;
  so.drop_last = args.dataloader_drop_last;
  so.seed = args.data_seed.value_or(args.seed);
  std::vector<size_t> lengths(train_features.size());
  for (size_t i = 0; i < train_features.size(); ++i) lengths[i] = train_features.length(i);
  run.sampler = std::make_unique<data::BatchSampler>(lengths, so);
  run.num_batches = static_cast<int64_t>(run.sampler->num_batches());
  if (run.num_batches == 0) throw DataError("the training set gives no batch");
  run.ga = args.gradient_accumulation_steps;
  run.steps_per_epoch = std::max<int64_t>(1, (run.num_batches + run.ga - 1) / run.ga);
  state.max_steps = args.max_steps > 0 ? args.max_steps
                                       : static_cast<int64_t>(std::ceil(args.num_train_epochs * run.steps_per_epoch));
  state.num_train_epochs = args.max_steps > 0 ? (state.max_steps + run.steps_per_epoch - 1) / run.steps_per_epoch
                                              : static_cast<int64_t>(std::ceil(args.num_train_epochs));
  const int64_t warmup = num_warmup_steps(state.max_steps, args.warmup_ratio, args.warmup_steps);
  run.schedule = std::make_unique<const LrSchedule>(parse_scheduler_type(args.lr_scheduler_type), args.learning_rate,
                                                    warmup, state.max_steps);
  AdamWOptions ao;
  ao.lr = args.learning_rate;
  ao.beta1 = args.adam_beta1;
  ao.beta2 = args.adam_beta2;
  ao.eps = args.adam_epsilon;
  ao.weight_decay = args.weight_decay;
  run.optimizer = std::make_unique<AdamW>(model_parameters(*model, model->decay_parameter_names()), ao);
  run.optimizer->zero_grad();

  if (resume) {
    load_checkpoint(*resume, run);
    spdlog::info("Resuming from {} at step {}", *resume, state.global_step);
  }
  open_log(resume.has_value());

  run.eval_every = args.eval_steps > 0 ? args.eval_steps : args.logging_steps;
  run.best_key = args.best_metric_key();
  run.greater = args.best_metric_greater_is_better();
  if (args.eval_strategy != "no" && !eval_examples)
    throw UsageError("--eval_strategy " + args.eval_strategy + " needs an evaluation file (--eval FILE)");

  auto plural = [](int64_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); };
  spdlog::info("Training: {}, {}, {} ({} per epoch), batch {} x {} accumulation, lr {}",
               plural(static_cast<int64_t>(train_examples->size()), "example"), plural(state.num_train_epochs, "epoch"),
               plural(state.max_steps, "step"), run.steps_per_epoch, args.per_device_train_batch_size, run.ga,
               args.learning_rate);
  if (!args.disable_tqdm) {
    core::ProgressOptions po;
    po.unit = "it";
    run.bar = std::make_unique<core::ProgressBar>("train", state.max_steps, po);
    run.bar->set(state.global_step);
  }
  run.t_start = Clock::now();
  run.first_step = state.global_step;
}

// ---- the loop ----

TrainOutput Trainer::Impl::train(const std::optional<std::string>& resume) {
  args.validate();
  prepare_directories(resume);
  RunState run;
  setup_run(run, resume);
  while (state.global_step < state.max_steps && !run.stop_training) {
    StepResult step;
    if (!optimizer_step(run, step)) continue;
    after_step(run, step);
  }
  return finish(run);
}

double Trainer::Impl::micro_batch(const std::vector<size_t>& rows, size_t window_size) {
  // The default CPU generator: its state is saved with every checkpoint, so a random collator
  // resumes exactly.
  torch::Generator generator = at::detail::getDefaultCPUGenerator();
  const tasks::Batch cpu = task->collate(*train_examples, train_features, rows, collate, generator);
  const tasks::Batch batch{inputs_to_device(cpu.inputs, device), cpu.features};
  torch::Tensor loss;
  {
    core::AutocastGuard autocast(args.bf16 && device.is_cuda());
    const models::ModelOutputs out = model->forward(batch.inputs);
    loss = task->loss(batch, out);
  }
  if (window_size > 1) loss = loss / static_cast<double>(window_size);
  loss.backward();
  return loss.item<double>();
}

bool Trainer::Impl::optimizer_step(RunState& run, StepResult& step) {
  data::BatchSampler& sampler = *run.sampler;
  // one optimizer step over up to `ga` micro-batches, ending early at the end of an epoch
  std::vector<std::vector<size_t>> window;
  while (static_cast<int64_t>(window.size()) < run.ga) {
    if (sampler.state().position >= run.num_batches) break;
    auto b = sampler.next();
    if (!b) break;
    window.push_back(std::move(*b));
  }
  if (window.empty()) {  // epoch boundary reached without a step: move on
    sampler.set_state({sampler.state().epoch + 1, 0, sampler.state().seed});
    return false;
  }
  bool finite_loss = true;
  for (const auto& rows : window) {
    const double value = micro_batch(rows, window.size());
    step.loss += value;
    if (!std::isfinite(value)) finite_loss = false;
    run.logging_loss_sum =
        nan_inf_filtered_sum(run.logging_loss_sum, value, run.logging_count, args.logging_nan_inf_filter);
  }
  step.grad_norm = clip_grad_norm(run.optimizer->params(), args.max_grad_norm);
  step.lr = run.schedule->lr(state.global_step);
  check_finite_step(run, step, finite_loss);
  run.optimizer->step(step.lr);
  run.optimizer->zero_grad();
  state.global_step += 1;
  const auto& st = sampler.state();
  step.epoch_end = st.position >= run.num_batches;
  state.epoch = static_cast<double>(st.epoch) + static_cast<double>(st.position) / static_cast<double>(run.num_batches);
  if (step.epoch_end) sampler.set_state({st.epoch + 1, 0, st.seed});
  run.result.step_losses.push_back(step.loss);
  run.logging_count += 1;
  return true;
}

void Trainer::Impl::after_step(RunState& run, const StepResult& step) {
  log_step(run, step);
  const bool last = state.global_step >= state.max_steps;
  const bool new_best = evaluate_during_training(run, step.epoch_end);
  check_stop(run);
  const bool do_save = (args.save_strategy == "steps" && state.global_step % args.save_steps == 0) ||
                       (args.save_strategy == "epoch" && step.epoch_end);
  if (new_best && do_save)
    state.best_model_checkpoint = fmt::format("{}/checkpoint-{}", args.output_dir, state.global_step);
  if (do_save) save_checkpoint(run, last || run.stop_training);
}

TrainOutput Trainer::Impl::finish(RunState& run) {
  if (run.bar) run.bar->finish();
  log_file.close();
  TrainOutput& result = run.result;
  const double runtime = seconds_since(run.t_start);
  const int64_t steps_run = state.global_step - run.first_step;
  result.global_step = state.global_step;
  result.training_loss = result.step_losses.empty()
                             ? 0.0
                             : std::accumulate(result.step_losses.begin(), result.step_losses.end(), 0.0) /
                                   static_cast<double>(result.step_losses.size());
  // best_model_checkpoint names the checkpoint where it will be (output_dir); it is in work_dir now
  const auto& best = state.best_model_checkpoint;
  const std::string best_dir = best ? (fs::path(work_dir) / fs::path(*best).filename()).string() : "";
  if (args.load_best_model_at_end && best && fs::is_directory(best_dir)) {
    spdlog::info("Loading best model from {} ({} = {})", *best, run.best_key, *state.best_metric);
    load_best_model(best_dir);
    run.last_eval_step = -1;
  }
  state.log_history.push_back({{"epoch", state.epoch},
                               {"step", state.global_step},
                               {"total_flos", 0},
                               {"train_loss", result.training_loss},
                               {"train_runtime", runtime},
                               {"train_samples_per_second",
                                runtime > 0 ? steps_run * args.per_device_train_batch_size * run.ga / runtime : 0.0},
                               {"train_steps_per_second", runtime > 0 ? steps_run / runtime : 0.0}});
  if (eval_examples) {
    if (run.last_eval_step != state.global_step) run.last_eval = evaluate().metrics;
    result.final_metrics = run.last_eval;
  }
  result.best_model_checkpoint = best;
  save_final(result);
  return result;
}

// ---- the public class ----

Trainer::Trainer(models::PreTrainedModel model, std::shared_ptr<const tokenizers::Tokenizer> tokenizer,
                 std::string tokenizer_dir, std::shared_ptr<tasks::Task> task, std::shared_ptr<tasks::Examples> train,
                 std::shared_ptr<tasks::Examples> eval, TrainingArguments args)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.model = std::move(model);
  s.tokenizer = std::move(tokenizer);
  s.tokenizer_dir = std::move(tokenizer_dir);
  s.task = std::move(task);
  s.train_examples = std::move(train);
  s.eval_examples = std::move(eval);
  s.init(std::move(args));
}

Trainer::Trainer(models::PreTrainedModel model, std::shared_ptr<const tokenizers::Tokenizer> tokenizer,
                 std::string tokenizer_dir, data::Dataset train, std::optional<data::Dataset> eval,
                 TrainingArguments args)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  auto task = std::make_shared<tasks::TextClassificationTask>(train.task);
  task->bind_model(model);
  s.model = std::move(model);
  s.tokenizer = std::move(tokenizer);
  s.tokenizer_dir = std::move(tokenizer_dir);
  s.task = std::move(task);
  s.train_examples = tasks::wrap_dataset(std::move(train));
  if (eval) s.eval_examples = tasks::wrap_dataset(std::move(*eval));
  s.init(std::move(args));
}

Trainer::~Trainer() = default;

TrainOutput Trainer::train(const std::optional<std::string>& resume_from_checkpoint) {
  return impl_->train(resume_from_checkpoint);
}

EvalOutput Trainer::evaluate() {
  return impl_->evaluate();
}
void Trainer::set_stop_callback(StopCallback callback) {
  impl_->stop = std::move(callback);
}
void Trainer::set_compute_metrics(ComputeMetrics compute_metrics) {
  impl_->compute_metrics = std::move(compute_metrics);
}
void Trainer::set_final_records(FinalRecords records) {
  impl_->final_records = std::move(records);
}
models::PreTrainedModel Trainer::model() const {
  return impl_->model;
}
const TrainingArguments& Trainer::args() const {
  return impl_->args;
}
std::shared_ptr<tasks::Task> Trainer::task() const {
  return impl_->task;
}
const tasks::EvalReport& Trainer::last_eval_report() const {
  return impl_->last_report;
}

}  // namespace textune::train
