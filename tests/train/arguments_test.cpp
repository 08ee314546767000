// TrainingArguments declared once (issue 17): training_arguments_table holds every field, and
// training_args.json keeps the keys, order and values it had when to_json was written by hand;
// finalize() is transformers' __post_init__ defaulting that the CLI used to do.
#include "textune/train/arguments.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "textune/core/error.h"

using textune::DataError;
using textune::UsageError;
using textune::core::Json;
using textune::train::training_arguments_table;
using textune::train::TrainingArguments;

namespace {

// The number of fields of an aggregate: the most initializers `T{...}` accepts.
struct AnyField {
  template <class T>
  operator T() const;
};
template <class T, class... A>
constexpr auto initializable(int) -> decltype(T{std::declval<A>()...}, true) {
  return true;
}
template <class T, class... A>
constexpr bool initializable(long) {
  return false;
}
template <class T, class... A>
constexpr size_t count_fields() {
  if constexpr (initializable<T, A..., AnyField>(0))
    return count_fields<T, A..., AnyField>();
  else
    return sizeof...(A);
}

// training_args.json of a default TrainingArguments as the hand-written to_json gave it before
// issue 17 (the keys and order of transformers' TrainingArguments subset; defaults as transformers').
const char* const kDefaultJson =
    R"({"output_dir":"","overwrite_output_dir":false,"learning_rate":5e-05,"num_train_epochs":3.0,"max_steps":-1,)"
    R"("per_device_train_batch_size":8,"per_device_eval_batch_size":8,"gradient_accumulation_steps":1,)"
    R"("warmup_ratio":0.0,"warmup_steps":0,"weight_decay":0.0,"adam_beta1":0.9,"adam_beta2":0.999,)"
    R"("adam_epsilon":1e-08,"max_grad_norm":1.0,"lr_scheduler_type":"linear","seed":42,"data_seed":null,)"
    R"("eval_strategy":"no","eval_steps":0,"save_strategy":"steps","save_steps":500,"save_total_limit":null,)"
    R"("logging_steps":500,"load_best_model_at_end":false,"metric_for_best_model":null,"greater_is_better":null,)"
    R"("early_stopping_patience":null,"early_stopping_threshold":0.0,"group_by_length":false,)"
    R"("label_smoothing_factor":0.0,"bf16":false,"device":"cpu","max_length":null,"dataloader_drop_last":false,)"
    R"("class_weights":"","disable_tqdm":false,"logging_nan_inf_filter":true,"halt_on_nonfinite":true})";

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a UsageError";
  return "";
}

TEST(TrainingArgumentsTable, EveryFieldIsDeclaredOnce) {
  TrainingArguments args;
  const auto table = training_arguments_table(args);
  EXPECT_EQ(table.specs().size(), count_fields<TrainingArguments>()) << "a field is missing from the table";
  std::vector<std::string> names;
  for (const auto& spec : table.specs()) {
    EXPECT_FALSE(spec.help.empty()) << spec.name;
    EXPECT_EQ(spec.group, "Training (transformers' TrainingArguments)");
    names.push_back(spec.name);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(std::adjacent_find(names.begin(), names.end()), names.end()) << "a name is declared twice";
}

TEST(TrainingArgumentsTable, TrainingArgsJsonKeepsItsKeysOrderAndValues) {
  EXPECT_EQ(TrainingArguments().to_json().dump(), kDefaultJson);
  // the key set is the field set: every key reaches a field of its own
  const Json defaults = Json::parse(kDefaultJson);
  for (auto it = defaults.begin(); it != defaults.end(); ++it) {
    Json changed;
    const Json& v = it.value();
    if (it.key() == "lr_scheduler_type")
      changed = "cosine";
    else if (it.key() == "eval_strategy" || it.key() == "save_strategy")
      changed = v == "no" ? "epoch" : "no";
    else if (it.key() == "greater_is_better")
      changed = true;
    else if (v.is_boolean())
      changed = !v.get<bool>();
    else if (v.is_string() || it.key() == "metric_for_best_model")
      changed = "x";
    else
      changed = 7;  // numbers and unset optional numbers
    TrainingArguments args;
    args.update_from_json(Json{{it.key(), changed}}, "test.json");
    Json expected = defaults;
    expected[it.key()] = changed;
    EXPECT_EQ(args.to_json(), expected) << it.key();
  }
  // round trip of a full file
  TrainingArguments a;
  a.update_from_json(Json::parse(R"({"data_seed": 3, "metric_for_best_model": "f1", "max_length": 64})"), "t");
  TrainingArguments b;
  b.update_from_json(a.to_json(), "training_args.json");
  EXPECT_EQ(b.to_json(), a.to_json());
  b.update_from_json(Json::parse(R"({"metric_for_best_model": null})"), "t");
  EXPECT_EQ(b.metric_for_best_model, "");
}

TEST(TrainingArgumentsTable, ReadsOldNamesAndRefusesUnknownKeysAndWrongTypes) {
  TrainingArguments args;
  const auto set =
      args.update_from_json(Json::parse(R"({"evaluation_strategy": "steps", "max_seq_length": 128})"), "cfg.json");
  EXPECT_EQ(set, (std::vector<std::string>{"eval_strategy", "max_length"}));
  EXPECT_EQ(args.eval_strategy, "steps");
  EXPECT_EQ(args.max_length, std::optional<size_t>(128));
  EXPECT_EQ(usage_error([&] { args.update_from_json(Json::parse(R"({"learning_rat": 0.1})"), "cfg.json"); }),
            R"(cfg.json: unknown option "learning_rat" (did you mean "learning_rate"?))");
  EXPECT_EQ(usage_error([&] { args.update_from_json(Json::parse(R"({"max_steps": "10"})"), "cfg.json"); }),
            R"(cfg.json: "max_steps" must be an integer, not "10")");
  EXPECT_EQ(usage_error([&] { args.update_from_json(Json::parse(R"({"seed": -1})"), "cfg.json"); }),
            R"(cfg.json: "seed" must be a non-negative integer, not -1)");
  EXPECT_EQ(usage_error([&] { args.update_from_json(Json::parse(R"({"save_strategy": "often"})"), "cfg.json"); }),
            R"(cfg.json: "save_strategy" must be one of no, steps, epoch, not "often")");
  EXPECT_THROW(args.update_from_json(Json::array(), "cfg.json"), DataError);
}

TEST(TrainingArgumentsFinalize, DefaultsStrategiesAsTheCommandLineDid) {
  {  // an evaluation set without --eval_strategy evaluates every epoch
    TrainingArguments a;
    a.output_dir = "out";
    a.finalize(true, {});
    EXPECT_EQ(a.eval_strategy, "epoch");
  }
  {  // an explicit strategy is kept
    TrainingArguments a;
    a.output_dir = "out";
    a.eval_strategy = "no";
    a.finalize(true, {"eval_strategy"});
    EXPECT_EQ(a.eval_strategy, "no");
  }
  {  // eval_steps unset (0) falls back to logging_steps; load_best_model_at_end saves as it evaluates
    TrainingArguments a;
    a.output_dir = "out";
    a.eval_strategy = "steps";
    a.logging_steps = 20;
    a.load_best_model_at_end = true;
    a.finalize(true, {"eval_strategy", "logging_steps", "load_best_model_at_end"});
    EXPECT_EQ(a.eval_steps, 20);
    EXPECT_EQ(a.save_strategy, "steps");
    EXPECT_EQ(a.save_steps, 20);
  }
  {  // an explicit save_strategy is kept, and then refused when it differs
    TrainingArguments a;
    a.output_dir = "out";
    a.load_best_model_at_end = true;
    a.save_strategy = "steps";
    EXPECT_EQ(usage_error([&] {
                a.finalize(true, {"load_best_model_at_end", "save_strategy"});
              }),
              "--load_best_model_at_end needs --save_strategy equal to --eval_strategy (steps vs epoch)");
  }
  TrainingArguments a;
  a.output_dir = "out";
  a.eval_strategy = "steps";
  EXPECT_EQ(usage_error([&] { TrainingArguments(a).finalize(false, {"eval_strategy"}); }),
            "--eval_strategy steps needs an evaluation file (--eval FILE)");
  EXPECT_EQ(usage_error([&] {
              TrainingArguments(a).finalize(true, {"eval_strategy", "eval_steps"});
            }),
            "--eval_steps must be >= 1, not 0 (leave it out to evaluate every --logging_steps)");
  a.learning_rate = -1;
  EXPECT_EQ(usage_error([&] { TrainingArguments(a).finalize(true, {}); }),
            "--learning_rate must be a non-negative number");  // finalize ends with validate()
}

TEST(TrainingArgumentsFinalize, PlotMetricIsTheBestModelMetricOrTheTasksMain) {
  TrainingArguments a;
  EXPECT_EQ(a.plot_metric(true, "accuracy"), "eval_accuracy");
  EXPECT_EQ(a.plot_metric(false, "accuracy"), "eval_loss");
  a.metric_for_best_model = "f1_macro";
  EXPECT_EQ(a.plot_metric(true, "accuracy"), "eval_f1_macro");
  a.metric_for_best_model = "eval_loss";
  EXPECT_EQ(a.plot_metric(true, "pearson"), "eval_pearson");
}

}  // namespace
