// Options declared once: one table per options struct (TrainingArguments, a task's options) feeds
// the command line (tools/cli adapts it to CLI11), the --config JSON file and the JSON saved beside
// a run (training_args.json, textune_task.json). As marian-nmt declares every option in one place.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "textune/core/json.h"

namespace textune::core {

/// One option: its name as Hugging Face spells it, and how to read and write its value.
struct OptionSpec {
  std::string name;                  ///< "learning_rate": the JSON key and the command line's --learning_rate
  std::vector<std::string> aliases;  ///< further command-line spellings without dashes ("output", "lr")
  /// Further JSON keys read by update_from_json, also accepted on the command line: earlier names of
  /// the option (transformers' deprecated "evaluation_strategy" for "eval_strategy").
  std::vector<std::string> json_aliases;
  std::string help;                  ///< one line for --help
  std::string type;                  ///< "bool", "int", "uint", "float", "string"
  bool optional = false;             ///< an std::optional field: null/absent means unset
  std::vector<std::string> choices;  ///< allowed values of a string option (empty: any)
  std::string group;                 ///< --help section ("Training", "text-classification")
  /// A bool given without a value on the command line (`--group_by_length`, `--bf16=false`).
  /// OptionTable::add sets it for a (non-optional) bool field whose value is false when declared;
  /// other bools take a value (`--halt_on_nonfinite false`).
  bool flag = false;
  /// The smallest value the command line accepts for an integer option (unsigned ones: 0 unless
  /// set). Checked on the command line only: JSON values are checked by the owner (a saved run may
  /// hold an "unset" 0, as transformers' eval_steps).
  std::optional<int64_t> cli_min;
  std::function<Json()> get;         ///< the current value (null when an optional is unset)
  /// Sets the value from JSON. @throws textune::UsageError naming the option and `source` for a
  /// value of the wrong type or outside `choices`.
  std::function<void(const Json& value, const std::string& source)> set;
};

/// The options of one struct instance, in declaration order.
class OptionTable {
 public:
  /// `group`: the --help section of every option added (OptionSpec::group; add() may change it).
  explicit OptionTable(std::string group = "") : group_(std::move(group)) {}

  /// Declares `*field` (bool, an integer type, double, std::string or std::optional of one of them)
  /// under `name`. The field must outlive the table and every copy of its specs. Returns the spec
  /// to add aliases, choices or a group: the reference is valid until the next add().
  /// A JSON value of the wrong type, an integer out of the field's range or a non-integral number
  /// for an integer field (3.0 is 3) is a textune::UsageError naming the source and the option.
  template <class T>
  OptionSpec& add(const std::string& name, T* field, const std::string& help);

  const std::vector<OptionSpec>& specs() const { return specs_; }
  /// The spec named `name` (or with that alias); null when none.
  const OptionSpec* find(const std::string& name) const;
  /// {name: value} of every option, in declaration order (unset optionals as null).
  Json to_json() const;
  /// Sets the options whose names (or json_aliases) are keys of `json` (an object), in key order.
  /// Unknown keys are an error naming them and `source` unless `allow_unknown` (then skipped).
  /// Returns the names (not aliases) of the options set, in key order.
  /// @throws textune::UsageError for a `json` that is not an object, an unknown key or a bad value,
  /// naming `source` and the key.
  std::vector<std::string> update_from_json(const Json& json, const std::string& source,
                                            bool allow_unknown = false) const;

 private:
  std::string group_;
  std::vector<OptionSpec> specs_;
};

}  // namespace textune::core

#include "textune/core/options_impl.h"
