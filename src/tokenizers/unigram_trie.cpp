// Double-array construction: keys sorted bytewise, each node's children placed at the first base
// where all their cells are free (Aoe's double array, as darts builds it).
#include "tokenizers/unigram_trie.h"

#include <algorithm>

namespace textune::tokenizers {

PieceTrie::PieceTrie(std::vector<std::pair<std::string_view, int32_t>> keys) {
  keys.erase(std::remove_if(keys.begin(), keys.end(), [](const auto& k) { return k.first.empty(); }), keys.end());
  // Stable sort by bytes, then keep the last of equal keys.
  std::stable_sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<std::string_view, int32_t>> unique;
  unique.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i + 1 < keys.size() && keys[i + 1].first == keys[i].first) continue;
    unique.push_back(keys[i]);
  }
  if (unique.empty()) return;

  auto grow = [this](size_t size) {
    if (size <= check_.size()) return;
    size_t n = std::max<size_t>(size, check_.size() * 3 / 2 + 1024);
    base_.resize(n, 0);
    check_.resize(n, -1);
    value_.resize(n, -1);
  };
  grow(1024);
  check_[0] = -2;  // the root: never a child
  size_t first_free = 1;

  struct Task {
    uint32_t node;
    size_t lo, hi, depth;
  };
  std::vector<Task> stack{{0, 0, unique.size(), 0}};
  std::vector<uint8_t> labels;
  std::vector<size_t> starts;
  while (!stack.empty()) {
    Task task = stack.back();
    stack.pop_back();
    size_t lo = task.lo;
    if (unique[lo].first.size() == task.depth) {
      value_[task.node] = unique[lo].second;
      ++lo;
    }
    if (lo >= task.hi) continue;
    labels.clear();
    starts.clear();
    for (size_t i = lo; i < task.hi; ++i) {
      const auto c = static_cast<uint8_t>(unique[i].first[task.depth]);
      if (labels.empty() || labels.back() != c) {
        labels.push_back(c);
        starts.push_back(i);
      }
    }
    starts.push_back(task.hi);
    // First fit from `first_free`; when the cells scanned were nearly all taken, later searches start
    // past them (darts' density heuristic), which keeps construction near linear.
    size_t pos = std::max<size_t>(first_free, labels[0] + 1) - 1;
    size_t occupied = 0;
    bool first = true;
    size_t base = 0;
    while (true) {
      ++pos;
      grow(pos + 256 + 1);
      if (check_[pos] != -1) {
        ++occupied;
        continue;
      }
      if (first) {
        first_free = pos;
        first = false;
      }
      base = pos - labels[0];
      bool ok = true;
      for (size_t k = 1; k < labels.size(); ++k) {
        if (check_[base + labels[k]] != -1) {
          ok = false;
          break;
        }
      }
      if (ok) break;
    }
    if (static_cast<double>(occupied) / static_cast<double>(pos - first_free + 1) >= 0.95) first_free = pos;
    base_[task.node] = static_cast<uint32_t>(base);
    for (size_t k = 0; k < labels.size(); ++k) {
      const auto child = static_cast<uint32_t>(base + labels[k]);
      check_[child] = static_cast<int32_t>(task.node);
      stack.push_back({child, starts[k], starts[k + 1], task.depth + 1});
    }
  }
  // Trim the unused tail.
  size_t used = check_.size();
  while (used > 1 && check_[used - 1] == -1) --used;
  base_.resize(used);
  check_.resize(used);
  value_.resize(used);
  base_.shrink_to_fit();
  check_.shrink_to_fit();
  value_.shrink_to_fit();
}

int32_t PieceTrie::find(std::string_view key) const {
  int32_t result = -1;
  common_prefix_search(key, [&](size_t len, int32_t v) {
    if (len == key.size()) result = v;
  });
  return result;
}

}  // namespace textune::tokenizers
