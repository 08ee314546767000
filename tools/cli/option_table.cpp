// Options tables on the command line. See option_table.h.
#include "option_table.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "checks.h"
#include "textune/core/error.h"
#include "textune/tasks/task.h"

namespace textune::cli {
namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The JSON value of a command-line text for an option of `type`; an error message when it is not one.
core::Json parse_text(const std::string& text, const std::string& type, std::string& error) {
  const char* begin = text.c_str();
  char* end = nullptr;
  errno = 0;
  if (type == "bool") {
    const std::string t = lower(text);
    if (t == "true" || t == "1" || t == "yes" || t == "on") return true;
    if (t == "false" || t == "0" || t == "no" || t == "off") return false;
    error = "must be true or false, not \"" + text + "\"";
  } else if (type == "int") {
    const long long v = std::strtoll(begin, &end, 10);
    if (!text.empty() && *end == '\0' && errno == 0) return static_cast<int64_t>(v);
    error = "must be an integer, not \"" + text + "\"";
  } else if (type == "uint") {
    const unsigned long long v = std::strtoull(begin, &end, 10);
    if (!text.empty() && text[0] != '-' && *end == '\0' && errno == 0) return static_cast<uint64_t>(v);
    error = "must be a non-negative integer, not \"" + text + "\"";
  } else if (type == "float") {
    const double v = std::strtod(begin, &end);
    if (!text.empty() && *end == '\0' && errno == 0) return v;
    error = "must be a number, not \"" + text + "\"";
  } else {
    return text;
  }
  return nullptr;
}

const char* cli_type_name(const std::string& type) {
  if (type == "bool") return "BOOLEAN";
  if (type == "int") return "INT";
  if (type == "uint") return "UINT";
  if (type == "float") return "FLOAT";
  return "TEXT";
}

// Stores `json` through the spec's setter; a UsageError becomes a CLI11 usage error naming `option`.
void store(const core::OptionSpec& spec, const std::string& option, const core::Json& json) {
  try {
    spec.set(json, option);
  } catch (const Error& e) {
    throw CLI::ValidationError(option, e.what());
  }
}

}  // namespace

std::vector<CLI::Option*> add_option_table(CLI::App& app, const core::OptionTable& table) {
  std::vector<CLI::Option*> added;
  for (const core::OptionSpec& spec : table.specs()) {
    const std::string option = "--" + spec.name;
    std::string names = option;
    for (const auto* list : {&spec.aliases, &spec.json_aliases})
      for (const auto& alias : *list) names += (alias.size() == 1 ? ",-" : ",--") + alias;
    CLI::Option* opt = nullptr;
    if (spec.flag) {
      // as CLI11's add_flag: each --NAME counts 1, --NAME=false counts -1
      opt = app.add_flag_function(
          names, [spec, option](int64_t count) { store(spec, option, core::Json(count > 0)); }, spec.help);
    } else {
      opt = app.add_option_function<std::string>(
          names,
          [spec, option](const std::string& text) {
            std::string error;
            const core::Json value = parse_text(text, spec.type, error);
            if (!error.empty()) throw CLI::ValidationError(option, error);
            store(spec, option, value);
          },
          spec.help);
      opt->type_name(cli_type_name(spec.type));
      if (spec.cli_min) opt->check(at_least(*spec.cli_min));
      if (!spec.choices.empty()) opt->check(CLI::IsMember(spec.choices));
      // the default, unless the help says what it is ("default: --logging_steps")
      if (!spec.optional && spec.help.find("default:") == std::string::npos) {
        const core::Json value = spec.get();
        const std::string shown = value.is_string() ? value.get<std::string>() : value.dump();
        if (!shown.empty()) opt->default_str(shown);
      }
    }
    if (!spec.group.empty()) opt->group(spec.group);
    added.push_back(opt);
  }
  return added;
}

std::vector<std::string> given_options(const CLI::App& app, const core::OptionTable& table) {
  std::vector<std::string> given;
  for (const core::OptionSpec& spec : table.specs())
    if (app.count("--" + spec.name) > 0) given.push_back(spec.name);
  return given;
}

std::vector<CLI::Option*> add_task_options(CLI::App& app, tasks::Task& task) {
  core::OptionTable table(task.name());
  task.declare_options(table);
  return add_option_table(app, table);
}

}  // namespace textune::cli
