// textune_data.json: see saved_data.h.
#include "saved_data.h"

#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "textune/core/error.h"
#include "textune/core/fs.h"

namespace textune::cli {
namespace {

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
auto from_file(const SavedData& saved, const char* key, F parse) {
  try {
    return parse();
  } catch (const Error& e) {
    throw DataError(fmt::format("{}: key \"{}\": {}", saved.path, key, e.what()));
  }
}

}  // namespace

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
  j["task"] = data::problem_type(ds.task);
  core::Json used = core::Json::object();
  used["text"] = ds.text_column;
  used["text_pair"] = ds.text_pair_column ? core::Json(*ds.text_pair_column) : core::Json();
  used["label"] = ds.label_column ? core::Json(*ds.label_column) : core::Json();
  j["columns_used"] = std::move(used);
  return j;
}

void write_saved_data(const std::string& dir, const core::Json& saved, const data::DataOptions& o) {
  if (!o.label_names_file.empty())
    core::write_file_atomic(dir + "/" + kLabelNamesCopy, core::read_file(o.label_names_file));
  core::write_json_file(dir + "/" + kSavedDataFile, saved);
}

std::vector<std::string> saved_data_files() {
  return {kSavedDataFile, kLabelNamesCopy};
}

std::optional<SavedData> read_saved_data(const std::string& model_dir) {
  const std::string path = model_dir + "/" + kSavedDataFile;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
  SavedData s;
  s.path = path;
  s.json = core::read_json_file(path);
  if (!s.json.is_object()) throw DataError(path + ": expected a JSON object of data options");
  for (auto it = s.json.begin(); it != s.json.end(); ++it) {
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
  if (s.json.contains("columns_used")) {
    const core::Json& u = s.json["columns_used"];
    if (u.contains("text") && u["text"].is_string()) s.text_column_used = u["text"].get<std::string>();
    if (u.contains("text_pair") && u["text_pair"].is_string()) s.pair_column_used = u["text_pair"].get<std::string>();
  }
  s.pairs = s.pair_column_used.has_value() || s.json.contains("text_pair_column");
  return s;
}

std::vector<std::string> apply_saved_data(const SavedData& saved, data::DataOptions& o, bool labels) {
  const core::Json& j = saved.json;
  std::vector<std::string> taken;
  auto str = [&](const char* key) { return j.contains(key) ? j[key].get<std::string>() : std::string(); };
  auto take = [&](const char* key, const char* flag, std::string& field) {
    if (!field.empty() || !j.contains(key)) return;
    field = str(key);
    taken.push_back(fmt::format("{} '{}'", flag, field));
  };
  take("text_column", "--text-column", o.text_column);
  take("text_pair_column", "--text-pair-column", o.text_pair_column);
  if (labels) {
    take("label_column", "--label-column", o.label_column);
    if (!o.label_separator && j.contains("label_separator")) {
      o.label_separator = str("label_separator");
      taken.push_back(fmt::format("--label-separator '{}'", *o.label_separator));
    }
    if (o.label_names_file.empty() && j.contains("label_names_file")) {
      const std::string f = str("label_names_file");
      if (f.find('/') != std::string::npos || f == ".." || f == ".")
        throw DataError(saved.path + ": key \"label_names_file\": expected a file name in the model folder, got " + f);
      o.label_names_file = (std::filesystem::path(saved.path).parent_path() / f).string();
      taken.push_back("--label-names " + o.label_names_file);
    }
  }
  if (!o.read.format && j.contains("format")) {
    o.read.format = from_file(saved, "format", [&] { return data::parse_format(str("format")); });
    taken.push_back("--format " + str("format"));
  }
  if (o.read.has_header && j.contains("has_header") && !j["has_header"].get<bool>()) {
    o.read.has_header = false;
    taken.push_back("--no-header");
  }
  if (!o.read.quoting && j.contains("quoting")) {
    o.read.quoting = from_file(saved, "quoting", [&] { return data::parse_quoting(str("quoting")); });
    taken.push_back("--quoting " + str("quoting"));
  }
  if (o.read.sheet.empty() && j.contains("sheet")) {
    o.read.sheet = str("sheet");
    taken.push_back(fmt::format("--sheet '{}'", o.read.sheet));
  }
  if (!o.read.delimiter && j.contains("delimiter")) {
    o.read.delimiter = from_file(saved, "delimiter", [&] { return data::parse_delimiter(str("delimiter")); });
    taken.push_back(fmt::format("--delimiter '{}'", str("delimiter") == "\t" ? "tab" : str("delimiter")));
  }
  if (o.read.encoding.empty() && j.contains("encoding")) {
    o.read.encoding = str("encoding");
    taken.push_back("--encoding " + o.read.encoding);
  }
  if (!taken.empty()) {
    std::string list;
    for (const auto& t : taken) list += (list.empty() ? "" : " ") + t;
    spdlog::info("data options from {} (the training run's; flags given here win): {}", saved.path, list);
  }
  return taken;
}

}  // namespace textune::cli
