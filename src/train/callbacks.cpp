// The Trainer's callbacks: logging (log_history, training_log.jsonl, the progress bar), early
// stopping (transformers' EarlyStoppingCallback), the caller's stop callback, the stop at a
// non-finite step, and logging_nan_inf_filter. See src/train/trainer_impl.h.
#include <cmath>

#include <fmt/format.h>

#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/logging.h"
#include "trainer_impl.h"

namespace textune::train {

double nan_inf_filtered_sum(double window_sum, double value, int64_t steps_in_window, bool filter) {
  if (filter && !std::isfinite(value)) return window_sum + window_sum / static_cast<double>(1 + steps_in_window);
  return window_sum + value;
}

void Trainer::Impl::open_log(bool resumed) {
  std::vector<core::Json> kept_log;
  if (resumed) {
    // keep the log lines up to the checkpoint
    std::ifstream in(work_dir + "/training_log.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      try {
        core::Json j = core::Json::parse(line);
        if (j.value("step", int64_t{0}) <= state.global_step) kept_log.push_back(j);
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
}

void Trainer::Impl::write_log(const core::Json& entry) {
  if (log_file.is_open()) {
    log_file << entry.dump() << "\n";
    log_file.flush();
  }
}

void Trainer::Impl::log_step(RunState& run, const StepResult& step) {
  write_log({{"step", state.global_step},
             {"epoch", state.epoch},
             {"loss", step.loss},
             {"learning_rate", step.lr},
             {"grad_norm", step.grad_norm},
             {"elapsed_seconds", seconds_since(run.t_start)}});
  if (run.bar) {
    run.bar->set_metrics({{"loss", step.loss}, {"lr", step.lr}});
    run.bar->set(state.global_step);
  }
  if (state.global_step % args.logging_steps == 0) {
    state.log_history.push_back({{"epoch", state.epoch},
                                 {"grad_norm", step.grad_norm},
                                 {"learning_rate", step.lr},
                                 {"loss", run.logging_loss_sum / static_cast<double>(run.logging_count)},
                                 {"step", state.global_step}});
    run.logging_loss_sum = 0;
    run.logging_count = 0;
  }
}

void Trainer::Impl::early_stopping(RunState& run, double value) {
  // EarlyStoppingCallback.check_metric_value runs (in on_evaluate) before the best metric is
  // updated: better than the best so far by more than the threshold resets the patience.
  if (!args.early_stopping_patience) return;
  const auto& best = state.best_metric;
  const bool improved = !best || ((run.greater ? value > *best : value < *best) &&
                                  std::abs(value - *best) > args.early_stopping_threshold);
  state.patience_counter = improved ? 0 : state.patience_counter + 1;
  if (state.patience_counter >= *args.early_stopping_patience) {
    spdlog::info("Early stopping at step {}: {} did not improve for {} evaluations", state.global_step, run.best_key,
                 state.patience_counter);
    run.stop_training = true;
    run.result.stopped_early = true;
  }
}

void Trainer::Impl::check_stop(RunState& run) {
  if (stop && stop(state.global_step)) run.stop_training = true;
}

void Trainer::Impl::check_finite_step(RunState& run, const StepResult& step, bool finite_loss) {
  if (!args.halt_on_nonfinite || (finite_loss && std::isfinite(step.grad_norm))) return;
  log_file.close();
  if (run.bar) run.bar->finish();
  const auto good = last_checkpoint(work_dir);
  const double bad = finite_loss ? step.grad_norm : step.loss;
  throw DataError(fmt::format(
      "training diverged at step {} (epoch {:.2f}, learning rate {:g}): the {} is {}; stopped before applying "
      "it, no final model written to {}; {} (try a lower --learning_rate or more --warmup_steps)",
      state.global_step + 1, state.epoch, step.lr, finite_loss ? "gradient norm" : "loss",
      std::isnan(bad) ? std::string("NaN") : fmt::format("{:g}", bad), args.output_dir,
      good ? "the last good checkpoint is " + *good : std::string("no checkpoint had been saved")));
}

}  // namespace textune::train
