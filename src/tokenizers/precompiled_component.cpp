// tokenizer.json's {"type": "Precompiled", "precompiled_charsmap": base64} as a pipeline Normalizer,
// keeping the alignments through NormalizedString::transform as tokenizers does
// (tokenizers/src/normalizers/precompiled.rs).
#include "textune/core/error.h"
#include "tokenizers/components.h"
#include "tokenizers/json_fields.h"
#include "tokenizers/precompiled_normalizer.h"

namespace textune::tokenizers {
namespace {

class PrecompiledComponent : public Normalizer {
 public:
  explicit PrecompiledComponent(PrecompiledCharsmap map) : map_(std::move(map)) {}

  void normalize(NormalizedString& s) const override {
    thread_local std::vector<std::pair<char32_t, int>> changes;
    thread_local std::vector<CharChange> dest;
    changes.clear();
    if (!precompiled_changes(map_, s.get(), changes)) return;
    dest.clear();
    dest.reserve(changes.size());
    for (const auto& [c, change] : changes) dest.push_back(CharChange{c, change});
    s.transform(dest, 0);
  }

 private:
  PrecompiledCharsmap map_;
};

}  // namespace

std::unique_ptr<Normalizer> make_precompiled_normalizer(const TokenizerJson& j, const LoadContext& ctx) {
  const std::string blob = base64_decode(json_string(j, "precompiled_charsmap", ctx.where), ctx.where);
  return std::make_unique<PrecompiledComponent>(PrecompiledCharsmap(blob, ctx.where));
}

}  // namespace textune::tokenizers
