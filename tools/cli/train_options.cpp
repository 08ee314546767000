// Training options, declared once. See train_options.h.
#include "train_options.h"

#include <algorithm>

#include "checks.h"
#include "option_table.h"

namespace textune::cli {

void add_training_arguments(CLI::App& app, train::TrainingArguments& a) {
  for (CLI::Option* opt : add_option_table(app, train::training_arguments_table(a)))
    if (opt->check_name("--device")) opt->description(device_help());  // lists the devices usable here
}

train::TrainingArguments merge_training_arguments(const CLI::App& app, const train::TrainingArguments& cli,
                                                  const core::Json* config, const std::string& config_path,
                                                  std::vector<std::string>* given) {
  train::TrainingArguments merged;
  std::vector<std::string> set;
  if (config) set = merged.update_from_json(*config, config_path);
  train::TrainingArguments from_cli = cli;
  const core::OptionTable cli_table = train::training_arguments_table(from_cli);
  const core::OptionTable table = train::training_arguments_table(merged);
  for (size_t i = 0; i < table.specs().size(); ++i) {
    const core::OptionSpec& spec = table.specs()[i];
    if (app.count("--" + spec.name) == 0) continue;
    spec.set(cli_table.specs()[i].get(), "command line");
    if (std::find(set.begin(), set.end(), spec.name) == set.end()) set.push_back(spec.name);
  }
  if (given) *given = std::move(set);
  return merged;
}

}  // namespace textune::cli
