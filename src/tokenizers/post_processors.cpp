// Post-processors (tokenizers/src/processors): TemplateProcessing, BertProcessing,
// RobertaProcessing, ByteLevel, Sequence.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "textune/core/error.h"
#include "tokenizers/components.h"
#include "tokenizers/encoding_ops.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/unicode.h"

namespace textune::tokenizers {

namespace {

/// ByteLevel's offset trimming (tokenizers/src/processors/byte_level.rs process_offsets): leading
/// and trailing spaces ('Ġ' or whitespace) of a token leave its offsets.
void trim_offsets(Encoding& e, bool add_prefix_space) {
  constexpr char32_t kSpaceChar = 0x120;  // 'Ġ', the byte-level character of ' '
  for (size_t i = 0; i < e.tokens.size(); ++i) {
    const std::string& t = e.tokens[i];
    auto& off = e.offsets[i];
    std::vector<char32_t> cs;
    size_t k = 0;
    while (k < t.size()) cs.push_back(unicode::next_char(t, k));
    auto is_space = [](char32_t c) { return c == kSpaceChar || unicode::is_whitespace(c); };
    size_t leading = 0;
    while (leading < cs.size() && is_space(cs[leading])) ++leading;
    size_t trailing = 0;
    while (trailing < cs.size() && is_space(cs[cs.size() - 1 - trailing])) ++trailing;
    if (leading == 0 && trailing == 0) continue;
    if (leading > 0) {
      bool is_first = i == 0 || off.first == 0;
      if (is_first && add_prefix_space && leading == 1) leading = 0;
      off.first = std::min(off.first + leading, off.second);
    }
    if (trailing > 0 && off.second >= trailing) off.second = std::max(off.second - trailing, off.first);
  }
  for (Encoding& o : e.overflowing) trim_offsets(o, add_prefix_space);
}

struct Piece {
  bool is_sequence;
  uint32_t sequence;  // 0 = A, 1 = B
  std::string special;
  uint32_t type_id;
};

struct SpecialTokenDef {
  std::vector<uint32_t> ids;
  std::vector<std::string> tokens;
};

/// tokenizers/src/processors/template.rs
class TemplateProcessing : public PostProcessor {
 public:
  TemplateProcessing(std::vector<Piece> single, std::vector<Piece> pair,
                     std::map<std::string, SpecialTokenDef> specials)
      : single_(std::move(single)), pair_(std::move(pair)), specials_(std::move(specials)) {
    added_single_ = count(single_);
    added_pair_ = count(pair_);
  }
  size_t added_tokens(bool is_pair) const override { return is_pair ? added_pair_ : added_single_; }

  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const override {
    const std::vector<Piece>& tpl = encodings.size() == 2 ? pair_ : single_;
    std::vector<Encoding> out;
    for (const Piece& p : tpl) {
      if (p.is_sequence) {
        size_t i = p.sequence;
        if (i >= encodings.size()) continue;
        Encoding e = encodings[i];
        set_type_ids(e, p.type_id);
        set_sequence_id(e, static_cast<uint32_t>(i));
        out.push_back(std::move(e));
      } else if (add_special_tokens) {
        const SpecialTokenDef& d = specials_.at(p.special);
        out.push_back(special_encoding(d.ids, d.tokens, p.type_id));
      }
    }
    return out;
  }

 private:
  size_t count(const std::vector<Piece>& t) const {
    size_t n = 0;
    for (const Piece& p : t)
      if (!p.is_sequence) n += specials_.at(p.special).ids.size();
    return n;
  }
  std::vector<Piece> single_, pair_;
  std::map<std::string, SpecialTokenDef> specials_;
  size_t added_single_ = 0, added_pair_ = 0;
};

/// BertProcessing (bert.rs) and RobertaProcessing (roberta.rs): [CLS] A [SEP] (+ [SEP] B [SEP]
/// for RoBERTa, B [SEP] for BERT).
class ClsSepProcessing : public PostProcessor {
 public:
  ClsSepProcessing(std::pair<std::string, uint32_t> sep, std::pair<std::string, uint32_t> cls, bool roberta, bool trim,
                   bool add_prefix_space)
      : sep_(std::move(sep)),
        cls_(std::move(cls)),
        roberta_(roberta),
        trim_(trim),
        add_prefix_space_(add_prefix_space) {}
  size_t added_tokens(bool is_pair) const override { return is_pair ? (roberta_ ? 4 : 3) : 2; }

  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const override {
    if (roberta_ && trim_)
      for (Encoding& e : encodings) trim_offsets(e, add_prefix_space_);
    if (roberta_)
      for (Encoding& e : encodings) std::fill(e.type_ids.begin(), e.type_ids.end(), 0);
    for (size_t i = 0; i < encodings.size(); ++i) set_sequence_id(encodings[i], static_cast<uint32_t>(i));
    if (!add_special_tokens) return encodings;
    std::vector<Encoding> out;
    for (size_t i = 0; i < encodings.size(); ++i) {
      Encoding& e = encodings[i];
      const uint32_t type_id = (!roberta_ && i == 1) ? 1 : 0;
      auto wrap = [&](Encoding& x) {
        Encoding r;
        if (i == 0 || roberta_) {
          r = i == 0 ? special_encoding({cls_.second}, {cls_.first}, type_id)
                     : special_encoding({sep_.second}, {sep_.first}, type_id);
        }
        Encoding body = x;
        body.overflowing.clear();
        if (!roberta_) std::fill(body.type_ids.begin(), body.type_ids.end(), static_cast<int64_t>(type_id));
        if (roberta_) std::fill(body.type_ids.begin(), body.type_ids.end(), 0);
        merge_with(r, std::move(body));
        merge_with(r, special_encoding({sep_.second}, {sep_.first}, type_id));
        return r;
      };
      Encoding main = wrap(e);
      for (Encoding& o : e.overflowing) main.overflowing.push_back(wrap(o));
      out.push_back(std::move(main));
    }
    return out;
  }

 private:
  std::pair<std::string, uint32_t> sep_, cls_;
  bool roberta_, trim_, add_prefix_space_;
};

class ByteLevelProcessing : public PostProcessor {
 public:
  ByteLevelProcessing(bool trim, bool add_prefix_space) : trim_(trim), add_prefix_space_(add_prefix_space) {}
  size_t added_tokens(bool) const override { return 0; }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool) const override {
    if (trim_)
      for (Encoding& e : encodings) trim_offsets(e, add_prefix_space_);
    for (size_t i = 0; i < encodings.size(); ++i) set_sequence_id(encodings[i], static_cast<uint32_t>(i));
    return encodings;
  }

 private:
  bool trim_, add_prefix_space_;
};

class SequenceProcessing : public PostProcessor {
 public:
  explicit SequenceProcessing(std::vector<std::unique_ptr<PostProcessor>> p) : parts_(std::move(p)) {}
  size_t added_tokens(bool is_pair) const override {
    size_t n = 0;
    for (const auto& p : parts_) n += p->added_tokens(is_pair);
    return n;
  }
  std::vector<Encoding> process_encodings(std::vector<Encoding> encodings, bool add_special_tokens) const override {
    for (const auto& p : parts_) encodings = p->process_encodings(std::move(encodings), add_special_tokens);
    return encodings;
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

std::pair<std::string, uint32_t> read_token_pair(const TokenizerJson& j, const char* key, const std::string& w) {
  const TokenizerJson& v = json_field(j, key, w);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string()) throw DataError(w + ": \"" + key + "\" must be [token, id]");
  return {v[0].get<std::string>(), json_token_id(v[1], w, std::string("the id of \"") + key + "\"")};
}

std::vector<Piece> read_template(const TokenizerJson& j, const char* key, const std::string& w) {
  const TokenizerJson& t = json_field(j, key, w);
  if (!t.is_array()) throw DataError(w + ": \"" + key + "\" must be a list of pieces");
  std::vector<Piece> out;
  for (const auto& p : t) {
    if (p.contains("Sequence")) {
      const TokenizerJson& s = p.at("Sequence");
      std::string id = json_string(s, "id", w);
      if (id != "A" && id != "B")
        throw DataError(w + ": template sequence id must be \"A\" or \"B\", got \"" + id + "\"");
      out.push_back({true, id == "A" ? 0u : 1u, "", static_cast<uint32_t>(json_uint_or(s, "type_id", 0, w))});
    } else if (p.contains("SpecialToken")) {
      const TokenizerJson& s = p.at("SpecialToken");
      out.push_back({false, 0, json_string(s, "id", w), static_cast<uint32_t>(json_uint_or(s, "type_id", 0, w))});
    } else {
      throw DataError(w + ": template piece must be {\"Sequence\": ...} or {\"SpecialToken\": ...}, got " + p.dump());
    }
  }
  return out;
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const TokenizerJson& j, const LoadContext& ctx) {
  const std::string& w = ctx.where;
  const std::string type = json_string(j, "type", w);
  if (type == "TemplateProcessing") {
    std::map<std::string, SpecialTokenDef> specials;
    if (j.contains("special_tokens") && j.at("special_tokens").is_object()) {
      for (auto it = j.at("special_tokens").begin(); it != j.at("special_tokens").end(); ++it) {
        SpecialTokenDef d;
        const TokenizerJson& v = it.value();
        const std::string what = "special token \"" + it.key() + "\"";
        const TokenizerJson& ids = json_field(v, "ids", w);
        const TokenizerJson& tokens = json_field(v, "tokens", w);
        if (!ids.is_array() || !tokens.is_array())
          throw DataError(w + ": " + what + " must have lists \"ids\" and \"tokens\"");
        for (const auto& id : ids) d.ids.push_back(json_token_id(id, w, "an id of " + what));
        for (const auto& t : tokens) {
          if (!t.is_string()) throw DataError(w + ": the tokens of " + what + " must be strings");
          d.tokens.push_back(t.get<std::string>());
        }
        if (d.ids.size() != d.tokens.size())
          throw DataError(w + ": special token \"" + it.key() + "\" has " + std::to_string(d.ids.size()) + " ids but " +
                          std::to_string(d.tokens.size()) + " tokens");
        specials[it.key()] = std::move(d);
      }
    }
    std::vector<Piece> single = read_template(j, "single", w);
    std::vector<Piece> pair = read_template(j, "pair", w);
    for (const auto* t : {&single, &pair})
      for (const Piece& p : *t)
        if (!p.is_sequence && !specials.count(p.special))
          throw DataError(w + ": template uses special token \"" + p.special + "\" missing from \"special_tokens\"");
    return std::make_unique<TemplateProcessing>(std::move(single), std::move(pair), std::move(specials));
  }
  if (type == "BertProcessing")
    return std::make_unique<ClsSepProcessing>(read_token_pair(j, "sep", w), read_token_pair(j, "cls", w), false, false,
                                              false);
  if (type == "RobertaProcessing")
    return std::make_unique<ClsSepProcessing>(read_token_pair(j, "sep", w), read_token_pair(j, "cls", w), true,
                                              json_bool_or(j, "trim_offsets", true, w),
                                              json_bool_or(j, "add_prefix_space", true, w));
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelProcessing>(json_bool_or(j, "trim_offsets", true, w),
                                                 json_bool_or(j, "add_prefix_space", true, w));
  if (type == "Sequence") {
    const TokenizerJson& list = json_field(j, "processors", w);
    if (!list.is_array()) throw DataError(w + ": Sequence \"processors\" must be a list");
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (size_t i = 0; i < list.size(); ++i)
      parts.push_back(make_post_processor(list[i], LoadContext{w + "[" + std::to_string(i) + "]"}));
    return std::make_unique<SequenceProcessing>(std::move(parts));
  }
  throw DataError(w + ": unknown post_processor type \"" + type + "\"");
}

}  // namespace textune::tokenizers
