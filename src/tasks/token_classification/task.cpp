// The token-classification task: options, features (pre-split words or raw texts, windows over long
// inputs), batches with token labels, and binding to a ...ForTokenClassification model. As
// transformers' examples/pytorch/token-classification/run_ner.py (tokenize_and_align_labels) and
// pipelines/token_classification.py (preprocess). See include/textune/tasks/token_classification.h.
#include <algorithm>
#include <limits>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "features.h"
#include "textune/core/checkpoint.h"
#include "textune/core/error.h"
#include "textune/data/batching.h"
#include "textune/tasks/token_classification.h"

namespace textune::tasks {

using token_classification::TokenFeatureData;

namespace token_classification {
const TokenFeatureData& feature_data(const Features& features) {
  const auto* d = dynamic_cast<const TokenFeatureData*>(features.data.get());
  if (!d) throw UsageError(std::string(kTokenClassification) + ": features made by another task");
  return *d;
}
}  // namespace token_classification

namespace {

const std::vector<std::string> kSchemes = {"IOB1", "IOB2", "IOE1", "IOE2", "IOBES", "BILOU"};

/// The stride of windows over a long input: `requested`, else a quarter of max_length, kept below
/// the room a window has for content. @throws textune::UsageError when there is no such stride.
size_t window_stride(std::optional<int64_t> requested, size_t max_length, size_t specials) {
  if (max_length <= specials)  // one token of content per window (stride 0) is enough
    throw UsageError(
        fmt::format("--max_length {} leaves no room for words besides the {} special tokens", max_length, specials));
  const size_t room = max_length - specials;
  if (requested) {
    if (*requested < 0 || static_cast<size_t>(*requested) >= room)
      throw UsageError(fmt::format("--stride {}: must be from 0 to {} (max_length {} less {} special tokens, less 1)",
                                   *requested, room - 1, max_length, specials));
    return static_cast<size_t>(*requested);
  }
  return std::min(max_length / 4, room / 2);
}

/// The windows of one encoding, in order (the encoding, then its overflowing windows).
std::vector<tokenizers::Encoding> flatten(tokenizers::Encoding e) {
  std::vector<tokenizers::Encoding> out;
  std::vector<tokenizers::Encoding> rest = std::move(e.overflowing);
  e.overflowing.clear();
  out.push_back(std::move(e));
  for (auto& w : rest) {
    w.overflowing.clear();
    out.push_back(std::move(w));
  }
  return out;
}

std::pair<size_t, size_t> content_of(const tokenizers::Encoding& e) {
  size_t begin = e.size(), end = 0;
  for (size_t t = 0; t < e.size(); ++t)
    if (!e.special_tokens_mask.empty() ? e.special_tokens_mask[t] == 0 : e.word_ids[t].has_value()) {
      begin = std::min(begin, t);
      end = t + 1;
    }
  return begin < end ? std::make_pair(begin, end) : std::make_pair(size_t{0}, size_t{0});
}

/// First-subtoken flags of an example's windows: the token of each word with the smallest start
/// offset over all windows (offsets are relative to each word), the first such token of a window.
std::vector<std::vector<uint8_t>> first_subtokens(const std::vector<tokenizers::Encoding>& windows, size_t num_words) {
  constexpr size_t kNone = std::numeric_limits<size_t>::max();
  std::vector<size_t> min_start(num_words, kNone);
  for (const auto& e : windows)
    for (size_t t = 0; t < e.size(); ++t)
      if (e.word_ids[t] && (e.special_tokens_mask.empty() || !e.special_tokens_mask[t]) && *e.word_ids[t] < num_words)
        min_start[*e.word_ids[t]] = std::min(min_start[*e.word_ids[t]], e.offsets[t].first);
  std::vector<std::vector<uint8_t>> out;
  for (const auto& e : windows) {
    std::vector<uint8_t> first(e.size(), 0);
    std::optional<uint32_t> previous;
    for (size_t t = 0; t < e.size(); ++t) {
      const auto w = e.word_ids[t];
      const bool special = !e.special_tokens_mask.empty() && e.special_tokens_mask[t];
      if (w && !special && *w < num_words && w != previous && e.offsets[t].first == min_start[*w]) first[t] = 1;
      previous = special ? std::nullopt : w;
    }
    out.push_back(std::move(first));
  }
  return out;
}

}  // namespace

void TokenClassificationTask::declare_options(core::OptionTable& table) {
  const std::string g = kTokenClassification;
  auto& tc = table.add("tag_column", &options_.tag_column,
                       "CoNLL files: the 0-based column of the tag (default: the last column; the word is column 0)");
  tc.aliases = {"tag-column"};
  tc.group = g;
  auto& tok = table.add("tokens_column", &options_.tokens_column,
                        "JSON/JSONL/MSRA/xlsx: the column of the words (default: tokens, text_a, text, words)");
  tok.aliases = {"tokens-column"};
  tok.group = g;
  auto& tags = table.add("tags_column", &options_.tags_column,
                         "JSON/JSONL/MSRA/xlsx: the column of the tags (default: ner_tags, tags, label, labels)");
  tags.aliases = {"tags-column"};
  tags.group = g;
  auto& scheme = table.add("tag_scheme", &options_.tag_scheme,
                           "Tag scheme of the files: IOB1, IOB2, IOE1, IOE2, IOBES or BILOU (default: detected)");
  scheme.aliases = {"tag-scheme"};
  scheme.choices = kSchemes;
  scheme.choices.push_back("");
  scheme.group = g;
  auto& stride = table.add("stride", &options_.stride,
                           "Tokens shared by consecutive windows over a sentence or text longer than max_length. "
                           "Training windows long sentences only when set (else truncates them, with a warning); "
                           "evaluation and prediction always window (default: max_length / 4)");
  stride.group = g;
  auto& all = table.add("label_all_tokens", &options_.label_all_tokens,
                        "Label every subtoken of a word (B- turned into I- after the first), not only the first "
                        "(run_ner.py's label_all_tokens)");
  all.aliases = {"label-all-tokens"};
  all.group = g;
  auto& agg = table.add("aggregation_strategy", &options_.aggregation_strategy,
                        "How predict and serve group tokens into entities (the token-classification pipeline's "
                        "aggregation_strategy): none, simple, first, average or max");
  agg.aliases = {"aggregation-strategy"};
  agg.choices = {"none", "simple", "first", "average", "max"};
  agg.group = g;
  auto& mode = table.add("seqeval_mode", &options_.seqeval_mode,
                         "Entity metrics: default (conlleval's, an entity may start with I-) or strict (only "
                         "well-formed entities of --seqeval_scheme)");
  mode.aliases = {"seqeval-mode"};
  mode.choices = {"default", "strict"};
  mode.group = g;
  auto& ss = table.add("seqeval_scheme", &options_.seqeval_scheme,
                       "Strict mode's scheme: IOB2, IOE2, IOBES or BILOU (default: the data's)");
  ss.aliases = {"seqeval-scheme"};
  ss.choices = kSchemes;
  ss.choices.push_back("");
  ss.group = g;
}

core::Json TokenClassificationTask::saved_options() const {
  core::Json j = core::Json::object();
  j["tag_column"] = options_.tag_column ? core::Json(*options_.tag_column) : core::Json(nullptr);
  j["tokens_column"] = options_.tokens_column;
  j["tags_column"] = options_.tags_column;
  j["tag_scheme"] = options_.tag_scheme;
  j["stride"] = options_.stride ? core::Json(*options_.stride) : core::Json(nullptr);
  j["label_all_tokens"] = options_.label_all_tokens;
  j["aggregation_strategy"] = options_.aggregation_strategy;
  j["seqeval_mode"] = options_.seqeval_mode;
  j["seqeval_scheme"] = options_.seqeval_scheme;
  j["train_tag_scheme"] = scheme_ ? core::Json(data::tag_scheme_name(*scheme_)) : core::Json(nullptr);
  return j;
}

void TokenClassificationTask::restore_options(const core::Json& saved, const std::string& source) {
  if (!saved.is_object()) throw DataError(source + ": \"options\" must be an object");
  core::Json options = saved;
  if (options.contains("train_tag_scheme")) {
    const core::Json& s = options["train_tag_scheme"];
    if (!s.is_null()) {
      if (!s.is_string()) throw DataError(source + ": \"train_tag_scheme\" must be a scheme name");
      try {
        scheme_ = data::parse_tag_scheme(s.get<std::string>());
      } catch (const UsageError& e) {
        throw DataError(source + ": \"train_tag_scheme\": " + e.what());
      }
    }
    options.erase("train_tag_scheme");
  }
  core::OptionTable table(kTokenClassification);
  declare_options(table);
  for (auto it = options.begin(); it != options.end(); ++it)
    if (!table.find(it.key()))
      throw DataError(fmt::format("{}: unknown option \"{}\" of {}", source, it.key(), kTokenClassification));
  try {
    table.update_from_json(options, source);
  } catch (const UsageError& e) {
    throw DataError(e.what());
  }
}

Features TokenClassificationTask::featurize(const Examples& examples, const tokenizers::Tokenizer& tokenizer,
                                            const FeatureOptions& options) const {
  const TokenClassificationExamples& ex = token_examples(examples);
  const bool raw = ex.is_raw_text();
  // RoBERTa's byte-level BPE encodes pre-split words with a prefix space (add_prefix_space=True).
  std::shared_ptr<const tokenizers::Tokenizer> prefixed;
  const tokenizers::Tokenizer* tok = &tokenizer;
  if (!raw && tokenizer.needs_prefix_space()) {
    prefixed = tokenizer.with_prefix_space();
    tok = prefixed.get();
  }
  const size_t specials = tok->num_special_tokens_to_add(false);
  // Training windows only with --stride; else it truncates (and counts). Evaluation and prediction
  // always window, so that every word gets a prediction.
  const bool windows = !options.training || options_.stride.has_value();
  tokenizers::EncodeOptions eo;
  tokenizers::TruncationOptions tr;
  tr.max_length = options.max_length;
  tr.stride = windows ? window_stride(options_.stride, options.max_length, specials) : 0;
  tr.early_exit = false;  // windows over the whole input
  eo.truncation = tr;
  eo.return_overflowing_tokens = true;

  std::vector<tokenizers::Encoding> encoded;
  if (raw) {
    encoded = tok->encode_batch(ex.texts(), nullptr, eo);
  } else {
    std::vector<std::vector<std::string>> words;
    words.reserve(ex.size());
    for (const auto& s : ex.dataset().sentences) words.push_back(s.tokens);
    encoded = tok->encode_words_batch(words, eo);
  }
  Features f;
  auto data = std::make_shared<TokenFeatureData>();
  data->tokenizer = raw ? &tokenizer : nullptr;
  data->windows.resize(ex.size());
  for (size_t i = 0; i < encoded.size(); ++i) {
    std::vector<tokenizers::Encoding> w = flatten(std::move(encoded[i]));
    const bool cut = !windows && w.size() > 1;
    if (cut) {
      w.resize(1);
      ++f.num_truncated;
    }
    std::vector<std::vector<uint8_t>> first;
    if (raw)
      for (const auto& e : w) first.emplace_back(e.size(), 0);
    else
      first = first_subtokens(w, ex.dataset().sentences[i].tokens.size());
    for (size_t k = 0; k < w.size(); ++k) {
      data->windows[i].push_back(f.encodings.size());
      data->content.push_back(content_of(w[k]));
      data->first_subtoken.push_back(std::move(first[k]));
      f.example_index.push_back(i);
      f.truncated.push_back(cut ? 1 : 0);
      f.encodings.push_back(std::move(w[k]));
    }
  }
  if (f.num_truncated)
    spdlog::warn(
        "{}: {} of {} sentences are longer than {} tokens and were truncated (their later words are not trained "
        "on); --stride N trains on overlapping windows instead",
        examples.source(), f.num_truncated, examples.size(), options.max_length);
  f.data = std::move(data);
  return f;
}

Batch TokenClassificationTask::collate(const Examples& examples, const Features& features,
                                       const std::vector<size_t>& rows, const data::CollateOptions& options,
                                       torch::Generator&) const {
  const TokenClassificationExamples& ex = token_examples(examples);
  data::Batch b = data::collate(features.encodings, rows, nullptr, options);
  Batch out;
  out.inputs.input_ids = std::move(b.input_ids);
  out.inputs.attention_mask = std::move(b.attention_mask);
  out.inputs.token_type_ids = std::move(b.token_type_ids);
  out.features = rows;
  if (!ex.has_labels() || ex.label_ids.size() != ex.size()) return out;
  const TokenFeatureData& fd = token_classification::feature_data(features);
  const int64_t width = out.inputs.input_ids.size(1);
  torch::Tensor labels = torch::full({static_cast<int64_t>(rows.size()), width}, -100, torch::kInt64);
  auto la = labels.accessor<int64_t, 2>();
  const std::vector<int64_t> b_to_i = options_.label_all_tokens ? data::b_to_i_label(labels_) : std::vector<int64_t>{};
  for (size_t r = 0; r < rows.size(); ++r) {
    const size_t f = rows[r];
    const tokenizers::Encoding& e = features.encodings[f];
    const std::vector<int64_t>& ids = ex.label_ids[features.example_index[f]];
    const int64_t offset = options.padding_side == tokenizers::Side::kLeft ? width - static_cast<int64_t>(e.size()) : 0;
    for (size_t t = 0; t < e.size(); ++t) {
      const auto w = e.word_ids[t];
      const bool special = !e.special_tokens_mask.empty() && e.special_tokens_mask[t];
      if (!w || special || *w >= ids.size()) continue;
      const int64_t label = ids[*w];
      if (fd.first_subtoken[f][t])
        la[r][offset + static_cast<int64_t>(t)] = label;
      else if (options_.label_all_tokens)
        la[r][offset + static_cast<int64_t>(t)] = b_to_i.at(static_cast<size_t>(label));
    }
  }
  out.inputs.labels = std::move(labels);
  return out;
}

models::PreTrainedModel TokenClassificationTask::prepare_model(const ModelSetup& setup, Examples& train,
                                                               Examples* eval) {
  TokenClassificationExamples& tr = token_examples(train);
  if (!tr.has_labels()) throw DataError(tr.source() + ": training needs tags");
  if (labels_.empty()) labels_ = tr.dataset().label_list;
  if (labels_.size() < 2)
    spdlog::warn("{}: the training data has only the tag \"{}\": the model can learn nothing else", tr.source(),
                 labels_.empty() ? std::string("O") : labels_.front());
  // Keep a fine-tuned head whose labels are the same set (renumbering the examples to its order).
  const core::Json cfg = core::read_model_config(setup.model_dir);
  if (cfg.contains("id2label")) {
    data::LabelMap existing;
    try {
      existing = data::LabelMap::from_config(cfg);
    } catch (const DataError&) {
    }
    if (!existing.is_placeholder() && existing.size() == labels_.size() && existing.labels() != labels_) {
      std::vector<std::string> a = existing.labels(), b = labels_;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      if (a == b) {
        spdlog::info("{}: keeping the checkpoint's head and its label order", setup.model_dir);
        labels_ = existing.labels();
      }
    }
  }
  set_label_ids(tr);
  if (eval) set_label_ids(token_examples(*eval));
  if (!scheme_) scheme_ = tr.dataset().scheme;
  models::LoadOptions lo;
  lo.task = models::TaskKind::kTokenClassification;
  lo.seed = setup.seed;
  lo.device = setup.device;
  lo.labels = labels_;
  lo.ignore_mismatched_sizes = true;
  models::LoadReport report;
  models::PreTrainedModel model = models::load_pretrained(setup.model_dir, lo, &report);
  bound_ = true;
  return model;
}

void TokenClassificationTask::bind_model(const models::PreTrainedModel& model) {
  if (model->task() != models::TaskKind::kTokenClassification)
    throw DataError("the model is a " + model->architecture() + ", not a token classifier");
  labels_ = model->id2label();
  bound_ = true;
}

core::Json TokenClassificationTask::info() const {
  core::Json id2label = core::Json::object(), label2id = core::Json::object();
  for (size_t i = 0; i < labels_.size(); ++i) {
    id2label[std::to_string(i)] = labels_[i];
    label2id[labels_[i]] = i;
  }
  core::Json j = core::Json::object();
  j["labels"] = labels_;
  j["id2label"] = std::move(id2label);
  j["label2id"] = std::move(label2id);
  j["tag_scheme"] = scheme_ ? core::Json(data::tag_scheme_name(*scheme_)) : core::Json(nullptr);
  j["aggregation_strategy"] = options_.aggregation_strategy;
  return j;
}

}  // namespace textune::tasks
