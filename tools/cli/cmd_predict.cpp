// `textune predict --model DIR [--input FILE | TEXT...] [--output FILE]`: the label and the
// probability of every label for each input, as JSON lines or CSV.
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "checks.h"
#include "command.h"
#include "data_options.h"
#include "model_options.h"
#include "saved_data.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/logging.h"
#include "textune/pipeline.h"

namespace textune::cli {
namespace {

struct PredictCliOptions {
  ModelOption model;
  std::string input, output;
  std::vector<std::string> texts;
  std::vector<std::string> text_pairs;  ///< --text-pair, one per text
  size_t batch_size = 32;
  std::optional<size_t> max_length;
  std::string device = "cpu";
  data::DataOptions data;
};

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int run_predict(const PredictCliOptions& o) {
  if (o.input.empty() == o.texts.empty()) throw UsageError("give either --input FILE or texts as arguments");
  // every option, path and text is checked before the model loads
  parse_device(o.device);
  if (!o.output.empty()) check_output_file(o.output, "--output");
  if (!o.input.empty()) check_input_file(o.input, "--input");
  if (!o.text_pairs.empty()) {
    if (!o.input.empty())
      throw UsageError(
          "--text-pair goes with TEXT arguments; with --input the pairs come from a column "
          "(--text-pair-column)");
    if (o.text_pairs.size() != o.texts.size())
      throw UsageError(fmt::format("{} texts but {} --text-pair values: give one --text-pair per text", o.texts.size(),
                                   o.text_pairs.size()));
  }
  // the data loader's rule (and serve's 400): a text must not be empty or only whitespace
  for (const auto* list : {&o.texts, &o.text_pairs})
    for (size_t i = 0; i < list->size(); ++i)
      if ((*list)[i].find_first_not_of(" \t\r\n\f\v") == std::string::npos)
        throw DataError(fmt::format("{} {} of {} is empty{}", list == &o.texts ? "text" : "--text-pair", i + 1,
                                    list->size(), (*list)[i].empty() ? "" : " (only whitespace)"));
  PipelineOptions po;
  po.device = o.device;
  po.batch_size = o.batch_size;
  po.max_length = o.max_length;
  const std::string dir = resolve_model_option(o.model);
  std::shared_ptr<Pipeline> pipe;
  try {
    pipe = Pipeline::load(dir, po);
  } catch (const DataError& e) {  // name the model directory when the message does not
    const std::string what = e.what();
    if (what.find(dir) != std::string::npos) throw;
    throw DataError(dir + ": " + what);
  }

  // the training run's data options (textune_data.json) are the defaults; flags given here win
  const std::optional<SavedData> saved = read_saved_data(dir);
  std::vector<std::string> texts = o.texts;
  std::vector<std::string> pairs = o.text_pairs;
  if (!o.input.empty()) {
    data::DataOptions dopt = o.data;
    if (saved) apply_saved_data(*saved, dopt, false);
    dopt.require_labels = false;
    data::Dataset ds = data::load_dataset(o.input, dopt);
    texts = ds.texts();
    if (ds.has_pairs()) pairs = ds.text_pairs();
  }
  // A pair model given single texts: transformers' pipeline runs it silently; we run it too (the
  // user may mean it) but say loudly that the model learned pairs.
  if (saved && saved->pairs && pairs.empty())
    spdlog::warn(
        "{} was trained on text pairs (columns {} and {}, {}) but is given single texts: the "
        "predictions are not what it learned; give the second texts with --text-pair (one per text) or, "
        "with --input, a pair column (--text-pair-column)",
        dir, saved->text_column_used.value_or("?"), saved->pair_column_used.value_or("?"), saved->path);
  std::vector<Prediction> preds;
  if (pairs.empty()) {
    preds = pipe->predict(texts);
  } else {
    std::vector<std::pair<std::string, std::string>> tp;
    for (size_t i = 0; i < texts.size(); ++i) tp.emplace_back(texts[i], pairs[i]);
    preds = pipe->predict(tp);
  }
  size_t truncated = 0;
  for (const auto& p : preds) truncated += p.truncated ? 1 : 0;

  const bool csv = ends_with(o.output, ".csv");
  std::string out;
  if (csv) {
    out += "text,";
    if (!pairs.empty()) out += "text_pair,";
    out += "label,score";
    for (const auto& l : pipe->labels()) out += "," + csv_field("score_" + l);
    out += "\n";
  }
  for (size_t i = 0; i < preds.size(); ++i) {
    const Prediction& p = preds[i];
    if (csv) {
      out += csv_field(texts[i]) + ",";
      if (!pairs.empty()) out += csv_field(pairs[i]) + ",";
      out += csv_field(p.label) + "," + fmt::format("{:.6g}", p.score);
      for (const auto& s : p.scores) out += fmt::format(",{:.6g}", s.second);
      out += "\n";
    } else {
      core::Json j = core::Json::object();
      j["text"] = texts[i];
      if (!pairs.empty()) j["text_pair"] = pairs[i];
      j["label"] = p.label;
      j["score"] = p.score;
      core::Json scores = core::Json::object();
      for (const auto& s : p.scores) scores[s.first] = s.second;
      j["scores"] = scores;
      if (pipe->problem_type() == "multi_label_classification") j["labels"] = p.labels;
      if (p.truncated) j["truncated"] = true;
      out += j.dump() + "\n";
    }
  }
  if (o.output.empty())
    std::cout << out;
  else
    core::write_file_atomic(o.output, out);
  if (truncated)
    std::cerr << fmt::format("{} of {} inputs were truncated to {} tokens\n", truncated, preds.size(),
                             pipe->max_length());
  if (!o.output.empty()) std::cerr << fmt::format("{} predictions written to {}\n", preds.size(), o.output);
  return 0;
}

const CommandRegistrar kRegistrar(
    "predict", "Predict labels and probabilities with a fine-tuned classifier (JSON lines or CSV)",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<PredictCliOptions>();
      add_model_options(app, o->model, true, "Fine-tuned model");
      app.add_option("--input,--test_file", o->input,
                     "File of texts (CSV/TSV/JSONL/JSON/xlsx) with a header row naming a text column "
                     "(or --no-header --text-column 0: one text per line)");
      verbatim_texts(app.add_option("texts", o->texts, "Texts to classify (each argument is one text)"));
      verbatim_texts(app.add_option("--text-pair,--text_pair", o->text_pairs,
                                    "The second text of a pair, once per TEXT, in order (a model trained with "
                                    "--text-pair-column; with --input give --text-pair-column instead)"));
      app.add_option("--output", o->output, "Write predictions here: .jsonl (default format) or .csv");
      app.add_option("--per_device_eval_batch_size,--batch-size,--batch_size", o->batch_size)
          ->capture_default_str()
          ->check(at_least(1));
      app.add_option_function<size_t>(
             "--max_length,--max-length", [o](const size_t& v) { o->max_length = v; },
             "Truncate inputs to N tokens (default: the model's maximum)")
          ->check(at_least(1));
      app.add_option("--device", o->device, device_help())->capture_default_str();
      DataOptionGroups groups;
      groups.task = false;
      groups.labels = false;
      add_data_options(app, o->data, groups);
      return [o] { return run_predict(*o); };
    },
    35);

}  // namespace
}  // namespace textune::cli
