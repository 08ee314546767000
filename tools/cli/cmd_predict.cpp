// `textune predict --model DIR [--input FILE | TEXT... | --question Q --context C ...] [--output FILE]`:
// one prediction per input as JSON lines or CSV, shaped by the model's task (text classification:
// the label and the probability of every label; question answering: {answer, score, start, end}
// per question, as transformers' QuestionAnsweringPipeline), through train::predict
// (include/textune/train/evaluate.h).
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "checks.h"
#include "command.h"
#include "data_options.h"
#include "model_options.h"
#include "task_options.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/logging.h"
#include "textune/tasks/question_answering.h"
#include "textune/tasks/task.h"
#include "textune/train/evaluate.h"

namespace textune::cli {
namespace {

struct PredictCliOptions {
  ModelOption model;
  std::string input, output;
  std::vector<std::string> texts;
  std::vector<std::string> text_pairs;  ///< --text-pair, one per text
  std::vector<std::string> questions;   ///< --question (question answering)
  std::vector<std::string> contexts;    ///< --context: one for every question, or one per question
  size_t batch_size = 32;
  std::optional<size_t> max_length;
  std::string device = "cpu";
  data::DataOptions data;
  TaskOptions task_options;  ///< the options of every registered task (the model's task takes those given)
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// `--output X.conll`: the words and their predicted tags, one `word<TAB>tag` line each and a blank line
/// between sentences (as conlleval and `textune score` read them), from the records' "tokens" and "tags".
/// @throws textune::UsageError when the predictions have no tags per word (raw texts).
std::string predictions_conll(const train::PredictResult& result) {
  std::string out;
  for (size_t i = 0; i < result.records.size(); ++i) {
    const core::Json j = result.task->prediction_json(*result.examples, i, result.records[i]);
    if (!j.contains("tokens") || !j.contains("tags") || !j["tokens"].is_array() || !j["tags"].is_array() ||
        j["tokens"].size() != j["tags"].size())
      throw UsageError("--output .conll needs pre-split words with a tag each (a CoNLL or JSON tokens file)");
    if (i) out += "\n";
    for (size_t k = 0; k < j["tokens"].size(); ++k)
      out += j["tokens"][k].get<std::string>() + "\t" + j["tags"][k].get<std::string>() + "\n";
  }
  return out;
}

bool is_blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n\f\v") == std::string::npos;
}

/// The question-answering inputs of --question/--context: {"question", "context"} objects, one per
/// question; one --context serves every question, else the N-th context goes with the N-th question.
/// @throws textune::UsageError for a --question without --context (or the reverse), counts that do
///         not pair, or other inputs given too; textune::DataError for an empty question or context.
std::vector<core::Json> question_inputs(const PredictCliOptions& o) {
  if (o.questions.empty())
    throw UsageError(
        "--context needs --question: give --question Q --context C (one --context for every question, "
        "or one per question)");
  if (o.contexts.empty())
    throw UsageError(
        "--question needs --context: give --question Q --context C (one --context for every question, "
        "or one per question)");
  if (!o.input.empty() || !o.texts.empty() || !o.text_pairs.empty())
    throw UsageError("--question/--context are the inputs: give them without --input, TEXT arguments or --text-pair");
  if (o.contexts.size() != 1 && o.contexts.size() != o.questions.size())
    throw UsageError(
        fmt::format("{} questions but {} --context values: give one --context for every question, or one "
                    "per question, in order",
                    o.questions.size(), o.contexts.size()));
  for (size_t i = 0; i < o.questions.size(); ++i)
    if (is_blank(o.questions[i]))
      throw DataError(fmt::format("--question {} of {} is empty{}", i + 1, o.questions.size(),
                                  o.questions[i].empty() ? "" : " (only whitespace)"));
  for (size_t i = 0; i < o.contexts.size(); ++i)
    if (is_blank(o.contexts[i]))
      throw DataError(fmt::format("--context {} of {} is empty{}", i + 1, o.contexts.size(),
                                  o.contexts[i].empty() ? "" : " (only whitespace)"));
  std::vector<core::Json> inputs;
  for (size_t i = 0; i < o.questions.size(); ++i) {
    core::Json q = core::Json::object();
    q["id"] = std::to_string(i + 1);
    q["question"] = o.questions[i];
    q["context"] = o.contexts[o.contexts.size() == 1 ? 0 : i];
    inputs.push_back(std::move(q));
  }
  return inputs;
}

int run_predict(const PredictCliOptions& o) {
  const bool questions = !o.questions.empty() || !o.contexts.empty();
  std::vector<core::Json> question_list;
  if (questions)
    question_list = question_inputs(o);
  else if (o.input.empty() == o.texts.empty())
    throw UsageError("give either --input FILE, texts as arguments, or --question Q --context C");
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
  train::EvaluateOptions eo;
  eo.device = o.device;
  eo.batch_size = o.batch_size;
  eo.max_length = o.max_length;
  eo.data = o.data;
  eo.data.require_labels = false;
  eo.task_options = o.task_options.given();
  const std::string dir = resolve_model_option(o.model);
  train::TaskModel model;
  try {
    model = train::load_task_model(dir, eo);
  } catch (const DataError& e) {  // name the model directory when the message does not
    const std::string what = e.what();
    if (what.find(dir) != std::string::npos) throw;
    throw DataError(dir + ": " + what);
  }
  const bool qa_model = model.task->name() == tasks::kQuestionAnswering;
  if (questions && !qa_model)
    throw UsageError(
        fmt::format("--question/--context ask a question-answering model; {} is a {} model: give texts "
                    "or --input",
                    dir, model.task->name()));
  if (qa_model && !o.texts.empty())
    throw UsageError(
        "a question-answering model takes --question Q --context C, or --input FILE (SQuAD JSON, or a CSV/JSONL/xlsx "
        "of "
        "question and context columns), not TEXT arguments");
  std::shared_ptr<tasks::Examples> examples;
  if (questions) {
    examples = model.task->from_inputs(question_list);
  } else if (!o.input.empty()) {
    examples = model.task->read(o.input, false);
  } else {
    std::vector<core::Json> inputs;
    for (size_t i = 0; i < o.texts.size(); ++i) {
      if (o.text_pairs.empty()) {
        inputs.emplace_back(o.texts[i]);
        continue;
      }
      core::Json pair = core::Json::object();
      pair["text"] = o.texts[i];
      pair["text_pair"] = o.text_pairs[i];
      inputs.push_back(std::move(pair));
    }
    examples = model.task->from_inputs(inputs);
  }
  const train::PredictResult result = train::predict(model, examples, eo);
  const std::string out = ends_with(o.output, ".csv")     ? train::predictions_csv(result)
                          : ends_with(o.output, ".conll") ? predictions_conll(result)
                                                          : train::predictions_jsonl(result);
  if (o.output.empty())
    std::cout << out;
  else
    core::write_file_atomic(o.output, out);
  if (result.num_truncated)
    std::cerr << fmt::format("{} of {} inputs were truncated to {} tokens\n", result.num_truncated,
                             result.records.size(), result.max_length);
  if (!o.output.empty()) std::cerr << fmt::format("{} predictions written to {}\n", result.records.size(), o.output);
  return 0;
}

const CommandRegistrar kRegistrar(
    "predict",
    "Predict with a fine-tuned model: labels and probabilities, entities, or answers (JSON lines, CSV, CoNLL)",
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
      verbatim_texts(app.add_option("--question", o->questions,
                                    "Question answering: a question (repeat for several); answered as "
                                    "{id, question, answer, score, start, end} with start/end in code points of "
                                    "its context. With --input: a SQuAD JSON file, or a CSV/JSONL/xlsx with "
                                    "question and context columns"));
      verbatim_texts(app.add_option("--context", o->contexts,
                                    "Question answering: the passage a --question asks about. Give it once for "
                                    "every question, or once per --question (the N-th context goes with the N-th "
                                    "question)"));
      app.add_option("--output", o->output,
                     "Write predictions here: .jsonl (default format), .csv, or .conll (pre-split words: word TAB "
                     "predicted tag)");
      app.add_option("--per_device_eval_batch_size,--batch-size,--batch_size", o->batch_size)
          ->capture_default_str()
          ->check(at_least(1));
      app.add_option_function<size_t>(
             "--max_length,--max-length", [o](const size_t& v) { o->max_length = v; },
             "Truncate inputs to N tokens (default: the model's maximum)")
          ->check(at_least(1));
      app.add_option("--device", o->device, device_help())->capture_default_str();
      DataOptionGroups groups;
      groups.labels = false;
      add_data_options(app, o->data, groups);
      o->task_options.add_to(app);
      return [o] { return run_predict(*o); };
    },
    35);

}  // namespace
}  // namespace textune::cli
