// A string -> id map for vocabularies: open addressing over 32-bit slots, looked up by
// std::string_view without building a std::string (the hot path of WordPiece and BPE).
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace textune::tokenizers {

/// 64-bit hash of a byte string (FNV-1a folded with a multiply; fast for short keys).
inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL ^ (n * 0x9E3779B97F4A7C15ULL);
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * 0x100000001b3ULL;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  h = (h ^ v) * 0x100000001b3ULL;
  h ^= h >> 32;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

class VocabMap {
 public:
  /// Inserts or overwrites `key` -> `id`.
  void insert(std::string_view key, uint32_t id) {
    if ((keys_.size() + 1) * 2 > slots_.size()) grow();
    size_t mask = slots_.size() - 1;
    size_t i = hash_bytes(key.data(), key.size()) & mask;
    while (slots_[i] != kEmpty) {
      if (keys_[slots_[i]] == key) {
        ids_[slots_[i]] = id;
        return;
      }
      i = (i + 1) & mask;
    }
    slots_[i] = static_cast<uint32_t>(keys_.size());
    keys_.emplace_back(key);
    ids_.push_back(id);
  }

  std::optional<uint32_t> find(std::string_view key) const {
    if (slots_.empty()) return std::nullopt;
    size_t mask = slots_.size() - 1;
    size_t i = hash_bytes(key.data(), key.size()) & mask;
    while (slots_[i] != kEmpty) {
      const std::string& k = keys_[slots_[i]];
      if (k.size() == key.size() && std::memcmp(k.data(), key.data(), key.size()) == 0) return ids_[slots_[i]];
      i = (i + 1) & mask;
    }
    return std::nullopt;
  }

  size_t size() const { return keys_.size(); }
  const std::vector<std::string>& keys() const { return keys_; }
  const std::vector<uint32_t>& ids() const { return ids_; }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  void grow() {
    size_t n = slots_.empty() ? 64 : slots_.size() * 2;
    slots_.assign(n, kEmpty);
    size_t mask = n - 1;
    for (uint32_t k = 0; k < keys_.size(); ++k) {
      size_t i = hash_bytes(keys_[k].data(), keys_[k].size()) & mask;
      while (slots_[i] != kEmpty) i = (i + 1) & mask;
      slots_[i] = k;
    }
  }
  std::vector<uint32_t> slots_;
  std::vector<std::string> keys_;
  std::vector<uint32_t> ids_;
};

}  // namespace textune::tokenizers
