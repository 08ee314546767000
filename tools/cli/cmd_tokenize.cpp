// `textune tokenize --tokenizer DIR [--input FILE | TEXT...] [--pair-input FILE]`: encodes texts
// (or pairs) and prints one JSON object per line with ids, tokens, type_ids, offsets (Unicode
// code points, end exclusive) and special_tokens_mask.
#include <iostream>

#include "checks.h"
#include "command.h"
#include "textune/core/error.h"
#include "textune/core/fs.h"
#include "textune/core/json.h"
#include "textune/tokenizers/tokenizer.h"

namespace textune::cli {
namespace {

struct TokenizeOptions {
  std::string tokenizer;
  std::string input;
  std::string pair_input;
  std::vector<std::string> texts;
  size_t max_length = 0;
  bool no_special_tokens = false;
};

/// One text per line (a final "\r" of CRLF files is dropped); invalid UTF-8 is a DataError naming
/// the line and the byte offset within it.
std::vector<std::string> read_lines(const std::string& path) {
  const std::string data = core::read_file(path);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string::npos) nl = data.size();
    std::string line = data.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    pos = nl + 1;
  }
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    // Validate here to name the line: the tokenizer only knows the text.
    size_t k = 0;
    while (k < l.size()) {
      unsigned char b = static_cast<unsigned char>(l[k]);
      size_t n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
      bool ok = n > 0 && k + n <= l.size();
      uint32_t c = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
      for (size_t j = 1; ok && j < n; ++j) {
        unsigned char cb = static_cast<unsigned char>(l[k + j]);
        ok = (cb & 0xC0) == 0x80;
        c = (c << 6) | (cb & 0x3F);
      }
      if (ok && n > 1) {
        const uint32_t min = n == 2 ? 0x80 : n == 3 ? 0x800 : 0x10000;
        ok = c >= min && c <= 0x10FFFF && !(c >= 0xD800 && c <= 0xDFFF);
      }
      if (!ok)
        throw DataError(path + ":" + std::to_string(i + 1) + ": invalid UTF-8 at byte offset " + std::to_string(k) +
                        " of the line");
      k += n;
    }
  }
  return lines;
}

int run_tokenize(const TokenizeOptions& o) {
  if (!o.input.empty() && !o.texts.empty()) throw UsageError("give either --input FILE or TEXT arguments, not both");
  if (o.input.empty() && o.texts.empty()) throw UsageError("nothing to tokenize: give --input FILE or TEXT arguments");
  auto tok = tokenizers::Tokenizer::from_dir(o.tokenizer);
  std::vector<std::string> texts = o.input.empty() ? o.texts : read_lines(o.input);
  std::vector<std::string> pairs;
  if (!o.pair_input.empty()) {
    pairs = read_lines(o.pair_input);
    if (pairs.size() != texts.size())
      throw DataError(o.pair_input + ": " + std::to_string(pairs.size()) + " lines, but there are " +
                      std::to_string(texts.size()) + " texts to pair them with");
  }
  tokenizers::EncodeOptions eo;
  eo.add_special_tokens = !o.no_special_tokens;
  if (o.max_length > 0) {
    tokenizers::TruncationOptions t;
    t.max_length = o.max_length;
    eo.truncation = t;
  }
  std::vector<tokenizers::Encoding> encodings;
  try {
    encodings = tok->encode_batch(texts, pairs.empty() ? nullptr : &pairs, eo);
  } catch (const DataError& e) {
    throw DataError(std::string(o.input.empty() ? "TEXT arguments" : o.input) + ": " + e.what());
  }
  std::string out;
  for (const auto& e : encodings) {
    core::Json j = core::Json::object();
    j["ids"] = e.ids;
    j["tokens"] = e.tokens;
    j["type_ids"] = e.type_ids;
    core::Json offs = core::Json::array();
    for (const auto& p : e.offsets) offs.push_back(core::Json::array({p.first, p.second}));
    j["offsets"] = offs;
    j["special_tokens_mask"] = e.special_tokens_mask;
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
    if (out.size() > (1 << 20)) {
      std::cout << out;
      out.clear();
    }
  }
  std::cout << out << std::flush;
  return 0;
}

const CommandRegistrar kRegistrar(
    "tokenize", "Tokenize texts (arguments or one per line of a file) and print one JSON object per line",
    [](CLI::App& app) -> CommandRun {
      auto o = std::make_shared<TokenizeOptions>();
      app.add_option("--tokenizer", o->tokenizer, "Directory with tokenizer.json or the legacy vocabulary files")
          ->required();
      app.add_option("--input", o->input, "UTF-8 file with one text per line");
      app.add_option("--pair-input", o->pair_input, "UTF-8 file with the second text of each pair, one per line");
      app.add_option("--max-length", o->max_length, "Truncate to this many tokens (longest_first), 0 for none");
      app.add_flag("--no-special-tokens", o->no_special_tokens, "Do not add [CLS]/[SEP] or <s>/</s>");
      verbatim_texts(app.add_option("texts", o->texts, "Texts to tokenize (each argument is one text)"));
      return [o] { return run_tokenize(*o); };
    },
    40);

}  // namespace
}  // namespace textune::cli
