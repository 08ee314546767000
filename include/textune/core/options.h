// Options declared once: one table per options struct (TrainingArguments, a task's options) feeds
// the command line (tools/cli adapts it to CLI11), the --config JSON file and the JSON saved beside
// a run (training_args.json, textune_task.json). As marian-nmt declares every option in one place.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"

namespace textune::core {

/// One option: its name as Hugging Face spells it, and how to read and write its value.
struct OptionSpec {
  std::string name;                  ///< "learning_rate": the JSON key and the command line's --learning_rate
  std::vector<std::string> aliases;  ///< further command-line spellings without dashes ("output", "lr")
  std::string help;                  ///< one line for --help
  std::string type;                  ///< "bool", "int", "uint", "float", "string"
  bool optional = false;             ///< an std::optional field: null/absent means unset
  std::vector<std::string> choices;  ///< allowed values of a string option (empty: any)
  std::string group;                 ///< --help section ("Training", "text-classification")
  std::function<Json()> get;         ///< the current value (null when an optional is unset)
  /// Sets the value from JSON. @throws textune::UsageError naming the option and `source` for a
  /// value of the wrong type or outside `choices`.
  std::function<void(const Json& value, const std::string& source)> set;
};

/// The options of one struct instance, in declaration order.
class OptionTable {
 public:
  /// Declares `*field` (bool, int64_t, uint64_t, size_t, double, std::string or std::optional of
  /// one of them) under `name`. The field must outlive the table. Returns the spec to add aliases,
  /// choices or a group.
  template <class T>
  OptionSpec& add(const std::string& name, T* field, const std::string& help);

  const std::vector<OptionSpec>& specs() const { return specs_; }
  /// The spec named `name` (or with that alias); null when none.
  const OptionSpec* find(const std::string& name) const;
  /// {name: value} of every option, in declaration order (unset optionals as null).
  Json to_json() const;
  /// Sets the options whose names are keys of `json` (an object). Unknown keys are an error naming
  /// them and `source` unless `allow_unknown`.
  /// @throws textune::UsageError for an unknown key or a bad value, naming `source` and the key.
  void update_from_json(const Json& json, const std::string& source, bool allow_unknown = false) const;

 private:
  std::vector<OptionSpec> specs_;
};

}  // namespace textune::core

#include "textune/core/options_impl.h"
