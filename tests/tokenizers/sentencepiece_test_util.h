// Test helpers: a minimal protobuf writer for hand-made sentencepiece.ModelProto messages (field
// numbers of google/sentencepiece src/sentencepiece_model.proto).
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace textune::testing::spm_proto {

inline std::string varint(uint64_t v) {
  std::string s;
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    if (v) b |= 0x80;
    s.push_back(static_cast<char>(b));
  } while (v);
  return s;
}
inline std::string tag(uint32_t field, uint32_t wire) { return varint((uint64_t{field} << 3) | wire); }
inline std::string bytes_field(uint32_t field, const std::string& b) { return tag(field, 2) + varint(b.size()) + b; }
inline std::string varint_field(uint32_t field, int64_t v) { return tag(field, 0) + varint(static_cast<uint64_t>(v)); }
inline std::string float_field(uint32_t field, float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  std::string s = tag(field, 5);
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
  return s;
}

/// type: 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE.
struct Piece {
  std::string piece;
  float score;
  int type = 1;
};

/// A serialized ModelProto: pieces, then TrainerSpec (model_type, byte_fallback, extra fields) and
/// NormalizerSpec (no charsmap: identity; flags as given).
inline std::string model(const std::vector<Piece>& pieces, int model_type = 1, bool byte_fallback = false,
                         bool add_dummy_prefix = true, bool remove_extra_whitespaces = true,
                         const std::string& charsmap = "", const std::string& extra_trainer = "") {
  std::string out;
  for (const auto& p : pieces) {
    std::string m = bytes_field(1, p.piece) + float_field(2, p.score);
    if (p.type != 1) m += varint_field(3, p.type);
    out += bytes_field(1, m);
  }
  std::string trainer = varint_field(3, model_type) + varint_field(4, static_cast<int64_t>(pieces.size()));
  if (byte_fallback) trainer += varint_field(35, 1);
  trainer += extra_trainer;
  out += bytes_field(2, trainer);
  std::string norm = bytes_field(1, charsmap.empty() ? "identity" : "custom");
  if (!charsmap.empty()) norm += bytes_field(2, charsmap);
  norm += varint_field(3, add_dummy_prefix) + varint_field(4, remove_extra_whitespaces) + varint_field(5, 1);
  out += bytes_field(3, norm);
  return out;
}

}  // namespace textune::testing::spm_proto
