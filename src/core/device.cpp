// See include/textune/core/device.h.
#include "textune/core/device.h"

#include <optional>

#include <fmt/format.h>

#include "textune/core/error.h"

namespace textune::core {

std::string usable_devices() {
  std::string s = "cpu";
  if (torch::cuda::is_available()) {
    const auto n = torch::cuda::device_count();
    s += n > 1 ? fmt::format(", cuda, cuda:0 to cuda:{}", n - 1) : ", cuda, cuda:0";
  }
  return s;
}

torch::Device parse_device(const std::string& name, const std::string& what) {
  auto bad = [&] {
    return UsageError(what + " " + name + ": not usable here (usable devices: " + usable_devices() + ")");
  };
  std::optional<torch::Device> d;
  try {
    d = torch::Device(name);
  } catch (const std::exception&) {
    throw bad();
  }
  if (d->is_cpu()) return *d;
  if (!d->is_cuda() || !torch::cuda::is_available()) throw bad();
  if (d->has_index() && d->index() >= static_cast<int>(torch::cuda::device_count())) throw bad();
  return *d;
}

}  // namespace textune::core
