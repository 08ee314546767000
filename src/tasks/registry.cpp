// The explicit registry of tasks and the one maximum-length rule. See include/textune/tasks/registry.h.
#include "textune/tasks/registry.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>

#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/core/problem_type.h"
#include "textune/tasks/question_answering.h"
#include "textune/tasks/text_classification.h"
#include "textune/tasks/token_classification.h"

namespace textune::tasks {
namespace {

struct Entry {
  std::string name;
  std::vector<std::string> aliases;
  models::TaskKind kind;
  TaskFactory factory;
};

struct Registry {
  std::mutex mutex;
  std::vector<Entry> entries;  // registration order: the built-in tasks first
};

void add_entry(Registry& r, const std::string& name, std::vector<std::string> aliases, models::TaskKind kind,
               TaskFactory factory) {
  auto taken = [&](const std::string& n) {
    for (const auto& e : r.entries)
      if (e.name == n || std::find(e.aliases.begin(), e.aliases.end(), n) != e.aliases.end()) return true;
    return false;
  };
  if (name.empty()) throw UsageError("register_task: a task needs a name");
  if (!factory) throw UsageError("register_task: task \"" + name + "\" has no factory");
  if (taken(name)) throw UsageError("register_task: the task name \"" + name + "\" is already registered");
  for (const auto& a : aliases)
    if (taken(a) || a == name) throw UsageError("register_task: the alias \"" + a + "\" is already registered");
  r.entries.push_back({name, std::move(aliases), kind, std::move(factory)});
}

/// Every built-in task; adding a task means adding its line here.
void register_builtin_tasks(Registry& r) {
  add_entry(r, kTextClassification,
            {"classification", "single_label_classification", "single-label", "single_label", "multi-label",
             "multi_label", "multi_label_classification", "multilabel", "regression"},
            models::TaskKind::kSequenceClassification, [](const std::string& requested) -> std::unique_ptr<Task> {
              const core::ProblemType type = requested == kTextClassification ? core::ProblemType::kSingleLabel
                                                                              : core::parse_problem_type(requested);
              return std::make_unique<TextClassificationTask>(type);
            });
  add_entry(r, kTokenClassification, {"ner", "token_classification"}, models::TaskKind::kTokenClassification,
            [](const std::string&) -> std::unique_ptr<Task> { return std::make_unique<TokenClassificationTask>(); });
  add_entry(r, kQuestionAnswering, {"qa", "question_answering"}, models::TaskKind::kQuestionAnswering,
            [](const std::string&) -> std::unique_ptr<Task> { return std::make_unique<QuestionAnsweringTask>(); });
}

Registry& registry() {
  static Registry r;
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_tasks(r); });
  return r;
}

std::string names_list(const Registry& r) {
  std::vector<std::string> names;
  for (const auto& e : r.entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// The aliases of every task that has some: "; TASK is also A, B" per task, in registration order.
std::string aliases_list(const Registry& r) {
  std::string out;
  for (const auto& e : r.entries) {
    if (e.aliases.empty()) continue;
    out += "; " + e.name + " is also";
    for (size_t i = 0; i < e.aliases.size(); ++i) out += (i ? ", " : " ") + e.aliases[i];
  }
  return out;
}

const char* kind_name(models::TaskKind kind) {
  switch (kind) {
    case models::TaskKind::kBase:
      return "a base model (no head)";
    case models::TaskKind::kSequenceClassification:
      return "a sequence-classification head";
    case models::TaskKind::kTokenClassification:
      return "a token-classification head";
    case models::TaskKind::kQuestionAnswering:
      return "a question-answering head";
    case models::TaskKind::kMaskedLM:
      return "a masked-LM head";
  }
  return "an unknown head";
}

}  // namespace

void register_task(const std::string& name, std::vector<std::string> aliases, models::TaskKind kind,
                   TaskFactory factory) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  add_entry(r, name, std::move(aliases), kind, std::move(factory));
}

std::unique_ptr<Task> create_task(const std::string& name) {
  Registry& r = registry();
  TaskFactory factory;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    for (const auto& e : r.entries)
      if (e.name == name || std::find(e.aliases.begin(), e.aliases.end(), name) != e.aliases.end()) {
        factory = e.factory;
        break;
      }
    if (!factory) throw UsageError("unknown task \"" + name + "\" (tasks: " + names_list(r) + aliases_list(r) + ")");
  }
  return factory(name);
}

std::vector<std::string> task_names() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> names;
  for (const auto& e : r.entries) names.push_back(e.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> task_aliases(const std::string& name) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  for (const auto& e : r.entries)
    if (e.name == name) return e.aliases;
  return {};
}

std::unique_ptr<Task> task_for_model(const std::string& model_dir, models::TaskKind kind) {
  const std::string path = model_dir + "/" + kTaskFile;
  std::error_code ec;
  std::unique_ptr<Task> task;
  if (std::filesystem::is_regular_file(path, ec)) {
    const core::Json j = core::read_json_file(path);
    if (!j.is_object() || !j.contains("task") || !j["task"].is_string())
      throw DataError(path + ": expected {\"task\": NAME, \"options\": {...}}");
    const std::string name = j["task"].get<std::string>();
    try {
      task = create_task(name);
    } catch (const UsageError& e) {
      throw DataError(path + ": " + e.what());
    }
    const core::Json options = j.value("options", core::Json::object());
    if (!options.is_object()) throw DataError(path + ": key \"options\": expected an object");
    if (task->model_kind() != kind)
      throw DataError(fmt::format("{}: task \"{}\" needs {}, but the model has {}", path, name,
                                  kind_name(task->model_kind()), kind_name(kind)));
    task->restore_options(options, path);
  } else {
    Registry& r = registry();
    std::string name;
    {
      std::lock_guard<std::mutex> lock(r.mutex);
      for (const auto& e : r.entries)
        if (e.kind == kind) {
          name = e.name;
          break;
        }
      if (name.empty())
        throw DataError(fmt::format("{} holds a model with {}: no task is registered for it (tasks: {})", model_dir,
                                    kind_name(kind), names_list(r)));
    }
    task = create_task(name);
  }
  task->restore_files(model_dir);
  return task;
}

void save_task(const Task& task, const std::string& dir) {
  core::Json j = core::Json::object();
  j["task"] = task.name();
  j["options"] = task.saved_options();
  core::write_json_file(dir + "/" + kTaskFile, j);
  task.save_files(dir);
}

size_t resolve_max_length(const models::PreTrainedModel& model, const tokenizers::Tokenizer& tokenizer,
                          std::optional<size_t> requested, std::optional<size_t> task_default) {
  // As the Trainer has always resolved it (the rule of transformers' run_classification.py:
  // max_seq_length defaults to the tokenizer's model_max_length, and may not exceed the model's).
  size_t m = requested.value_or(512);
  if (auto model_max = model->max_sequence_length()) {
    if (!requested)
      m = static_cast<size_t>(*model_max);
    else if (*requested > static_cast<size_t>(*model_max))
      throw UsageError(fmt::format("--max_length {} is longer than the model allows ({})", *requested, *model_max));
  }
  if (!requested) {
    if (auto t = tokenizer.model_max_length()) m = std::min(m, *t);
    if (task_default) m = std::min(m, *task_default);
  }
  return m;
}

}  // namespace textune::tasks
