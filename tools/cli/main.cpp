// `textune`: the command-line entry point. Parses global options, dispatches to a subcommand, and
// turns every textune::Error into one line on standard error and its exit code.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "../launcher/dump_cli.h"
#include "command.h"
#include "textune/core/error.h"
#include "textune/core/logging.h"

namespace textune::cli {
std::vector<CommandSpec>& command_registry() {
  static std::vector<CommandSpec> registry;
  return registry;
}
}  // namespace textune::cli

int main(int argc, char** argv) {
  using namespace textune;
  CLI::App app{"textune: fine-tune, evaluate and serve Hugging Face transformer text models, in C++"};
  app.set_version_flag("--version", std::string("textune ") + TEXTUNE_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  bool quiet = false, verbose = false;
  app.add_flag("-q,--quiet", quiet, "Only warnings and errors on standard error; no progress bars");
  app.add_flag("-v,--verbose", verbose, "Debug messages on standard error");

  auto& registry = cli::command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const cli::CommandSpec& a, const cli::CommandSpec& b) { return a.order < b.order; });
  std::map<CLI::App*, cli::CommandRun> runs;
  for (auto& spec : registry) {
    CLI::App* sub = app.add_subcommand(spec.name, spec.description);
    runs[sub] = spec.setup(*sub);
  }

  // Build-time only (not in --help): the table the front program `textune` answers from.
  if (argc == 2 && std::string(argv[1]) == "--textune-dump-cli") {
    cli::dump_cli_table(app, std::string("textune ") + TEXTUNE_VERSION, std::cout);
    return 0;
  }

  // The first argument that is not an option names the command (the global options are flags).
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.empty() || arg[0] == '-') continue;
    if (std::none_of(registry.begin(), registry.end(), [&](const cli::CommandSpec& s) { return s.name == arg; })) {
      std::string names;
      for (const auto& spec : registry) names += (names.empty() ? "" : ", ") + spec.name;
      std::cerr << "error: unknown command \"" << arg << "\" (commands: " << names
                << ")\n(run `textune --help` or `textune COMMAND --help`)\n";
      return kExitUsageError;
    }
    break;
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "error: " << e.what() << "\n(run `textune --help` or `textune COMMAND --help`)\n";
    return kExitUsageError;
  }
  core::set_verbosity(quiet ? core::Verbosity::kQuiet : verbose ? core::Verbosity::kVerbose : core::Verbosity::kNormal);

  try {
    for (auto& [sub, run] : runs)
      if (sub->parsed()) return run();
    return kExitUsageError;
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    if (e.exit_code() == kExitUsageError) std::cerr << "(run `textune --help` or `textune COMMAND --help`)\n";
    return e.exit_code();
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return kExitDataError;
  } catch (const std::bad_alloc&) {
    std::cerr << "error: out of memory\n";
    return kExitDataError;
  } catch (const std::exception& e) {
    std::cerr << "error: internal error (please report it): " << e.what() << "\n";
    return kExitDataError;
  }
}
