// textune_data.json: the data options of a training run, saved in the model folder by `textune
// train` and used as defaults by `textune eval` and `textune predict`, so that MRPC's three column
// flags are given once. Flags given on the command line win; the log says which defaults came from
// the file.
//
// The file holds the options given to `train` (only those given: a default stays a default, so an
// evaluation file may use other default-named columns) and what was used:
//   {"text_column": "#1 String", "text_pair_column": "#2 String", "label_column": "Quality",
//    "label_separator": ",", "label_names_file": "label_names.txt" (a copy in the model folder),
//    "format": "tsv", "has_header": false, "quoting": "none", "sheet": "Sheet1",
//    "delimiter": ";", "encoding": "cp1252",
//    "task": "single_label_classification", "pos_label": "1" (train's --pos_label, when given),
//    "columns_used": {"text": "#1 String", "text_pair": "#2 String" or null, "label": "Quality"}}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "textune/core/json.h"
#include "textune/data/dataset.h"

namespace textune::cli {

/// The file name in a model folder.
inline constexpr const char* kSavedDataFile = "textune_data.json";

/// The JSON of textune_data.json for a training run given `options` that read `train_set`. When
/// options.label_names_file is set, the JSON names "label_names.txt", its copy in the model folder.
core::Json saved_data_json(const data::DataOptions& options, const data::Dataset& train_set);

/// Writes `saved` (saved_data_json) as textune_data.json, and label_names.txt, a copy of
/// options.label_names_file when set, into `dir`.
/// @throws textune::DataError when a file cannot be read or written.
void write_saved_data(const std::string& dir, const core::Json& saved, const data::DataOptions& options);

/// The files write_saved_data writes (textune_data.json, label_names.txt).
std::vector<std::string> saved_data_files();

/// What a model folder's textune_data.json says, if it has one.
struct SavedData {
  core::Json json;                              ///< the file's object
  std::string path;                             ///< its path
  bool pairs = false;                           ///< trained on text pairs
  std::optional<std::string> text_column_used;  ///< the column the training texts came from
  std::optional<std::string> pair_column_used;  ///< the column of the second texts
};

/// Reads `model_dir`/textune_data.json; nullopt when there is none.
/// @throws textune::DataError naming the file when it is not a JSON object or a value has the wrong type.
std::optional<SavedData> read_saved_data(const std::string& model_dir);

/// Fills the options of `options` that are still at their defaults (not given on the command line)
/// from `saved`: the text and pair columns and the read options always; the label column, label
/// separator and label names when `labels` (eval; predict needs no labels). Logs one line naming the
/// file and the options taken from it. Returns the options taken, as "--text-column X" strings.
std::vector<std::string> apply_saved_data(const SavedData& saved, data::DataOptions& options, bool labels);

}  // namespace textune::cli
