// The Trainer's shared state, private to src/train. The trainer is split as marian splits its
// training: the loop (trainer.cpp), the evaluation (evaluation.cpp), checkpoints and output
// directories (checkpoints.cpp), callbacks: logging, early stopping, the stop signal (callbacks.cpp).
#pragma once

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/core/logging.h"
#include "textune/data/batching.h"
#include "textune/tasks/task.h"
#include "textune/train/optimizer.h"
#include "textune/train/schedule.h"
#include "textune/train/trainer.h"

namespace textune::train {

using Clock = std::chrono::steady_clock;

/// Seconds from `t` to now.
double seconds_since(Clock::time_point t);

/// What trainer_state.json holds besides the arguments (transformers' TrainerState and the
/// EarlyStoppingCallback's counter): saved with every checkpoint, restored on resume.
struct TrainerState {
  int64_t global_step = 0;
  double epoch = 0;
  int64_t max_steps = 0;
  int64_t num_train_epochs = 0;
  core::Json log_history = core::Json::array();
  std::optional<double> best_metric;
  std::optional<int64_t> best_global_step;
  std::optional<std::string> best_model_checkpoint;  ///< as it will be named in output_dir
  int64_t patience_counter = 0;
};

/// The state of one Trainer::train call (the loop's working variables).
struct RunState {
  std::unique_ptr<data::BatchSampler> sampler;
  std::unique_ptr<const LrSchedule> schedule;
  std::unique_ptr<AdamW> optimizer;
  std::unique_ptr<core::ProgressBar> bar;
  int64_t num_batches = 0;      ///< batches per epoch
  int64_t ga = 1;               ///< gradient_accumulation_steps
  int64_t steps_per_epoch = 1;  ///< optimizer steps per epoch
  int64_t eval_every = 1;       ///< eval_steps, else logging_steps
  int64_t first_step = 0;       ///< global_step when this call started (resumed: the checkpoint's)
  std::string best_key;         ///< "eval_" + metric_for_best_model
  bool greater = false;         ///< whether a larger best_key is better
  Clock::time_point t_start;
  double logging_loss_sum = 0;  ///< losses since the last log_history entry (nan_inf_filtered_sum)
  int64_t logging_count = 0;    ///< optimizer steps since the last log_history entry
  core::Json last_eval;         ///< the metrics of the last evaluation
  int64_t last_eval_step = -1;  ///< the step of the last evaluation (-1: none of the final model)
  bool stop_training = false;
  TrainOutput result;
};

/// The numbers of one optimizer step.
struct StepResult {
  double loss = 0;       ///< the summed (accumulation-scaled) losses of its micro-batches
  double grad_norm = 0;  ///< before clipping
  double lr = 0;
  bool epoch_end = false;  ///< the step read the epoch's last batch
};

struct Trainer::Impl {
  models::PreTrainedModel model = nullptr;
  std::shared_ptr<const tokenizers::Tokenizer> tokenizer;
  std::string tokenizer_dir;
  std::shared_ptr<tasks::Task> task;
  std::shared_ptr<tasks::Examples> train_examples, eval_examples;  // eval_examples may be null
  tasks::Features train_features, eval_features;
  TrainingArguments args;
  StopCallback stop;
  ComputeMetrics compute_metrics;
  FinalRecords final_records;
  torch::Device device{torch::kCPU};
  data::CollateOptions collate;
  tasks::EvalReport last_report;
  // Where the run writes: out_dir is output_dir with symbolic links followed; work_dir holds the
  // checkpoints and the log while training: out_dir itself, or, when --overwrite_output_dir replaces a
  // non-empty directory, a hidden sibling run directory that replaces it at the end (staged_run), so
  // that out_dir keeps the complete previous run until then.
  std::string out_dir, work_dir;
  bool staged_run = false;
  TrainerState state;
  std::ofstream log_file;

  // ---- setup (trainer.cpp) ----
  void init(TrainingArguments arguments);
  void featurize();

  // ---- the loop (trainer.cpp) ----
  TrainOutput train(const std::optional<std::string>& resume);
  void setup_run(RunState& run, const std::optional<std::string>& resume);
  /// One optimizer step over up to `ga` micro-batches; false when the epoch ended without one.
  bool optimizer_step(RunState& run, StepResult& step);
  /// Forward and backward of one micro-batch; returns its (scaled) loss value.
  double micro_batch(const std::vector<size_t>& rows, size_t window_size);
  /// After a step: log, evaluate, stop callbacks, save a checkpoint.
  void after_step(RunState& run, const StepResult& step);
  /// After the loop: the summary, the best model, the last evaluation, the final save.
  TrainOutput finish(RunState& run);

  // ---- evaluation (evaluation.cpp) ----
  EvalOutput evaluate();
  /// Evaluates when eval_strategy says so after this step; returns whether it gave a new best.
  bool evaluate_during_training(RunState& run, bool epoch_end);

  // ---- callbacks (callbacks.cpp) ----
  /// training_log.jsonl: keeps the lines up to the resumed step, then opens it for appending.
  void open_log(bool resumed);
  void write_log(const core::Json& entry);
  void log_step(RunState& run, const StepResult& step);
  /// EarlyStoppingCallback.check_metric_value with the evaluation's `value`.
  void early_stopping(RunState& run, double value);
  /// The caller's StopCallback.
  void check_stop(RunState& run);
  /// Stops a step whose loss or gradient norm is not finite (halt_on_nonfinite).
  void check_finite_step(RunState& run, const StepResult& step, bool finite_loss);

  // ---- checkpoints and directories (checkpoints.cpp) ----
  void prepare_directories(const std::optional<std::string>& resume);
  core::Json trainer_state(bool training_stop) const;
  void save_model_files(const std::string& staging);
  void save_checkpoint(const RunState& run, bool training_stop);
  void rotate_checkpoints();
  void load_checkpoint(const std::string& path, RunState& run);
  void load_best_model(const std::string& best_dir);
  void check_finite_weights(const std::string& what);
  void save_final(const TrainOutput& result);
};

}  // namespace textune::train
