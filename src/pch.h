// Precompiled header for every translation unit of the library, the CLI and the tests.
// Only stable, heavy headers belong here: LibTorch and the standard library.
#pragma once

#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
