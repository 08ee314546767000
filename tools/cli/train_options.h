// The training options of `textune train`, declared once with transformers' TrainingArguments names
// (a JSON config file given with --config uses the same keys; options on the command line win).
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "textune/train/trainer.h"

namespace textune::cli {

/// Adds every TrainingArguments option (train::training_arguments_table) to `app`, bound to `args`
/// (which must outlive parsing). Names are TrainingArguments' (--learning_rate, --num_train_epochs,
/// ...) with the table's aliases (--output for --output_dir, --class-weights, --max-length ...).
void add_training_arguments(CLI::App& app, train::TrainingArguments& args);

/// The arguments to train with: defaults, then the JSON config file (when given), then the options
/// given on the command line (`cli` holds their parsed values). `given` (optional) receives the
/// names of the arguments set by the file or the command line (for TrainingArguments::finalize).
/// @throws textune::UsageError for an unknown key or a bad value in the config file.
train::TrainingArguments merge_training_arguments(const CLI::App& app, const train::TrainingArguments& cli,
                                                  const core::Json* config, const std::string& config_path,
                                                  std::vector<std::string>* given = nullptr);

}  // namespace textune::cli
