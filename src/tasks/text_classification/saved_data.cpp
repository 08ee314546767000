// textune_data.json: the data options of a training run, saved in the model folder by training and
// used as defaults by evaluation and prediction, so that MRPC's three column flags are given once.
// Options given by the caller win; the log says which defaults came from the file.
//
// The file holds the options given to training (only those given: a default stays a default, so an
// evaluation file may use other default-named columns) and what was used:
//   {"text_column": "#1 String", "text_pair_column": "#2 String", "label_column": "Quality",
//    "label_separator": ",", "label_names_file": "label_names.txt" (a copy in the model folder),
//    "format": "tsv", "has_header": false, "quoting": "none", "sheet": "Sheet1",
//    "delimiter": ";", "encoding": "cp1252",
//    "task": "single_label_classification", "pos_label": "1" (training's pos_label, when given),
//    "columns_used": {"text": "#1 String", "text_pair": "#2 String" or null, "label": "Quality"}}
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/tasks/text_classification.h"

namespace textune::tasks {
namespace {

constexpr const char* kSavedDataFile = "textune_data.json";
constexpr const char* kLabelNamesCopy = "label_names.txt";

std::string quoting_name(data::Quoting q) {
  switch (q) {
    case data::Quoting::kRfc4180:
      return "csv";
    case data::Quoting::kNone:
      return "none";
    case data::Quoting::kAuto:
      return "auto";
  }
  return "auto";
}

/// parse(), with its usage error turned into a DataError naming the file and the key.
template <typename F>
auto from_file(const std::string& path, const char* key, F parse) {
  try {
    return parse();
  } catch (const Error& e) {
    throw DataError(fmt::format("{}: key \"{}\": {}", path, key, e.what()));
  }
}

core::Json saved_data_json(const data::DataOptions& o, const data::Dataset& ds) {
  core::Json j = core::Json::object();
  if (!o.text_column.empty()) j["text_column"] = o.text_column;
  if (!o.text_pair_column.empty()) j["text_pair_column"] = o.text_pair_column;
  if (!o.label_column.empty()) j["label_column"] = o.label_column;
  if (o.label_separator) j["label_separator"] = *o.label_separator;
  if (!o.label_names_file.empty()) j["label_names_file"] = kLabelNamesCopy;
  if (o.read.format) j["format"] = data::format_name(*o.read.format);
  if (!o.read.has_header) j["has_header"] = false;
  if (o.read.quoting) j["quoting"] = quoting_name(*o.read.quoting);
  if (!o.read.sheet.empty()) j["sheet"] = o.read.sheet;
  if (o.read.delimiter) j["delimiter"] = std::string(1, *o.read.delimiter);
  if (!o.read.encoding.empty()) j["encoding"] = o.read.encoding;
  j["task"] = core::problem_type_name(ds.task);
  core::Json used = core::Json::object();
  used["text"] = ds.text_column;
  used["text_pair"] = ds.text_pair_column ? core::Json(*ds.text_pair_column) : core::Json();
  used["label"] = ds.label_column ? core::Json(*ds.label_column) : core::Json();
  j["columns_used"] = std::move(used);
  return j;
}

/// The read options of `j` (textune_data.json at `path`) for the options still at their defaults.
void take_read_options(const core::Json& j, const std::string& path, data::ReadOptions& r,
                       std::vector<std::string>& taken) {
  auto str = [&](const char* key) { return j.contains(key) ? j[key].get<std::string>() : std::string(); };
  if (!r.format && j.contains("format")) {
    r.format = from_file(path, "format", [&] { return data::parse_format(str("format")); });
    taken.push_back("--format " + str("format"));
  }
  if (r.has_header && j.contains("has_header") && !j["has_header"].get<bool>()) {
    r.has_header = false;
    taken.push_back("--no-header");
  }
  if (!r.quoting && j.contains("quoting")) {
    r.quoting = from_file(path, "quoting", [&] { return data::parse_quoting(str("quoting")); });
    taken.push_back("--quoting " + str("quoting"));
  }
  if (r.sheet.empty() && j.contains("sheet")) {
    r.sheet = str("sheet");
    taken.push_back(fmt::format("--sheet '{}'", r.sheet));
  }
  if (!r.delimiter && j.contains("delimiter")) {
    r.delimiter = from_file(path, "delimiter", [&] { return data::parse_delimiter(str("delimiter")); });
    taken.push_back(fmt::format("--delimiter '{}'", str("delimiter") == "\t" ? "tab" : str("delimiter")));
  }
  if (r.encoding.empty() && j.contains("encoding")) {
    r.encoding = str("encoding");
    taken.push_back("--encoding " + r.encoding);
  }
}

}  // namespace

std::vector<std::string> TextClassificationTask::saved_file_names() {
  return {kSavedDataFile, kLabelNamesCopy};
}

void TextClassificationTask::save_files(const std::string& dir) const {
  if (!train_columns_) return;  // bound to a trained model, not training: nothing new to say
  core::Json saved = saved_data_json(data_, *train_columns_);
  if (pos_label_) saved["pos_label"] = *pos_label_;
  if (!data_.label_names_file.empty())
    core::write_file_atomic(dir + "/" + kLabelNamesCopy, core::read_file(data_.label_names_file));
  core::write_json_file(dir + "/" + kSavedDataFile, saved);
}

void TextClassificationTask::restore_files(const std::string& dir) {
  const std::string path = dir + "/" + kSavedDataFile;
  model_dir_ = dir;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return;
  core::Json j = core::read_json_file(path);
  if (!j.is_object()) throw DataError(path + ": expected a JSON object of data options");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const core::Json& v = it.value();
    const bool ok = k == "has_header" ? v.is_boolean() : k == "columns_used" ? v.is_object() : v.is_string();
    if (!ok)
      throw DataError(fmt::format("{}: key \"{}\": expected {}, got {}", path, k,
                                  k == "has_header"     ? "true or false"
                                  : k == "columns_used" ? "an object"
                                                        : "a string",
                                  v.type_name()));
  }
  if (j.contains("pos_label")) saved_pos_label_ = j["pos_label"].get<std::string>();
  saved_data_ = std::move(j);
  saved_data_path_ = path;
}

data::DataOptions TextClassificationTask::effective_options(bool labels) const {
  data::DataOptions o = data_;
  if (!saved_data_) return o;
  const core::Json& j = *saved_data_;
  std::vector<std::string> taken;
  auto take = [&](const char* key, const char* flag, std::string& field) {
    if (!field.empty() || !j.contains(key)) return;
    field = j[key].get<std::string>();
    taken.push_back(fmt::format("{} '{}'", flag, field));
  };
  take("text_column", "--text-column", o.text_column);
  take("text_pair_column", "--text-pair-column", o.text_pair_column);
  if (labels) {
    take("label_column", "--label-column", o.label_column);
    if (!o.label_separator && j.contains("label_separator")) {
      o.label_separator = j["label_separator"].get<std::string>();
      taken.push_back(fmt::format("--label-separator '{}'", *o.label_separator));
    }
    if (o.label_names_file.empty() && j.contains("label_names_file")) {
      const std::string f = j["label_names_file"].get<std::string>();
      if (f.find('/') != std::string::npos || f == ".." || f == ".")
        throw DataError(saved_data_path_ +
                        ": key \"label_names_file\": expected a file name in the model folder, got " + f);
      o.label_names_file = (std::filesystem::path(saved_data_path_).parent_path() / f).string();
      taken.push_back("--label-names " + o.label_names_file);
    }
  }
  take_read_options(j, saved_data_path_, o.read, taken);
  if (!taken.empty()) {
    std::string list;
    for (const auto& t : taken) list += (list.empty() ? "" : " ") + t;
    spdlog::info("data options from {} (the training run's; flags given here win): {}", saved_data_path_, list);
  }
  return o;
}

}  // namespace textune::tasks
