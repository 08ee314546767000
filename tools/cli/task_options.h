// The options of the registered tasks on a command whose task is known only after parsing: `eval`
// and `predict` take the model's task, `train` the one --task names. Every registered task's
// options (Task::declare_options) are offered; after parsing, those given on the command line go to
// the task that runs, as JSON ({"threshold": 0.3}), and win over its saved or --config values.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/core/options.h"
#include "textune/tasks/task.h"

namespace textune::cli {

/// Adds `--task NAME` to `app`, bound to `task`: a registered task or one of its aliases
/// (tasks::create_task; text classification's "classification", "multi-label" and "regression" set
/// its problem type). An unknown name is a usage error (exit 2) listing the registered tasks.
CLI::Option* add_task_option(CLI::App& app, std::string& task);

/// Holds one instance of every registered task while the command line is parsed.
class TaskOptions {
 public:
  /// Adds the options of every registered task (tasks::task_names, in name order) to `app`, each in
  /// a --help group named after its task. A task with an option name an earlier task already offers
  /// is left out (its options are then given with --config). Keep `this` alive until after parsing.
  void add_to(CLI::App& app);
  /// {name: value} of the task options given on the parsed command line.
  core::Json given() const;
  /// Moves the keys of `config` (a --config object) that name a task option out of it, into the
  /// returned object (the command line's values, given(), win over them).
  core::Json take_from(core::Json& config) const;

 private:
  struct Entry {
    std::unique_ptr<tasks::Task> task;
    std::unique_ptr<core::OptionTable> table;
  };
  CLI::App* app_ = nullptr;
  std::vector<Entry> entries_;
};

}  // namespace textune::cli
