// Token classification's examples: NER files read by data::read_ner (sentences of words and tags), or
// inputs given in memory (raw texts, or pre-split words), and what `textune data` shows of them. See
// include/textune/tasks/token_classification.h.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "textune/core/error.h"
#include "textune/data/table.h"
#include "textune/tasks/token_classification.h"

namespace textune::tasks {

TokenClassificationExamples::TokenClassificationExamples(data::NerDataset dataset, bool labelled)
    : dataset_(std::move(dataset)), labelled_(labelled && dataset_.labelled), raw_(false) {}

TokenClassificationExamples::TokenClassificationExamples(std::vector<std::string> texts, std::string source)
    : texts_(std::move(texts)), labelled_(false), raw_(true) {
  dataset_.source = std::move(source);
  dataset_.format = "text";
  dataset_.report.file = dataset_.source;
  dataset_.report.num_rows = dataset_.report.num_examples = texts_.size();
}

size_t TokenClassificationExamples::size() const {
  return raw_ ? texts_.size() : dataset_.sentences.size();
}

core::Json TokenClassificationExamples::example_json(size_t i) const {
  if (i >= size()) throw std::out_of_range(fmt::format("example {} of {}: out of range", i, size()));
  core::Json j = core::Json::object();
  if (raw_) {
    j["text"] = texts_[i];
    return j;
  }
  const data::TaggedSentence& s = dataset_.sentences[i];
  j["tokens"] = s.tokens;
  if (labelled_ || !s.tags.empty()) j["tags"] = s.tags;
  return j;
}

std::vector<std::string> TokenClassificationExamples::summary() const {
  std::vector<std::string> lines;
  const data::NerDataset& ds = dataset_;
  if (raw_) {
    lines.push_back(fmt::format("{} text{} from {}", texts_.size(), texts_.size() == 1 ? "" : "s", ds.source));
    return lines;
  }
  size_t words = 0;
  std::map<std::string, size_t> tag_counts;
  for (const auto& s : ds.sentences) {
    words += s.tokens.size();
    for (const auto& t : s.tags) ++tag_counts[t];
  }
  lines.push_back(fmt::format("{} sentence{} ({} words) from {} ({} format; {} invalid sentence{} skipped)",
                              ds.sentences.size(), ds.sentences.size() == 1 ? "" : "s", words, ds.source, ds.format,
                              ds.report.num_invalid_rows, ds.report.num_invalid_rows == 1 ? "" : "s"));
  if (tag_counts.empty()) return lines;
  lines.push_back(
      fmt::format("tag scheme: {} ({})", data::tag_scheme_name(ds.scheme), ds.scheme_detected ? "detected" : "given"));
  // the label list's order (first seen, "O" first), then any tag it lacks
  std::vector<std::string> order = ds.label_list;
  for (const auto& [tag, n] : tag_counts)
    if (std::find(order.begin(), order.end(), tag) == order.end()) order.push_back(tag);
  lines.push_back(fmt::format("tags ({}):", order.size()));
  for (size_t k = 0; k < order.size(); ++k) {
    const auto it = tag_counts.find(order[k]);
    const size_t n = it == tag_counts.end() ? 0 : it->second;
    lines.push_back(fmt::format("  {:>3}  {:<24} {:>8} {:>6.1f}%", k, order[k], n,
                                words ? 100.0 * static_cast<double>(n) / static_cast<double>(words) : 0.0));
  }
  return lines;
}

const TokenClassificationExamples& token_examples(const Examples& examples) {
  const auto* t = dynamic_cast<const TokenClassificationExamples*>(&examples);
  if (!t)
    throw UsageError(std::string(kTokenClassification) + ": the examples of " + examples.source() +
                     " were made by another task");
  return *t;
}

TokenClassificationExamples& token_examples(Examples& examples) {
  auto* t = dynamic_cast<TokenClassificationExamples*>(&examples);
  if (!t)
    throw UsageError(std::string(kTokenClassification) + ": the examples of " + examples.source() +
                     " were made by another task");
  return *t;
}

void TokenClassificationTask::configure_data(const data::DataOptions& options) {
  data_ = options;
}

data::NerReadOptions TokenClassificationTask::read_options(bool labelled) const {
  data::NerReadOptions o;
  o.data = data_;
  o.data.require_labels = labelled;
  o.format = data_.layout;
  if (options_.tag_column) {
    if (*options_.tag_column < 0)
      throw UsageError(fmt::format("--tag-column {}: must be a 0-based column index", *options_.tag_column));
    o.tag_column = static_cast<size_t>(*options_.tag_column);
  }
  o.tokens_column = options_.tokens_column;
  o.tags_column = options_.tags_column;
  if (!options_.tag_scheme.empty())
    o.tag_scheme = data::parse_tag_scheme(options_.tag_scheme);
  else if (labelled && scheme_)
    o.tag_scheme = scheme_;  // evaluation files: the training data's scheme
  return o;
}

void TokenClassificationTask::set_label_ids(TokenClassificationExamples& examples) const {
  examples.label_ids.clear();
  if (!examples.has_labels()) return;
  std::map<std::string, int64_t> ids;
  for (size_t k = 0; k < labels_.size(); ++k) ids.emplace(labels_[k], static_cast<int64_t>(k));
  const data::NerDataset& ds = examples.dataset();
  examples.label_ids.resize(ds.sentences.size());
  for (size_t i = 0; i < ds.sentences.size(); ++i) {
    const data::TaggedSentence& s = ds.sentences[i];
    auto& out = examples.label_ids[i];
    out.reserve(s.tags.size());
    for (const auto& tag : s.tags) {
      const auto it = ids.find(tag);
      if (it == ids.end())  // read_ner checks tags against the label list: only a changed list gets here
        throw DataError(fmt::format("{}: line {}: tag \"{}\" is not one of the model's {} labels", ds.source, s.line,
                                    tag, labels_.size()));
      out.push_back(it->second);
    }
  }
}

namespace {

/// The first line of a file (no UTF-8 BOM, no line end; at most 64 KiB read).
std::string first_line(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string buf(65536, '\0');
  in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  buf.resize(static_cast<size_t>(in.gcount()));
  if (buf.rfind("\xEF\xBB\xBF", 0) == 0) buf.erase(0, 3);
  return buf.substr(0, buf.find_first_of("\r\n"));
}

/// Whether a CSV/TSV/TXT file is a table of raw texts: header-less with --text-column (one text per
/// line), or a header naming the text column (--text-column, else "text") and no column of words or
/// tags (tokens, words, ner_tags, tags, label, labels, --tags-column) nor a cell that reads as a tag
/// ("O", "B-PER"): a CoNLL file whose first word is "text" stays CoNLL.
bool is_text_table(const std::string& path, data::Format format, const data::NerReadOptions& o) {
  if (!o.data.read.has_header) return !o.data.text_column.empty();
  const char delimiter = o.data.read.delimiter.value_or(format == data::Format::kCsv ? ',' : '\t');
  const std::string want = o.data.text_column.empty() ? "text" : o.data.text_column;
  const std::string line = first_line(path);
  bool found = false;
  size_t pos = 0;
  while (pos <= line.size()) {
    size_t end = line.find(delimiter, pos);
    if (end == std::string::npos) end = line.size();
    std::string cell = line.substr(pos, end - pos);
    if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') cell = cell.substr(1, cell.size() - 2);
    pos = end + 1;
    if (cell == want) {
      found = true;
      continue;
    }
    const bool tag = cell == "O" || (cell.size() > 2 && (cell[1] == '-' || cell[cell.size() - 2] == '-'));
    if (tag || cell == "tokens" || cell == "words" || cell == "ner_tags" || cell == "tags" || cell == "label" ||
        cell == "labels" || (!o.tags_column.empty() && cell == o.tags_column))
      return false;
  }
  return found;
}

/// Prediction files of raw texts, as text classification reads them: JSON/JSONL records with a
/// string "text" (or --text-column) and no "tokens" column, or CSV/TSV/TXT tables of texts
/// (is_text_table). Empty when the file is no such file.
std::optional<std::vector<std::string>> raw_texts(const std::string& path, const data::NerReadOptions& o) {
  if (!o.tokens_column.empty() || (!o.format.empty() && o.format != "json" && o.format != "jsonl")) return std::nullopt;
  data::Format format;
  if (o.data.read.format) {
    format = *o.data.read.format;
  } else {
    std::string ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (ext == ".json")
      format = data::Format::kJson;
    else if (ext == ".jsonl" || ext == ".ndjson")
      format = data::Format::kJsonl;
    else if (ext == ".csv")
      format = data::Format::kCsv;
    else if (ext == ".tsv" || ext == ".txt")
      format = data::Format::kTsv;
    else
      return std::nullopt;
  }
  const bool table = format == data::Format::kCsv || format == data::Format::kTsv;
  if (table && !is_text_table(path, format, o)) return std::nullopt;
  if (!table && format != data::Format::kJson && format != data::Format::kJsonl) return std::nullopt;
  data::ReadOptions ro = o.data.read;
  ro.format = format;
  const data::Table t = data::read_table(path, ro);
  const std::string column = o.data.text_column.empty() ? "text" : o.data.text_column;
  const auto text = t.column_index(column);
  if (!text) {
    if (table) throw DataError(fmt::format("{}: no column \"{}\" of texts (--text-column)", path, column));
    return std::nullopt;
  }
  if (t.column_index("tokens")) return std::nullopt;
  std::vector<std::string> texts;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    const core::Json& cell = t.rows[r][*text];
    if (table) {  // a number read from a cell is still text; an empty cell is an empty text
      texts.push_back(cell.is_string() ? cell.get<std::string>() : cell.is_null() ? std::string() : cell.dump());
      continue;
    }
    if (!cell.is_string()) return std::nullopt;  // a list of words: read as pre-split
    texts.push_back(cell.get<std::string>());
  }
  if (!t.problems.empty())
    throw DataError(fmt::format("{}: {} records could not be read; the first: {}", path, t.problems.size(),
                                t.problems.front().to_string()));
  return texts;
}

}  // namespace

std::shared_ptr<Examples> TokenClassificationTask::read(const std::string& path, bool labelled) const {
  const data::NerReadOptions o = read_options(labelled);
  if (!labelled)
    if (auto texts = raw_texts(path, o)) return std::make_shared<TokenClassificationExamples>(std::move(*texts), path);
  const bool first = labelled && labels_.empty();
  data::NerDataset ds = data::read_ner(path, o, labelled && !first ? &labels_ : nullptr);
  // (read_ner says which scheme it found)
  if (first) {
    labels_ = ds.label_list;
    scheme_ = ds.scheme;
  }
  auto examples = std::make_shared<TokenClassificationExamples>(std::move(ds), labelled);
  set_label_ids(*examples);
  return examples;
}

std::shared_ptr<Examples> TokenClassificationTask::preview(const std::string& path) const {
  // With its tags when they read (and fit a scheme); else the words alone, saying why.
  try {
    data::NerDataset ds = data::read_ner(path, read_options(true), nullptr);
    const bool labelled = ds.labelled;
    return std::make_shared<TokenClassificationExamples>(std::move(ds), labelled);
  } catch (const DataError& tagged) {
    const bool tags_asked = options_.tag_column || !options_.tags_column.empty();
    if (tags_asked) throw;
    data::NerDataset ds = data::read_ner(path, read_options(false), nullptr);
    spdlog::warn("the tags are not shown: {}", tagged.what());
    return std::make_shared<TokenClassificationExamples>(std::move(ds), false);
  }
}

std::shared_ptr<Examples> TokenClassificationTask::from_inputs(const std::vector<core::Json>& inputs) const {
  std::vector<std::string> texts;
  data::NerDataset ds;
  ds.source = "<inputs>";
  ds.format = "inputs";
  ds.report.file = ds.source;
  const size_t n = inputs.size();
  for (size_t i = 0; i < n; ++i) {
    const core::Json& in = inputs[i];
    const bool text = in.is_string() || (in.is_object() && in.contains("text"));
    const bool words = in.is_object() && in.contains("tokens");
    if (!text && !words)
      throw DataError(
          fmt::format("input {} of {}: expected a string, {{\"text\": ...}} or {{\"tokens\": [...]}}", i + 1, n));
    if (in.is_object())
      for (auto it = in.begin(); it != in.end(); ++it)
        if (it.key() == "text_pair")
          throw DataError(
              fmt::format("input {} of {}: a pair of texts is not an input of token classification (expected a text, "
                          "{{\"text\": ...}} or {{\"tokens\": [...]}})",
                          i + 1, n));
        else if (it.key() != "text" && it.key() != "tokens")
          throw DataError(
              fmt::format("input {} of {}: unknown key \"{}\" (expected \"text\" or \"tokens\")", i + 1, n, it.key()));
    if (text && words) throw DataError(fmt::format("input {} of {}: give \"text\" or \"tokens\", not both", i + 1, n));
    if ((text && !ds.sentences.empty()) || (words && !texts.empty()))
      throw DataError(
          fmt::format("input {} of {}: raw texts and pre-split tokens cannot be mixed in one call", i + 1, n));
    if (text) {
      const core::Json& t = in.is_string() ? in : in["text"];
      if (!t.is_string()) throw DataError(fmt::format("input {} of {}: \"text\" must be a string", i + 1, n));
      texts.push_back(t.get<std::string>());
      continue;
    }
    const core::Json& t = in["tokens"];
    if (!t.is_array() || t.empty())
      throw DataError(fmt::format("input {} of {}: \"tokens\" must be a non-empty list of words", i + 1, n));
    data::TaggedSentence s;
    s.line = i + 1;
    for (size_t k = 0; k < t.size(); ++k) {
      if (!t[k].is_string() || t[k].get_ref<const std::string&>().empty())
        throw DataError(fmt::format("input {} of {}: \"tokens\"[{}] must be a non-empty string", i + 1, n, k));
      s.tokens.push_back(t[k].get<std::string>());
    }
    ds.sentences.push_back(std::move(s));
  }
  if (!ds.sentences.empty() || texts.empty()) {
    ds.report.num_rows = ds.report.num_examples = ds.sentences.size();
    ds.label_list = labels_;
    return std::make_shared<TokenClassificationExamples>(std::move(ds), false);
  }
  return std::make_shared<TokenClassificationExamples>(std::move(texts), "<inputs>");
}

}  // namespace textune::tasks
