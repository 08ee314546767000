// The default shape of predictions written to files (Task::prediction_json, Task::prediction_table):
// the example's input fields, then the record's. See include/textune/tasks/task.h.
#include <string>
#include <vector>

#include "textune/tasks/task.h"

namespace textune::tasks {

core::Json Task::prediction_json(const Examples& examples, size_t i, const core::Json& record) const {
  core::Json j = examples.example_json(i);
  if (j.is_object()) j.erase("label");
  if (record.is_object())
    for (auto it = record.begin(); it != record.end(); ++it) j[it.key()] = it.value();
  else
    j["prediction"] = record;
  return j;
}

std::vector<std::vector<core::Json>> Task::prediction_table(const Examples& examples,
                                                            const std::vector<core::Json>& records) const {
  std::vector<std::vector<core::Json>> table;
  std::vector<std::string> columns;
  auto scalar = [](const core::Json& v) { return v.is_string() || v.is_number() || v.is_boolean(); };
  for (size_t i = 0; i < records.size(); ++i) {
    const core::Json j = prediction_json(examples, i, records[i]);
    if (i == 0) {
      for (auto it = j.begin(); it != j.end(); ++it)
        if (scalar(it.value())) columns.push_back(it.key());
      table.emplace_back(columns.begin(), columns.end());
    }
    std::vector<core::Json> row;
    for (const auto& c : columns) row.push_back(j.contains(c) && scalar(j[c]) ? j[c] : core::Json(""));
    table.push_back(std::move(row));
  }
  return table;
}

}  // namespace textune::tasks
