// The command line of an options table (core::OptionTable): every option declared once in the
// library (TrainingArguments in src/train/arguments.cpp, a task's in Task::declare_options) becomes
// a CLI11 option here, so the command line, the --config JSON file and the JSON saved beside a run
// share their names, types and checks.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "textune/core/options.h"

namespace textune::tasks {
class Task;
}  // namespace textune::tasks

namespace textune::cli {

/// Adds one CLI11 option per spec of `table` to `app`: `--NAME` plus `--ALIAS` for its aliases and
/// json_aliases, in the spec's group. A flag spec (OptionSpec::flag) takes no value (`--bf16`,
/// `--bf16=false`); other bools take true/false (also 1/0, yes/no, on/off). Integers are decimal;
/// cli_min and choices are checked by CLI11 (a usage error, exit 2), then the spec's setter stores
/// the value when parsing, so the fields the table points to must outlive parsing. --help shows
/// each default (the value when declared) unless the option is optional or its help says "default:".
/// @throws CLI::OptionAlreadyAdded when a name is taken (at declaration, a bug).
/// Returns the options added, in table order.
std::vector<CLI::Option*> add_option_table(CLI::App& app, const core::OptionTable& table);

/// Names (not aliases) of `table`'s options given on the command line of the parsed `app`.
std::vector<std::string> given_options(const CLI::App& app, const core::OptionTable& table);

/// Adds the options `task` declares (Task::declare_options) to `app`, in a --help group named after
/// the task unless the task names one. Values are stored into `task`, which must outlive parsing.
/// Returns the options added.
std::vector<CLI::Option*> add_task_options(CLI::App& app, tasks::Task& task);

}  // namespace textune::cli
