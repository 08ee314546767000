// SentencePiece encoding and decoding, reproducing google/sentencepiece:
//  - model_interface.cc InitializePieces (load-time checks), PieceToId, SplitIntoWords;
//  - unigram_model.cc Model::EncodeOptimized (the default Viterbi, ties going to the earliest start);
//  - bpe_model.cc Model::SampleEncode with alpha 0 (score-ordered merges, resegmentation of UNUSED);
//  - word_model.cc / char_model.cc;
//  - sentencepiece_processor.cc PopulateSentencePieceText (unknown runs fused, byte fallback) and Decode.
#include "tokenizers/sentencepiece_processor.h"

#include <algorithm>
#include <cfloat>
#include <queue>

#include "textune/core/error.h"

namespace textune::tokenizers::spm {
namespace {

constexpr std::string_view kSpaceSymbol = "\xe2\x96\x81";
constexpr std::string_view kReplacement = "\xef\xbf\xbd";
constexpr float kUnkPenalty = 10.0f;  // unigram_model.h

bool is_normal_like(PieceType t) {
  return t == PieceType::kNormal || t == PieceType::kUserDefined || t == PieceType::kUnused;
}

}  // namespace

SentencePieceProcessor::SentencePieceProcessor(ModelProto model, const std::string& source)
    : model_(std::move(model)), source_(source) {
  std::fill(std::begin(byte_ids_), std::end(byte_ids_), -1);
  const auto& spec = model_.trainer_spec;
  auto fail = [&](const std::string& what) { throw DataError(source_ + ": invalid SentencePiece model: " + what); };
  std::vector<std::pair<std::string_view, int32_t>> user_defined, trie_keys;
  min_score_ = FLT_MAX;
  max_score_ = FLT_MIN;  // as unigram_model.cc initializes it (the smallest positive float)
  for (size_t i = 0; i < model_.pieces.size(); ++i) {
    const auto& p = model_.pieces[i];
    const auto id = static_cast<int32_t>(i);
    if (p.piece.empty()) fail("piece " + std::to_string(i) + " is empty");
    auto& map = is_normal_like(p.type) ? pieces_ : reserved_;
    if (!map.emplace(p.piece, id).second) fail("piece \"" + p.piece + "\" (id " + std::to_string(i) + ") is defined twice");
    if (p.type == PieceType::kUserDefined) user_defined.emplace_back(p.piece, id);
    if (p.type == PieceType::kUnknown) {
      if (unk_id_ >= 0) fail("two unknown pieces (ids " + std::to_string(unk_id_) + " and " + std::to_string(i) + ")");
      unk_id_ = id;
    }
    if (p.type == PieceType::kByte) {
      if (!spec.byte_fallback) fail("byte piece " + p.piece + " is found although byte_fallback is false");
      const int b = piece_to_byte(p.piece);
      if (b < 0) fail("byte piece " + p.piece + " is invalid");
      byte_ids_[b] = id;
    }
    if (p.type == PieceType::kNormal) {
      min_score_ = std::min(min_score_, p.score);
      max_score_ = std::max(max_score_, p.score);
    }
    if (is_normal_like(p.type)) trie_keys.emplace_back(p.piece, id);
  }
  if (unk_id_ < 0) fail("no unknown piece (<unk>) is defined");
  if (spec.byte_fallback)
    for (int b = 0; b < 256; ++b)
      if (byte_ids_[b] < 0) fail("byte_fallback is true but the byte piece " + byte_to_piece(static_cast<unsigned char>(b)) + " is missing");
  user_defined_ = PieceTrie(std::move(user_defined));
  if (spec.model_type == ModelType::kUnigram) {
    if (trie_keys.empty()) fail("no pieces are loaded");
    trie_ = PieceTrie(std::move(trie_keys));
  }
  normalizer_ = std::make_unique<Normalizer>(model_.normalizer_spec, spec.treat_whitespace_as_suffix, &user_defined_, source_);
  if (model_.denormalizer_spec && !model_.denormalizer_spec->precompiled_charsmap.empty())
    denormalizer_ = std::make_unique<Normalizer>(*model_.denormalizer_spec, false, nullptr, source_);
}

std::shared_ptr<const SentencePieceProcessor> SentencePieceProcessor::load(const std::string& path) {
  return std::make_shared<const SentencePieceProcessor>(read_model_proto(path), path);
}

int32_t SentencePieceProcessor::piece_to_id(std::string_view piece) const {
  if (auto it = reserved_.find(piece); it != reserved_.end()) return it->second;
  if (auto it = pieces_.find(piece); it != pieces_.end()) return it->second;
  return unk_id_;
}

size_t SentencePieceProcessor::prefix_match(std::string_view text, bool* frozen) const {
  int32_t unused = 0;
  const size_t len = user_defined_.empty() ? 0 : user_defined_.longest_prefix(text, &unused);
  *frozen = len > 0;
  if (len > 0) return len;
  return std::min(one_char_len(text[0]), text.size());
}

void SentencePieceProcessor::encode_unigram(std::string_view normalized, EncodeScratch* s) const {
  using BestNode = EncodeScratch::BestNode;
  const size_t size = normalized.size();
  const float unk_score = min_score_ - kUnkPenalty;
  s->best.assign(size + 1, BestNode{-1, 0.0f, -1});
  auto& best = s->best;
  size_t starts_at = 0;
  while (starts_at < size) {
    const float score_till_here = best[starts_at].score;
    bool has_single_node = false;
    const size_t mblen = std::min(one_char_len(normalized[starts_at]), size - starts_at);
    trie_.common_prefix_search(normalized.substr(starts_at), [&](size_t length, int32_t id) {
      const PieceType type = model_.pieces[static_cast<size_t>(id)].type;
      if (type == PieceType::kUnused) return;
      BestNode& target = best[starts_at + length];
      bool better;
      float candidate;
      if (type == PieceType::kUserDefined) {
        // `length * max_score_ - 0.1` is a double in sentencepiece, and so is the sum it enters.
        const double c = (static_cast<double>(static_cast<float>(length) * max_score_) - 0.1) + score_till_here;
        better = target.starts_at == -1 || c > target.score;
        candidate = static_cast<float>(c);
      } else {
        candidate = model_.pieces[static_cast<size_t>(id)].score + score_till_here;
        better = target.starts_at == -1 || candidate > target.score;
      }
      if (better) {
        target.score = candidate;
        target.starts_at = static_cast<int32_t>(starts_at);
        target.id = id;
      }
      if (!has_single_node && length == mblen) has_single_node = true;
    });
    if (!has_single_node) {
      BestNode& target = best[starts_at + mblen];
      const float candidate = unk_score + score_till_here;
      if (target.starts_at == -1 || candidate > target.score) {
        target.score = candidate;
        target.starts_at = static_cast<int32_t>(starts_at);
        target.id = unk_id_;
      }
    }
    starts_at += mblen;
  }
  s->raw.clear();
  for (size_t end = size; end > 0;) {
    const BestNode& node = best[end];
    s->raw.emplace_back(static_cast<uint32_t>(end), node.id);
    end = static_cast<size_t>(node.starts_at);
  }
  std::reverse(s->raw.begin(), s->raw.end());
}

void SentencePieceProcessor::encode_bpe(std::string_view normalized, EncodeScratch* s) const {
  struct Symbol {
    int32_t prev, next;
    bool freeze;
    uint32_t begin, size;  // bytes of `normalized`
  };
  struct Pair {
    int32_t left, right;
    float score;
    uint32_t size;
  };
  struct Lower {
    bool operator()(const Pair& a, const Pair& b) const {
      return a.score < b.score || (a.score == b.score && a.left > b.left);
    }
  };
  std::vector<Symbol> symbols;
  symbols.reserve(normalized.size());
  for (size_t pos = 0; pos < normalized.size();) {
    Symbol sym{};
    const size_t len = prefix_match(normalized.substr(pos), &sym.freeze);
    sym.begin = static_cast<uint32_t>(pos);
    sym.size = static_cast<uint32_t>(len);
    const auto index = static_cast<int32_t>(symbols.size());
    sym.prev = index - 1;
    pos += len;
    sym.next = pos < normalized.size() ? index + 1 : -1;
    symbols.push_back(sym);
  }
  s->raw.clear();
  if (symbols.empty()) return;

  std::priority_queue<Pair, std::vector<Pair>, Lower> agenda;
  // merged UNUSED piece -> (left piece, right piece), for resegmentation
  std::unordered_map<std::string_view, std::pair<std::string_view, std::string_view>> rev_merge;
  auto piece_of = [&](const Symbol& sym) { return normalized.substr(sym.begin, sym.size); };
  auto maybe_add = [&](int32_t left, int32_t right) {
    if (left == -1 || right == -1 || symbols[left].freeze || symbols[right].freeze) return;
    const std::string_view piece = normalized.substr(symbols[left].begin, symbols[left].size + symbols[right].size);
    const auto it = pieces_.find(piece);
    if (it == pieces_.end()) return;
    agenda.push(Pair{left, right, score(it->second), static_cast<uint32_t>(piece.size())});
    if (type(it->second) == PieceType::kUnused) rev_merge[piece] = {piece_of(symbols[left]), piece_of(symbols[right])};
  };
  for (size_t i = 1; i < symbols.size(); ++i) maybe_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  while (!agenda.empty()) {
    const Pair top = agenda.top();
    agenda.pop();
    Symbol& l = symbols[top.left];
    Symbol& r = symbols[top.right];
    if (l.size == 0 || r.size == 0 || l.size + r.size != top.size) continue;
    l.size += r.size;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = top.left;
    r.size = 0;
    maybe_add(l.prev, top.left);
    maybe_add(top.left, l.next);
  }
  // Resegments UNUSED pieces into the pieces they were merged from.
  uint32_t end = 0;
  std::vector<std::string_view> stack;
  for (int32_t index = 0; index != -1; index = symbols[index].next) {
    stack.assign(1, piece_of(symbols[index]));
    while (!stack.empty()) {
      const std::string_view w = stack.back();
      stack.pop_back();
      const int32_t id = piece_to_id(w);
      const auto it = type(id) == PieceType::kUnused ? rev_merge.find(w) : rev_merge.end();
      if (it == rev_merge.end()) {
        end += static_cast<uint32_t>(w.size());
        s->raw.emplace_back(end, id);
      } else {
        stack.push_back(it->second.second);
        stack.push_back(it->second.first);
      }
    }
  }
}

void SentencePieceProcessor::encode_word(std::string_view normalized, EncodeScratch* s) const {
  // model_interface.cc SplitIntoWords, then one piece per word.
  s->raw.clear();
  const bool suffix = model_.trainer_spec.treat_whitespace_as_suffix;
  const bool ws_only = model_.trainer_spec.allow_whitespace_only_pieces;
  std::vector<std::pair<size_t, size_t>> words;  // (begin, end)
  bool in_ws_sequence = false;
  const size_t n = normalized.size();
  size_t pos = 0;
  if (suffix) {
    if (pos < n) words.emplace_back(0, 0);
    while (pos < n) {
      const size_t mblen = std::min(one_char_len(normalized[pos]), n - pos);
      const bool is_ws = normalized.substr(pos, mblen) == kSpaceSymbol;
      if (is_ws) {
        in_ws_sequence = true;
      } else if (in_ws_sequence) {
        if (ws_only) words.emplace_back(pos, pos);
        in_ws_sequence = false;
      }
      words.back().second = pos + mblen;
      pos += mblen;
      if (pos < n && is_ws && !ws_only) words.emplace_back(pos, pos);
    }
  } else {
    while (pos < n) {
      const size_t mblen = std::min(one_char_len(normalized[pos]), n - pos);
      const bool is_ws = normalized.substr(pos, mblen) == kSpaceSymbol;
      if (pos == 0 || (is_ws && (!in_ws_sequence || !ws_only))) {
        words.emplace_back(pos, pos);
        in_ws_sequence = true;
      }
      if (in_ws_sequence && !is_ws) in_ws_sequence = false;
      words.back().second = pos + mblen;
      pos += mblen;
    }
  }
  for (const auto& [b, e] : words)
    if (e > b) s->raw.emplace_back(static_cast<uint32_t>(e), piece_to_id(normalized.substr(b, e - b)));
}

void SentencePieceProcessor::encode_char(std::string_view normalized, EncodeScratch* s) const {
  s->raw.clear();
  for (size_t pos = 0; pos < normalized.size();) {
    bool frozen = false;
    const size_t len = prefix_match(normalized.substr(pos), &frozen);
    s->raw.emplace_back(static_cast<uint32_t>(pos + len), piece_to_id(normalized.substr(pos, len)));
    pos += len;
  }
}

void SentencePieceProcessor::encode(std::string_view text, std::vector<EncodedPiece>* out, EncodeScratch* s) const {
  out->clear();
  normalizer_->normalize(text, &s->normalized, &s->norm_to_orig);
  const std::string_view normalized = s->normalized;
  if (normalized.empty()) return;
  switch (model_.trainer_spec.model_type) {
    case ModelType::kUnigram: encode_unigram(normalized, s); break;
    case ModelType::kBpe: encode_bpe(normalized, s); break;
    case ModelType::kWord: encode_word(normalized, s); break;
    case ModelType::kChar: encode_char(normalized, s); break;
  }
  // PopulateSentencePieceText.
  const auto& map = s->norm_to_orig;
  const bool byte_fallback = model_.trainer_spec.byte_fallback;
  uint32_t begin = 0;
  bool is_prev_unk = false;
  for (const auto& [end, id] : s->raw) {
    const bool unk = is_unknown(id);
    const auto orig_begin = static_cast<uint32_t>(map[begin]);
    const auto orig_end = static_cast<uint32_t>(map[end]);
    if (is_control(id)) {
      out->push_back(EncodedPiece{id, begin, end, orig_begin, orig_begin, false});
    } else if (unk && byte_fallback) {
      for (uint32_t i = begin; i < end; ++i) {
        const int32_t byte_id = byte_ids_[static_cast<unsigned char>(normalized[i])];
        const bool last = i + 1 == end;
        out->push_back(EncodedPiece{byte_id, i, i + 1, orig_begin, last ? orig_end : orig_begin, true});
      }
    } else if (is_prev_unk && unk) {
      out->back().end = end;
      out->back().orig_end = orig_end;
    } else {
      out->push_back(EncodedPiece{id, begin, end, orig_begin, orig_end, false});
    }
    is_prev_unk = unk;
    begin = end;
  }
}

std::vector<std::string> SentencePieceProcessor::encode_as_pieces(std::string_view text) const {
  EncodeScratch scratch;
  std::vector<EncodedPiece> pieces;
  encode(text, &pieces, &scratch);
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (const auto& p : pieces) out.emplace_back(piece_text(p, scratch));
  return out;
}

std::vector<int32_t> SentencePieceProcessor::encode_as_ids(std::string_view text) const {
  EncodeScratch scratch;
  std::vector<EncodedPiece> pieces;
  encode(text, &pieces, &scratch);
  std::vector<int32_t> out;
  out.reserve(pieces.size());
  for (const auto& p : pieces) out.push_back(p.id);
  return out;
}

std::string SentencePieceProcessor::decode_pieces(const std::vector<std::string_view>& pieces) const {
  const auto& nspec = model_.normalizer_spec;
  std::string text;
  // Consecutive byte pieces become UTF-8; a malformed byte becomes U+FFFD.
  std::string bytes;
  auto flush_bytes = [&]() {
    size_t offset = 0;
    while (offset < bytes.size()) {
      const size_t len = valid_utf8_char_len(std::string_view(bytes).substr(offset));
      if (len == 0) {
        text.append(kReplacement);
        offset += 1;
      } else {
        text.append(bytes, offset, len);
        offset += len;
      }
    }
    bytes.clear();
  };
  bool is_bos_ws = true;
  bool bos_ws_seen = false;
  for (std::string_view piece : pieces) {
    const int32_t id = piece_to_id(piece);
    if (is_byte(id)) {
      bytes.push_back(static_cast<char>(piece_to_byte(piece)));
      continue;
    }
    flush_bytes();
    if (bos_ws_seen || !text.empty()) is_bos_ws = false;
    bos_ws_seen = false;
    if (is_control(id)) continue;
    if (is_unknown(id)) {
      text.append(id_to_piece(id) == piece ? std::string_view(model_.trainer_spec.unk_surface) : piece);
      continue;
    }
    if (is_bos_ws && (nspec.add_dummy_prefix || nspec.remove_extra_whitespaces)) {
      if (piece.substr(0, kSpaceSymbol.size()) == kSpaceSymbol) {
        piece.remove_prefix(kSpaceSymbol.size());
        bos_ws_seen = !nspec.remove_extra_whitespaces;
      }
    }
    for (size_t pos = 0; pos < piece.size();) {
      if (piece.compare(pos, kSpaceSymbol.size(), kSpaceSymbol) == 0) {
        text.push_back(' ');
        pos += kSpaceSymbol.size();
      } else {
        text.push_back(piece[pos++]);
      }
    }
  }
  flush_bytes();
  if (denormalizer_) text = denormalizer_->normalize(text);
  return text;
}

std::string SentencePieceProcessor::decode_ids(const std::vector<int32_t>& ids) const {
  std::vector<std::string_view> pieces;
  pieces.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= model_.pieces.size())
      throw DataError(source_ + ": cannot decode id " + std::to_string(id) + ": the vocabulary has " +
                      std::to_string(model_.pieces.size()) + " pieces");
    pieces.push_back(id_to_piece(id));
  }
  return decode_pieces(pieces);
}

}  // namespace textune::tokenizers::spm
