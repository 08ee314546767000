// The explicit registry of tasks (as models/registry.cpp is for model families): a task is a folder
// under src/tasks/ and one line in src/tasks/registry.cpp. Tests and applications may register
// their own tasks at run time with register_task.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/models/model.h"
#include "textune/tasks/task.h"

namespace textune::tasks {

/// Makes a task. `requested` is the name or alias it was asked for (text-classification's
/// "regression" alias sets its problem type).
using TaskFactory = std::function<std::unique_ptr<Task>(const std::string& requested)>;

/// The file a saved model directory names its task in: {"task": NAME, "options": {...}}.
inline constexpr const char* kTaskFile = "textune_task.json";

/// Registers a task under `name` and `aliases` (the spellings `--task` accepts), for models whose
/// head is `kind` when their directory names no task.
/// @throws textune::UsageError when a name or alias is already registered.
void register_task(const std::string& name, std::vector<std::string> aliases, models::TaskKind kind,
                   TaskFactory factory);

/// A new instance of the task registered under `name` or an alias.
/// @throws textune::UsageError for an unknown name, listing the registered ones.
std::unique_ptr<Task> create_task(const std::string& name);

/// Registered names (not aliases), sorted.
std::vector<std::string> task_names();

/// The aliases the task registered as `name` is also known by, in registration order ("ner",
/// "token_classification" for token-classification); empty for a task without any or an unknown name.
std::vector<std::string> task_aliases(const std::string& name);

/// The task of a saved model directory: the one its textune_task.json names (with its saved options
/// restored), else the built-in task for the model's head (`kind`), else textune::DataError naming
/// the directory and the head.
std::unique_ptr<Task> task_for_model(const std::string& model_dir, models::TaskKind kind);

/// Writes textune_task.json ({"task": task.name(), "options": task.saved_options()}) and the task's
/// own files (Task::save_files) into a (staging) model directory.
/// @throws textune::DataError when a file cannot be written.
void save_task(const Task& task, const std::string& dir);

/// The one maximum-length rule: `requested` when given (an error when longer than the model's
/// position embeddings allow), else the model's maximum (max_sequence_length, 512 when unbounded)
/// capped by the tokenizer's model_max_length and by the task's default (Task::default_max_length,
/// e.g. question answering's 384) when given.
/// @throws textune::UsageError naming --max_length when `requested` is longer than the model allows.
size_t resolve_max_length(const models::PreTrainedModel& model, const tokenizers::Tokenizer& tokenizer,
                          std::optional<size_t> requested, std::optional<size_t> task_default = std::nullopt);

}  // namespace textune::tasks
