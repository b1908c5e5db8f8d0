#pragma once
// What the CUDA plugin, libsnnsim_cuda.so, offers the snnsim that opens it (sim/cuda_plugin.cpp,
// docs/cuda.md): one C entry point returning a versioned table of functions. The plugin holds
// the CUDA kernels and links cuBLAS; snnsim itself links no CUDA library, so a run on the CPU
// maps none and a CUDA build also runs where the CUDA libraries are missing.
//
// The table passes C++ types (Network, Backend, exceptions), so it only works between a plugin
// and a snnsim of the same build: the loader refuses a table whose ABI version or snnsim
// version differs from its own. The plugin's engine calls resolve to the snnsim executable's
// own engine (it exports its symbols), so there is one copy of the engine's state.
#include <cstdint>
#include <memory>

#include "sim/backend.h"
#include "sim/device_plan.h"
#include "sim/graph/graph_executor.h"

namespace snnsim {

/// Raised whenever a function of the table, or the types it passes, change.
inline constexpr std::uint32_t kCudaPluginAbiVersion = 1;

struct CudaPluginTable {
  std::uint32_t abi_version;   ///< kCudaPluginAbiVersion of the plugin's build
  const char* snnsim_version;  ///< kVersion of the plugin's build
  /// The number of usable CUDA devices: 0 without a driver or a device.
  int (*device_count)();
  /// Throw std::runtime_error, one line ending "; use --backend cpu", when they cannot run.
  std::unique_ptr<Backend> (*make_backend)(Network& network, const DevicePlanOptions& options);
  std::unique_ptr<GraphExecutor> (*make_graph_executor)(const LayerGraph& graph);
};

/// The name of the plugin's entry point, an extern "C" `const CudaPluginTable* ()`.
inline constexpr const char* kCudaPluginEntryPoint = "snnsim_cuda_plugin_table";

}  // namespace snnsim
