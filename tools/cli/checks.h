// Checks shared by the subcommands, run before anything is loaded: integer option ranges, the
// --device, files named by options and output paths. Bad values are textune::UsageError (exit 2);
// a missing or unreadable input file is textune::DataError (exit 1), as in every command.
#pragma once

#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "textune/core/device.h"
#include "textune/core/error.h"

namespace textune::cli {

/// A CLI11 validator for an integer option that must be >= `min`. It checks the text before CLI11
/// converts it, so "-5" for an unsigned option is "must be >= 0" instead of wrapping to 2^64 - 5.
inline CLI::Validator at_least(long long min) {
  return CLI::Validator(
      [min](std::string& s) -> std::string {
        const std::string expected = fmt::format("must be an integer >= {}, not \"{}\"", min, s);
        if (s.empty()) return expected;
        size_t pos = 0;
        try {
          const long long v = std::stoll(s, &pos);
          if (pos != s.size()) return expected;
          if (v < min) return fmt::format("must be >= {}, not {}", min, s);
        } catch (const std::out_of_range&) {
          if (s[0] == '-') return fmt::format("must be >= {}, not {}", min, s);  // a huge positive is fine
        } catch (const std::exception&) {
          return expected;
        }
        return {};
      },
      fmt::format(">= {}", min), fmt::format("AT_LEAST_{}", min));
}

/// Makes `option` (a std::vector<std::string> of texts: a positional, or an option given once per
/// value) take every argument verbatim. CLI11 reads a vector value in brackets as a list and splits
/// it at commas ("[CLS] a film [SEP]" became "CLS] a film [SEP"); that happens only for options
/// that allow extra arguments, so a positional takes any number of values through its minimum count
/// instead. Texts are texts. Returns `option`.
inline CLI::Option* verbatim_texts(CLI::Option* option) {
  // the policy first: CLI11 trims expected_max when it is set after
  option->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  if (option->get_positional())
    option->expected(1 << 20, -1);  // `texts...` in --help
  else
    option->expected(1);
  option->allow_extra_args(false);
  return option;
}

/// The help text of --device.
inline std::string device_help() {
  return "Device to run on: cpu, cuda or cuda:N (usable here: " + core::usable_devices() + ")";
}

/// Parses --device (core::parse_device). @throws textune::UsageError naming it and the usable ones.
inline torch::Device parse_device(const std::string& name) {
  return core::parse_device(name, "--device");
}

/// An input file named by `option`: it must exist and be a regular file.
/// @throws textune::DataError naming the option and the path.
inline void check_input_file(const std::string& path, const std::string& option) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw DataError(fmt::format("{} {}: is a directory, not a file", option, path));
  if (!std::filesystem::exists(path, ec)) throw DataError(fmt::format("{} {}: no such file", option, path));
}

/// An output file named by `option`: not a directory, and its directory must exist (it is not
/// created: a typo in a path should not build a tree of directories).
/// @throws textune::UsageError for a directory; textune::DataError for a missing parent directory.
inline void check_output_file(const std::string& path, const std::string& option) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec))
    throw UsageError(fmt::format("{} {}: is a directory; give a file name", option, path));
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent, ec))
    throw DataError(fmt::format("{} {}: the directory {} does not exist", option, path, parent.string()));
}

/// Refuses to replace a non-empty existing directory unless `overwrite` (transformers' check on
/// output_dir). @throws textune::DataError naming the directory and --overwrite_output_dir.
inline void check_output_dir(const std::string& dir, bool overwrite, const std::string& alternative = "") {
  std::error_code ec;
  if (overwrite || !std::filesystem::exists(dir, ec)) return;
  if (!std::filesystem::is_directory(dir, ec)) throw DataError("output " + dir + " exists and is not a directory");
  if (!std::filesystem::is_empty(dir, ec))
    throw DataError("output directory " + dir + " exists and is not empty: use --overwrite_output_dir to replace it" +
                    alternative);
}

}  // namespace textune::cli
