// Loading tokenizers from a model directory (tokenizer.json, or the legacy vocabulary files as
// transformers' BertTokenizer / GPT2Tokenizer / RobertaTokenizer build them), and writing them.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/tokenizer_impl.h"
#include "tokenizers/unicode.h"

namespace fs = std::filesystem;

namespace textune::tokenizers {

namespace {

bool exists(const std::string& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

/// A special token setting of tokenizer_config.json / special_tokens_map.json: "[PAD]" or
/// {"content": "[PAD]", ...}.
std::optional<std::string> config_token(const core::Json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const core::Json& v = config.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string()) return v.at("content").get<std::string>();
  return std::nullopt;
}

std::optional<size_t> config_max_length(const core::Json& config) {
  if (!config.is_object() || !config.contains("model_max_length")) return std::nullopt;
  const core::Json& v = config.at("model_max_length");
  // transformers writes int(1e30) for "no limit"; anything that large means none.
  if (v.is_number_unsigned() || v.is_number_integer()) {
    if (v.is_number_integer() && v.get<int64_t>() <= 0) return std::nullopt;
    uint64_t n = v.get<uint64_t>();
    if (n >= (1ULL << 40)) return std::nullopt;
    return static_cast<size_t>(n);
  }
  return std::nullopt;  // floats (1e30) and anything else: no limit
}

core::Json read_config(const std::string& dir) {
  core::Json config = core::Json::object();
  const std::string cfg = dir + "/tokenizer_config.json";
  if (exists(cfg)) config = core::read_json_file(cfg);
  const std::string stm = dir + "/special_tokens_map.json";
  if (exists(stm)) {
    core::Json m = core::read_json_file(stm);
    if (m.is_object())
      for (auto it = m.begin(); it != m.end(); ++it)
        if (!config.contains(it.key())) config[it.key()] = it.value();
  }
  return config;
}

TokenizerJson added_token_json(uint32_t id, const std::string& content) {
  TokenizerJson t = TokenizerJson::object();
  t["id"] = id;
  t["content"] = content;
  t["single_word"] = false;
  t["lstrip"] = false;
  t["rstrip"] = false;
  t["normalized"] = false;
  t["special"] = true;
  return t;
}

/// BERT's tokenizer.json as transformers' BertTokenizer(vocab.txt) builds it.
TokenizerJson bert_json(const std::vector<std::string>& vocab, const core::Json& config, const std::string& source) {
  TokenizerJson vj = TokenizerJson::object();
  std::unordered_map<std::string, uint32_t> index;
  for (size_t i = 0; i < vocab.size(); ++i) {
    index[vocab[i]] = static_cast<uint32_t>(i);
    vj[vocab[i]] = static_cast<uint32_t>(i);
  }
  auto tok = [&](const char* key, const char* fallback) { return config_token(config, key).value_or(fallback); };
  const std::string unk = tok("unk_token", "[UNK]"), sep = tok("sep_token", "[SEP]"), pad = tok("pad_token", "[PAD]"),
                    cls = tok("cls_token", "[CLS]"), mask = tok("mask_token", "[MASK]");
  for (const std::string& t : {cls, sep})
    if (!index.count(t)) throw DataError(source + ": the vocabulary has no \"" + t + "\" token");
  const bool lower = json_bool_or(config, "do_lower_case", true, source);
  TokenizerJson j = TokenizerJson::object();
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  TokenizerJson added = TokenizerJson::array();
  std::vector<std::pair<uint32_t, std::string>> specials;
  for (const std::string& t : {pad, unk, cls, sep, mask})
    if (index.count(t)) specials.emplace_back(index[t], t);
  std::sort(specials.begin(), specials.end());
  specials.erase(std::unique(specials.begin(), specials.end()), specials.end());
  for (auto& [id, t] : specials) added.push_back(added_token_json(id, t));
  j["added_tokens"] = added;
  TokenizerJson norm = TokenizerJson::object();
  norm["type"] = "BertNormalizer";
  norm["clean_text"] = true;
  norm["handle_chinese_chars"] = json_bool_or(config, "tokenize_chinese_chars", true, source);
  norm["strip_accents"] = nullptr;
  if (config.contains("strip_accents") && config.at("strip_accents").is_boolean())
    norm["strip_accents"] = config.at("strip_accents").get<bool>();
  norm["lowercase"] = lower;
  j["normalizer"] = norm;
  j["pre_tokenizer"] = TokenizerJson{{"type", "BertPreTokenizer"}};
  TokenizerJson single = TokenizerJson::array(), pair = TokenizerJson::array();
  auto special = [](const std::string& id, int type_id) {
    return TokenizerJson{{"SpecialToken", TokenizerJson{{"id", id}, {"type_id", type_id}}}};
  };
  auto sequence = [](const char* id, int type_id) {
    return TokenizerJson{{"Sequence", TokenizerJson{{"id", id}, {"type_id", type_id}}}};
  };
  single.push_back(special(cls, 0));
  single.push_back(sequence("A", 0));
  single.push_back(special(sep, 0));
  pair.push_back(special(cls, 0));
  pair.push_back(sequence("A", 0));
  pair.push_back(special(sep, 0));
  pair.push_back(sequence("B", 1));
  pair.push_back(special(sep, 1));
  TokenizerJson stoks = TokenizerJson::object();
  stoks[cls] =
      TokenizerJson{{"id", cls}, {"ids", TokenizerJson::array({index[cls]})}, {"tokens", TokenizerJson::array({cls})}};
  stoks[sep] =
      TokenizerJson{{"id", sep}, {"ids", TokenizerJson::array({index[sep]})}, {"tokens", TokenizerJson::array({sep})}};
  j["post_processor"] =
      TokenizerJson{{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", stoks}};
  j["decoder"] = TokenizerJson{{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
  j["model"] = TokenizerJson{{"type", "WordPiece"},
                             {"unk_token", unk},
                             {"continuing_subword_prefix", "##"},
                             {"max_input_chars_per_word", 100},
                             {"vocab", vj}};
  return j;
}

std::vector<std::string> read_vocab_txt(const std::string& path) {
  std::string text = core::read_file(path);
  size_t bad = unicode::find_invalid_utf8(text);
  if (bad != std::string::npos) throw DataError(path + ": not valid UTF-8 at byte " + std::to_string(bad));
  std::vector<std::string> vocab;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    vocab.push_back(line);
    pos = nl + 1;
  }
  if (vocab.empty()) throw DataError(path + ": the vocabulary is empty");
  return vocab;
}

/// GPT-2 / RoBERTa's tokenizer.json as transformers builds it from vocab.json + merges.txt.
TokenizerJson byte_level_bpe_json(const std::string& dir, const core::Json& config) {
  const std::string vocab_path = dir + "/vocab.json", merges_path = dir + "/merges.txt";
  TokenizerJson vocab = read_tokenizer_json(vocab_path);
  if (!vocab.is_object()) throw DataError(vocab_path + ": expected an object of token -> id");
  std::string text = core::read_file(merges_path);
  TokenizerJson merges = TokenizerJson::array();
  size_t pos = 0;
  size_t line_no = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("#version", 0) == 0) continue;
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    size_t sp = line.find(' ');
    if (sp == std::string::npos)
      throw DataError(merges_path + ":" + std::to_string(line_no) + ": expected two tokens separated by a space");
    merges.push_back(TokenizerJson::array({line.substr(0, sp), line.substr(sp + 1)}));
  }
  const std::string cls_name =
      config.is_object() && config.contains("tokenizer_class") && config["tokenizer_class"].is_string()
          ? config["tokenizer_class"].get<std::string>()
          : std::string("GPT2Tokenizer");
  const bool roberta = cls_name.find("Roberta") != std::string::npos || cls_name.find("Bart") != std::string::npos ||
                       cls_name.find("Longformer") != std::string::npos;
  const bool add_prefix_space = json_bool_or(config, "add_prefix_space", false, dir);
  const bool trim_offsets = json_bool_or(config, "trim_offsets", true, dir);
  TokenizerJson j = TokenizerJson::object();
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  TokenizerJson added = TokenizerJson::array();
  std::vector<std::pair<uint32_t, std::string>> specials;
  auto add_special = [&](const std::optional<std::string>& t) {
    if (t && vocab.contains(*t))
      specials.emplace_back(json_token_id(vocab[*t], vocab_path, "the id of \"" + *t + "\""), *t);
  };
  if (roberta) {
    for (const char* k : {"bos_token", "pad_token", "eos_token", "unk_token", "mask_token", "cls_token", "sep_token"})
      add_special(config_token(config, k).value_or(std::string(k) == "bos_token"    ? "<s>"
                                                   : std::string(k) == "pad_token"  ? "<pad>"
                                                   : std::string(k) == "eos_token"  ? "</s>"
                                                   : std::string(k) == "unk_token"  ? "<unk>"
                                                   : std::string(k) == "mask_token" ? "<mask>"
                                                   : std::string(k) == "cls_token"  ? "<s>"
                                                                                    : "</s>"));
  } else {
    for (const char* k : {"bos_token", "eos_token", "unk_token", "pad_token"})
      add_special(config_token(config, k).value_or(std::string(k) == "pad_token" ? "" : "<|endoftext|>"));
  }
  std::sort(specials.begin(), specials.end());
  specials.erase(std::unique(specials.begin(), specials.end()), specials.end());
  for (auto& [id, t] : specials) added.push_back(added_token_json(id, t));
  j["added_tokens"] = added;
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = TokenizerJson{{"type", "ByteLevel"},
                                     {"add_prefix_space", add_prefix_space},
                                     {"trim_offsets", trim_offsets},
                                     {"use_regex", true}};
  if (roberta) {
    const std::string cls = config_token(config, "cls_token").value_or("<s>");
    const std::string sep = config_token(config, "sep_token").value_or("</s>");
    if (!vocab.contains(cls) || !vocab.contains(sep))
      throw DataError(vocab_path + ": the vocabulary lacks \"" + cls + "\" or \"" + sep + "\"");
    j["post_processor"] = TokenizerJson{{"type", "RobertaProcessing"},
                                        {"sep", TokenizerJson::array({sep, vocab[sep]})},
                                        {"cls", TokenizerJson::array({cls, vocab[cls]})},
                                        {"trim_offsets", trim_offsets},
                                        {"add_prefix_space", add_prefix_space}};
  } else {
    auto seq = [](const char* id, int type_id) {
      return TokenizerJson{{"Sequence", TokenizerJson{{"id", id}, {"type_id", type_id}}}};
    };
    j["post_processor"] = TokenizerJson{{"type", "TemplateProcessing"},
                                        {"single", TokenizerJson::array({seq("A", 0)})},
                                        {"pair", TokenizerJson::array({seq("A", 0), seq("B", 1)})},
                                        {"special_tokens", TokenizerJson::object()}};
  }
  j["decoder"] =
      TokenizerJson{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["model"] = TokenizerJson{{"type", "BPE"},
                             {"dropout", nullptr},
                             {"unk_token", nullptr},
                             {"continuing_subword_prefix", ""},
                             {"end_of_word_suffix", ""},
                             {"fuse_unk", false},
                             {"byte_fallback", false},
                             {"ignore_merges", false},
                             {"vocab", vocab},
                             {"merges", merges}};
  return j;
}

}  // namespace

TokenizerJson read_tokenizer_json(const std::string& path) {
  const std::string text = core::read_file(path);
  try {
    return TokenizerJson::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // core::parse_json words the error with line and column.
    core::parse_json(text, path);
    throw DataError(path + ": invalid JSON: " + e.what());
  }
}

namespace {

/// serde_json's default recursion limit, which `tokenizers` loads tokenizer.json with: deeper
/// nesting is refused there too. Checked without recursion, before the components (which recurse
/// into Sequence) are built.
constexpr size_t kMaxTokenizerJsonDepth = 128;

void check_depth(const TokenizerJson& root, const std::string& source) {
  std::vector<std::pair<const TokenizerJson*, size_t>> stack{{&root, 1}};
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (!v->is_structured()) continue;
    if (depth > kMaxTokenizerJsonDepth)
      throw DataError(source + ": nested deeper than " + std::to_string(kMaxTokenizerJsonDepth) +
                      " levels (the limit of tokenizers' JSON reader)");
    for (const auto& child : *v)
      if (child.is_structured()) stack.emplace_back(&child, depth + 1);
  }
}

std::shared_ptr<const Tokenizer> load_tokenizer_json_checked(const TokenizerJson& j, const std::string& source,
                                                             const core::Json& config);

}  // namespace

std::shared_ptr<const Tokenizer> load_tokenizer_json(const TokenizerJson& j, const std::string& source,
                                                     const core::Json& config) {
  check_depth(j, source);
  try {
    return load_tokenizer_json_checked(j, source, config);
  } catch (const nlohmann::json::exception& e) {
    // A value of an unexpected type that a component read without checking: still the file's fault.
    throw DataError(source + ": unexpected value: " + e.what());
  }
}

namespace {

std::shared_ptr<const Tokenizer> load_tokenizer_json_checked(const TokenizerJson& j, const std::string& source,
                                                             const core::Json& config) {
  if (!j.is_object()) throw DataError(source + ": expected a JSON object");
  TokenizerComponents c;
  auto component = [&](const char* key) -> const TokenizerJson* {
    if (!j.contains(key) || j.at(key).is_null()) return nullptr;
    return &j.at(key);
  };
  if (const TokenizerJson* n = component("normalizer"))
    c.normalizer = make_normalizer(*n, LoadContext{source + ": normalizer"});
  c.source = source;
  if (const TokenizerJson* p = component("pre_tokenizer")) {
    c.pre_tokenizer = make_pre_tokenizer(*p, LoadContext{source + ": pre_tokenizer"});
    c.pre_tokenizer_json = *p;
  }
  const TokenizerJson* m = component("model");
  if (!m) throw DataError(source + ": missing \"model\"");
  c.model = make_model(*m, LoadContext{source + ": model"});
  if (const TokenizerJson* p = component("post_processor")) {
    c.post_processor = make_post_processor(*p, LoadContext{source + ": post_processor"});
    c.post_processor_json = *p;
  }
  if (const TokenizerJson* d = component("decoder")) c.decoder = make_decoder(*d, LoadContext{source + ": decoder"});
  if (const TokenizerJson* a = component("added_tokens")) {
    if (!a->is_array()) throw DataError(source + ": \"added_tokens\" must be a list");
    for (size_t i = 0; i < a->size(); ++i) {
      const TokenizerJson& t = (*a)[i];
      const std::string w = source + ": added_tokens[" + std::to_string(i) + "]";
      AddedToken at;
      at.id = json_token_id(json_field(t, "id", w), w, "field \"id\"");
      at.content = json_string(t, "content", w);
      at.single_word = json_bool_or(t, "single_word", false, w);
      at.lstrip = json_bool_or(t, "lstrip", false, w);
      at.rstrip = json_bool_or(t, "rstrip", false, w);
      at.special = json_bool_or(t, "special", false, w);
      at.normalized = json_bool_or(t, "normalized", !at.special, w);
      c.added_tokens.push_back(std::move(at));
    }
  }
  if (const TokenizerJson* p = component("padding")) {
    const std::string w = source + ": padding";
    if (!p->is_object()) throw DataError(w + ": expected an object or null");
    if (p->contains("pad_id") && !p->at("pad_id").is_null())
      c.pad_token_id = json_token_id(p->at("pad_id"), w, "field \"pad_id\"");
    if (p->contains("pad_token") && p->at("pad_token").is_string()) c.pad_token = p->at("pad_token").get<std::string>();
    c.pad_type_id = static_cast<uint32_t>(json_uint_or(*p, "pad_type_id", 0, w));
    // tokenizers' PaddingDirection, serialized "Right" / "Left".
    if (p->contains("direction") && p->at("direction").is_string()) {
      const std::string d = p->at("direction").get<std::string>();
      if (d == "Left") {
        c.padding_side = Side::kLeft;
      } else if (d != "Right") {
        throw DataError(w + ": \"direction\" must be \"Right\" or \"Left\", not \"" + d + "\"");
      }
    }
  }
  // transformers' padding_side: tokenizer_config.json wins over tokenizer.json's padding direction.
  if (config.is_object() && config.contains("padding_side") && config.at("padding_side").is_string()) {
    const std::string side = config.at("padding_side").get<std::string>();
    if (side != "right" && side != "left")
      throw DataError(source + ": tokenizer_config.json \"padding_side\" must be \"right\" or \"left\", not \"" + side +
                      "\"");
    c.padding_side = side == "left" ? Side::kLeft : Side::kRight;
  }
  c.cls_token = config_token(config, "cls_token");
  if (!c.pad_token) c.pad_token = config_token(config, "pad_token");
  c.unk_token = config_token(config, "unk_token");
  c.model_max_length = config_max_length(config);
  // transformers 5's default is false; a saved tokenizer_config.json usually says which.
  c.clean_up_tokenization_spaces = config.is_object() && config.contains("clean_up_tokenization_spaces") &&
                                   config.at("clean_up_tokenization_spaces").is_boolean() &&
                                   config.at("clean_up_tokenization_spaces").get<bool>();
  return make_tokenizer(std::move(c));
}

}  // namespace

std::shared_ptr<const Tokenizer> Tokenizer::from_file(const std::string& tokenizer_json) {
  TokenizerJson j = read_tokenizer_json(tokenizer_json);
  fs::path dir = fs::path(tokenizer_json).parent_path();
  core::Json config = read_config(dir.empty() ? "." : dir.string());
  return load_tokenizer_json(j, tokenizer_json, config);
}

std::shared_ptr<const Tokenizer> Tokenizer::from_dir(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw DataError(dir + ": not a directory");
  const core::Json config = read_config(dir);
  if (exists(dir + "/tokenizer.json"))
    return load_tokenizer_json(read_tokenizer_json(dir + "/tokenizer.json"), dir + "/tokenizer.json", config);
  // The legacy classes' default pad tokens (BertTokenizer: [PAD]; RobertaTokenizer: <pad>).
  auto with_pad = [&config](const char* pad) {
    core::Json c = config;
    if (!config_token(c, "pad_token")) c["pad_token"] = pad;
    return c;
  };
  if (exists(dir + "/vocab.txt")) {
    const std::string path = dir + "/vocab.txt";
    const core::Json c = with_pad("[PAD]");
    return load_tokenizer_json(bert_json(read_vocab_txt(path), c, path), path, c);
  }
  if (exists(dir + "/vocab.json") && exists(dir + "/merges.txt")) {
    const bool gpt2 = !(config.contains("tokenizer_class") && config["tokenizer_class"].is_string() &&
                        config["tokenizer_class"].get<std::string>() != "GPT2Tokenizer");
    const core::Json c = gpt2 ? config : with_pad("<pad>");
    return load_tokenizer_json(byte_level_bpe_json(dir, c), dir + "/vocab.json", c);
  }
  if (auto spm = load_sentencepiece_dir(dir)) return spm;
  throw DataError(dir +
                  ": no tokenizer files (expected tokenizer.json, vocab.txt, vocab.json + merges.txt, or a "
                  "SentencePiece model)");
}

const std::vector<std::string>& tokenizer_file_names() {
  static const std::vector<std::string> names = {"tokenizer.json",
                                                 "tokenizer_config.json",
                                                 "special_tokens_map.json",
                                                 "vocab.txt",
                                                 "vocab.json",
                                                 "merges.txt",
                                                 "spiece.model",
                                                 "source.spm",
                                                 "target.spm",
                                                 "sentencepiece.bpe.model",
                                                 "added_tokens.json"};
  return names;
}

void copy_tokenizer_files(const std::string& src_dir, const std::string& dst_dir) {
  std::error_code ec;
  fs::create_directories(dst_dir, ec);
  for (const std::string& name : tokenizer_file_names()) {
    const std::string src = src_dir + "/" + name;
    if (!exists(src)) continue;
    core::write_file_atomic(dst_dir + "/" + name, core::read_file(src));
  }
}

void write_bert_tokenizer(const std::string& vocab_txt, const std::string& dst_dir, bool do_lower_case,
                          size_t model_max_length) {
  std::vector<std::string> vocab = read_vocab_txt(vocab_txt);
  for (const char* t : {"[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"})
    if (std::find(vocab.begin(), vocab.end(), t) == vocab.end())
      throw DataError(vocab_txt + ": the vocabulary has no \"" + std::string(t) + "\" token");
  core::Json config = core::Json::object();
  config["backend"] = "tokenizers";
  config["cls_token"] = "[CLS]";
  config["do_lower_case"] = do_lower_case;
  config["mask_token"] = "[MASK]";
  config["model_max_length"] = model_max_length;
  config["pad_token"] = "[PAD]";
  config["sep_token"] = "[SEP]";
  config["strip_accents"] = nullptr;
  config["tokenize_chinese_chars"] = true;
  config["tokenizer_class"] = "BertTokenizer";
  config["unk_token"] = "[UNK]";
  TokenizerJson tj = bert_json(vocab, config, vocab_txt);
  std::error_code ec;
  fs::create_directories(dst_dir, ec);
  core::write_file_atomic(dst_dir + "/tokenizer.json", tj.dump(2, ' ', false) + "\n");
  core::write_json_file(dst_dir + "/tokenizer_config.json", config);
  core::Json stm = core::Json{{"cls_token", "[CLS]"},
                              {"mask_token", "[MASK]"},
                              {"pad_token", "[PAD]"},
                              {"sep_token", "[SEP]"},
                              {"unk_token", "[UNK]"}};
  core::write_json_file(dst_dir + "/special_tokens_map.json", stm);
  std::string text;
  for (const std::string& v : vocab) text += v + "\n";
  core::write_file_atomic(dst_dir + "/vocab.txt", text);
}

}  // namespace textune::tokenizers
