// The options of the registered tasks on the command line: see task_options.h.
#include "task_options.h"

#include "option_table.h"
#include "textune/core/error.h"
#include "textune/tasks/registry.h"

namespace textune::cli {

CLI::Option* add_task_option(CLI::App& app, std::string& task) {
  std::string names, aliases;
  for (const auto& n : tasks::task_names()) {
    names += (names.empty() ? "" : ", ") + n;
    const std::vector<std::string> a = tasks::task_aliases(n);
    if (a.empty()) continue;
    aliases += (aliases.empty() ? "" : "; ") + n + ":";
    for (size_t i = 0; i < a.size(); ++i) aliases += (i ? ", " : " ") + a[i];
  }
  return app
      .add_option("--task", task,
                  "Task: " + names + (aliases.empty() ? std::string() : ", or an alias (" + aliases + ")"))
      ->capture_default_str()
      ->check(
          [](const std::string& name) -> std::string {
            try {
              tasks::create_task(name);
              return "";
            } catch (const Error& e) {
              return e.what();
            }
          },
          "TASK");
}

void TaskOptions::add_to(CLI::App& app) {
  app_ = &app;
  for (const auto& name : tasks::task_names()) {
    Entry e;
    e.task = tasks::create_task(name);
    e.table = std::make_unique<core::OptionTable>(e.task->name());
    e.task->declare_options(*e.table);
    bool taken = false;
    for (const auto& spec : e.table->specs()) taken = taken || app.get_option_no_throw("--" + spec.name) != nullptr;
    if (!taken) add_option_table(app, *e.table);
    entries_.push_back(std::move(e));
  }
}

core::Json TaskOptions::given() const {
  core::Json out = core::Json::object();
  if (!app_) return out;
  for (const auto& e : entries_)
    for (const auto& name : given_options(*app_, *e.table))
      if (!out.contains(name)) out[name] = e.table->find(name)->get();
  return out;
}

core::Json TaskOptions::take_from(core::Json& config) const {
  core::Json out = core::Json::object();
  if (!config.is_object()) return out;
  for (const auto& e : entries_)
    for (const auto& spec : e.table->specs())
      if (config.contains(spec.name)) {
        out[spec.name] = config[spec.name];
        config.erase(spec.name);
      }
  return out;
}

}  // namespace textune::cli
