#pragma once
// Entry point of layer graphs on a CUDA device (kernels/cuda_graph.cu), present in builds with
// CUDA: callers see a GraphExecutor, never a CUDA header.
#include <memory>

#include "sim/graph/graph_executor.h"

namespace snnsim {

/// DeviceGraphRunner<CudaDevice> for `graph`. Throws std::runtime_error (one line, suggesting
/// --backend cpu) when no device is usable, a node has no device operator, or the weights do
/// not fit.
std::unique_ptr<GraphExecutor> make_cuda_graph_executor(const LayerGraph& graph);

}  // namespace snnsim
