#pragma once
// The CUDA backend inside the CUDA plugin (kernels/cuda_backend.cu). snnsim reaches it through
// the plugin's table (kernels/cuda_plugin.h), never by name: sim/cuda_plugin.h is its entry.
#include <memory>

#include "sim/backend.h"
#include "sim/device_plan.h"

namespace snnsim::plugin {

/// The number of usable CUDA devices: 0 without a driver or a device.
int cuda_device_count();

/// Throws std::runtime_error (one line, suggesting --backend cpu) when no device is usable or
/// the network does not fit in its memory.
std::unique_ptr<Backend> make_cuda_backend(Network& network, const DevicePlanOptions& options);

}  // namespace snnsim::plugin
