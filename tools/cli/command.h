// The subcommand registry of the `textune` command line.
//
// Each subcommand lives in its own `tools/cli/cmd_NAME.cpp` and registers itself with a static
// `CommandRegistrar`; the file declares its options on the CLI11 subcommand and returns a function
// that runs it. Subcommands stay thin: parse options into the library's options structs, call the
// library, print the result.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace textune::cli {

/// Runs a parsed subcommand and returns the process exit code.
using CommandRun = std::function<int()>;
/// Declares a subcommand's options on `app` and returns the function that runs it.
using CommandSetup = std::function<CommandRun(CLI::App& app)>;

struct CommandSpec {
  std::string name;
  std::string description;
  CommandSetup setup;
  int order = 100;  ///< position in `--help`
};

/// All registered subcommands.
std::vector<CommandSpec>& command_registry();

/// Adds a subcommand at static-initialization time.
struct CommandRegistrar {
  CommandRegistrar(std::string name, std::string description, CommandSetup setup, int order = 100) {
    command_registry().push_back({std::move(name), std::move(description), std::move(setup), order});
  }
};

}  // namespace textune::cli
