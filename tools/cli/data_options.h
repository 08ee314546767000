// The dataset options of the command line, declared once (as marian-nmt declares its options in one
// place) and shared by `textune data`, `train`, `eval` and `predict`.
#pragma once

#include <CLI/CLI.hpp>

#include "textune/data/dataset.h"

namespace textune::cli {

/// Which groups of dataset options a subcommand offers.
struct DataOptionGroups {
  bool labels = true;  ///< --label-column, --label-separator, --label-names
  bool pairs = true;   ///< --text-pair-column
};

/// Adds the dataset options to `app` and fills `options` when the command line is parsed:
///   --text-column, --text-pair-column, --label-column (NAME, or a 0-based INDEX for header-less files)
///   --label-separator SEP, --label-names FILE (--task is the task's: task_options.h)
///   --format csv|tsv|jsonl|json|xlsx, --sheet NAME, --no-header, --quoting auto|csv|none,
///   --delimiter C (CSV; default sniffed), --encoding NAME (text files; default UTF-8)
///   --skip-invalid, --max-problems N
/// Underscore spellings (--text_column, --label_column_name as run_classification.py spells it, ...)
/// are accepted too. Option values are checked by CLI11 (a bad --task is a usage error, exit 2).
/// `options` must outlive the parse.
void add_data_options(CLI::App& app, data::DataOptions& options, DataOptionGroups groups = {});

}  // namespace textune::cli
