// The Trainer's evaluation: the task's evaluator over the evaluation set through the one inference
// loop (train::run_inference), eval_* metrics as transformers' Trainer.evaluate names them, and
// the best-metric bookkeeping of an evaluation during training. See src/train/trainer_impl.h.
#include <cmath>

#include "textune/core/error.h"
#include "textune/core/logging.h"
#include "textune/tasks/text_classification.h"
#include "textune/train/inference.h"
#include "trainer_impl.h"

namespace textune::train {

EvalOutput Trainer::Impl::evaluate() {
  if (!eval_examples) throw UsageError("no evaluation set: give --eval FILE");
  const auto t0 = Clock::now();
  InferenceOptions io;
  io.batch_size = static_cast<size_t>(args.per_device_eval_batch_size);
  io.collate = collate;
  io.bf16 = args.bf16;
  // The evaluation loss is the training objective (class weights and label smoothing included), as
  // Trainer.prediction_step computes it through compute_loss.
  io.compute_loss = true;
  io.seed = args.seed;
  EvalOutput out;
  out.metrics = core::Json::object();
  if (compute_metrics) {
    // transformers' compute_metrics on the (N, C) logits (the classification API kept for callers).
    tasks::LogitsCollector logits(eval_features, eval_examples->size());
    out.metrics["eval_loss"] = run_inference(model, *task, *eval_examples, eval_features, io, {&logits});
    out.logits = logits.logits();
    const core::Json m = compute_metrics(out.logits, tasks::classification_dataset(*eval_examples));
    for (auto it = m.begin(); it != m.end(); ++it) out.metrics["eval_" + it.key()] = it.value();
  } else {
    std::unique_ptr<tasks::Evaluator> evaluator = task->evaluator(*eval_examples, eval_features);
    out.metrics["eval_loss"] = run_inference(model, *task, *eval_examples, eval_features, io, {evaluator.get()});
    last_report = evaluator->finish();
    for (auto it = last_report.scalars.begin(); it != last_report.scalars.end(); ++it)
      out.metrics["eval_" + it.key()] = it.value();
  }
  const double rt = seconds_since(t0);
  const double n = static_cast<double>(eval_examples->size());
  out.metrics["eval_runtime"] = std::round(rt * 1e4) / 1e4;
  out.metrics["eval_samples_per_second"] = rt > 0 ? std::round(n / rt * 1e3) / 1e3 : 0.0;
  out.metrics["eval_steps_per_second"] =
      rt > 0 ? std::round(std::ceil(n / args.per_device_eval_batch_size) / rt * 1e3) / 1e3 : 0.0;
  return out;
}

bool Trainer::Impl::evaluate_during_training(RunState& run, bool epoch_end) {
  const bool do_eval = eval_examples && ((args.eval_strategy == "steps" && state.global_step % run.eval_every == 0) ||
                                         (args.eval_strategy == "epoch" && epoch_end));
  if (!do_eval) return false;
  EvalOutput ev = evaluate();
  core::Json entry = ev.metrics;
  entry["epoch"] = state.epoch;
  entry["step"] = state.global_step;
  state.log_history.push_back(entry);
  write_log(entry);
  run.last_eval = ev.metrics;
  run.last_eval_step = state.global_step;
  if (!ev.metrics.contains(run.best_key) || !ev.metrics[run.best_key].is_number())
    throw UsageError("--metric_for_best_model: the evaluation has no metric \"" + run.best_key + "\"");
  const double value = ev.metrics[run.best_key].get<double>();
  early_stopping(run, value);
  // transformers' _determine_best_metric: strictly better than the best so far
  bool new_best = false;
  if (!state.best_metric || (run.greater ? value > *state.best_metric : value < *state.best_metric)) {
    new_best = true;
    state.best_metric = value;
    state.best_global_step = state.global_step;
  }
  spdlog::info("step {}: {} = {:.4f}{}", state.global_step, run.best_key, value, new_best ? " (best)" : "");
  return new_best;
}

}  // namespace textune::train
