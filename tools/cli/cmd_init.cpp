// `textune init --arch bert --vocab FILE --output DIR [sizes]`: a randomly initialised checkpoint
// with its tokenizer, for training from scratch (transformers' BertConfig + BertModel._init_weights
// + BertTokenizerFast saved with save_pretrained).
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "checks.h"
#include "command.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/models/model.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::cli {
namespace {

struct InitCliOptions {
  std::string arch = "bert", vocab, output;
  int64_t layers = 12, hidden = 768, heads = 12, intermediate = 0, max_position = 512;
  double dropout = 0.1;
  bool cased = false, overwrite_output_dir = false;
  uint64_t seed = 42;
};

int64_t count_vocab(const std::string& path, int64_t* pad_id) {
  std::ifstream in(path);
  if (!in) throw DataError("cannot read vocabulary " + path);
  std::string line;
  int64_t n = 0;
  *pad_id = -1;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "[PAD]" && *pad_id < 0) *pad_id = n;
    ++n;
  }
  if (n == 0) throw DataError(path + " is empty (expected a WordPiece vocab.txt, one token a line)");
  return n;
}

int run_init(const InitCliOptions& o) {
  if (o.arch != "bert") throw UsageError("--arch: only bert is supported, not \"" + o.arch + "\"");
  if (o.hidden % o.heads != 0)
    throw UsageError(fmt::format("--hidden {} is not a multiple of --heads {}", o.hidden, o.heads));
  // A directory that holds anything (a fine-tuned model, notes) is never replaced unasked.
  check_output_dir(o.output, o.overwrite_output_dir);
  check_input_file(o.vocab, "--vocab");
  int64_t pad_id = 0;
  const int64_t vocab_size = count_vocab(o.vocab, &pad_id);
  core::Json cfg = core::Json::object();
  cfg["architectures"] = {"BertModel"};
  cfg["attention_probs_dropout_prob"] = o.dropout;
  cfg["classifier_dropout"] = nullptr;
  cfg["hidden_act"] = "gelu";
  cfg["hidden_dropout_prob"] = o.dropout;
  cfg["hidden_size"] = o.hidden;
  cfg["initializer_range"] = 0.02;
  cfg["intermediate_size"] = o.intermediate > 0 ? o.intermediate : 4 * o.hidden;
  cfg["layer_norm_eps"] = 1e-12;
  cfg["max_position_embeddings"] = o.max_position;
  cfg["model_type"] = "bert";
  cfg["num_attention_heads"] = o.heads;
  cfg["num_hidden_layers"] = o.layers;
  cfg["pad_token_id"] = pad_id < 0 ? 0 : pad_id;
  cfg["position_embedding_type"] = "absolute";
  cfg["type_vocab_size"] = 2;
  cfg["use_cache"] = true;
  cfg["vocab_size"] = vocab_size;
  models::LoadOptions lo;
  lo.seed = o.seed;
  models::PreTrainedModel model = models::from_config(cfg, lo);
  core::AtomicDirectory dir(o.output);
  models::save_pretrained_into(model, dir.staging_path());
  tokenizers::write_bert_tokenizer(o.vocab, dir.staging_path(), !o.cased, static_cast<size_t>(o.max_position));
  dir.commit();
  int64_t params = 0;
  for (const auto& p : model->parameters()) params += p.numel();
  std::cerr << fmt::format("initialised a BERT of {} layer{}, hidden {}, {} head{}, vocabulary {} ({:.1f}M parameters) in {}\n",
                           o.layers, o.layers == 1 ? "" : "s", o.hidden, o.heads, o.heads == 1 ? "" : "s", vocab_size, params / 1e6, o.output);
  return 0;
}

const CommandRegistrar kRegistrar(
    "init", "Create a randomly initialised model with its tokenizer, to train from scratch",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<InitCliOptions>();
      app.add_option("--arch", o->arch, "Architecture")->check(CLI::IsMember({"bert"}))->capture_default_str();
      app.add_option("--vocab", o->vocab, "WordPiece vocab.txt")->required();
      app.add_option("--output,--output_dir", o->output, "Directory to create (refused if it exists and is not empty)")
          ->required();
      app.add_flag("--overwrite_output_dir", o->overwrite_output_dir, "Replace a non-empty output directory");
      app.add_option("--layers,--num_hidden_layers", o->layers)->capture_default_str()->check(at_least(1));
      app.add_option("--hidden,--hidden_size", o->hidden)->capture_default_str()->check(at_least(1));
      app.add_option("--heads,--num_attention_heads", o->heads)->capture_default_str()->check(at_least(1));
      app.add_option("--intermediate,--intermediate_size", o->intermediate, "Default: 4 x hidden")->check(at_least(0));
      app.add_option("--max-position,--max_position_embeddings", o->max_position)
          ->capture_default_str()
          ->check(at_least(1));
      app.add_option("--dropout", o->dropout, "hidden and attention dropout")->capture_default_str();
      app.add_flag("--cased", o->cased, "Keep case (default: lowercase, as bert-base-uncased)");
      app.add_option("--seed", o->seed)->capture_default_str()->check(at_least(0));
      return [o] { return run_init(*o); };
    },
    15);

}  // namespace
}  // namespace textune::cli
