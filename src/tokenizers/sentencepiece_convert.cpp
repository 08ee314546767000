// SentencePiece model -> tokenizer.json, following transformers' convert_slow_tokenizer.py
// (SpmConverter.tokenizer / normalizer / pre_tokenizer / decoder) and tokenizers' JSON layout of each
// component (tokenizers 0.22: Metaspace with prepend_scheme and split).
#include "tokenizers/sentencepiece_convert.h"

#include <filesystem>

#include "textune/core/error.h"
#include "textune/core/json.h"
#include "tokenizers/precompiled_normalizer.h"
#include "tokenizers/tokenizer_impl.h"

namespace textune::tokenizers {

nlohmann::json sentencepiece_tokenizer_json(const spm::ModelProto& model, const SpmConvertOptions& options,
                                            const std::string& source) {
  using nlohmann::json;
  if (model.trainer_spec.model_type != spm::ModelType::kUnigram)
    throw DataError(source + ": only Unigram SentencePiece models convert to a tokenizer.json pipeline");
  const std::string ws = "\xe2\x96\x81";
  json vocab = json::array();
  bool has_bytes = false;
  for (const auto& p : model.pieces) {
    vocab.push_back(json::array({p.piece, static_cast<double>(p.score)}));
    has_bytes = has_bytes || p.type == spm::PieceType::kByte;
  }
  const bool byte_fallback = model.trainer_spec.byte_fallback || (options.add_byte_fallback && !has_bytes);
  size_t next_id = model.pieces.size();
  if (options.add_byte_fallback && !has_bytes) {
    for (int b = 0; b < 256; ++b)
      vocab.push_back(json::array({spm::byte_to_piece(static_cast<unsigned char>(b)), 0.0}));
    next_id += 256;
  }
  json added = json::array();
  auto added_token = [](size_t id, const std::string& content, bool special) {
    return json{{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
                {"rstrip", false}, {"normalized", false}, {"special", special}};
  };
  for (size_t i = 0; i < model.pieces.size(); ++i) {
    const auto t = model.pieces[i].type;
    if (t == spm::PieceType::kControl || t == spm::PieceType::kUnknown)
      added.push_back(added_token(i, model.pieces[i].piece, true));
    else if (t == spm::PieceType::kUserDefined)
      added.push_back(added_token(i, model.pieces[i].piece, false));
  }
  for (const std::string& t : options.extra_special_tokens) {
    vocab.push_back(json::array({t, 0.0}));
    added.push_back(added_token(next_id++, t, true));
  }

  json normalizer = nullptr;
  if (options.precompiled_normalizer) {
    json seq = json::array();
    if (!model.normalizer_spec.precompiled_charsmap.empty())
      seq.push_back({{"type", "Precompiled"},
                     {"precompiled_charsmap", base64_encode(model.normalizer_spec.precompiled_charsmap)}});
    seq.push_back({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}});
    normalizer = {{"type", "Sequence"}, {"normalizers", seq}};
  }
  const json metaspace = {{"type", "Metaspace"}, {"replacement", ws}, {"prepend_scheme", "always"}, {"split", true}};
  json pre_tokenizer = metaspace;
  if (options.t5_non_legacy) {
    normalizer = {
        {"type", "Sequence"},
        {"normalizers", json::array({{{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}},
                                     {{"type", "Strip"}, {"strip_left", false}, {"strip_right", true}}})}};
    pre_tokenizer = {{"type", "Metaspace"}, {"replacement", ws}, {"prepend_scheme", "first"}, {"split", true}};
  } else if (options.whitespace_split)
    pre_tokenizer = {{"type", "Sequence"}, {"pretokenizers", json::array({{{"type", "WhitespaceSplit"}}, metaspace})}};

  json post_processor = nullptr;
  if (!options.eos_token.empty()) {
    int64_t eos_id = -1;
    for (size_t i = 0; i < model.pieces.size(); ++i)
      if (model.pieces[i].piece == options.eos_token) eos_id = static_cast<int64_t>(i);
    if (eos_id < 0)
      throw DataError(source + ": the end-of-sequence token \"" + options.eos_token + "\" is not a piece");
    // Types as T5's tokenizer.json has them: 0 for the first text and its </s>, 1 for the second.
    auto seq = [](const char* id, int type) { return json{{"Sequence", {{"id", id}, {"type_id", type}}}}; };
    auto eos = [&](int type) { return json{{"SpecialToken", {{"id", options.eos_token}, {"type_id", type}}}}; };
    const int b = static_cast<int>(options.pair_type_id);
    json pair = options.pair_single_eos ? json::array({seq("A", 0), seq("B", b), eos(b)})
                                        : json::array({seq("A", 0), eos(0), seq("B", b), eos(b)});
    post_processor = {
        {"type", "TemplateProcessing"},
        {"single", json::array({seq("A", 0), eos(0)})},
        {"pair", pair},
        {"special_tokens",
         {{options.eos_token, {{"id", options.eos_token}, {"ids", {eos_id}}, {"tokens", {options.eos_token}}}}}}};
  }
  json decoder = metaspace;
  if (byte_fallback)
    decoder = {{"type", "Sequence"},
               {"decoders", json::array({{{"type", "Replace"}, {"pattern", {{"String", ws}}}, {"content", " "}},
                                         {{"type", "ByteFallback"}},
                                         {{"type", "Fuse"}},
                                         {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}};
  return json{{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", added},
              {"normalizer", normalizer},
              {"pre_tokenizer", pre_tokenizer},
              {"post_processor", post_processor},
              {"decoder", decoder},
              {"model",
               {{"type", "Unigram"},
                {"unk_id", model.trainer_spec.unk_id},
                {"vocab", vocab},
                {"byte_fallback", byte_fallback}}}};
}

std::shared_ptr<const Tokenizer> load_t5_spiece(const std::string& dir) {
  const std::string path = dir + "/spiece.model";
  core::Json config = core::Json::object();
  if (std::filesystem::exists(dir + "/tokenizer_config.json"))
    config = core::read_json_file(dir + "/tokenizer_config.json");
  const std::string cls = config.contains("tokenizer_class") && config["tokenizer_class"].is_string()
                              ? config["tokenizer_class"].get<std::string>()
                              : "T5Tokenizer";
  if (cls != "T5Tokenizer" && cls != "T5TokenizerFast")
    throw DataError(dir + "/tokenizer_config.json: tokenizer_class \"" + cls +
                    "\" with spiece.model and no tokenizer.json is not supported (only T5Tokenizer)");
  auto content = [&](const char* key, const char* fallback) {
    if (!config.contains(key)) return std::string(fallback);
    const core::Json& v = config[key];
    if (v.is_string()) return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"].get<std::string>();
    return std::string(fallback);
  };
  const spm::ModelProto model = spm::read_model_proto(path);
  int64_t extra_ids = 100;
  if (config.contains("extra_ids")) {
    if (!config["extra_ids"].is_number_integer() || config["extra_ids"].get<int64_t>() < 0 ||
        config["extra_ids"].get<int64_t>() > 100000)
      throw DataError(dir + "/tokenizer_config.json: extra_ids must be an integer from 0 to 100000");
    extra_ids = config["extra_ids"].get<int64_t>();
  }
  SpmConvertOptions o;
  o.precompiled_normalizer = false;
  o.whitespace_split = true;
  // T5Tokenizer's `legacy` (default true); false: no "▁" right after an added token.
  if (config.contains("legacy") && !config["legacy"].is_null()) {
    if (!config["legacy"].is_boolean())
      throw DataError(dir + "/tokenizer_config.json: \"legacy\" must be true or false, got " +
                      config["legacy"].dump().substr(0, 64));
    o.t5_non_legacy = !config["legacy"].get<bool>();
  }
  o.eos_token = content("eos_token", "</s>");
  o.pair_type_id = 0;
  for (int64_t i = extra_ids - 1; i >= 0; --i) o.extra_special_tokens.push_back("<extra_id_" + std::to_string(i) + ">");
  nlohmann::json j = sentencepiece_tokenizer_json(model, o, path);
  if (!config.contains("pad_token")) config["pad_token"] = "<pad>";
  if (!config.contains("model_max_length")) config["model_max_length"] = 512;
  return load_tokenizer_json(j, path, config);
}

}  // namespace textune::tokenizers
