// The options table: lookup and the JSON round trip. See include/textune/core/options.h.
#include "textune/core/options.h"

#include <algorithm>

#include "core/edit_distance.h"
#include "textune/core/error.h"

namespace textune::core {
namespace {

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace

const OptionSpec* OptionTable::find(const std::string& name) const {
  for (const auto& spec : specs_)
    if (spec.name == name || has(spec.aliases, name) || has(spec.json_aliases, name)) return &spec;
  return nullptr;
}

Json OptionTable::to_json() const {
  Json j = Json::object();
  for (const auto& spec : specs_) j[spec.name] = spec.get();
  return j;
}

std::vector<std::string> OptionTable::update_from_json(const Json& json, const std::string& source,
                                                       bool allow_unknown) const {
  if (!json.is_object()) throw UsageError(source + ": expected a JSON object of options, not " + json.type_name());
  std::vector<std::string> set;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& key = it.key();
    const OptionSpec* spec = nullptr;
    for (const auto& s : specs_)
      if (s.name == key || has(s.json_aliases, key)) {
        spec = &s;
        break;
      }
    if (!spec) {
      if (allow_unknown) continue;
      std::string message = source + ": unknown option \"" + key + "\"";
      const OptionSpec* closest = nullptr;
      size_t best = 0;
      const size_t limit = std::max<size_t>(2, key.size() / 4);
      for (const auto& s : specs_) {  // the closest spelling (a command-line alias names its option)
        std::vector<std::string> spellings = s.aliases;
        spellings.push_back(s.name);
        for (const auto& spelling : spellings) {
          const size_t d = edit_distance(key, spelling, limit);
          if (!closest || d < best) closest = &s, best = d;
        }
      }
      if (closest && best <= limit) message += " (did you mean \"" + closest->name + "\"?)";
      throw UsageError(message);
    }
    const Json& value = it.value();
    if (!spec->choices.empty() && value.is_string() && !has(spec->choices, value.get<std::string>())) {
      std::string list;
      for (const auto& c : spec->choices) list += (list.empty() ? "" : ", ") + c;
      throw UsageError(source + ": \"" + key + "\" must be one of " + list + ", not " + value.dump());
    }
    spec->set(value, source);
    if (!has(set, spec->name)) set.push_back(spec->name);
  }
  return set;
}

}  // namespace textune::core
