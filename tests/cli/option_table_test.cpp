// The command line of the options tables (issue 17, "options declared once"): the TrainingArguments
// table parsed in process by CLI11 as `textune train` parses it (tools/cli/option_table.cpp and
// train_options.cpp are compiled into this test), with the spellings, flags and checks the
// hand-written option list had, and the merge order defaults < --config < command line.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

// the command line's own sources (textune-core is a program, not a library)
#include "../tools/cli/option_table.cpp"
#include "../tools/cli/train_options.cpp"

using textune::cli::add_option_table;
using textune::cli::add_training_arguments;
using textune::cli::given_options;
using textune::cli::merge_training_arguments;
using textune::core::Json;
using textune::train::TrainingArguments;

namespace {

struct Parsed {
  std::unique_ptr<CLI::App> app = std::make_unique<CLI::App>();
  TrainingArguments cli;
  std::string error;  ///< the CLI11 message of a usage error, empty when parsing succeeded
};

std::unique_ptr<Parsed> parse(const std::string& args) {
  auto p = std::make_unique<Parsed>();
  add_training_arguments(*p->app, p->cli);
  try {
    p->app->parse(args, false);
  } catch (const CLI::ParseError& e) {
    p->error = e.what();
    if (p->error.empty()) p->error = "?";
  }
  return p;
}

TrainingArguments merged(const Parsed& p, const Json* config = nullptr, std::vector<std::string>* given = nullptr) {
  return merge_training_arguments(*p.app, p.cli, config, config ? "cfg.json" : "", given);
}

TEST(OptionTableCli, FlagsTakeNoValueAndOtherBoolsDo) {
  auto p = parse("--group_by_length --bf16=false --overwrite_output_dir --halt_on_nonfinite false");
  ASSERT_EQ(p->error, "");
  const TrainingArguments a = merged(*p);
  EXPECT_TRUE(a.group_by_length);
  EXPECT_FALSE(a.bf16);
  EXPECT_TRUE(a.overwrite_output_dir);
  EXPECT_FALSE(a.halt_on_nonfinite);
  EXPECT_TRUE(a.logging_nan_inf_filter);
  // a flag does not take the next argument as its value (as CLI11's add_flag)
  EXPECT_NE(parse("--load_best_model_at_end true")->error, "");
  EXPECT_NE(parse("--halt_on_nonfinite maybe")->error.find("must be true or false"), std::string::npos);
  EXPECT_NE(parse("--halt_on_nonfinite")->error, "");  // needs its value
}

TEST(OptionTableCli, SpellingsOfTheHandWrittenListRemain) {
  for (const char* spelling : {"--output", "--output_dir", "--output-dir"}) {
    auto p = parse(std::string(spelling) + " out");
    ASSERT_EQ(p->error, "") << spelling;
    EXPECT_EQ(merged(*p).output_dir, "out") << spelling;
  }
  for (const char* spelling : {"--max_length", "--max_seq_length", "--max-length"}) {
    auto p = parse(std::string(spelling) + " 64");
    ASSERT_EQ(p->error, "") << spelling;
    EXPECT_EQ(merged(*p).max_length, std::optional<size_t>(64)) << spelling;
  }
  for (const char* spelling : {"--class-weights", "--class_weights"}) {
    auto p = parse(std::string(spelling) + " auto");
    ASSERT_EQ(p->error, "") << spelling;
    EXPECT_EQ(merged(*p).class_weights, "auto") << spelling;
  }
  auto p = parse(
      "--evaluation_strategy steps --data_seed 3 --save_total_limit 2 --greater_is_better true "
      "--learning_rate 2e-5 --max_steps -1 --metric_for_best_model f1");
  ASSERT_EQ(p->error, "");
  const TrainingArguments a = merged(*p);
  EXPECT_EQ(a.eval_strategy, "steps");
  EXPECT_EQ(a.data_seed, std::optional<uint64_t>(3));
  EXPECT_EQ(a.save_total_limit, std::optional<int64_t>(2));
  EXPECT_EQ(a.greater_is_better, std::optional<bool>(true));
  EXPECT_EQ(a.learning_rate, 2e-5);
  EXPECT_EQ(a.max_steps, -1);
  EXPECT_EQ(a.metric_for_best_model, "f1");
}

TEST(OptionTableCli, BadValuesAreUsageErrorsNamingTheOption) {
  EXPECT_EQ(parse("--seed -5")->error, "--seed: must be >= 0, not -5");
  EXPECT_EQ(parse("--data_seed -1")->error, "--data_seed: must be >= 0, not -1");
  EXPECT_EQ(parse("--eval_steps 0")->error, "--eval_steps: must be >= 1, not 0");
  EXPECT_EQ(parse("--max_length 0")->error, "--max_length: must be >= 1, not 0");
  EXPECT_NE(parse("--lr_scheduler_type polynomial")->error.find("polynomial"), std::string::npos);
  EXPECT_NE(parse("--save_strategy often")->error.find("often"), std::string::npos);
  EXPECT_EQ(parse("--max_steps ten")->error, "--max_steps: must be an integer, not \"ten\"");
  EXPECT_EQ(parse("--max_steps 010")->error, "");  // decimal, not octal
  EXPECT_EQ(merged(*parse("--max_steps 010")).max_steps, 10);
  EXPECT_EQ(parse("--learning_rate fast")->error, "--learning_rate: must be a number, not \"fast\"");
  EXPECT_EQ(parse("--per_device_train_batch_size 99999999999999999999")->error,
            "--per_device_train_batch_size: must be an integer, not \"99999999999999999999\"");
}

TEST(OptionTableCli, DefaultsThenConfigThenCommandLine) {
  const Json config =
      Json::parse(R"({"learning_rate": 0.002, "max_steps": 3, "seed": 7, "evaluation_strategy": "steps"})");
  auto p = parse("--max_steps 2 --weight_decay 0.1");
  ASSERT_EQ(p->error, "");
  std::vector<std::string> given;
  const TrainingArguments a = merged(*p, &config, &given);
  EXPECT_EQ(a.max_steps, 2);  // the command line wins
  EXPECT_EQ(a.learning_rate, 0.002);
  EXPECT_EQ(a.seed, 7u);
  EXPECT_EQ(a.weight_decay, 0.1);
  EXPECT_EQ(a.eval_strategy, "steps");
  EXPECT_EQ(a.per_device_train_batch_size, 8);  // transformers' default
  EXPECT_EQ(given, (std::vector<std::string>{"learning_rate", "max_steps", "seed", "eval_strategy", "weight_decay"}));
  EXPECT_EQ(given_options(*p->app, textune::train::training_arguments_table(p->cli)),
            (std::vector<std::string>{"max_steps", "weight_decay"}));
  // an option left out keeps the config's value even when the command line's default differs
  const Json flags = Json::parse(R"({"halt_on_nonfinite": false, "group_by_length": true})");
  const TrainingArguments b = merged(*parse(""), &flags);
  EXPECT_FALSE(b.halt_on_nonfinite);
  EXPECT_TRUE(b.group_by_length);
}

TEST(OptionTableCli, EveryOptionIsInTheTrainingGroupWithItsHelp) {
  CLI::App app;
  TrainingArguments args;
  add_training_arguments(app, args);
  size_t n = 0;
  for (const CLI::Option* opt : app.get_options()) {
    if (opt == app.get_help_ptr()) continue;
    ++n;
    EXPECT_EQ(opt->get_group(), "Training (transformers' TrainingArguments)") << opt->get_name();
    EXPECT_FALSE(opt->get_description().empty()) << opt->get_name();
  }
  EXPECT_EQ(n, textune::train::training_arguments_table(args).specs().size());
}

}  // namespace

namespace {

// A task with options of its own and nothing else (the other methods are never called here).
class OptionsOnlyTask : public textune::tasks::Task {
 public:
  std::string name() const override { return "options-only"; }
  textune::models::TaskKind model_kind() const override { return textune::models::TaskKind::kSequenceClassification; }
  void declare_options(textune::core::OptionTable& table) override {
    table.add("doc_stride", &doc_stride, "Overlap of the windows over a long context");
    table.add("label_all_tokens", &label_all_tokens, "Label every sub-token");
    auto& beams = table.add("num_beams", &num_beams, "Beam width");
    beams.group = "Generation";
    beams.cli_min = 1;
  }
  std::shared_ptr<textune::tasks::Examples> read(const std::string&, bool) const override { return nullptr; }
  std::shared_ptr<textune::tasks::Examples> from_inputs(const std::vector<Json>&) const override { return nullptr; }
  textune::tasks::Features featurize(const textune::tasks::Examples&, const textune::tokenizers::Tokenizer&,
                                     const textune::tasks::FeatureOptions&) const override {
    return {};
  }
  textune::tasks::Batch collate(const textune::tasks::Examples&, const textune::tasks::Features&,
                                const std::vector<size_t>&, const textune::data::CollateOptions&,
                                torch::Generator&) const override {
    return {};
  }
  textune::models::PreTrainedModel prepare_model(const textune::tasks::ModelSetup&, textune::tasks::Examples&,
                                                 textune::tasks::Examples*) override {
    throw std::logic_error("unused");
  }
  void bind_model(const textune::models::PreTrainedModel&) override {}
  std::unique_ptr<textune::tasks::Evaluator> evaluator(const textune::tasks::Examples&,
                                                       const textune::tasks::Features&) const override {
    return nullptr;
  }
  std::unique_ptr<textune::tasks::Predictor> predictor(const textune::tasks::Examples&,
                                                       const textune::tasks::Features&) const override {
    return nullptr;
  }
  std::vector<std::string> metric_names() const override { return {}; }
  std::string main_metric() const override { return "accuracy"; }

  int64_t doc_stride = 128;
  bool label_all_tokens = false;
  int num_beams = 1;
};

TEST(OptionTableCli, TaskOptionsAreDeclaredByTheTaskInItsOwnGroup) {
  OptionsOnlyTask task;
  CLI::App app;
  const auto options = textune::cli::add_task_options(app, task);
  ASSERT_EQ(options.size(), 3u);
  EXPECT_EQ(options[0]->get_group(), "options-only");  // named after the task
  EXPECT_EQ(options[2]->get_group(), "Generation");    // unless the task names one
  app.parse("--doc_stride 64 --label_all_tokens --num_beams 4", false);
  EXPECT_EQ(task.doc_stride, 64);
  EXPECT_TRUE(task.label_all_tokens);
  EXPECT_EQ(task.num_beams, 4);
  CLI::App bad;
  textune::cli::add_task_options(bad, task);
  EXPECT_THROW(bad.parse("--num_beams 0", false), CLI::ValidationError);
}

}  // namespace
