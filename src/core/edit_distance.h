// The edit distance behind every "did you mean ...?" of core (Hub folders, option names).
#pragma once

#include <cstddef>
#include <string>

namespace textune::core {

/// Levenshtein distance between `a` and `b` (insert, delete, substitute: cost 1 each), ASCII case
/// folded. Returns `limit + 1` at once when the lengths alone differ by more than `limit`, so a
/// caller that only accepts distances <= limit pays nothing for far-off strings.
size_t edit_distance(const std::string& a, const std::string& b, size_t limit);

}  // namespace textune::core
