#pragma once
// Entry point of the CUDA backend (kernels/cuda_backend.cu), present in builds with CUDA.
#include <memory>

#include "sim/backend.h"
#include "sim/device_plan.h"

namespace snnsim {

/// Throws std::runtime_error (one line, suggesting --backend cpu) when no device is usable or
/// the network does not fit in its memory.
std::unique_ptr<Backend> make_cuda_backend(Network& network, const DevicePlanOptions& options);

}  // namespace snnsim
