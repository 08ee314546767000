// `textune`: the front program of the command line. It answers at once what needs no model:
// --version, --help, COMMAND --help, and the usage errors CLI11 finds before anything is loaded
// (no or unknown command, unknown options, an option missing its value, a missing required
// option). Everything else is handed, argv unchanged, to `textune-core` beside it (execv), the real
// program, which loads LibTorch (about 0.5 s before main()) and stays the authority: when in doubt
// the front passes the arguments through, so it only ever reports an error textune-core reports.
//
// What it knows is generated at build time by `textune-core --textune-dump-cli`
// (tools/launcher/dump_cli.h) into cli_table.inc. C++17 standard library and POSIX only.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

struct CliCommand {
  const char* name;
  const char* help;  ///< App::help with the program name as kDumpProgramPlaceholder
};

struct CliOption {
  int command;        ///< index into kCommands
  const char* name;   ///< Option::get_name, as CLI11's messages spell it
  const char* names;  ///< "|-m|--model|": every short and long name
  int min_values;     ///< values it must take (CLI11's min_num in App::_parse_arg)
  int max_values;     ///< 0 for a flag
  bool required;
  bool positional;
  bool help;         ///< -h,--help
  const char* type;  ///< Option::get_type_name
};

#include "cli_table.inc"

constexpr const char* kPlaceholder = "@TEXTUNE_PROGRAM@";
constexpr int kExitUsageError = 2;  // textune/core/error.h
constexpr int kExitDataError = 1;

bool in_names(const char* names, const std::string& name) {
  return std::string(names).find("|" + name + "|") != std::string::npos;
}

std::string with_program(std::string text, const std::string& program) {
  const std::string placeholder = kPlaceholder;
  for (size_t pos = text.find(placeholder); pos != std::string::npos;
       pos = text.find(placeholder, pos + program.size()))
    text.replace(pos, placeholder.size(), program);
  return text;
}

int usage_error(const std::string& message) {
  std::cerr << "error: " << message << "\n(run `textune --help` or `textune COMMAND --help`)\n";
  return kExitUsageError;
}

/// Runs textune-core from the directory of this executable with argv unchanged. Returns only on failure.
int run_core(char** argv) {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  std::string dir = ".";
  if (n > 0) {
    self[n] = '\0';
    dir = self;
    dir = dir.substr(0, dir.rfind('/'));
  }
  const std::string core = dir + "/textune-core";
  execv(core.c_str(), argv);
  std::cerr << "error: cannot run " << core << ": " << std::strerror(errno)
            << " (textune-core must be installed beside textune)\n";
  return kExitDataError;
}

/// What the front decided: an exit code, or -1 to hand the arguments to textune-core.
int answer(const std::vector<std::string>& args, const std::string& program) {
  const size_t n = args.size();
  if (n == 0) return usage_error("A subcommand is required");
  if (n == 1 && args[0] == "--version") {
    std::cout << kVersionText << std::endl;
    return 0;
  }
  if (n == 1 && (args[0] == "-h" || args[0] == "--help")) {
    std::cout << with_program(kTopHelp, program);
    return 0;
  }
  // As tools/cli/main.cpp: the first argument that is not an option names the command.
  int command = -1;
  size_t at = 0;
  for (; at < n; ++at) {
    const std::string& arg = args[at];
    if (arg.empty() || arg[0] == '-') continue;
    for (size_t c = 0; c < sizeof(kCommands) / sizeof(kCommands[0]); ++c)
      if (arg == kCommands[c].name) command = static_cast<int>(c);
    if (command < 0) {
      std::string names;
      for (const auto& c : kCommands) names += (names.empty() ? "" : ", ") + std::string(c.name);
      std::cerr << "error: unknown command \"" << arg << "\" (commands: " << names
                << ")\n(run `textune --help` or `textune COMMAND --help`)\n";
      return kExitUsageError;
    }
    break;
  }
  if (command < 0) return -1;
  for (size_t i = 0; i < at; ++i)
    if (!in_names(kGlobalFlags, args[i])) return -1;  // e.g. --version or -h before the command

  // The command's arguments: only flags and unknown options are judged here; any value (an
  // option's, a positional, "--") and anything CLI11 could read otherwise goes to textune-core.
  std::vector<const CliOption*> options;
  for (const auto& o : kOptions)
    if (o.command == command) options.push_back(&o);
  std::vector<const CliOption*> given;
  std::vector<std::string> unknown;
  bool help = false;
  for (size_t j = at + 1; j < n; ++j) {
    const std::string& arg = args[j];
    if (arg.size() < 2 || arg[0] != '-' || arg == "--") return -1;
    std::string name = arg;
    bool has_value = false;
    if (arg[1] == '-') {
      const size_t eq = arg.find('=');
      has_value = eq != std::string::npos;
      name = arg.substr(0, eq);
    } else if (arg.size() != 2 || (arg[1] >= '0' && arg[1] <= '9')) {
      return -1;  // -abc: combined short flags, -Tvalue, or a number
    }
    const CliOption* option = nullptr;
    for (const CliOption* o : options)
      if (!o->positional && in_names(o->names, name)) option = o;
    if (option != nullptr) {
      if (has_value) return -1;
      if (option->help) {
        help = true;
      } else if (option->max_values > 0) {
        // CLI11 takes the next arguments as its values, whatever they look like; with none left
        // it stops at once (ArgumentMismatch), before any other check.
        if (j + 1 == n && option->min_values > 0)
          return usage_error(std::string(option->name) + ": " + std::to_string(option->min_values) + " required " +
                             option->type + " missing");
        return -1;
      }
      given.push_back(option);
    } else if (in_names(kGlobalFlags, name)) {
      if (has_value) return -1;
    } else if (name == "--version") {
      return -1;
    } else {
      unknown.push_back(arg);  // CLI11 collects it (through the top level) for its ExtrasError
    }
  }
  // CLI11's order after parsing: help, then required options (in declaration order), then extras.
  if (help) {
    std::cout << with_program(kCommands[command].help, program);
    return 0;
  }
  for (const CliOption* o : options) {
    bool present = false;
    for (const CliOption* g : given) present = present || g == o;
    if (o->required && !present) return usage_error(std::string(o->name) + " is required");
  }
  if (unknown.empty()) return -1;
  std::string list;
  for (auto it = unknown.rbegin(); it != unknown.rend(); ++it) list += (list.empty() ? "" : " ") + *it;
  return usage_error(std::string(unknown.size() == 1 ? "The following argument was not expected: "
                                                     : "The following arguments were not expected: ") +
                     list);
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  const int code = answer(args, argc > 0 ? argv[0] : "textune");
  if (code >= 0) return code;
  return run_core(argv);
}
