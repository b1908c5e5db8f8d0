#pragma once
// Layer graphs on a CUDA device inside the CUDA plugin (kernels/cuda_graph.cu): callers see a
// GraphExecutor, never a CUDA header, and reach it through the plugin's table
// (kernels/cuda_plugin.h; sim/cuda_plugin.h is their entry).
#include <memory>

#include "sim/graph/graph_executor.h"

namespace snnsim::plugin {

/// DeviceGraphRunner<CudaDevice> for `graph`, whose nodes all have device operators (the
/// loader checks, sim/cuda_plugin.cpp). Throws std::runtime_error (one line, suggesting
/// --backend cpu) when no device is usable or the weights do not fit.
std::unique_ptr<GraphExecutor> make_cuda_graph_executor(const LayerGraph& graph);

}  // namespace snnsim::plugin
