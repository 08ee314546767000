// Protobuf wire-format decoder for sentencepiece.ModelProto. Field numbers from google/sentencepiece
// src/sentencepiece_model.proto; wire format from protobuf's encoding documentation (varint, 64-bit,
// length-delimited, groups, 32-bit).
#include "tokenizers/sentencepiece_model.h"

#include <cstring>

#include "textune/core/error.h"
#include "textune/core/fs.h"

namespace textune::tokenizers::spm {
namespace {

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kStartGroup = 3, kEndGroup = 4, kFixed32 = 5 };

/// A cursor over one message's bytes; `base` is the message's offset in the file (for errors).
class WireReader {
 public:
  WireReader(std::string_view bytes, size_t base, const std::string& source)
      : data_(bytes), base_(base), source_(source) {}

  bool done() const { return pos_ >= data_.size(); }
  size_t offset() const { return base_ + pos_; }

  [[noreturn]] void fail(const std::string& what) const {
    throw DataError(source_ + ": not a valid SentencePiece model: " + what + " at byte " + std::to_string(offset()));
  }

  uint64_t varint() {
    uint64_t value = 0;
    const size_t start = pos_;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= data_.size()) {
        pos_ = start;
        fail("truncated varint");
      }
      const auto byte = static_cast<uint8_t>(data_[pos_++]);
      if (shift < 64) value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return value;
    }
    pos_ = start;
    fail("varint longer than 10 bytes");
  }

  uint32_t fixed32() {
    if (data_.size() - pos_ < 4) fail("truncated 32-bit field");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    pos_ += 4;
    return v;
  }

  void skip_fixed64() {
    if (data_.size() - pos_ < 8) fail("truncated 64-bit field");
    pos_ += 8;
  }

  /// A length-delimited payload; returns the payload and its offset in the file.
  std::string_view bytes(size_t* payload_offset = nullptr) {
    const size_t at = pos_;
    const uint64_t len = varint();
    if (len > data_.size() - pos_) {
      pos_ = at;
      fail("length " + std::to_string(len) + " runs past the end of its message");
    }
    if (payload_offset) *payload_offset = offset();
    std::string_view out = data_.substr(pos_, static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return out;
  }

  /// Reads a tag; returns field number and wire type.
  std::pair<uint32_t, uint32_t> tag() {
    const size_t at = pos_;
    const uint64_t t = varint();
    const uint64_t field = t >> 3;
    const auto wire = static_cast<uint32_t>(t & 7);
    if (field == 0 || field > 0x1fffffff) {
      pos_ = at;
      fail("field number " + std::to_string(field));
    }
    if (wire > kFixed32) {
      pos_ = at;
      fail("wire type " + std::to_string(wire));
    }
    return {static_cast<uint32_t>(field), wire};
  }

  /// Skips the value of a field with this wire type (unknown fields, as protobuf keeps them aside).
  void skip(uint32_t field, uint32_t wire, int depth = 0) {
    switch (wire) {
      case kVarint:
        varint();
        return;
      case kFixed64:
        skip_fixed64();
        return;
      case kLengthDelimited:
        bytes();
        return;
      case kFixed32:
        fixed32();
        return;
      case kStartGroup: {
        if (depth > 64) fail("groups nested too deeply");
        while (true) {
          if (done()) fail("unterminated group");
          auto [f, w] = tag();
          if (w == kEndGroup) {
            if (f != field) fail("mismatched end of group");
            return;
          }
          skip(f, w, depth + 1);
        }
      }
      default:
        fail("unexpected end of group");
    }
  }

 private:
  std::string_view data_;
  size_t base_;
  const std::string& source_;
  size_t pos_ = 0;
};

// Scalar decoders: a field of the wrong wire type is skipped, as protobuf treats it as unknown.
int32_t as_int32(uint64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

float as_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

void parse_piece(std::string_view bytes, size_t base, const std::string& source, ModelPiece& piece) {
  WireReader r(bytes, base, source);
  while (!r.done()) {
    auto [field, wire] = r.tag();
    if (field == 1 && wire == kLengthDelimited) {
      piece.piece = std::string(r.bytes());
    } else if (field == 2 && wire == kFixed32) {
      piece.score = as_float(r.fixed32());
    } else if (field == 3 && wire == kVarint) {
      const int32_t t = as_int32(r.varint());
      // proto2 closed enum: an unknown value is kept aside and the field keeps its default.
      if (t >= 1 && t <= 6) piece.type = static_cast<PieceType>(t);
    } else {
      r.skip(field, wire);
    }
  }
}

void parse_trainer_spec(std::string_view bytes, size_t base, const std::string& source, TrainerSpec& s) {
  WireReader r(bytes, base, source);
  while (!r.done()) {
    auto [field, wire] = r.tag();
    if (wire == kVarint) {
      const uint64_t v = r.varint();
      switch (field) {
        case 3:
          if (v >= 1 && v <= 4) s.model_type = static_cast<ModelType>(v);
          break;
        case 4: s.vocab_size = as_int32(v); break;
        case 20: s.max_sentencepiece_length = as_int32(v); break;
        case 21: s.split_by_unicode_script = v != 0; break;
        case 22: s.split_by_whitespace = v != 0; break;
        case 23: s.split_by_number = v != 0; break;
        case 24: s.treat_whitespace_as_suffix = v != 0; break;
        case 25: s.split_digits = v != 0; break;
        case 26: s.allow_whitespace_only_pieces = v != 0; break;
        case 35: s.byte_fallback = v != 0; break;
        case 40: s.unk_id = as_int32(v); break;
        case 41: s.bos_id = as_int32(v); break;
        case 42: s.eos_id = as_int32(v); break;
        case 43: s.pad_id = as_int32(v); break;
        default: break;
      }
    } else if (wire == kLengthDelimited) {
      const std::string_view b = r.bytes();
      switch (field) {
        case 30: s.control_symbols.emplace_back(b); break;
        case 31: s.user_defined_symbols.emplace_back(b); break;
        case 44: s.unk_surface = std::string(b); break;
        case 45: s.unk_piece = std::string(b); break;
        case 46: s.bos_piece = std::string(b); break;
        case 47: s.eos_piece = std::string(b); break;
        case 48: s.pad_piece = std::string(b); break;
        default: break;
      }
    } else {
      r.skip(field, wire);
    }
  }
}

void parse_normalizer_spec(std::string_view bytes, size_t base, const std::string& source, NormalizerSpec& s) {
  WireReader r(bytes, base, source);
  while (!r.done()) {
    auto [field, wire] = r.tag();
    if (wire == kVarint && field >= 3 && field <= 5) {
      const bool v = r.varint() != 0;
      if (field == 3) s.add_dummy_prefix = v;
      if (field == 4) s.remove_extra_whitespaces = v;
      if (field == 5) s.escape_whitespaces = v;
    } else if (wire == kLengthDelimited && (field == 1 || field == 2 || field == 6)) {
      const std::string_view b = r.bytes();
      if (field == 1) s.name = std::string(b);
      if (field == 2) s.precompiled_charsmap = std::string(b);
      if (field == 6) s.normalization_rule_tsv = std::string(b);
    } else {
      r.skip(field, wire);
    }
  }
}

}  // namespace

ModelProto parse_model_proto(std::string_view bytes, const std::string& source) {
  ModelProto model;
  WireReader r(bytes, 0, source);
  while (!r.done()) {
    auto [field, wire] = r.tag();
    if (wire != kLengthDelimited || field < 1 || field > 5) {
      r.skip(field, wire);
      continue;
    }
    size_t at = 0;
    const std::string_view payload = r.bytes(&at);
    switch (field) {
      case 1:
        model.pieces.emplace_back();
        parse_piece(payload, at, source, model.pieces.back());
        break;
      case 2: parse_trainer_spec(payload, at, source, model.trainer_spec); break;
      case 3: parse_normalizer_spec(payload, at, source, model.normalizer_spec); break;
      case 5:
        if (!model.denormalizer_spec) model.denormalizer_spec.emplace();
        parse_normalizer_spec(payload, at, source, *model.denormalizer_spec);
        break;
      default: break;  // 4: self_test_data, not needed to encode
    }
  }
  if (model.pieces.empty()) throw DataError(source + ": not a valid SentencePiece model: it holds no pieces");
  return model;
}

ModelProto read_model_proto(const std::string& path) { return parse_model_proto(core::read_file(path), path); }

std::string byte_to_piece(unsigned char byte) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string s = "<0x00>";
  s[3] = kHex[byte >> 4];
  s[4] = kHex[byte & 15];
  return s;
}

int piece_to_byte(std::string_view piece) {
  if (piece.size() != 6 || piece.substr(0, 3) != "<0x" || piece[5] != '>') return -1;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const int hi = hex(piece[3]), lo = hex(piece[4]);
  if (hi < 0 || lo < 0) return -1;
  return hi * 16 + lo;
}

}  // namespace textune::tokenizers::spm
