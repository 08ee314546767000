// The LibTorch device a user names ("cpu", "cuda", "cuda:1"), checked against this build and machine.
#pragma once

#include <torch/torch.h>

#include <string>

namespace textune::core {

/// The devices this build and machine can run on, for messages: "cpu", plus "cuda, cuda:0 to
/// cuda:N-1" when torch::cuda::is_available().
std::string usable_devices();

/// Parses a device name as torch::Device does and checks that it is usable here (a CUDA device
/// needs a CUDA build, a GPU, and an index below the device count).
/// `what` names the setting in the message (e.g. "--device").
/// @throws textune::UsageError "WHAT NAME: not usable here (usable devices: ...)".
torch::Device parse_device(const std::string& name, const std::string& what = "device");

}  // namespace textune::core
