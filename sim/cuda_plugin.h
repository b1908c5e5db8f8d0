#pragma once
// The CUDA backend of a build with CUDA, reached through the CUDA plugin: libsnnsim_cuda.so,
// which holds the kernels and links the CUDA libraries, opened on first use (docs/cuda.md,
// "How snnsim finds the CUDA plugin"). Until then a process maps no CUDA library, and where the
// plugin or the CUDA libraries are missing only these functions fail. make_backend and
// make_graph_executor (sim/backend.h, sim/graph/graph_executor.h) call them for cuda and auto;
// cuda_device_count and cuda_unavailable_reason (sim/backend.h) open the plugin too.
#include <memory>

#include "sim/backend.h"
#include "sim/device_plan.h"
#include "sim/graph/graph_executor.h"

namespace snnsim {

/// The environment variable that names the plugin file, instead of libsnnsim_cuda.so next to
/// the executable.
inline constexpr const char* kCudaPluginVariable = "SNNSIM_CUDA_PLUGIN";

/// The CUDA backend for `network`. Throws std::runtime_error, one line ending "; use --backend
/// cpu", when the plugin cannot be loaded, no device is usable, or the network does not fit.
std::unique_ptr<Backend> make_cuda_backend(Network& network, const DevicePlanOptions& options);

/// `graph` on a CUDA device. Throws std::runtime_error as make_cuda_backend does, and when a
/// node has no device operator.
std::unique_ptr<GraphExecutor> make_cuda_graph_executor(const LayerGraph& graph);

}  // namespace snnsim
